#!/usr/bin/env node
// tsvirt-img: qemu-img compatible image tool over the native image layer.

import { writeSync } from "node:fs";
import { main } from "../cli/img/main.js";
import { FileIO } from "../image/io/file-io.js";

/**
 * Writes straight to the descriptor: process.stdout/stderr would first build a stream (fs/tty/
 * pipe classes), which costs a one-shot command more start-up than its output. Should the
 * descriptor refuse (EAGAIN on a non-blocking pipe, …), the rest goes through the stream.
 */
function sink(fd: 1 | 2, stream: () => NodeJS.WriteStream): (s: string) => void {
  let direct = true;
  return (s) => {
    if (direct) {
      const b = Buffer.from(s);
      let off = 0;
      try {
        while (off < b.length) off += writeSync(fd, b, off);
        return;
      } catch {
        direct = false;
        stream().write(b.subarray(off));
        return;
      }
    }
    stream().write(s);
  };
}

// A one-shot tool: image I/O as direct syscalls, no thread-pool round trip per request.
FileIO.directIO = true;
const code = await main(process.argv.slice(2), {
  out: sink(1, () => process.stdout),
  err: sink(2, () => process.stderr),
  // Asked only by commands that draw progress (reading it creates process.stdout).
  get isTTY() {
    return process.stdout.isTTY === true;
  },
});
process.exitCode = code;
