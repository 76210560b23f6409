// `tsvirt-img dd [-f fmt] [-O fmt] [bs=N] [count=N] [skip=N] if=in of=out`: block copy into a
// new image, as qemu-img dd (every block is written; no sparse detection).

import { createImage, type Image, openImage } from "../../image/index.js";
import { CliError, errText, fromUsage, type Out, openCli } from "./context.js";
import { getopt } from "./getopt.js";
import { parseSize } from "./units.js";

export async function cmdDd(argv: string[], _io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv, "hf:O:U", [
      { name: "help", arg: "none", key: "h" },
      { name: "image-opts", arg: "none" },
      { name: "object", arg: "required" },
      { name: "force-share", arg: "none", key: "U" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let outFmt = "raw";
  for (const [k, v] of p.opts) {
    if (k === "f") fmt = v;
    else if (k === "O") outFmt = v;
  }
  let bs = 512;
  let count: number | undefined;
  let skip = 0;
  let input: string | undefined;
  let output: string | undefined;
  for (const a of p.args) {
    const eq = a.indexOf("=");
    if (eq < 0)
      throw new CliError(`unrecognized operand ${a}`, 1, "Try 'tsvirt-img --help' for more information\n");
    const k = a.slice(0, eq);
    const v = a.slice(eq + 1);
    const num = () => {
      const n = parseSize(v, "B");
      if (n === undefined || n <= 0n) throw new CliError(`invalid number: '${v}'`);
      return Number(n);
    };
    if (k === "bs") bs = num();
    else if (k === "count") count = Number(v);
    else if (k === "skip") skip = Number(v);
    else if (k === "if") input = v;
    else if (k === "of") output = v;
    else throw new CliError(`unrecognized operand ${a}`, 1, "Try 'tsvirt-img --help' for more information\n");
  }
  if (input === undefined) throw new CliError("Must specify both input and output files");
  if (output === undefined) throw new CliError("Must specify both input and output files");
  const src = await openCli(input, fmt, { readOnly: true });
  let dst: Image | undefined;
  try {
    // qemu-img dd: size = min(count*bs, input size), then the skipped bytes are taken off it.
    const start = skip * bs;
    let size = src.virtualSize;
    if (count !== undefined && count * bs < size) size = count * bs;
    size = size < start ? 0 : size - start;
    try {
      await createImage(output, outFmt, size, {});
      dst = await openImage(output, { format: outFmt, readOnly: false });
    } catch (e) {
      throw new CliError(`${output}: error while creating output image: ${errText(e)}`);
    }
    const chunk = Math.max(bs, Math.floor((4 << 20) / bs) * bs);
    const buf = new Uint8Array(chunk);
    for (let pos = 0; pos < size; pos += chunk) {
      const n = Math.min(chunk, size - pos);
      await src.read(start + pos, buf.subarray(0, n));
      await dst.write(pos, buf.subarray(0, n));
    }
    await dst.flush();
    return 0;
  } finally {
    await dst?.close().catch(() => {});
    await src.close();
  }
}
