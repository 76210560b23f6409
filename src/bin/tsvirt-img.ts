#!/usr/bin/env node
// tsvirt-img: qemu-img compatible image tool over the native image layer.
//
// `node dist/bin/tsvirt-img.js …` (tests, benchmarks, scripts): runs the CommonJS start-up in
// tsvirt-img-cli.cts (the CLI's one-file bundle with V8's code cache, or its ES modules). The
// installed `tsvirt-img` (package.json "bin") is dist/bin/tsvirt-img, a shell launcher written by
// scripts/build-img-bundle.mjs that starts the CLI from a V8 startup snapshot when it can and
// runs tsvirt-img-cli.cjs otherwise.

import "./tsvirt-img-cli.cjs";
