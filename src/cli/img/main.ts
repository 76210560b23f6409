// tsvirt-img's entry: dispatches a qemu-img command line to its command and turns errors into
// qemu-img's "prog: message" lines and exit codes.

import { writeSync } from "node:fs";
import { FileIO } from "../../image/io/file-io.js";
import { CliError, errText, type Out, PROG } from "./context.js";

type Command = (argv: string[], io: Out) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  info: async () => (await import("./cmd-info.js")).cmdInfo,
  create: async () => (await import("./cmd-create.js")).cmdCreate,
  convert: async () => (await import("./cmd-convert.js")).cmdConvert,
  check: async () => (await import("./cmd-check.js")).cmdCheck,
  compare: async () => (await import("./cmd-compare.js")).cmdCompare,
  map: async () => (await import("./cmd-map.js")).cmdMap,
  resize: async () => (await import("./cmd-resize.js")).cmdResize,
  snapshot: async () => (await import("./cmd-snapshot.js")).cmdSnapshot,
  rebase: async () => (await import("./cmd-rebase.js")).cmdRebase,
  commit: async () => (await import("./cmd-commit.js")).cmdCommit,
  measure: async () => (await import("./cmd-measure.js")).cmdMeasure,
  amend: async () => (await import("./cmd-amend.js")).cmdAmend,
  dd: async () => (await import("./cmd-dd.js")).cmdDd,
};

export const VERSION = "tsvirt-img version 7.2.0 (tsvirt)\n";

function help(): string {
  return (
    `${PROG} - a qemu-img compatible disk image utility\n` +
    `usage: ${PROG} [standard options] command [command options]\n\n` +
    "Commands:\n" +
    Object.keys(commands)
      .map((c) => `  ${c}`)
      .join("\n") +
    "\n\nSupported formats: cow qcow qcow2 raw vdi vmdk\n"
  );
}

export async function main(argv: string[], io: Out): Promise<number> {
  try {
    let i = 0;
    while (i < argv.length && argv[i]!.startsWith("-")) {
      const a = argv[i]!;
      if (a === "-h" || a === "--help") {
        io.out(help());
        return 0;
      }
      if (a === "-V" || a === "--version") {
        io.out(VERSION);
        return 0;
      }
      if (a === "-T" || a === "--trace") i++;
      else if (!a.startsWith("--trace=")) {
        throw new CliError(`unrecognized option '${a}'`, 1, `Try '${PROG} --help' for more information\n`);
      }
      i++;
    }
    const name = argv[i];
    if (name === undefined)
      throw new CliError("Not enough arguments", 1, `Try '${PROG} --help' for more information\n`);
    const load = commands[name];
    if (!load)
      throw new CliError(`Command not found: ${name}`, 1, `Try '${PROG} --help' for more information\n`);
    const cmd = await load();
    return await cmd(argv.slice(i + 1), io);
  } catch (e) {
    if (e instanceof CliError) {
      if (e.message) io.err(`${PROG}: ${e.message}\n`);
      if (e.hint) io.err(e.hint);
      return e.code;
    }
    io.err(`${PROG}: ${errText(e)}\n`);
    return 1;
  }
}

/**
 * Writes straight to the descriptor: process.stdout/stderr would first build a stream (fs/tty/
 * pipe classes), which costs a one-shot command more start-up than its output. Should the
 * descriptor refuse (EAGAIN on a non-blocking pipe, …), the rest goes through the stream.
 * When the reader is gone (`tsvirt-img map … | head`), the output is dropped from then on and the
 * command ends as it would have: qemu-img ignores SIGPIPE and its failed writes, so it exits with
 * its usual status and says nothing (Node, which also ignores SIGPIPE, would throw EPIPE).
 */
function sink(fd: 1 | 2, stream: () => NodeJS.WriteStream): (s: string) => void {
  let direct = true;
  let gone = false;
  let watched = false;
  const viaStream = (b: string | Uint8Array) => {
    const st = stream();
    if (!watched) {
      watched = true;
      st.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
        gone = true;
      });
    }
    st.write(b);
  };
  return (s) => {
    if (gone) return;
    if (direct) {
      const b = Buffer.from(s);
      let off = 0;
      try {
        while (off < b.length) off += writeSync(fd, b, off);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EPIPE") {
          gone = true;
          return;
        }
        direct = false;
        viaStream(b.subarray(off));
        return;
      }
    }
    viaStream(s);
  };
}

/** The tsvirt-img process (the bin runs this): `io` defaults to the process's stdout/stderr. */
export function runCli(argv: string[], io?: Out): Promise<number> {
  // A one-shot tool: image I/O as direct syscalls, no thread-pool round trip per request.
  FileIO.directIO = true;
  return main(
    argv,
    io ?? {
      out: sink(1, () => process.stdout),
      err: sink(2, () => process.stderr),
      // Asked only by commands that draw progress (reading it creates process.stdout).
      get isTTY() {
        return process.stdout.isTTY === true;
      },
    },
  );
}
