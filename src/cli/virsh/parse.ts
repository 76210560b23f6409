// virsh's command-line grammar (tools/vsh.c vshCommandParse and its two tokenizers): one string with
// quotes, escapes, ';' and '#' comments, or an argv array; options fill positionally in declared order.
import type { CmdDef, CmdOpt, OptDef, ParsedCmd } from "./command.js";

type Tok = { kind: "arg"; text: string } | { kind: "end" } | { kind: "subEnd" } | { kind: "error" };

export interface Tokenizer {
  next(report: (msg: string) => void): Tok;
}

/** Tokens of one command string, the way vshCommandStringGetArg reads them (bash-like quoting). */
export function stringTokenizer(text: string): Tokenizer {
  let pos = 0;
  return {
    next(report) {
      while (pos < text.length) {
        const c = text[pos];
        if (c === " " || c === "\t") pos++;
        else if (c === "\\" && text[pos + 1] === "\n") pos += 2;
        else break;
      }
      if (pos >= text.length) return { kind: "end" };
      if (text[pos] === ";" || text[pos] === "\n") {
        pos++;
        return { kind: "subEnd" };
      }
      if (text[pos] === "#") {
        // a token starting with '#' comments out the rest of the line
        while (pos < text.length && text[pos] !== "\n") pos++;
        if (pos < text.length) pos++;
        return { kind: "subEnd" };
      }
      let single = false;
      let double = false;
      let out = "";
      while (pos < text.length) {
        const c = text[pos];
        if (!single && !double && (c === " " || c === "\t" || c === ";" || c === "\n")) break;
        if (!double && c === "'") {
          single = !single;
          pos++;
          continue;
        }
        if (!single && c === "\\") {
          pos++;
          if (pos >= text.length) {
            report("dangling \\");
            return { kind: "error" };
          }
          if (text[pos] === "\n") {
            pos++; // line continuation
            continue;
          }
        } else if (!single && c === '"') {
          double = !double;
          pos++;
          continue;
        }
        out += text[pos];
        pos++;
      }
      if (double) {
        report('missing "');
        return { kind: "error" };
      }
      return { kind: "arg", text: out };
    },
  };
}

/** Tokens of an argv array: each element is one argument (vshCommandArgvGetArg). */
export function argvTokenizer(args: readonly string[]): Tokenizer {
  let i = 0;
  return {
    next() {
      if (i >= args.length) return { kind: "end" };
      return { kind: "arg", text: args[i++] };
    },
  };
}

export interface CommandLookup {
  /** Finds a command by name, resolving command aliases. */
  find(name: string): CmdDef | undefined;
}

const HELP_OPT: OptDef = {
  name: "help",
  type: "bool",
  required: false,
  reqOpt: false,
  emptyOk: false,
  help: "print help for this function",
};

/** Which options fill positionally and which are required (vshCmddefOptParse). */
function optMasks(def: CmdDef): { needArg: boolean[]; required: boolean[] } {
  const needArg = def.opts.map(() => false);
  const required = def.opts.map(() => false);
  def.opts.forEach((o, i) => {
    if (o.type === "bool" || o.type === "alias") return;
    if (o.reqOpt) {
      if (o.required) required[i] = true;
      return;
    }
    needArg[i] = true;
    if (o.required) required[i] = true;
  });
  return { needArg, required };
}

/**
 * Parses a whole line into commands. On a syntax error it reports through `error` (virsh's
 * "error: …" lines) and returns null: nothing on the line runs, as in virsh.
 */
export function parseCommands(
  tk: Tokenizer,
  lookup: CommandLookup,
  error: (msg: string) => void,
  /** Called as each option is read (vshCommandParse's debug line, printed before any error). */
  onOpt: (cmd: CmdDef, opt: CmdOpt) => void = () => {},
): ParsedCmd[] | null {
  const cmds: ParsedCmd[] = [];
  for (;;) {
    let def: CmdDef | undefined;
    let dataOnly = false;
    let needArg: boolean[] = [];
    let required: boolean[] = [];
    const seen = new Set<number>();
    const opts: CmdOpt[] = [];
    let tok: Tok;
    for (;;) {
      tok = tk.next(error);
      if (tok.kind === "error") return null;
      if (tok.kind !== "arg") break;
      const text = tok.text;
      if (!def) {
        def = lookup.find(text);
        if (!def) {
          error(`unknown command: '${text}'`);
          return null;
        }
        ({ needArg, required } = optMasks(def));
        continue;
      }
      let opt: OptDef | undefined;
      let value: string | null = null;
      if (!dataOnly && text.startsWith("--") && /^[A-Za-z0-9]/.test(text.slice(2))) {
        let name = text.slice(2);
        let optstr: string | null = null;
        const eq = name.indexOf("=");
        if (eq >= 0) {
          optstr = name.slice(eq + 1);
          name = name.slice(0, eq);
        }
        const found = findOption(def, name, optstr, seen, def.name !== "help" ? error : () => {});
        if (!found) {
          if (def.name === "help") continue;
          return null;
        }
        opt = found.opt;
        optstr = found.optstr;
        if (opt.type !== "bool") {
          if (optstr !== null) value = optstr;
          else {
            const t = tk.next(error);
            if (t.kind === "error") return null;
            if (t.kind !== "arg") {
              error(`expected syntax: --${opt.name} <${opt.type === "int" ? "number" : "string"}>`);
              return null;
            }
            value = t.text;
          }
          if (opt.type !== "argv" && found.index >= 0) needArg[found.index] = false;
        } else if (optstr !== null) {
          error(`invalid '=' after option --${opt.name}`);
          return null;
        }
      } else if (!dataOnly && text === "--") {
        dataOnly = true;
        continue;
      } else {
        const i = needArg.indexOf(true);
        if (i < 0) {
          if (def.name !== "help") {
            error(`unexpected data '${text}'`);
            return null;
          }
          continue;
        }
        opt = def.opts[i];
        if (opt.type !== "argv") needArg[i] = false;
        seen.add(i);
        value = text;
      }
      opts.push({ def: opt, value });
      onOpt(def, { def: opt, value });
    }
    if (def) {
      let cmd: ParsedCmd = { def, opts };
      let req = required;
      if (opts.some((o) => o.def === HELP_OPT)) {
        // "CMD --help" becomes "help CMD"
        const help = lookup.find("help");
        if (help) {
          cmd = { def: help, opts: [{ def: help.opts[0], value: def.name }] };
          req = [];
          seen.clear();
        }
      }
      // vshCommandCheckOpts reports every missing required option, then fails
      let missing = false;
      req.forEach((r, i) => {
        if (!r || seen.has(i)) return;
        const o = cmd.def.opts[i];
        error(
          o.type === "data" || o.type === "argv"
            ? `command '${cmd.def.name}' requires <${o.name}> option`
            : `command '${cmd.def.name}' requires --${o.name} option`,
        );
        missing = true;
      });
      if (missing) return null;
      cmds.push(cmd);
    }
    if (tok.kind === "end") break;
  }
  return cmds;
}

/** Resolves --name (following aliases) and marks it seen (vshCmddefGetOption). */
function findOption(
  def: CmdDef,
  name: string,
  optstr: string | null,
  seen: Set<number>,
  error: (msg: string) => void,
): { opt: OptDef; index: number; optstr: string | null } | null {
  if (name === "help") return { opt: HELP_OPT, index: -1, optstr };
  let cur = name;
  for (let i = 0; i < def.opts.length; i++) {
    const o = def.opts[i];
    if (o.name !== cur) continue;
    if (o.type === "alias") {
      if (o.aliasValue !== undefined) {
        if (optstr !== null) {
          error(`invalid '=' after option --${o.name}`);
          return null;
        }
        optstr = o.aliasValue;
      }
      cur = o.aliasOf ?? cur;
      continue;
    }
    if (seen.has(i) && o.type !== "argv") {
      error(`option --${cur} already seen`);
      return null;
    }
    seen.add(i);
    return { opt: o, index: i, optstr };
  }
  error(`command '${def.name}' doesn't support option --${cur}`);
  return null;
}
