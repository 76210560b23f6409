// `tsvirt-img convert`: copies one or more source images (concatenated) into a new or existing
// target of any format, sparse, optionally compressed, with qemu-img's options.

import { stat } from "node:fs/promises";
import { createImage, FileIO, type Image, ImageError, type MapExtent, openImage } from "../../image/index.js";
import {
  CliError,
  compressedWriter,
  errText,
  fromUsage,
  hasImageOpts,
  openCli,
  type Out,
  showHelp,
} from "./context.js";
import { copyImage, SourceReadError, SourceStatusError } from "./copy.js";
import { printNotice, statusUntilError } from "./corruption.js";
import { chainStatus } from "./chain-status.js";
import {
  aesUnexpected,
  CREATE_OPTIONS,
  checkOptionList,
  checkOptionValue,
  createFailureText,
  createOptionsWithProtocol,
  leaveEmptyFileIfQemuDoes,
  optionsHelp,
  optionsHelpWithProtocol,
  parseOptionString,
} from "./create-options.js";
import { getopt, HelpRequest } from "./getopt.js";
import { loadSnapshot, parseSnapshotParam, type SnapshotParam } from "./snapshot-param.js";
import { convertProgressPlan } from "./convert-progress.js";
import { qemuProgress } from "./progress.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { cvtnum, isCacheMode } from "./units.js";

/** Whether `path` is the same file as any image of the sources' chains. */
async function inChains(path: string, sources: Image[]): Promise<boolean> {
  let target: { dev: number; ino: number };
  try {
    target = await stat(path);
  } catch {
    return false;
  }
  for (const s of sources) {
    for (let i: Image | undefined = s; i; i = i.backing?.backingImage) {
      if (!i.io.path) continue;
      const st = await stat(i.io.path).catch(() => undefined);
      if (st && st.dev === target.dev && st.ino === target.ino) return true;
    }
  }
  return false;
}

export async function cmdConvert(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "hf:O:B:Cco:l:S:pt:T:qnm:WUr:F:",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "target-image-opts", arg: "none" },
        { name: "salvage", arg: "none" },
        { name: "target-is-zero", arg: "none" },
        { name: "bitmaps", arg: "none" },
        { name: "skip-broken-bitmaps", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "convert",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
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
  let explicitSparse = false;
  let parallel = 8;
  let quiet = false;
  let copyRange = false;
  let salvage = false;
  let bitmaps = false;
  let skipBroken = false;
  let tgtImageOpts = false;
  let srcCache = "writeback";
  let snapshot: SnapshotParam | undefined;
  // qemu-img convert writes the target with cache=unsafe unless -t says otherwise: no fsync.
  let cache = "unsafe";
  const optStrings: string[] = [];
  // --object secrets, in option order (as qemu-img creates the objects): keys for the target.
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    switch (k) {
      case "object":
        cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
        break;
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
        checkOptionList(v);
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
      case "T":
        srcCache = v;
        break;
      case "q":
        quiet = true;
        break;
      case "C":
        copyRange = true;
        break;
      case "salvage":
        salvage = true;
        break;
      case "bitmaps":
        bitmaps = true;
        break;
      case "skip-broken-bitmaps":
        skipBroken = true;
        break;
      case "target-image-opts":
        tgtImageOpts = true;
        break;
      case "r": {
        const r = cvtnum("rate limit", v, (w) => io.err(`tsvirt-img: warning: ${w}\n`));
        if ("error" in r) throw new CliError(r.error);
        break;
      }
      case "target-is-zero":
        targetIsZero = true;
        break;
      case "l":
        snapshot = parseSnapshotParam(v, io);
        break;
      case "S": {
        const r = cvtnum("buffer size for sparse output", v, (w) => io.err(`tsvirt-img: warning: ${w}\n`));
        if ("error" in r) throw new CliError(r.error);
        if (r.value % 512 !== 0 || r.value > 16 << 20) {
          throw new CliError(
            "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 16777216. Select 0 to disable sparse detection (fully allocates output).",
          );
        }
        sparse = r.value;
        explicitSparse = true;
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
  // qemu-img's checks after its option loop, in its order.
  if (skipBroken && !bitmaps) throw new CliError("Use of --skip-broken-bitmaps requires --bitmaps");
  if (compress && copyRange) throw new CliError("Cannot enable copy offloading when -c is used");
  if (explicitSparse && copyRange) throw new CliError("Cannot enable copy offloading when -S is used");
  if (copyRange && salvage) throw new CliError("Cannot use copy offloading in salvaging mode");
  if (tgtImageOpts && !noCreate) throw new CliError("--target-image-opts requires use of -n flag");
  if (targetIsZero && !noCreate) throw new CliError("--target-is-zero requires use of -n flag");
  if (noCreate && optStrings.length > 0) throw new CliError("-o has no effect when skipping image creation");
  const descs = CREATE_OPTIONS[outFmt];
  const pairs = optStrings.flatMap(parseOptionString);
  if (pairs.some(([k]) => k === "help" || k === "?")) {
    // The target's name is known here: qemu lists the file protocol's options too.
    io.out(descs ? optionsHelpWithProtocol(outFmt) : optionsHelp(outFmt));
    return 0;
  }
  if (p.args.length < 2) throw new CliError("Must specify image file name", 1);
  const outName = p.args[p.args.length - 1]!;
  const srcNames = p.args.slice(0, -1);
  if (!isCacheMode(srcCache)) throw new CliError(`Invalid source cache option: ${srcCache}`);
  // From here on qemu-img's progress is running: its first line, and a newline on every way out.
  const bar = qemuProgress(io, progress && !quiet, 1);
  bar?.print(0, 100);
  try {
    return await convertImages();
  } finally {
    bar?.end();
  }

  async function convertImages(): Promise<number> {
    const options: Record<string, string> = {};
    const accepted = descs ? createOptionsWithProtocol(outFmt) : undefined;
    let topOnly = false;
    const sources: Image[] = [];
    let out: Image | undefined;
    // qemu-img writes the target with cache=unsafe unless -t says otherwise: closing skips fsync.
    FileIO.unsafeCache = cache === "unsafe";
    // Bulk data goes through libuv's pool so reads, the zero scan and writes overlap on both
    // cores; small metadata requests stay direct syscalls.
    const prevDirectMax = FileIO.directMax;
    FileIO.directMax = 1 << 20;
    try {
      const imageOpts = hasImageOpts(p.opts);
      for (const n of srcNames)
        sources.push(await openCli(n, srcFmt, { warn: io, readOnly: true, imageOpts, secrets }));
      if (snapshot !== undefined) await loadSnapshot(sources, snapshot);
      // Persistent bitmaps live only in qcow2 v3 images (qemu checks the source here and the
      // target once it is open; copying the bitmaps themselves is not done here).
      const bitmapCapable = (img: Image) =>
        img.format === "qcow2" && (img as { header?: { version?: number } }).header?.version === 3;
      if (bitmaps) {
        if (sources.length > 1) throw new CliError("Copying bitmaps only possible with single source");
        if (!bitmapCapable(sources[0]!)) throw new CliError("Source lacks bitmap support");
        if (!skipBroken) {
          const { bitmapInfo } = await import("../../image/formats/qcow2/bitmaps.js");
          for (const bm of (await bitmapInfo(sources[0] as Parameters<typeof bitmapInfo>[0])) ?? [])
            if ((bm.flags as string[]).includes("in-use"))
              throw new CliError(
                `Cannot copy inconsistent bitmap '${bm.name}'\nTry --skip-broken-bitmaps, or use 'qemu-img bitmap --remove' to delete it`,
              );
        }
      }
      const total = sources.reduce((s, i) => s + i.virtualSize, 0);
      if (!descs) throw new CliError(`Unknown file format '${outFmt}'`);
      /** -o extent_size_hint (the file protocol's, checked when the file is made). */
      let hint: string | undefined;
      if (!noCreate) {
        // The target's creation options (qemu parses them once the sources are open), then -B
        // and -F as qemu's add_old_style_options: -B replaces -o backing_file.
        for (const [k, v] of pairs) {
          const d = accepted?.find((x) => x.name === k);
          if (accepted && !d) throw new CliError(`Invalid parameter '${k}'`);
          // The file protocol's own options (nocow, extent_size_hint, …) are accepted, not passed on.
          if (d && descs && !descs.includes(d)) {
            const value = checkOptionValue(d, v, "", io);
            if (k === "extent_size_hint") hint = value;
            continue;
          }
          options[k] = d ? checkOptionValue(d, v, "", io) : v;
        }
        if (outBacking !== undefined) {
          if (!descs.some((d) => d.name === "backing_file"))
            throw new CliError(`Backing file not supported for file format '${outFmt}'`);
          options.backing_file = outBacking;
        }
        if (outBackingFmt !== undefined) {
          if (!descs.some((d) => d.name === "backing_fmt"))
            throw new CliError(`Backing file format not supported for file format '${outFmt}'`);
          options.backing_fmt = outBackingFmt;
        }
      }
      // The target has a backing file: what the source leaves to its own is left to the target's.
      topOnly = noCreate ? outBacking !== undefined : options.backing_file !== undefined;
      if (targetIsZero && topOnly) {
        // (qemu-img 7.2 reports this and stops, with exit status 0.)
        io.err("tsvirt-img: Cannot use --target-is-zero when the destination image has a backing file\n");
        return 0;
      }
      if (!noCreate) {
        // qemu's checks on the target's backing file, after the sources opened.
        if (options.backing_file !== undefined && sources.length > 1)
          throw new CliError(
            "Having a backing file for the target makes no sense when concatenating multiple input images",
          );
        if (options.backing_file !== undefined && options.backing_fmt === undefined)
          throw new CliError("Use of backing file requires explicit backing format");
        if (compress) {
          if (!["qcow", "qcow2", "vmdk"].includes(outFmt))
            throw new CliError("Compression not supported for this file format");
          if (["on", "yes", "true", "y"].includes(options.encryption ?? "") || options["encrypt.format"] !== undefined)
            throw new CliError("Compression and encryption not supported at the same time");
          if (options.preallocation !== undefined && options.preallocation !== "off")
            throw new CliError("Compression and preallocation not supported at the same time");
        }
        // qemu's image locking: the target cannot be created over an open source.
        if (await inChains(outName, sources))
          throw new CliError(
            `${outName}: error while converting ${outFmt}: Failed to get "write" lock\nIs another process using the image [${outName}]?`,
          );
        const unexpected = aesUnexpected(outFmt, options);
        if (unexpected) throw new CliError(`${outName}: error while converting ${outFmt}: ${unexpected}`);
        // (The file protocol's own check, when the format creates its file.)
        if (hint !== undefined && /^\d+$/.test(hint) && BigInt(hint) > 0xffffffffn) {
          // (vmdk checks its own options before it makes the file.)
          if (outFmt === "vmdk") {
            try {
              (await import("../../image/formats/vmdk/create.js")).checkVmdkOptions(options);
            } catch (e) {
              if (e instanceof ImageError)
                throw new CliError(`${outName}: error while converting ${outFmt}: ${e.message}`);
              throw e;
            }
          }
          throw new CliError(`${outName}: error while converting ${outFmt}: Extent size hint is too large`);
        }
        try {
          await createImage(outName, outFmt, total, options, { secrets });
        } catch (e) {
          // qemu's text for a key secret that was not given has no "found" (as create's).
          const text = errText(e).replace(/^(No secret with id '.*') found$/, "$1");
          await leaveEmptyFileIfQemuDoes(outName, outFmt, text);
          throw new CliError(
            `${outName}: error while converting ${outFmt}: ${createFailureText(outName, text)}`,
          );
        }
      }
      // The target's cache mode is read when it is opened (after it was created).
      if (!isCacheMode(cache)) throw new CliError(`Invalid cache option: ${cache}`);
      // qemu's image locking: an existing target that is one of the open sources (or in their
      // backing chains) cannot be opened for writing.
      if (noCreate && (await inChains(outName, sources)))
        throw new CliError(
          `Could not open '${outName}': Failed to get "write" lock\nIs another process using the image [${outName}]?`,
        );
      try {
        out = await openImage(outName, {
          format: noCreate ? undefined : outFmt,
          readOnly: false,
          backingChain: topOnly,
          secrets,
        });
      } catch (e) {
        throw new CliError(`Could not open '${outName}': ${errText(e)}`);
      }
      if (
        bitmaps &&
        !(out.format === "qcow2" && (out as { header?: { version?: number } }).header?.version === 3)
      )
        throw new CliError(`Format driver '${out.format}' does not support bitmaps`);
      // An encrypted target opens only with its key (qemu needs it to write).
      if ((out as { keyMissing?: boolean }).keyMissing)
        throw new CliError(
          `Could not open '${outName}': Parameter 'encrypt.key-secret' is required for cipher`,
        );
      const cw = compressedWriter(out);
      // Stream-optimized VMDK compresses every grain, -c or not.
      const streamOnly = out.format === "vmdk" && cw !== undefined;
      if (compress && !cw) {
        // qemu's vmdk takes "compressed" writes into a sparse extent as plain ones; a flat extent
        // fails them once there is data to write.
        const flat = (out as unknown as { extents?: { extent: { clusterSize?: number } }[] }).extents?.some(
          (e) => !e.extent.clusterSize,
        );
        if (out.format !== "vmdk") throw new CliError("Compression not supported for this file format");
        if (flat) {
          for (const src of sources) {
            const st = await src.blockStatus(0, src.virtualSize);
            if (st.some((e) => e.data)) throw new CliError("invalid cluster size");
          }
        }
      }
      if (noCreate && out.virtualSize < total) {
        throw new CliError("output file is smaller than input file", 1);
      }
      const targetZero = noCreate ? targetIsZero : !topOnly;
      // qemu's progress steps: one per request of its copy loop that writes (see convert-progress).
      let step: ((doneBytes: number) => void) | undefined;
      if (bar) {
        const compressCluster =
          compress || streamOnly ? (cw?.compressedClusterSize ?? (await out.info()).clusterSize) : undefined;
        const plan = await convertProgressPlan(sources, { sparseSize: sparse, topOnly, compressCluster });
        let k = 0;
        let counted = 0;
        step = (doneBytes) => {
          while (k < plan.ends.length && plan.ends[k]! <= doneBytes) {
            counted += plan.counts[k++]!;
            bar.print((100 * counted) / plan.total, 0);
          }
        };
      }
      let base = 0;
      try {
        // Compressed clusters where two sources meet hold bytes of both: the sources are then
        // copied as one image (qemu reads such a request across the sources).
        const copied = (compress || streamOnly) && sources.length > 1 ? [concatenation(sources)] : sources;
        // A later source whose block status fails (a corruption event) fails the conversion
        // before anything is written, as qemu's parallel requests reach it first.
        for (const src of sources.length > 1 ? sources : []) {
          if (src.format !== "qcow2") continue;
          const st = await statusUntilError(src, 0, src.virtualSize);
          if (st.error) throw new SourceStatusError(st.failAt ?? 0, st.error);
        }
        for (const src of copied) {
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
              targetBackingSize: out.backing?.backingImage?.virtualSize,
              compress: compress || streamOnly ? cw : undefined,
              parallel,
              onProgress: step ? (d) => step(base + d) : undefined,
            },
            0,
            total,
          );
          base += src.virtualSize;
          // The request that ends the source may end past it (its last partial sector).
          step?.(Math.ceil(base / 512) * 512);
        }
        // qemu ends a compressed qcow2 conversion with an empty compressed write, which rounds the
        // file up to whole sectors.
        if (compress && out.format === "qcow2") {
          await out.flush();
          const len = await out.io.size();
          if (len % 512 !== 0) await out.io.truncate(Math.ceil(len / 512) * 512);
        }
        if (cache !== "unsafe") await out.flush();
      } catch (e) {
        if (e instanceof CliError) throw e;
        if (e instanceof SourceStatusError) {
          printNotice(io, e.cause);
          // (The offset within the source, as qemu-img 7.2 prints it.)
          throw new CliError(`error while reading block status at offset ${e.offset}: ${e.message}`);
        }
        if (e instanceof SourceReadError) {
          io.err(`tsvirt-img: error while reading at byte ${base + e.offset}: ${e.message}\n`);
          // qemu's next coroutine has the following request's status by then and reads it too.
          const src = sources.find(
            (_, i) => sources.slice(0, i).reduce((a, x) => a + x.virtualSize, 0) === base,
          );
          const next = parallel > 1 && src ? await nextReadFails(src, e.offset) : undefined;
          if (next !== undefined)
            io.err(`tsvirt-img: error while reading at byte ${base + next}: ${e.message}\n`);
          throw new CliError(undefined);
        }
        throw new CliError(`error while writing at byte ${base}: ${errText(e)}`);
      }
      // qemu-img 7.2 ends a compressed conversion with an empty compressed write, which its qcow
      // (v1) driver refuses: everything is written, and the command fails without a message.
      if (compress && out.format === "qcow") throw new CliError(undefined);
      bar?.print(100, 0);
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
}

/** The sources one after another, as one read-only image (reads and block status). */
function concatenation(sources: Image[]): Image {
  const starts: number[] = [];
  let size = 0;
  for (const s of sources) {
    starts.push(size);
    size += s.virtualSize;
  }
  const each = async (
    offset: number,
    length: number,
    f: (s: Image, at: number, n: number, done: number) => Promise<void>,
  ) => {
    for (let i = 0; i < sources.length; i++) {
      const a = Math.max(offset, starts[i]!);
      const b = Math.min(offset + length, starts[i]! + sources[i]!.virtualSize);
      if (a < b) await f(sources[i]!, a - starts[i]!, b - a, a - offset);
    }
  };
  const first = sources[0]!;
  return {
    format: first.format,
    io: { ...first.io, path: undefined, view: undefined } as unknown as Image["io"],
    virtualSize: size,
    readOnly: true,
    read: (offset, buf) =>
      each(offset, buf.length, (s, at, n, done) => s.read(at, buf.subarray(done, done + n))),
    write: () => Promise.reject(new Error("read-only")),
    async blockStatus(offset, length) {
      const out: MapExtent[] = [];
      await each(offset, length, async (s, at, n, done) => {
        for (const e of await s.blockStatus(at, n)) out.push({ ...e, start: e.start - at + offset + done });
      });
      return out;
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    info: () => first.info(),
  };
}

/**
 * After a source read failed at `offset` (in a format whose requests are one cluster, vmdk's),
 * whether qemu's convert also fails the request for the next cluster, which another coroutine
 * has taken by then: it reads it when its status is data, and that read fails too. Returns its
 * offset.
 */
async function nextReadFails(src: Image, offset: number): Promise<number | undefined> {
  if (src.format !== "vmdk") return undefined;
  const g = (await src.info()).clusterSize ?? 65536;
  const y = Math.floor(offset / g) * g + g;
  if (y >= src.virtualSize) return undefined;
  const n = Math.min(g, src.virtualSize - y);
  const st = (await chainStatus(src, y, n))[0];
  if (!st?.data || st.zero) return undefined;
  try {
    await src.read(y, new Uint8Array(n));
    return undefined;
  } catch {
    return y;
  }
}
