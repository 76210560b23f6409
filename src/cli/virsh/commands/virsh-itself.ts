// The 'Virsh itself' group (tools/vsh.c cmdHelp, cmdEcho, cmdCd, cmdPwd, cmdQuit; virsh.c cmdConnect).
import { statSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { splitCommas } from "../../../util/split-commas.js";
import type { Handler } from "../command.js";
import type { VirshControl } from "../control.js";
import { commandHelp, fullHelp, groupHelp } from "../help.js";
import { optArgv, optBool, optString } from "../options.js";
import { errnoText } from "../../../util/strerror.js";

type H = Handler<VirshControl>;

/** virBufferEscapeShell: quote only when a shell would split or expand the word. */
export function shellQuote(s: string): string {
  if (s === "") return "''";
  if (!/[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** virBufferEscapeString for XML text and attributes. */
export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c,
  );
}

const help: H = (ctl, cmd) => {
  const name = optString(cmd, "command");
  if (name === undefined) {
    ctl.print(fullHelp(ctl.groups));
    return true;
  }
  const def = ctl.find(name);
  if (def) {
    ctl.print(commandHelp(def));
    return true;
  }
  const grp = ctl.groups.find((g) => g.title === name || g.keyword === name);
  if (grp) {
    ctl.print(groupHelp(grp));
    return true;
  }
  ctl.error(`command or command group '${name}' doesn't exist`);
  return false;
};

const echo: H = (ctl, cmd) => {
  const shell = optBool(cmd, "shell");
  const xml = optBool(cmd, "xml");
  const split = optBool(cmd, "split");
  if (shell && split) {
    ctl.error("Options --shell and --split are mutually exclusive");
    return false;
  }
  const parts: string[] = [];
  for (const arg of optArgv(cmd, "string")) {
    const pieces = split ? splitCommas(arg) : [arg];
    let s = "";
    for (const p of pieces) {
      let v = xml ? xmlEscape(p) : p;
      if (shell) v = shellQuote(v);
      s += split ? `${v}\n` : v;
    }
    parts.push(s);
  }
  const text = parts.join(" ");
  if (optBool(cmd, "err")) ctl.error(text);
  else ctl.print(text);
  return true;
};

const cd: H = (ctl, cmd) => {
  if (!ctl.imode) {
    ctl.error("cd: command valid only in interactive mode");
    return false;
  }
  // an empty --dir is no --dir (vshCommandOptStringQuiet), home or else root
  const dir = cmd.opts.find((o) => o.def.name === "dir")?.value || process.env.HOME || "/";
  const target = resolve(ctl.cwd, dir);
  let why: string | null = null;
  try {
    if (!statSync(target).isDirectory()) why = "Not a directory";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    why = errnoText(code) ?? "No such file or directory";
  }
  // vshError(ctl, "cd: %s: %s", g_strerror(errno), dir)
  if (why) {
    ctl.error(`cd: ${why}: ${dir}`);
    return false;
  }
  ctl.cwd = target;
  return true;
};

const pwd: H = (ctl) => {
  ctl.print(`${ctl.cwd}\n`);
  return true;
};

const quit: H = (ctl) => {
  ctl.imode = false;
  return true;
};

const connect: H = async (ctl, cmd) => {
  const name = optString(cmd, "name") ?? null;
  const ro = optBool(cmd, "readonly");
  return ctl.connect(name, ro);
};

/**
 * complete (hidden): virsh's readline completion run on the given text. Without a terminal
 * virsh 9.0 completes only a command name: the visible commands starting with the text, one a
 * line; text holding a space (options, arguments, a second command) completes to nothing, and
 * finding nothing fails. It
 * opens the connection first, as virsh's does (it is not a no-connect command).
 */
const complete: H = (ctl, cmd) => {
  const text = optArgv(cmd, "string").join(" ");
  if (/[\s;]/.test(text)) return false;
  let found = false;
  for (const g of ctl.groups)
    for (const c of g.commands)
      if (c.name.startsWith(text)) {
        ctl.print(`${c.name}\n`);
        found = true;
      }
  return found;
};

/** self-test (hidden): checks the command tables, which tsvirsh's are by construction. */
const selfTest: H = (ctl, cmd) => {
  if (optBool(cmd, "completers-missing")) {
    ctl.error("self-test --completers-missing is not implemented in tsvirsh");
    return false;
  }
  return true;
};

export const virshItselfHandlers: Record<string, H> = {
  help,
  echo,
  cd,
  pwd,
  quit,
  exit: quit,
  connect,
  complete,
  "self-test": selfTest,
};
export const virshItselfNoConnect = ["help", "echo", "cd", "pwd", "quit", "exit", "connect", "self-test"];
