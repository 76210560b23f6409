// Command-table types for tsvirsh, shaped like virsh's vshCmdDef/vshCmdOptDef (tools/vsh.h):
// a spec (name, texts, options in declared order) plus a handler; parsing and help read only specs.
import type { Writable } from "node:stream";

/**
 * Option kind codes, as stored in the generated tables (defs/*.ts):
 * "b" VSH_OT_BOOL; "s" VSH_OT_STRING; "i" VSH_OT_INT; "d" VSH_OT_DATA; "v" VSH_OT_ARGV;
 * a trailing "!" marks VSH_OFLAG_REQ; "o" VSH_OFLAG_REQ_OPT (must be named); "e" VSH_OFLAG_EMPTY_OK;
 * "a:target" is a hidden VSH_OT_ALIAS ("a:target=value" supplies the value too).
 */
export type OptTuple = [name: string, kind: string, help: string];

export interface CmdSpec {
  name: string;
  info: string;
  desc: string;
  opts: OptTuple[];
}

export interface GroupSpec {
  title: string;
  keyword: string;
  commands: CmdSpec[];
}

export type OptType = "bool" | "string" | "int" | "data" | "argv" | "alias";

export interface OptDef {
  name: string;
  type: OptType;
  required: boolean;
  /** VSH_OFLAG_REQ_OPT: only accepted as --name value, never positionally. */
  reqOpt: boolean;
  emptyOk: boolean;
  help: string;
  /** For aliases: the target option name, and the value an alias of a value-taking option supplies. */
  aliasOf?: string;
  aliasValue?: string;
}

/** One parsed option occurrence, in command-line order (argv options repeat). */
export interface CmdOpt {
  def: OptDef;
  value: string | null;
}

/** What a handler sees: the console it writes to, the parsed options and the session state. */
export interface Ctl {
  out: Writable;
  err: Writable;
  quiet: boolean;
  /** Prints to stdout. */
  print(s: string): void;
  /** Prints to stdout unless quiet (vshPrintExtra). */
  printExtra(s: string): void;
  /** Prints "error: …" to stderr (vshError). */
  error(msg: string): void;
}

export type Handler<C extends Ctl = Ctl> = (ctl: C, cmd: ParsedCmd) => Promise<boolean> | boolean;

export interface CmdDef {
  name: string;
  info: string;
  desc: string;
  opts: OptDef[];
  /** VSH_CMD_FLAG_NOCONNECT: runs without an open connection. */
  noConnect?: boolean;
  handler?: Handler<any>;
}

export interface GroupDef {
  title: string;
  keyword: string;
  commands: CmdDef[];
  /** VSH_CMD_FLAG_ALIAS entries: found by name (an alias finds its target's definition) but left
   * out of every command listing. */
  hidden?: { name: string; def: CmdDef }[];
}

/** A parsed command: its definition and options (vshCmd). */
export interface ParsedCmd {
  def: CmdDef;
  opts: CmdOpt[];
}

export function optDefFromTuple([name, kind, help]: OptTuple): OptDef {
  if (kind.startsWith("a:")) {
    const target = kind.slice(2);
    const eq = target.indexOf("=");
    return {
      name,
      type: "alias",
      required: false,
      reqOpt: false,
      emptyOk: false,
      help: "",
      aliasOf: eq >= 0 ? target.slice(0, eq) : target,
      aliasValue: eq >= 0 ? target.slice(eq + 1) : undefined,
    };
  }
  const types: Record<string, OptType> = { b: "bool", s: "string", i: "int", d: "data", v: "argv" };
  const type = types[kind[0]];
  if (!type) throw new Error(`bad option kind '${kind}' for --${name}`);
  return {
    name,
    type,
    required: kind.includes("!"),
    reqOpt: kind.includes("o"),
    emptyOk: kind.includes("e"),
    help,
  };
}

export function cmdDefFromSpec(spec: CmdSpec, handler?: Handler, noConnect?: boolean): CmdDef {
  return {
    name: spec.name,
    info: spec.info,
    desc: spec.desc,
    opts: spec.opts.map(optDefFromTuple),
    handler,
    noConnect,
  };
}
