// `tsvirt-img amend -o options [-f fmt] filename`: changes creation options in place where the
// format supports it (an `amend(options)` method on the image).

import { CliError, errText, fromUsage, type Out, openCli } from "./context.js";
import { amendHelp, parseOptionString } from "./create-options.js";
import { getopt } from "./getopt.js";

export async function cmdAmend(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv, "ho:f:t:pqU", [
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
  for (const [k, v] of p.opts) {
    if (k === "f") fmt = v;
    else if (k === "o") opts.push(v);
  }
  if (opts.length === 0)
    throw new CliError("Must specify options (-o)", 1, "Try 'tsvirt-img --help' for more information\n");
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  const pairs = opts.flatMap(parseOptionString);
  const img = await openCli(p.args[0]!, fmt, { readOnly: false });
  try {
    if (pairs.some(([k]) => k === "help" || k === "?")) {
      const h = amendHelp(img.format);
      if (!h) throw new CliError(`Format driver '${img.format}' does not support option amendment`);
      io.out(h);
      return 0;
    }
    const a = img as unknown as { amend?: (o: Record<string, string>) => Promise<void> };
    if (typeof a.amend !== "function")
      throw new CliError(`Format driver '${img.format}' does not support option amendment`);
    try {
      await a.amend(Object.fromEntries(pairs));
      await img.flush();
    } catch (e) {
      throw new CliError(errText(e));
    }
    return 0;
  } finally {
    await img.close();
  }
}
