// tsvirt-img's entry: dispatches a qemu-img command line to its command and turns errors into
// qemu-img's "prog: message" lines and exit codes.

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
