// `tsvirt-img amend -o options [-f fmt] filename`: changes creation options in place where the
// format supports it (an `amend(options)` method on the image).

import { CliError, errText, fromUsage, hasImageOpts, openCli, type Out, showHelp } from "./context.js";
import {
  AMEND_OPTIONS,
  amendHelp,
  checkOptionList,
  checkOptionValue,
  CREATE_OPTIONS,
  parseOptionString,
} from "./create-options.js";
import { getopt, HelpRequest } from "./getopt.js";
import { type QemuProgress, qemuProgress } from "./progress.js";
import { cliObjects, type Secrets } from "./qdict.js";

export async function cmdAmend(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "ho:f:t:pq",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force", arg: "none" },
      ],
      "amend",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let progress = false;
  let quiet = false;
  const opts: string[] = [];
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "p") progress = true;
    else if (k === "q") quiet = true;
    else if (k === "o") {
      checkOptionList(v);
      opts.push(v);
    }
  }
  if (opts.length === 0)
    throw new CliError("Must specify options (-o)", 1, "Try 'tsvirt-img --help' for more information\n");
  const pairs = opts.flatMap(parseOptionString);
  const help = pairs.some(([k]) => k === "help" || k === "?");
  // With -f, help needs no image (qemu answers it before looking at the file name).
  if (help && fmt !== undefined) {
    if (!(fmt in CREATE_OPTIONS)) throw new CliError(`Unknown file format '${fmt}'`);
    const h = amendHelp(fmt);
    if (!h) throw new CliError(`Format driver '${fmt}' does not support option amendment`);
    io.out(h);
    return 0;
  }
  if (p.args.length !== 1) throw new CliError("Expecting one image file name");
  // qemu-img's progress: a newline on every way out; 0 % when the format's amendment starts and
  // 100 % when it returns, whether it failed or not.
  const bar = qemuProgress(io, progress && !quiet, 1);
  try {
    return await amend(io, p, fmt, pairs, help, secrets, bar);
  } finally {
    bar?.end();
  }
}

async function amend(
  io: Out,
  p: ReturnType<typeof getopt>,
  fmt: string | undefined,
  pairs: [string, string][],
  help: boolean,
  secrets: Secrets,
  bar: QemuProgress | undefined,
): Promise<number> {
  const img = await openCli(p.args[0]!, fmt, {
    warn: io,
    readOnly: false,
    warnProbe: io,
    imageOpts: hasImageOpts(p.opts),
    secrets,
  });
  try {
    if (help) {
      const h = amendHelp(img.format);
      if (!h) throw new CliError(`Format driver '${img.format}' does not support option amendment`);
      io.out(h);
      return 0;
    }
    const a = img as unknown as { amend?: (o: Record<string, string>) => Promise<void> };
    if (typeof a.amend !== "function")
      throw new CliError(`Format driver '${img.format}' does not support option amendment`);
    // Parsed against the creation options one by one, then limited to the amendable ones.
    const descs = CREATE_OPTIONS[img.format] ?? [];
    const values: Record<string, string> = {};
    for (const [k, v] of pairs) {
      const d = descs.find((x) => x.name === k);
      if (!d) throw new CliError(`Invalid parameter '${k}'`);
      values[k] = checkOptionValue(d, v, "", io);
    }
    const amendable = AMEND_OPTIONS[img.format] ?? [];
    for (const k of Object.keys(values)) {
      if (!amendable.some((x) => x.name === k))
        throw new CliError(`Invalid parameter '${k}'\nThis option is only supported for image creation`);
    }
    const q = img as unknown as {
      header?: { version?: number; l1Size?: number };
      snapshotList?: { l1Size: number }[];
    };
    const version = () => q.header?.version;
    const before = version();
    // A downgrade reports each L1 entry it went through, of the active table and the snapshots'.
    const l1Entries = (q.header?.l1Size ?? 0) + (q.snapshotList ?? []).reduce((n, x) => n + x.l1Size, 0);
    bar?.print(0, 100);
    try {
      await a.amend(values);
      await img.flush();
    } catch (e) {
      throw new CliError(errText(e));
    } finally {
      // qcow2's status callbacks: an upgrade reports its two steps, a downgrade its end.
      const after = version();
      if (before !== undefined && after !== undefined && after > before) {
        bar?.print(0, 0);
        bar?.print(50, 0);
        bar?.print(100, 0);
      } else if (before !== undefined && after !== undefined && after < before) {
        for (let i = 1; i <= l1Entries; i++) bar?.print((100 * i) / l1Entries, 0);
      }
      bar?.print(100, 0);
    }
    return 0;
  } finally {
    await img.close();
  }
}
