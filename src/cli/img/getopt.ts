// A getopt_long work-alike for tsvirt-img: short option strings ("hf:o:"), long options, GNU
// argument permutation, and qemu-img's wording for bad options.

/**
 * A bad option. `message` is qemu-img's wording (it names glibc's argv[optind - 1]: the element
 * being parsed, or the one before it when an unknown letter is not the last of its cluster);
 * `glibc` is what glibc's getopt itself prints (qemu-img measure leaves the reporting to it).
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly glibc: string = message,
  ) {
    super(message);
  }
}

/** -h / --help: qemu-img prints its help and exits 0 where the option comes (later ones unread). */
export class HelpRequest extends Error {}

export interface LongOpt {
  name: string;
  arg: "none" | "required" | "optional";
  /** Key reported for this option (defaults to the long name). */
  key?: string;
}

export interface Parsed {
  opts: [string, string][];
  args: string[];
}

/** `name` is the command (qemu's argv[0] for the command's getopt). */
export function getopt(argv: string[], short: string, longs: LongOpt[] = [], name = ""): Parsed {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < short.length; i++) {
    const c = short[i]!;
    if (c === ":") continue;
    takesArg.set(c, short[i + 1] === ":");
  }
  const opts: [string, string][] = [];
  const args: string[] = [];
  // glibc permutes as it goes: the options parsed so far (with their argument elements) come
  // first, then the non-options seen so far, then the element being parsed.
  const done: string[] = [];
  const before = () => args[args.length - 1] ?? done[done.length - 1] ?? name;
  const unrecognized = (el: string, glibc: string) => new UsageError(`unrecognized option '${el}'`, glibc);
  const missing = (el: string, glibc: string) => new UsageError(`missing argument for option '${el}'`, glibc);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const given = a.slice(2, eq < 0 ? undefined : eq);
      // getopt_long accepts unambiguous prefixes of long names.
      let lo = longs.find((l) => l.name === given);
      if (!lo) {
        const cands = longs.filter((l) => l.name.startsWith(given));
        if (cands.length === 1) lo = cands[0];
        else if (cands.length > 1)
          throw unrecognized(
            a,
            `option '--${given}' is ambiguous; possibilities:${cands.map((c) => ` '--${c.name}'`).join("")}`,
          );
      }
      if (!lo) throw unrecognized(a, `unrecognized option '${a}'`);
      const key = lo.key ?? lo.name;
      if (key === "h") throw new HelpRequest();
      done.push(a);
      if (lo.arg === "none") {
        if (eq >= 0) throw unrecognized(a, `option '--${lo.name}' doesn't allow an argument`);
        opts.push([key, ""]);
      } else if (eq >= 0) opts.push([key, a.slice(eq + 1)]);
      else if (lo.arg === "required") {
        if (i + 1 >= argv.length) throw missing(a, `option '--${lo.name}' requires an argument`);
        done.push(argv[i + 1]!);
        opts.push([key, argv[++i]!]);
      } else opts.push([key, ""]);
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const has = takesArg.get(c);
        const last = j + 1 === a.length;
        // (glibc moves past the element only after its last letter.)
        if (has === undefined) throw unrecognized(last ? a : before(), `invalid option -- '${c}'`);
        if (c === "h" && !has) throw new HelpRequest();
        if (!has) {
          opts.push([c, ""]);
          if (last) done.push(a);
          continue;
        }
        if (!last) {
          opts.push([c, a.slice(j + 1)]);
          done.push(a);
        } else {
          if (i + 1 >= argv.length) throw missing(a, `option requires an argument -- '${c}'`);
          done.push(a, argv[i + 1]!);
          opts.push([c, argv[++i]!]);
        }
        break;
      }
      continue;
    }
    args.push(a);
  }
  return { opts, args };
}
