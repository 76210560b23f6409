#!/usr/bin/env node
// tsvirt-img: qemu-img compatible image tool over the native image layer.
//
// `node dist/bin/tsvirt-img.js …` (tests, benchmarks, scripts): runs the CommonJS start-up in
// tsvirt-img-cli.cts (the CLI's one-file bundle with V8's code cache, or its ES modules). The
// installed `tsvirt-img` (package.json "bin") is dist/bin/tsvirt-img, a launcher built by
// scripts/build-img-bundle.mjs (native/tsvirt-img-launcher.c, or a shell script without a C
// compiler) that runs the same bundle through the build's tsvirt-img-start.cjs.

import "./tsvirt-img-cli.cjs";
