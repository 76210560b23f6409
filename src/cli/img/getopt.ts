// A getopt_long work-alike for tsvirt-img: short option strings ("hf:o:"), long options, GNU
// argument permutation, and qemu-img's wording for bad options.

export class UsageError extends Error {}

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

export function getopt(argv: string[], short: string, longs: LongOpt[] = []): Parsed {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < short.length; i++) {
    const c = short[i]!;
    if (c === ":") continue;
    takesArg.set(c, short[i + 1] === ":");
  }
  const opts: [string, string][] = [];
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = a.slice(2, eq < 0 ? undefined : eq);
      // getopt_long accepts unambiguous prefixes of long names.
      let lo = longs.find((l) => l.name === name);
      if (!lo) {
        const cands = longs.filter((l) => l.name.startsWith(name));
        if (cands.length === 1) lo = cands[0];
      }
      if (!lo) throw new UsageError(`unrecognized option '${a.slice(0, eq < 0 ? undefined : eq)}'`);
      const key = lo.key ?? lo.name;
      if (lo.arg === "none") {
        if (eq >= 0) throw new UsageError(`option '--${lo.name}' doesn't allow an argument`);
        opts.push([key, ""]);
      } else if (eq >= 0) opts.push([key, a.slice(eq + 1)]);
      else if (lo.arg === "required") {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${lo.name}' requires an argument`);
        opts.push([key, argv[++i]!]);
      } else opts.push([key, ""]);
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const has = takesArg.get(c);
        if (has === undefined) throw new UsageError(`unrecognized option '-${c}'`);
        if (!has) {
          opts.push([c, ""]);
          continue;
        }
        if (j + 1 < a.length) opts.push([c, a.slice(j + 1)]);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`missing argument for option '-${c}'`);
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
