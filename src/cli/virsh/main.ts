// tsvirsh's entry: virsh 9.0's global options (virshParseArgv), then one of its three modes: a
// command in argv, a command string, or the interactive shell reading standard input.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { GroupDef } from "./command.js";
import { VirshControl } from "./control.js";

export const VIRSH_VERSION = "9.0.0";

export interface MainIO<Conn> {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  isTTY: boolean;
  groups: GroupDef[];
  open: (uri: string | null, readOnly: boolean) => Promise<Conn>;
  close: (conn: Conn) => Promise<void>;
}

interface GlobalOpts {
  uri: string | null;
  readOnly: boolean;
  quiet: boolean;
  timing: boolean;
  debug: number;
  log: string | null;
  escape: string;
  rest: string[];
}

type ArgvResult = { ok: true; opts: GlobalOpts } | { ok: false; exit: number };

function usage(groups: readonly GroupDef[]): string {
  let s = `
virsh [options]... [<command_string>]
virsh [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)
  commands (non interactive mode):

`;
  for (const g of groups) {
    s += ` ${g.title} (help keyword '${g.keyword}')\n`;
    for (const c of g.commands) s += `    ${c.name.padEnd(30)} ${c.info}\n`;
    s += "\n";
  }
  s += "\n  (specify help <group> for details about the commands in the group)\n";
  s += "\n  (specify help <command> for details about the command)\n\n";
  return s;
}

const LONG_VERSION = `Virsh command line tool of libvirt ${VIRSH_VERSION}
See web site at https://libvirt.org/

Compiled with support for:
 Hypervisors: QEMU/KVM Test
 Networking: Remote Network Bridging
 Storage: Dir
 Miscellaneous: Daemon
`;

/** getopt_long("+:c:d:e:hk:K:l:qrtvV") as virsh sets it up: options stop at the first non-option. */
export function parseGlobalArgs(
  argv: readonly string[],
  out: Writable,
  err: Writable,
  groups: readonly GroupDef[],
): ArgvResult {
  const o: GlobalOpts = {
    uri: null,
    readOnly: false,
    quiet: false,
    timing: false,
    debug: -1,
    log: null,
    escape: "^]",
    rest: [],
  };
  const longs: Record<string, string> = {
    connect: "c",
    debug: "d",
    escape: "e",
    help: "h",
    "keepalive-interval": "k",
    "keepalive-count": "K",
    log: "l",
    quiet: "q",
    readonly: "r",
    timing: "t",
    version: "version",
  };
  const needsArg = new Set(["c", "d", "e", "k", "K", "l"]);
  const fail = (msg: string): ArgvResult => {
    err.write(`error: ${msg}\n`);
    return { ok: false, exit: 1 };
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    const pairs: [string, string | undefined, string][] = [];
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const matches = Object.keys(longs).filter((k) => k.startsWith(name));
      const exact = longs[name] ? name : matches.length === 1 ? matches[0] : undefined;
      if (!exact) return fail(`unsupported option '${a}'. See --help.`);
      const key = longs[exact];
      let val = eq >= 0 ? a.slice(eq + 1) : undefined;
      if (needsArg.has(key) && val === undefined) {
        if (i + 1 >= argv.length) return fail(`option '-${key}'/'--${exact}' requires an argument`);
        val = argv[++i];
      }
      pairs.push([key, val, `--${exact}`]);
    } else {
      for (let j = 1; j < a.length; j++) {
        const key = a[j];
        if (needsArg.has(key)) {
          let val = a.slice(j + 1);
          if (val === "") {
            if (i + 1 >= argv.length) {
              const long = Object.keys(longs).find((k) => longs[k] === key);
              return fail(`option '-${key}'/'--${long}' requires an argument`);
            }
            val = argv[++i];
          }
          pairs.push([key, val, `-${key}`]);
          break;
        }
        pairs.push([key, undefined, `-${key}`]);
      }
    }
    for (const [key, val] of pairs) {
      switch (key) {
        case "c":
          o.uri = val ?? null;
          break;
        case "d": {
          const n = Number(val);
          if (!/^-?\d+$/.test(val ?? "") || !Number.isInteger(n))
            return fail(`option -d takes a numeric argument`);
          if (n < 0 || n > 4) return fail(`ignoring debug level ${n} - outside range [0-4]`);
          o.debug = n;
          break;
        }
        case "e":
          if (!val || (val.length !== 1 && !(val.length === 2 && val[0] === "^")))
            return fail(`Invalid string '${val}' for escape sequence`);
          o.escape = val;
          break;
        case "k":
        case "K":
          if (!/^\d+$/.test(val ?? "")) return fail(`option -${key} requires a positive integer argument`);
          break;
        case "l":
          o.log = val ?? null;
          break;
        case "q":
          o.quiet = true;
          break;
        case "r":
          o.readOnly = true;
          break;
        case "t":
          o.timing = true;
          break;
        case "h":
          out.write(usage(groups));
          return { ok: false, exit: 0 };
        case "v":
          out.write(`${VIRSH_VERSION}\n`);
          return { ok: false, exit: 0 };
        case "V":
          out.write(LONG_VERSION);
          return { ok: false, exit: 0 };
        case "version":
          if (val === undefined || val === "short") out.write(`${VIRSH_VERSION}\n`);
          else if (val === "long") out.write(LONG_VERSION);
          else return fail(`unsupported option '--version=${val}'. See --help.`);
          return { ok: false, exit: 0 };
        default:
          return fail(`unsupported option '-${key}'. See --help.`);
      }
    }
  }
  o.rest = argv.slice(i);
  return { ok: true, opts: o };
}

/** Runs tsvirsh; resolves to the process exit status. */
export async function virshMain<Conn>(io: MainIO<Conn>): Promise<number> {
  const parsed = parseGlobalArgs(io.argv, io.stdout, io.stderr, io.groups);
  if (!parsed.ok) return parsed.exit;
  const o = parsed.opts;
  const uri = o.uri ?? io.env.VIRSH_DEFAULT_CONNECT_URI ?? io.env.LIBVIRT_DEFAULT_URI ?? null;
  const ctl = new VirshControl<Conn>({
    out: io.stdout,
    err: io.stderr,
    quiet: o.quiet,
    uri,
    readOnly: o.readOnly,
    groups: io.groups,
    open: io.open,
    close: io.close,
  });
  ctl.timing = o.timing;
  ctl.debugLevel = o.debug;
  ctl.escapeChar = o.escape;
  if (o.log) {
    const file = o.log;
    const err = io.stderr;
    ctl.logLine = (line) => {
      try {
        appendFileSync(file, `${new Date().toISOString()} virsh: ${line}\n`);
      } catch {
        err.write(`error: failed to write log file ${file}\n`);
      }
    };
  }
  if (!(await ctl.connect(uri, o.readOnly))) return 1;
  try {
    if (o.rest.length === 1) return (await ctl.runString(o.rest[0])) ? 0 : 1;
    if (o.rest.length > 1) return (await ctl.runArgv(o.rest)) ? 0 : 1;
    await interactive(ctl, io);
    return 0;
  } finally {
    await ctl.disconnect();
  }
}

/** The interactive shell: banner, prompt, one command string per line until EOF or quit. */
async function interactive<Conn>(ctl: VirshControl<Conn>, io: MainIO<Conn>): Promise<void> {
  ctl.imode = true;
  if (!ctl.quiet) {
    ctl.print("Welcome to virsh, the virtualization interactive terminal.\n\n");
    ctl.print("Type:  'help' for help with commands\n");
    ctl.print("       'quit' to quit\n\n");
  }
  const rl = createInterface({
    input: io.stdin,
    output: io.isTTY ? io.stdout : undefined,
    terminal: io.isTTY,
  });
  const prompt = () => (ctl.readOnly ? "virsh > " : "virsh # ");
  const lines = rl[Symbol.asyncIterator]();
  while (ctl.imode) {
    if (io.isTTY) rl.setPrompt(prompt());
    if (io.isTTY) rl.prompt();
    else ctl.print(prompt());
    const next = await lines.next();
    if (next.done) break;
    const line = next.value;
    // readline without a terminal does not echo; virsh's GNU readline does, so echo here
    if (!io.isTTY) ctl.print(`${line}\n`);
    if (line.trim() !== "") await ctl.runString(line);
  }
  rl.close();
  ctl.print("\n");
}
