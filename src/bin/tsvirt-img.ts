#!/usr/bin/env node
// tsvirt-img: qemu-img compatible image tool over the native image layer.

import { main } from "../cli/img/main.js";

const code = await main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stdout.isTTY === true,
});
process.exitCode = code;
