// The copy engine behind convert, commit and dd: walks the source's allocation map, skips holes
// and zero runs instead of writing them, reads ahead while writing, and compresses clusters
// off the main thread (node:zlib's async calls run in libuv's thread pool, both cores busy).

import type { Image, MapExtent } from "../../image/index.js";
import { type CompressedWriter, isZero } from "./context.js";

export interface CopyOptions {
  /** Bytes of zeros that count as a hole (qemu-img -S, default 4096; 0 writes everything). */
  sparseSize: number;
  /** The target already reads zeros everywhere (fresh image or --target-is-zero). */
  targetZero: boolean;
  /** Only copy what the source's top layer defines (target has the same backing: -B). */
  topOnly: boolean;
  compress?: CompressedWriter;
  /** Compressed clusters kept in flight (qemu-img -m; both cores busy). */
  parallel: number;
  onProgress?: (done: number, total: number) => void;
}

const CHUNK = 4 << 20;

interface Piece {
  offset: number;
  length: number;
  kind: "data" | "zero" | "skip";
}

/** Splits the source into data / zero / skip pieces of at most CHUNK bytes. */
async function plan(src: Image, offset: number, length: number, o: CopyOptions): Promise<Piece[]> {
  const out: Piece[] = [];
  let exts: MapExtent[];
  try {
    exts = await src.blockStatus(offset, length);
  } catch {
    exts = [{ start: offset, length, data: true, zero: false, present: true, depth: 0 }];
  }
  for (const e of exts) {
    let kind: Piece["kind"];
    if (o.topOnly && (e.depth > 0 || e.present === false)) kind = "skip";
    else if (e.zero && !e.data) kind = o.targetZero ? "skip" : "zero";
    else kind = "data";
    for (let p = e.start; p < e.start + e.length; p += CHUNK) {
      out.push({ offset: p, length: Math.min(CHUNK, e.start + e.length - p), kind });
    }
  }
  return out;
}

async function writeZeros(dst: Image, offset: number, length: number): Promise<void> {
  if (dst.writeZeroes) await dst.writeZeroes(offset, length, { mayUnmap: true });
  else {
    for (let p = offset; p < offset + length; p += CHUNK)
      await dst.write(p, new Uint8Array(Math.min(CHUNK, offset + length - p)));
  }
}

const ZERO = Buffer.alloc(64 * 1024);

/** True when b[from, to) is all zeros (memcmp against a zero page, no allocation). */
function zeroSpan(b: Buffer, from: number, to: number): boolean {
  if (b[from] !== 0 || b[to - 1] !== 0) return false;
  for (let p = from; p < to; p += ZERO.length) {
    const e = Math.min(to, p + ZERO.length);
    if (b.compare(ZERO, 0, e - p, p, e) !== 0) return false;
  }
  return true;
}

/** Writes `buf` at `offset`, leaving out zero runs of at least sparseSize bytes. */
async function writeSparse(dst: Image, offset: number, buf: Uint8Array, o: CopyOptions): Promise<void> {
  const g = o.sparseSize;
  if (g <= 0) {
    await dst.write(offset, buf);
    return;
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  let runStart = 0;
  let runData = true;
  const flush = async (end: number) => {
    if (end <= runStart) return;
    if (runData) await dst.write(offset + runStart, buf.subarray(runStart, end));
    else if (!o.targetZero) await writeZeros(dst, offset + runStart, end - runStart);
  };
  // Zero runs are recognised on sparseSize boundaries of the guest offset. Inside a zero run
  // the scan gallops (16 blocks per memcmp) so long zero areas cost few calls.
  let pos = 0;
  while (pos < buf.length) {
    let next = Math.min(buf.length, Math.floor((offset + pos) / g) * g + g - offset);
    const data = next - pos < g || !zeroSpan(b, pos, next);
    if (!data) {
      while (next + 16 * g <= buf.length && zeroSpan(b, next, next + 16 * g)) next += 16 * g;
    }
    if (data !== runData) {
      await flush(pos);
      runStart = pos;
      runData = data;
    }
    pos = next;
  }
  await flush(buf.length);
}

/** Copies src[srcOff, +length) to dst at dstOff. */
export async function copyImage(
  src: Image,
  dst: Image,
  srcOff: number,
  dstOff: number,
  length: number,
  o: CopyOptions,
  progressBase = 0,
  progressTotal = length,
): Promise<void> {
  const pieces = await plan(src, srcOff, length, o);
  const report = (p: number) => o.onProgress?.(progressBase + p - srcOff, progressTotal);
  if (o.compress) {
    await copyCompressed(src, dst, pieces, srcOff, dstOff, o, report);
    return;
  }
  // Reads run ahead of the writes (several in flight, on libuv's pool); writes stay in order
  // because formats allocate as they write.
  const AHEAD = 4;
  const dataPieces = pieces.filter((p) => p.kind === "data");
  const inflight: Promise<Uint8Array>[] = [];
  // Buffers are recycled once written: no per-chunk allocation or zero-fill.
  const pool: Uint8Array[] = [];
  let next = 0;
  const fill = () => {
    while (inflight.length < AHEAD && next < dataPieces.length) {
      const p = dataPieces[next++]!;
      const b = (pool.pop() ?? new Uint8Array(CHUNK)).subarray(0, p.length);
      inflight.push(src.read(p.offset, b).then(() => b));
    }
  };
  fill();
  for (const p of pieces) {
    const at = dstOff + (p.offset - srcOff);
    if (p.kind === "skip") {
      report(p.offset + p.length);
      continue;
    }
    if (p.kind === "zero") {
      await writeZeros(dst, at, p.length);
      report(p.offset + p.length);
      continue;
    }
    const buf = await inflight.shift()!;
    fill();
    await writeSparse(dst, at, buf, o);
    pool.push(new Uint8Array(buf.buffer, buf.byteOffset, CHUNK));
    report(p.offset + p.length);
  }
}

async function copyCompressed(
  src: Image,
  dst: Image,
  pieces: Piece[],
  srcOff: number,
  dstOff: number,
  o: CopyOptions,
  report: (p: number) => void,
): Promise<void> {
  const c = o.compress!;
  const cs = c.compressedClusterSize!;
  // Whole clusters; the window of in-flight compressions keeps the thread pool busy.
  type Job = { at: number; raw: Uint8Array; done: Promise<Uint8Array | undefined> | undefined; end: number };
  const window: Job[] = [];
  const depth = Math.max(2, o.parallel * 8);
  const drain = async (all: boolean) => {
    while (window.length > (all ? 0 : depth)) {
      const j = window.shift()!;
      const comp = j.done ? await j.done : undefined;
      if (j.done) await c.writeCompressedCluster(j.at, comp, j.raw);
      report(j.end);
    }
  };
  for (const p of pieces) {
    if (p.kind !== "data") {
      if (p.kind === "zero") {
        await drain(true);
        await writeZeros(dst, dstOff + (p.offset - srcOff), p.length);
      }
      report(p.offset + p.length);
      continue;
    }
    const buf = new Uint8Array(p.length);
    await src.read(p.offset, buf);
    for (let q = 0; q < buf.length; ) {
      const at = dstOff + p.offset - srcOff + q;
      const n = Math.min(cs - (at % cs), buf.length - q);
      const raw = buf.subarray(q, q + n);
      if (isZero(raw) && o.targetZero) {
        window.push({ at, raw, done: undefined, end: p.offset + q + n });
      } else if (n === cs) {
        window.push({ at, raw, done: c.compressCluster(raw), end: p.offset + q + n });
      } else {
        // A partial cluster (image tail) is written uncompressed, as qemu does.
        await drain(true);
        await dst.write(at, raw);
      }
      q += n;
      await drain(false);
    }
  }
  await drain(true);
}
