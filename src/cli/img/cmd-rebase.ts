// `tsvirt-img rebase [-u] [-f fmt] -b backing [-F fmt] filename`: changes the backing file; the
// safe mode first copies into the image every range where old and new backing differ.

import { stat } from "node:fs/promises";
import { hasFormat, type Image, openImage } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";
import { CliError, errText, fromUsage, type Out, openCli, pathCombine } from "./context.js";
import { getopt } from "./getopt.js";
import { makeProgress } from "./progress.js";

const CHUNK = 1 << 20;

/**
 * blk_pwrite_zeroes() as qcow2 takes it: a run whose clusters read as zeros throughout is
 * widened to whole clusters (zero clusters, no data); anything else is written as zeros.
 */
export async function writeZeroes(
  img: Image,
  offset: number,
  length: number,
  cs: number | undefined,
): Promise<void> {
  // qcow2 v2 has no zero clusters: qemu falls back to writing zeros there.
  const v3 = (img as unknown as { header?: { version?: number } }).header?.version === 3;
  if (img.writeZeroes && cs && v3) {
    const from = Math.floor(offset / cs) * cs;
    const to = Math.min(Math.ceil((offset + length) / cs) * cs, img.virtualSize);
    const st = await chainStatus(img, from, to - from);
    if (st.every((x) => x.zero)) {
      await img.writeZeroes(from, to - from, {});
      return;
    }
  }
  await img.write(offset, new Uint8Array(length));
}

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
    p = getopt(argv, "hf:F:b:upt:T:qUc", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "force-share", arg: "none", key: "U" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let newBacking: string | undefined;
  let newFmt: string | undefined;
  let unsafe = false;
  let progress = false;
  for (const [k, v] of p.opts) {
    if (k === "f") fmt = v;
    else if (k === "b") newBacking = v;
    else if (k === "F") newFmt = v;
    else if (k === "u") unsafe = true;
    else if (k === "p") progress = true;
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
  const img = await openCli(filename, fmt, { readOnly: false, backingChain: !unsafe, warnProbe: io });
  let nb: Image | undefined;
  try {
    if (newFmt !== undefined && !hasFormat(newFmt)) throw new CliError(`Invalid format name: '${newFmt}'`);
    const target = newBacking === "" ? undefined : newBacking;
    if (!unsafe && target !== undefined) {
      const full = pathCombine(filename, target);
      // qemu's image locking: the image itself, opened for writing, cannot be its new backing file.
      // (raw shares write permission, so only other formats conflict.)
      const self = img.format !== "raw" && (await sameFile(full, filename));
      if (self)
        throw new CliError(
          `Could not open new backing file '${target}': Failed to get shared "write" lock\nIs another process using the image [${full}]?`,
        );
      try {
        nb = await openImage(full, { format: newFmt, readOnly: true });
      } catch (e) {
        throw new CliError(`Could not open new backing file '${target}': ${errText(e)}`);
      }
      // Deeper in the new backing chain, the image itself conflicts the same way.
      if (img.format !== "raw") {
        let depth = 0;
        for (let b = nb.backing?.backingImage; b; b = b.backing?.backingImage) {
          depth++;
          if (b.io.path && (await sameFile(b.io.path, filename)))
            throw new CliError(
              `Could not open new backing file '${target}': ${"Could not open backing file: ".repeat(depth)}Failed to get shared "write" lock\nIs another process using the image [${b.io.path}]?`,
            );
        }
      }
    }
    if (!unsafe && img.backing) {
      const old = img.backing.backingImage;
      const bar = makeProgress(io, progress);
      const a = new Uint8Array(CHUNK);
      const b = new Uint8Array(CHUNK);
      const oldSize = old?.virtualSize ?? 0;
      const cs = (img as unknown as { cs?: number }).cs;
      for (let pos = 0; pos < img.virtualSize; pos += CHUNK) {
        const n = Math.min(CHUNK, img.virtualSize - pos);
        // Only ranges the image itself does not define can change meaning; pieces are split at
        // the old backing file's end (beyond it the old content is zeros, written as zeroes).
        const pieces: { start: number; length: number }[] = [];
        for (const e of await chainStatus(img, pos, n)) {
          if (e.depth === 0 && e.present !== false) continue;
          const end = e.start + e.length;
          if (e.start < oldSize && end > oldSize) {
            pieces.push(
              { start: e.start, length: oldSize - e.start },
              { start: oldSize, length: end - oldSize },
            );
          } else pieces.push({ start: e.start, length: e.length });
        }
        for (const e of pieces) {
          const va = a.subarray(0, e.length);
          const vb = b.subarray(0, e.length);
          va.fill(0);
          vb.fill(0);
          const oldZero = e.start >= oldSize;
          if (old && !oldZero) await old.read(e.start, va);
          if (nb) {
            const m = Math.max(0, Math.min(e.length, nb.virtualSize - e.start));
            if (m > 0) await nb.read(e.start, vb.subarray(0, m));
          }
          // As qemu's compare_buffers: only the runs of differing 512-byte sectors are written.
          const A = Buffer.from(va.buffer, va.byteOffset, e.length);
          const B = Buffer.from(vb.buffer, vb.byteOffset, e.length);
          let s = 0;
          while (s < e.length) {
            const step = (x: number) => Math.min(e.length, x + 512);
            const differs = (x: number) => A.compare(B, x, step(x), x, step(x)) !== 0;
            const d = differs(s);
            let t = step(s);
            while (t < e.length && differs(t) === d) t = step(t);
            if (d && oldZero) await writeZeroes(img, e.start + s, t - s, cs);
            else if (d) await img.write(e.start + s, va.subarray(s, t));
            s = t;
          }
        }
        bar?.update(pos + n, img.virtualSize);
      }
      bar?.stop();
    }
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
