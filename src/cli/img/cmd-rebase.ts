// `tsvirt-img rebase [-u] [-f fmt] -b backing [-F fmt] filename`: changes the backing file; the
// safe mode first copies into the image every range where old and new backing differ.

import { stat } from "node:fs/promises";
import { CorruptionError } from "../../image/errors.js";
import { hasFormat, type Image, type MapExtent, openImage } from "../../image/index.js";
import { chainStatus, driverRunEnd, qemuWriteZeroes } from "./chain-status.js";
import { printNotice } from "./corruption.js";
import {
  CliError,
  errText,
  fromUsage,
  hasImageOpts,
  openCli,
  type Out,
  pathCombine,
  showHelp,
} from "./context.js";
import { getopt, HelpRequest } from "./getopt.js";
import { isCacheMode } from "./units.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { type QemuProgress, qemuProgress } from "./progress.js";

/** qemu-img rebase compares old and new backing in pieces of at most this (IO_BUF_SIZE). */
const IO_BUF = 2 << 20;

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

export async function cmdRebase(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "hf:F:b:upt:T:qU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "rebase",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let newBacking: string | undefined;
  let newFmt: string | undefined;
  let unsafe = false;
  let progress = false;
  let quiet = false;
  let cache: string | undefined;
  let srcCache: string | undefined;
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "b") newBacking = v;
    else if (k === "F") newFmt = v;
    else if (k === "u") unsafe = true;
    else if (k === "p") progress = true;
    else if (k === "q") quiet = true;
    else if (k === "t") cache = v;
    else if (k === "T") srcCache = v;
  }
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  if (newBacking === undefined && !unsafe)
    throw new CliError(
      "Must specify backing file (-b) or use unsafe mode (-u)",
      1,
      "Try 'tsvirt-img --help' for more information\n",
    );
  // -u without -b drops the backing file.
  newBacking ??= "";
  const filename = p.args[0]!;
  // qemu starts its progress (0 %) before opening anything and ends it on every way out.
  const bar = qemuProgress(io, progress && !quiet, 2);
  bar?.print(0, 100);
  try {
    if (cache !== undefined && !isCacheMode(cache)) throw new CliError(`Invalid cache option: ${cache}`);
    if (srcCache !== undefined && !isCacheMode(srcCache))
      throw new CliError(`Invalid source cache option: ${srcCache}`);
    return await rebase(io, filename, fmt, unsafe, newBacking, newFmt, bar, {
      imageOpts: hasImageOpts(p.opts),
      secrets,
    });
  } finally {
    bar?.end();
  }
}

async function rebase(
  io: Out,
  filename: string,
  fmt: string | undefined,
  unsafe: boolean,
  newBacking: string,
  newFmt: string | undefined,
  bar: QemuProgress | undefined,
  opened: { imageOpts: boolean; secrets: Secrets },
): Promise<number> {
  const img = await openCli(filename, fmt, {
    warn: io,
    readOnly: false,
    backingChain: !unsafe,
    warnProbe: io,
    ...opened,
  });
  let nb: Image | undefined;
  // The new backing file's depth in the old chain (qemu's prefix_chain_bs), if it is there.
  let prefixDepth: number | undefined;
  try {
    if (newFmt !== undefined && !hasFormat(newFmt)) throw new CliError(`Invalid format name: '${newFmt}'`);
    const target = newBacking === "" ? undefined : newBacking;
    if (!unsafe && target !== undefined) {
      const full = pathCombine(filename, target);
      // qemu's image locking: the image itself, opened for writing, cannot be its new backing file
      // when that opens in a format with metadata (its file child refuses to share write); opened
      // as raw (-F raw, or probed raw) it shares write permission and the rebase goes on.
      const self = (newFmt ?? img.format) !== "raw" && (await sameFile(full, filename));
      if (self)
        throw new CliError(
          `Could not open new backing file '${target}': Failed to get shared "write" lock\nIs another process using the image [${full}]?`,
        );
      let depth = 1;
      for (let b = img.backing?.backingImage; b; b = b.backing?.backingImage, depth++)
        if (prefixDepth === undefined && b.io.path && (await sameFile(b.io.path, full))) prefixDepth = depth;
      try {
        nb = await openImage(full, { format: newFmt, readOnly: true });
      } catch (e) {
        throw new CliError(`Could not open new backing file '${target}': ${errText(e)}`);
      }
      // An encrypted backing file opens only with its key (qemu reads through it).
      if ((nb as { keyMissing?: boolean }).keyMissing)
        throw new CliError(
          `Could not open new backing file '${target}': Parameter 'encrypt.key-secret' is required for cipher`,
        );
      // Deeper in the new backing chain, the image itself conflicts the same way.
      {
        let depth = 0;
        for (let b = nb.backing?.backingImage; b; b = b.backing?.backingImage) {
          depth++;
          if (b.format !== "raw" && b.io.path && (await sameFile(b.io.path, filename)))
            throw new CliError(
              `Could not open new backing file '${target}': ${"Could not open backing file: ".repeat(depth)}Failed to get shared "write" lock\nIs another process using the image [${b.io.path}]?`,
            );
        }
      }
    }
    // The copy comes first even where the backing file cannot be changed afterwards (qemu fails
    // only then), and an image without a backing file has zeros as its old backing content.
    if (!unsafe) {
      const old = img.backing?.backingImage;
      const a = new Uint8Array(IO_BUF);
      const b = new Uint8Array(IO_BUF);
      const oldSize = old?.virtualSize ?? 0;
      const size = img.virtualSize;
      // qemu's loop: a run the image itself allocates (or not), as one block-status answer
      // reports it, then the old and new backing contents of an unallocated run.
      // qemu's per-piece step: 100 / (size / MIN(size, IO_BUF_SIZE)), integer division inside.
      const localProgress = size > 0 ? 100 / Math.floor(size / Math.min(size, IO_BUF)) : 100;
      let n = 0;
      for (let pos = 0; pos < size; pos += n) {
        // (A piece ends where the format's block-status driver stops answering: qcow2 an L2
        // table's reach, qcow and sparse vmdk a cluster, vdi a block; -p prints once a piece.)
        n = Math.min(IO_BUF, size - pos, driverRunEnd(img, pos) - pos);
        let st: MapExtent[];
        try {
          st = await chainStatus(img, pos, n);
        } catch (e) {
          if (!(e instanceof CorruptionError)) throw e;
          printNotice(io, e);
          throw new CliError(`error while reading image metadata: ${e.message}`);
        }
        const own = (e: MapExtent) => e.depth === 0 && e.present !== false;
        const allocated = own(st[0]!);
        let run = 0;
        for (const e of st) {
          if (own(e) !== allocated) break;
          run = e.start + e.length - pos;
        }
        n = Math.min(n, run);
        if (allocated) continue;
        if (prefixDepth !== undefined) {
          // Ranges no image above the new backing file defines read the same before and after.
          const above = (e: MapExtent) => e.present !== false && e.depth >= 1 && e.depth < prefixDepth!;
          const first = above(st.find((e) => e.start + e.length > pos)!);
          let r = 0;
          for (const e of st) {
            if (e.start + e.length <= pos) continue;
            if (own(e) || above(e) !== first) break;
            r = e.start + e.length - pos;
          }
          n = Math.min(n, r);
          if (!first) continue;
        }
        const oldZero = pos >= oldSize;
        if (!oldZero) n = Math.min(n, oldSize - pos);
        const newSize = nb?.virtualSize ?? 0;
        if (nb && pos < newSize) n = Math.min(n, newSize - pos);
        const va = a.subarray(0, n);
        const vb = b.subarray(0, n);
        if (oldZero) va.fill(0);
        else await old!.read(pos, va);
        if (nb && pos < newSize) await nb.read(pos, vb);
        else vb.fill(0);
        // As qemu's compare_buffers: runs of differing 512-byte sectors are written.
        const A = Buffer.from(va.buffer, va.byteOffset, n);
        const B = Buffer.from(vb.buffer, vb.byteOffset, n);
        const step = (x: number) => Math.min(n, x + 512);
        const differs = (x: number) => A.compare(B, x, step(x), x, step(x)) !== 0;
        let s = 0;
        while (s < n) {
          const d = differs(s);
          let t = step(s);
          while (t < n && differs(t) === d) t = step(t);
          try {
            if (d && oldZero) await qemuWriteZeroes(img, pos + s, t - s, false);
            else if (d) await img.write(pos + s, va.subarray(s, t));
          } catch (e) {
            throw new CliError(`Error while writing to COW image: ${errText(e)}`);
          }
          s = t;
        }
        bar?.print(localProgress, 100);
      }
    }
    bar?.print(100, 0);
    if (target !== undefined && newFmt === undefined)
      throw new CliError(
        `Could not change the backing file to '${newBacking}': backing format must be specified`,
      );
    if (!img.backing)
      throw new CliError(`Could not change the backing file to '${newBacking}': Operation not supported`);
    try {
      await img.backing.setBacking(target, target === undefined ? undefined : newFmt);
      await img.flush();
    } catch (e) {
      throw new CliError(`Could not change the backing file to '${newBacking}': ${errText(e)}`);
    }
    return 0;
  } finally {
    await nb?.close().catch(() => {});
    await img.close();
  }
}
