// `tsvirt-img dd [-f fmt] [-O fmt] [bs=N] [count=N] [skip=N] if=in of=out`: block copy into a
// new image, as qemu-img dd (every block is written; no sparse detection).

import { createImage, hasFormat, type Image, ImageError, openImage } from "../../image/index.js";
import { printNotice } from "./corruption.js";
import { CliError, errText, fromUsage, hasImageOpts, openCli, type Out, showHelp } from "./context.js";
import { createFailureText, leaveEmptyFileIfQemuDoes } from "./create-options.js";
import { getopt, HelpRequest } from "./getopt.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { strtosz } from "./units.js";

export async function cmdDd(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "hf:O:U",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "image-opts", arg: "none" },
        { name: "object", arg: "required" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "dd",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let outFmt = "raw";
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "O") outFmt = v;
  }
  let bs = 512;
  let count: number | undefined;
  let skip: number | undefined;
  let input: string | undefined;
  let output: string | undefined;
  // qemu's cvtnum_full(): a qemu_strtosz size within [min, max], with its two messages.
  const cvtnum = (name: string, v: string, min: number, max: bigint): number => {
    const r = strtosz(v);
    if (r.warning) io.err(`tsvirt-img: warning: ${r.warning}\n`);
    if (r.error === "EINVAL")
      throw new CliError(
        `Invalid ${name} specified. You may use k, M, G, T, P or E suffixes for\ntsvirt-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.`,
      );
    if (r.value === undefined || r.value > max || r.value < BigInt(min))
      throw new CliError(`Invalid ${name} specified. Must be between ${min} and ${max}.`);
    return Number(r.value);
  };
  for (const a of p.args) {
    const eq = a.indexOf("=");
    if (eq < 0) throw new CliError(`unrecognized operand ${a}`);
    const k = a.slice(0, eq);
    const v = a.slice(eq + 1);
    if (k === "bs") bs = cvtnum("bs", v, 1, 2147483647n);
    else if (k === "count") count = cvtnum("count", v, 0, 9223372036854775807n);
    else if (k === "skip") skip = cvtnum("skip", v, 0, 9223372036854775807n);
    else if (k === "if") input = v;
    else if (k === "of") output = v;
    else throw new CliError(`unrecognized operand ${k}`);
  }
  if (input === undefined || output === undefined)
    throw new CliError("Must specify both input and output files");
  const src = await openCli(input, fmt, {
    warn: io,
    readOnly: true,
    imageOpts: hasImageOpts(p.opts),
    secrets,
  });
  let dst: Image | undefined;
  try {
    if (!hasFormat(outFmt)) throw new CliError("Unknown file format");
    // qemu-img dd: size = min(count*bs, input size), then the skipped bytes are taken off it; a
    // skip past the end warns and makes an empty image (like dd(1)), exit status 0.
    let end = src.virtualSize;
    if (count !== undefined && count * bs < end) end = count * bs;
    const start = (skip ?? 0) * bs;
    const beyond = skip !== undefined && end < start;
    const size = beyond ? 0 : end - start;
    try {
      await createImage(output, outFmt, size, {});
    } catch (e) {
      await leaveEmptyFileIfQemuDoes(output, outFmt, errText(e));
      throw new CliError(
        `${output}: error while creating output image: ${createFailureText(output, errText(e))}`,
      );
    }
    try {
      dst = await openImage(output, { format: outFmt, readOnly: false });
    } catch (e) {
      throw new CliError(`Could not open '${output}': ${errText(e)}`);
    }
    if (beyond) io.err(`tsvirt-img: ${input}: cannot skip to specified offset\n`);
    const chunk = Math.max(bs, Math.floor((4 << 20) / bs) * bs);
    const buf = new Uint8Array(chunk);
    for (let pos = 0; pos < size; pos += chunk) {
      const n = Math.min(chunk, size - pos);
      try {
        await src.read(start + pos, buf.subarray(0, n));
      } catch (e) {
        // qemu reads and writes one block at a time: the blocks before the failing one are out.
        let good: number;
        if (e instanceof ImageError && e.guestOffset !== undefined)
          good = Math.min(n, Math.max(0, Math.floor((e.guestOffset - start - pos) / bs) * bs));
        else {
          // Where it failed is not known: the blocks that still read are the good ones.
          good = 0;
          while (good < n) {
            const k = Math.min(bs, n - good);
            try {
              await src.read(start + pos + good, buf.subarray(good, good + k));
            } catch {
              break;
            }
            good += k;
          }
        }
        if (good > 0) {
          // (The failed read may have left the buffer unfilled: the good blocks are read again.)
          await src.read(start + pos, buf.subarray(0, good));
          await dst.write(pos, buf.subarray(0, good));
        }
        printNotice(io, e);
        throw new CliError(`error while reading from input image file: ${errText(e)}`);
      }
      try {
        await dst.write(pos, buf.subarray(0, n));
      } catch (e) {
        throw new CliError(`error while writing to output image file: ${errText(e)}`);
      }
    }
    await dst.flush();
    return 0;
  } finally {
    await dst?.close().catch(() => {});
    await src.close();
  }
}
