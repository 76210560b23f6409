#!/usr/bin/env node
// tsvirt-img: qemu-img compatible image tool over the native image layer.

import { main } from "../cli/img/main.js";
import { FileIO } from "../image/io/file-io.js";

// A one-shot tool: image I/O as direct syscalls, no thread-pool round trip per request.
FileIO.directIO = true;
const code = await main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stdout.isTTY === true,
});
process.exitCode = code;
