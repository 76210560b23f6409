// `tsvirt-img convert`: copies one or more source images (concatenated) into a new or existing
// target of any format, sparse, optionally compressed, with qemu-img's options.

import { createImage, FileIO, type Image, ImageError, openImage } from "../../image/index.js";
import { CliError, compressedWriter, errText, fromUsage, type Out, openCli } from "./context.js";
import { copyImage } from "./copy.js";
import { CREATE_OPTIONS, optionsHelp, parseOptionString } from "./create-options.js";
import { getopt } from "./getopt.js";
import { makeProgress } from "./progress.js";
import { parseSize } from "./units.js";

export async function cmdConvert(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv, "hf:O:B:Cco:l:S:pt:T:qnm:WUr:F:", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "target-image-opts", arg: "none" },
      { name: "salvage", arg: "none" },
      { name: "target-is-zero", arg: "none" },
      { name: "bitmaps", arg: "none" },
      { name: "skip-broken-bitmaps", arg: "none" },
      { name: "force-share", arg: "none", key: "U" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let srcFmt: string | undefined;
  let outFmt = "raw";
  let outBacking: string | undefined;
  let outBackingFmt: string | undefined;
  let compress = false;
  let progress = false;
  let noCreate = false;
  let targetIsZero = false;
  let sparse = 4096;
  let parallel = 8;
  // qemu-img convert writes the target with cache=unsafe unless -t says otherwise: no fsync.
  let cache = "unsafe";
  const optStrings: string[] = [];
  for (const [k, v] of p.opts) {
    switch (k) {
      case "f":
        srcFmt = v;
        break;
      case "O":
        outFmt = v;
        break;
      case "B":
        outBacking = v;
        break;
      case "F":
        outBackingFmt = v;
        break;
      case "c":
        compress = true;
        break;
      case "o":
        optStrings.push(v);
        break;
      case "p":
        progress = true;
        break;
      case "n":
        noCreate = true;
        break;
      case "t":
        cache = v;
        break;
      case "target-is-zero":
        targetIsZero = true;
        break;
      case "l":
        // Reading an internal snapshot as the source is not implemented: refuse rather than
        // silently copying the current state.
        throw new CliError(`Failed to load snapshot: ${v}: Operation not supported`);
      case "S": {
        const s = parseSize(v, "B");
        if (s === undefined || s % 512n !== 0n || s > 16n << 20n) {
          throw new CliError(
            "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 16777216. Select 0 to disable sparse detection (fully allocates output).",
          );
        }
        sparse = Number(s);
        break;
      }
      case "m": {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 16)
          throw new CliError(
            "Invalid number of coroutines. Allowed number of coroutines is between 1 and 16",
          );
        parallel = n;
        break;
      }
    }
  }
  if (p.args.length < 2) throw new CliError("Must specify image file name", 1);
  const outName = p.args[p.args.length - 1]!;
  const srcNames = p.args.slice(0, -1);
  if (targetIsZero && !noCreate) throw new CliError("--target-is-zero requires use of -n flag");
  const descs = CREATE_OPTIONS[outFmt];
  const pairs = optStrings.flatMap(parseOptionString);
  if (pairs.some(([k]) => k === "help" || k === "?")) {
    io.out(optionsHelp(outFmt));
    return 0;
  }
  const options: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (descs && !descs.some((d) => d.name === k)) throw new CliError(`Invalid parameter '${k}'`);
    options[k] = v;
  }
  if (outBacking !== undefined) {
    if (options.backing_file !== undefined)
      throw new CliError("Using -B and -o backing_file at the same time is not supported.");
    options.backing_file = outBacking;
  }
  if (outBackingFmt !== undefined) options.backing_fmt = outBackingFmt;
  const topOnly = options.backing_file !== undefined;

  const sources: Image[] = [];
  let out: Image | undefined;
  // qemu-img writes the target with cache=unsafe unless -t says otherwise: closing skips fsync.
  FileIO.unsafeCache = cache === "unsafe";
  // Bulk data goes through libuv's pool so reads, the zero scan and writes overlap on both
  // cores; small metadata requests stay direct syscalls.
  const prevDirectMax = FileIO.directMax;
  FileIO.directMax = 1 << 20;
  try {
    for (const n of srcNames) sources.push(await openCli(n, srcFmt, { readOnly: true }));
    const total = sources.reduce((s, i) => s + i.virtualSize, 0);
    if (!noCreate) {
      if (!descs) throw new CliError(`Unknown file format '${outFmt}'`);
      try {
        await createImage(outName, outFmt, total, options);
      } catch (e) {
        throw new CliError(`${outName}: error while converting ${outFmt}: ${errText(e)}`);
      }
    }
    try {
      out = await openImage(outName, {
        format: noCreate ? undefined : outFmt,
        readOnly: false,
        backingChain: topOnly,
      });
    } catch (e) {
      throw new CliError(`Could not open '${outName}': ${errText(e)}`);
    }
    if (noCreate && out.virtualSize < total) {
      throw new CliError(`Target image size is smaller than the source image size`, 1);
    }
    const cw = compressedWriter(out);
    // Stream-optimized VMDK compresses every grain, -c or not.
    const streamOnly = out.format === "vmdk" && cw !== undefined;
    if (compress && !cw) throw new CliError("Compression not supported for this file format");
    const bar = makeProgress(io, progress);
    const targetZero = noCreate ? targetIsZero : !topOnly;
    let base = 0;
    try {
      for (const src of sources) {
        await copyImage(
          src,
          out,
          0,
          base,
          src.virtualSize,
          {
            sparseSize: sparse,
            targetZero,
            topOnly,
            compress: compress || streamOnly ? cw : undefined,
            parallel,
            onProgress: bar ? (d) => bar.update(base + d, total) : undefined,
          },
          0,
          total,
        );
        base += src.virtualSize;
      }
      if (cache !== "unsafe") await out.flush();
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`error while writing at byte ${base}: ${errText(e)}`);
    } finally {
      bar?.stop();
    }
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(errText(e));
    throw e;
  } finally {
    for (const s of sources) await s.close().catch(() => {});
    await out?.close().catch(() => {});
    FileIO.unsafeCache = false;
    FileIO.directMax = prevDirectMax;
  }
  return 0;
}
