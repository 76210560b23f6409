// `tsvirt-img resize [-f fmt] [--shrink] [--preallocation=mode] [-q] filename [+|-]size`.

import { CliError, errText, fromUsage, hasImageOpts, openCli, type Out, showHelp } from "./context.js";
import { getopt, HelpRequest } from "./getopt.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { strtosz } from "./units.js";

export async function cmdResize(argv: string[], io: Out): Promise<number> {
  // The size is taken off the end first so "-1G" is not mistaken for an option (as qemu-img).
  if (argv.length < 2)
    throw new CliError("Not enough arguments", 1, "Try 'tsvirt-img --help' for more information\n");
  const sizeArg = argv[argv.length - 1]!;
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv.slice(0, -1),
      "f:hqU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "preallocation", arg: "required" },
        { name: "shrink", arg: "none" },
      ],
      "resize",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let quiet = false;
  let shrink = false;
  let prealloc: string | undefined;
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "q") quiet = true;
    else if (k === "shrink") shrink = true;
    else if (k === "preallocation") {
      if (!["off", "metadata", "falloc", "full"].includes(v))
        throw new CliError(`Invalid preallocation mode '${v}'`);
      prealloc = v;
    }
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
  const r = strtosz(text);
  if (r.warning) io.err(`tsvirt-img: warning: ${r.warning}\n`);
  if (r.error === "ERANGE") throw new CliError(`Value '${text}' is out of range for parameter 'size'`);
  const v = r.value;
  if (v === undefined) {
    throw new CliError(
      "Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.",
    );
  }
  const img = await openCli(p.args[0]!, fmt, {
    warn: io,
    readOnly: false,
    warnProbe: io,
    imageOpts: hasImageOpts(p.opts),
    secrets,
  });
  try {
    // int64 arithmetic as qemu's (a size of 2^63 or more wraps negative).
    const wrap = (x: bigint) => BigInt.asIntN(64, x);
    const total = wrap(rel === 0 ? v : BigInt(img.virtualSize) + BigInt(rel) * v);
    if (total <= 0n) throw new CliError("New image size must be positive");
    const size = Number(total);
    if (size <= img.virtualSize && prealloc !== undefined && prealloc !== "off")
      throw new CliError("Preallocation can only be used for growing images");
    if (size < img.virtualSize && !shrink) {
      io.err(
        "tsvirt-img: Use the --shrink option to perform a shrink operation.\n" +
          "tsvirt-img: warning: Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.\n",
      );
      return 1;
    }
    // bdrv_check_request()'s limit (BDRV_MAX_LENGTH) comes before the driver's own support.
    if (total > 9223372035781033984n)
      throw new CliError(`offset(${total}) exceeds maximum(9223372035781033984)`);
    if (!img.resizable) throw new CliError("Image format driver does not support resize");
    // Past 2^53 (not representable here): qcow2's L1 table and a file cannot grow that far.
    if (total > BigInt(Number.MAX_SAFE_INTEGER)) {
      if (img.format === "qcow2") throw new CliError("Failed to grow the L1 table: File too large");
      if (img.format === "raw") throw new CliError("Could not resize file: File too large");
    }
    try {
      await img.resizable.resize(size, { shrink, preallocation: prealloc });
      await img.flush();
    } catch (e) {
      if (img.format === "raw" && /EFBIG/.test(errText(e)))
        throw new CliError("Could not resize file: File too large");
      throw new CliError(errText(e));
    }
    if (!quiet) io.out("Image resized.\n");
    return 0;
  } finally {
    await img.close();
  }
}
