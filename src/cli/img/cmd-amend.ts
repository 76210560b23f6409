// `tsvirt-img amend -o options [-f fmt] filename`: changes creation options in place where the
// format supports it (an `amend(options)` method on the image).

import { CliError, errText, fromUsage, hasImageOpts, openCli, type Out } from "./context.js";
import {
  AMEND_OPTIONS,
  amendHelp,
  checkOptionList,
  checkOptionValue,
  CREATE_OPTIONS,
  parseOptionString,
} from "./create-options.js";
import { getopt } from "./getopt.js";
import { cliObjects, type Secrets } from "./qdict.js";

export async function cmdAmend(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv, "ho:f:t:pq", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "force", arg: "none" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  const opts: string[] = [];
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
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
  const img = await openCli(p.args[0]!, fmt, {
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
    try {
      await a.amend(values);
      await img.flush();
    } catch (e) {
      throw new CliError(errText(e));
    }
    return 0;
  } finally {
    await img.close();
  }
}
