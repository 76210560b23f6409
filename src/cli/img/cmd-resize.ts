// `tsvirt-img resize [-f fmt] [--shrink] [--preallocation=mode] [-q] filename [+|-]size`.

import { CliError, errText, fromUsage, type Out, openCli } from "./context.js";
import { getopt } from "./getopt.js";
import { parseSize } from "./units.js";

export async function cmdResize(argv: string[], io: Out): Promise<number> {
  // The size is taken off the end first so "-1G" is not mistaken for an option (as qemu-img).
  if (argv.length < 2)
    throw new CliError("Not enough arguments", 1, "Try 'tsvirt-img --help' for more information\n");
  const sizeArg = argv[argv.length - 1]!;
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv.slice(0, -1), "f:hqU", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "preallocation", arg: "required" },
      { name: "shrink", arg: "none" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let quiet = false;
  let shrink = false;
  let prealloc: string | undefined;
  for (const [k, v] of p.opts) {
    if (k === "f") fmt = v;
    else if (k === "q") quiet = true;
    else if (k === "shrink") shrink = true;
    else if (k === "preallocation") prealloc = v;
  }
  if (p.args.length !== 1)
    throw new CliError(
      "Expecting image file name and size",
      1,
      "Try 'tsvirt-img --help' for more information\n",
    );
  let rel = 0;
  let text = sizeArg;
  if (text.startsWith("+")) {
    rel = 1;
    text = text.slice(1);
  } else if (text.startsWith("-")) {
    rel = -1;
    text = text.slice(1);
  }
  const v = parseSize(text);
  if (v === undefined) {
    throw new CliError(
      "Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.",
    );
  }
  const img = await openCli(p.args[0]!, fmt, { readOnly: false, warnProbe: io });
  try {
    const n = Number(v);
    const size = rel === 0 ? n : img.virtualSize + rel * n;
    if (size < 0) throw new CliError("New image size must be positive");
    if (!img.resizable) throw new CliError("Image format driver does not support resize");
    if (size < img.virtualSize && !shrink) {
      io.err(
        "tsvirt-img: Use the --shrink option to perform a shrink operation.\n" +
          "tsvirt-img: warning: Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.\n",
      );
      return 1;
    }
    try {
      await img.resizable.resize(size, { shrink, preallocation: prealloc });
      await img.flush();
    } catch (e) {
      throw new CliError(errText(e));
    }
    if (!quiet) io.out("Image resized.\n");
    return 0;
  } finally {
    await img.close();
  }
}
