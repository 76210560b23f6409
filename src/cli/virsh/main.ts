// tsvirsh's entry: virsh 9.0's global options (virshParseArgv), then one of its three modes: a
// command in argv, a command string, or the interactive shell reading standard input.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { type Readable, Transform, type Writable } from "node:stream";
import type { GroupDef, ParsedCmd } from "./command.js";
import { VirshControl } from "./control.js";
import { setTableLocale } from "./format/table.js";
import { strToLongI } from "./options.js";

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
  keepaliveInterval: number;
  keepaliveCount: number;
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

/** -V as Debian 12's virsh 9.0 prints it: its build's feature list, kept byte for byte so that
 * scripts reading it see the same text (tsvirsh itself serves QEMU and test:///). */
const LONG_VERSION = `Virsh command line tool of libvirt ${VIRSH_VERSION}
See web site at https://libvirt.org/

Compiled with support for:
 Hypervisors: QEMU/KVM LXC LibXL OpenVZ VMware VirtualBox ESX Test
 Networking: Remote Network Bridging Interface udev Nwfilter
 Storage: Dir Disk Filesystem SCSI Multipath iSCSI iSCSI-direct LVM RBD Gluster ZFS
 Miscellaneous: Daemon Nodedev AppArmor SELinux Secrets Debug DTrace Readline
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
    keepaliveInterval: -1,
    keepaliveCount: -1,
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
    for (const [key, val, shown] of pairs) {
      const optName = shown.startsWith("--") ? shown : `-${key}`;
      switch (key) {
        case "c":
          o.uri = val ?? null;
          break;
        case "d": {
          const n = strToLongI(val ?? "", 10);
          if (n === null) return fail(`option ${optName} takes a numeric argument`);
          // out of range: said and ignored (the level stays as it was)
          if (n < 0 || n > 4) err.write(`error: ignoring debug level ${n} out of range [0-4]\n`);
          else o.debug = n;
          break;
        }
        case "e":
          if (
            !val ||
            !(
              (Buffer.byteLength(val) === 1 && val !== "^") ||
              (val.length === 2 && val[0] === "^" && /[a-z@-_]/.test(val[1]))
            )
          )
            return fail(`Invalid string '${val}' for escape sequence`);
          o.escape = val;
          break;
        case "k":
        case "K": {
          const n = strToLongI(val ?? "", 0);
          if (n === null) return fail(`Invalid value for option ${optName}`);
          if (n < 0) return fail(`option ${optName} requires a positive integer argument`);
          if (key === "k") o.keepaliveInterval = n;
          else o.keepaliveCount = n;
          break;
        }
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
          // anything but "long" is the short version
          out.write(val === "long" ? LONG_VERSION : `${VIRSH_VERSION}\n`);
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
  setTableLocale(io.env);
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
  ctl.keepaliveInterval = o.keepaliveInterval;
  ctl.keepaliveCount = o.keepaliveCount;
  // virshParseArgv parses the command line's commands before virshInit connects
  let cmds: ParsedCmd[] | null = null;
  if (o.rest.length === 1) {
    ctl.logLine?.(o.rest[0]);
    if (o.rest[0] === "") return 1;
    ctl.debug(1, `commands: "${o.rest[0]}"\n`);
    cmds = ctl.parseString(o.rest[0]);
    if (!cmds) return 1;
  } else if (o.rest.length > 1) {
    cmds = ctl.parseArgv(o.rest);
    if (!cmds) return 1;
  }
  try {
    // virshInit: a URI given with -c must open now; the default one opens when a command needs it
    if (o.uri !== null && !(await ctl.connect(o.uri, o.readOnly))) {
      ctl.reportError();
      return 1;
    }
    if (cmds) return (await ctl.run(cmds)) ? 0 : 1;
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
  // GNU readline reading a pipe ends a line at a carriage return too ("a\r\n" is two lines)
  const input = io.isTTY
    ? io.stdin
    : io.stdin.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            const b = Buffer.from(chunk);
            for (let i = 0; i < b.length; i++) if (b[i] === 13) b[i] = 10;
            cb(null, b);
          },
        }),
      );
  const rl = createInterface({
    input,
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
    if (line.trim() !== "") await ctl.runString(line, true);
  }
  rl.close();
  ctl.print("\n");
}
