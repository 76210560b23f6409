// The copy engine behind convert, commit and dd: walks the source's allocation map, skips holes
// and zero runs instead of writing them, reads ahead while writing, and compresses clusters
// off the main thread (node:zlib's async calls run in libuv's thread pool, both cores busy).

import { closeSync, openSync } from "node:fs";
import { CorruptionError, ImageError } from "../../image/errors.js";
import type { BlockIO, Image, MapExtent } from "../../image/index.js";
import { nativeIO } from "../../image/io/native.js";
import { chainStatus, qemuWriteZeroes } from "./chain-status.js";
import { type CompressedWriter, isZero } from "./context.js";
import { statusGranularity } from "./convert-progress.js";
import { statusUntilError } from "./corruption.js";

export interface CopyOptions {
  /** Bytes of zeros that count as a hole (qemu-img -S, default 4096; 0 writes everything). */
  sparseSize: number;
  /** The target already reads zeros everywhere (fresh image or --target-is-zero). */
  targetZero: boolean;
  /** Only copy what the source's top layer defines (target has the same backing: -B). */
  topOnly: boolean;
  /**
   * With topOnly: the size of the target's backing file. Zeros the source reports past it are
   * left out (the backing file reads zeros there), as qemu-img's post_backing_zero.
   */
  targetBackingSize?: number;
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
  /** Where the piece's bytes lie, unchanged, in the source's own file (read in place). */
  host?: number;
}

/**
 * The source's file when its data can be read in place (mapped, no copy into a buffer): raw,
 * and unencrypted qcow2 whose block status offsets are plain host bytes of that file.
 */
function inPlaceSource(src: Image): BlockIO | undefined {
  const io = src.io;
  if (!io.view || io.path === undefined) return undefined;
  if (src.format === "raw") return io;
  if (src.format === "qcow2" && (src as unknown as { crypto?: unknown }).crypto === undefined) return io;
  return undefined;
}

/** Splits the source into data / zero / skip pieces of at most CHUNK bytes (CHUNK-aligned). */
async function plan(src: Image, offset: number, length: number, o: CopyOptions): Promise<Piece[]> {
  const out: Piece[] = [];
  const inPlace = inPlaceSource(src);
  let exts: MapExtent[];
  try {
    // As qemu's block status: data over holes of the image's own file reads as zeros.
    exts = await chainStatus(src, offset, length);
  } catch (e) {
    // A corruption event: qemu's convert stops at the request that failed, before writing.
    if (e instanceof CorruptionError) {
      const st = await statusUntilError(src, offset, length);
      throw new SourceStatusError((st.failAt ?? offset) - offset, e);
    }
    exts = [{ start: offset, length, data: true, zero: false, present: true, depth: 0 }];
  }
  // With -B, what the source leaves to its backing file is left to the target's; a source
  // without a backing file reads zeros there, which qemu writes (the target's backing may differ).
  const hasBacking = src.backing?.backingImage !== undefined;
  // qemu's convert ends each status request on the source's cluster alignment when it can (the
  // rest comes with the next request): a zero run that ends inside a source cluster is two zero
  // writes, which matters to a qcow2 target's partial clusters (where the target is not known
  // to read zeros: -B, -n).
  const align = Math.max(512, (await src.info().catch(() => undefined))?.clusterSize ?? 0);
  // (The top layer answers at most up to its next L2 table, cluster, grain or block.)
  const gran = await statusGranularity(src).catch(() => 0);
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!;
    let end = e.start + e.length;
    if (gran && !o.targetZero && e.zero && e.depth === 0) {
      const cut = (Math.floor((e.start - offset) / gran) + 1) * gran + offset;
      if (cut < end) {
        exts.splice(i + 1, 0, { ...e, start: cut, length: end - cut });
        exts[i] = { ...e, length: cut - e.start };
        end = cut;
      }
    }
    const tail = (end - offset) % align;
    const cur = exts[i]!;
    if (!o.targetZero && cur.zero && tail > 0 && cur.length > tail) {
      exts.splice(i + 1, 0, { ...cur, start: end - tail, length: tail });
      exts[i] = { ...cur, length: cur.length - tail };
      i++;
    }
  }
  for (const e of exts) {
    let kind: Piece["kind"];
    let end = e.start + e.length;
    // Zeros the source reports past the target's backing file need no writing (that file reads
    // zeros there), -S 0 or not: split there (the part past it comes next in the loop).
    const tb = o.topOnly ? o.targetBackingSize : undefined;
    const pastBacking = e.zero && tb !== undefined && end > tb;
    if (pastBacking && e.start < tb) {
      exts.splice(exts.indexOf(e) + 1, 0, { ...e, start: tb, length: end - tb });
      end = tb;
    }
    if (o.topOnly && (e.depth > 0 || (e.present === false && hasBacking))) kind = "skip";
    else if (pastBacking && e.start >= tb) kind = "skip";
    // -S 0: no sparse detection at all, zeros are written as data (qemu fully allocates). Zero
    // status wins over data (qemu: allocated clusters over holes of the image's file).
    else if (e.zero && o.sparseSize > 0) kind = o.targetZero ? "skip" : "zero";
    else kind = "data";
    const host =
      kind === "data" &&
      inPlace &&
      e.depth === 0 &&
      !e.compressed &&
      e.offset !== undefined &&
      e.filename === inPlace.path
        ? e.offset - e.start
        : undefined;
    for (let p = e.start; p < end; ) {
      const n = Math.min(end, Math.floor(p / CHUNK) * CHUNK + CHUNK) - p;
      out.push(
        host === undefined ? { offset: p, length: n, kind } : { offset: p, length: n, kind, host: host + p },
      );
      p += n;
    }
  }
  return out;
}

async function writeZeros(dst: Image, offset: number, length: number): Promise<void> {
  // qcow2: qemu's split into zero clusters and written edges (partial clusters).
  if (dst.format === "qcow2") await qemuWriteZeroes(dst, offset, length, true);
  else if (dst.writeZeroes) await dst.writeZeroes(offset, length, { mayUnmap: true });
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

interface Run {
  start: number;
  end: number;
  data: boolean;
}

/**
 * Splits `buf` (guest bytes at `offset`) into data and zero runs; zero runs are whole sparseSize
 * blocks of the guest offset (qemu-img -S). Inside a zero run the scan gallops (16 blocks per
 * memcmp) so long zero areas cost few calls.
 */
function zeroRuns(buf: Uint8Array, offset: number, g: number): Run[] {
  if (g <= 0) return [{ start: 0, end: buf.length, data: true }];
  const n = nativeIO();
  if (n) return zeroHead(zeroTail(n.zeroRuns(buf, offset, g), buf, offset, g), buf, offset, g);
  return zeroHead(zeroTail(scanRuns(buf, offset, g), buf, offset, g), buf, offset, g);
}

/** Likewise zeros at the start of a request (a zero run cut by an unaligned extent start). */
function zeroHead(runs: Run[], buf: Uint8Array, offset: number, g: number): Run[] {
  const head = offset % g;
  const first = runs[0];
  const to = Math.min(buf.length, g - head);
  if (head === 0 || !first?.data || to > first.end) return runs;
  if (!zeroSpan(Buffer.from(buf.buffer, buf.byteOffset, buf.length), 0, to)) return runs;
  if (to < first.end) {
    first.start = to;
    runs.unshift({ start: 0, end: to, data: false });
  } else {
    const next = runs[1];
    if (next && !next.data) {
      next.start = 0;
      runs.shift();
    } else first.data = false;
  }
  return runs;
}

/**
 * qemu-img convert leaves out zeros at the end of a request however short (is_allocated_sectors):
 * a zero partial block at the end of the buffer (an image's odd-sized tail) is a zero run.
 */
function zeroTail(runs: Run[], buf: Uint8Array, offset: number, g: number): Run[] {
  const rem = (offset + buf.length) % g;
  const last = runs[runs.length - 1];
  const from = buf.length - rem;
  if (rem === 0 || !last?.data || from < last.start) return runs;
  if (!zeroSpan(Buffer.from(buf.buffer, buf.byteOffset, buf.length), from, buf.length)) return runs;
  if (from > last.start) {
    last.end = from;
    runs.push({ start: from, end: buf.length, data: false });
  } else {
    const prev = runs[runs.length - 2];
    if (prev && !prev.data) {
      prev.end = buf.length;
      runs.pop();
    } else last.data = false;
  }
  return runs;
}

function scanRuns(buf: Uint8Array, offset: number, g: number): Run[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const out: Run[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let next = Math.min(buf.length, Math.floor((offset + pos) / g) * g + g - offset);
    const data = next - pos < g || !zeroSpan(b, pos, next);
    if (!data) {
      while (next + 16 * g <= buf.length && zeroSpan(b, next, next + 16 * g)) next += 16 * g;
    }
    const last = out[out.length - 1];
    if (last && last.data === data) last.end = next;
    else out.push({ start: pos, end: next, data });
    pos = next;
  }
  return out;
}

/** Writes the runs of `buf` at `offset`: data as one write each, zero runs left out or zeroed. */
async function writeRuns(
  dst: Image,
  offset: number,
  buf: Uint8Array,
  runs: Run[],
  o: CopyOptions,
  concurrent: boolean,
) {
  if (concurrent && o.targetZero) {
    // All data runs at once (called in order, so a qcow2 target allocates them in order).
    const w: Promise<void>[] = [];
    for (const r of runs) if (r.data) w.push(dst.write(offset + r.start, buf.subarray(r.start, r.end)));
    await (w.length === 1 ? w[0] : Promise.all(w));
    return;
  }
  for (const r of runs) {
    if (r.data) await dst.write(offset + r.start, buf.subarray(r.start, r.end));
    else if (!o.targetZero) await writeZeros(dst, offset + r.start, r.end - r.start);
  }
}

/** Bytes of target data after which its write-out is started again (see writeback()). */
const WRITEBACK_STEP = 8 << 20;

interface Writeback {
  /** `bytes` of data landed; the target file is written up to byte `end`. */
  wrote(bytes: number, end: number): void;
  end(): void;
}

/**
 * Starts the target's write-out while the copy goes on (NativeIO.writeback: sync_file_range
 * WRITE on the addon's thread, nothing waits): the disk works in parallel with the copy instead
 * of receiving all of it at the next sync or at the kernel's 30-second flush. Each request covers
 * what was written since the previous one (a raw target's data and a fresh qcow2 target's grow
 * upwards), so a slow disk holds up at most one such range when the process exits. The image is
 * the same either way; TSVIRT_NO_WRITEBACK=1 turns it off. Raw and qcow2 targets in one file.
 */
function writeback(dst: Image): Writeback | undefined {
  const n = nativeIO();
  const path = dst.io.path;
  if (!n || !path || process.env.TSVIRT_NO_WRITEBACK === "1") return undefined;
  if (dst.format !== "raw" && !(dst.format === "qcow2" && !(dst as unknown as { dataIO?: BlockIO }).dataIO))
    return undefined;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined; // not a file we can open again: no early write-out
  }
  let since = 0;
  let from = 0;
  let upTo = 0;
  const kick = () => {
    since = 0;
    if (upTo > from) n.writeback(fd, from, upTo - from);
    from = upTo;
  };
  return {
    wrote(bytes, end) {
      since += bytes;
      upTo = Math.max(upTo, end);
      if (since >= WRITEBACK_STEP) kick();
    },
    end() {
      kick();
      closeSync(fd);
    },
  };
}

/** The source's block status failed (a corruption event) `offset` bytes into the copied range. */
export class SourceStatusError extends Error {
  constructor(
    readonly offset: number,
    override readonly cause: CorruptionError,
  ) {
    super(cause.message);
  }
}

/** A source read failed: `offset` is where (the request's start, or the format's own offset). */
export class SourceReadError extends Error {
  constructor(
    readonly offset: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
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
  const wb = writeback(dst);
  try {
    if (o.compress) await copyCompressed(src, dst, pieces, srcOff, dstOff, o, report);
    else await copyPlain(src, dst, pieces, srcOff, dstOff, length, o, report, wb);
  } finally {
    wb?.end();
  }
}

async function copyPlain(
  src: Image,
  dst: Image,
  pieces: Piece[],
  srcOff: number,
  dstOff: number,
  length: number,
  o: CopyOptions,
  report: (p: number) => void,
  wb: Writeback | undefined,
): Promise<void> {
  // Three stages overlap: reads run ahead (several in flight, or mapped in place), the main
  // thread scans each chunk for zero runs as it arrives, and writes drain in order behind it on
  // one promise chain (formats allocate as they write, so writes never reorder). Buffers are
  // recycled once written: memory stays at MAX_BUFS chunks, no per-chunk allocation or zero-fill.
  const source = chunkSource(src, pieces);
  try {
    await copyChunks(dst, pieces, source, srcOff, dstOff, length, o, report, wb);
  } finally {
    source.close();
  }
}

async function copyChunks(
  dst: Image,
  pieces: Piece[],
  source: { get(p: Piece): Promise<Chunk> },
  srcOff: number,
  dstOff: number,
  length: number,
  o: CopyOptions,
  report: (p: number) => void,
  wb: Writeback | undefined,
): Promise<void> {
  const AHEAD = 3;
  const MAX_BUFS = 6;
  const dataPieces = pieces.filter((p) => p.kind === "data");
  const inflight: Promise<Chunk>[] = [];
  let held = 0;
  let next = 0;
  const fill = () => {
    while (inflight.length < AHEAD && held < MAX_BUFS && next < dataPieces.length) {
      held++;
      const r = source.get(dataPieces[next++]!);
      r.catch(() => {}); // awaited below; a read left behind by an earlier error must not crash
      inflight.push(r);
    }
  };
  // A raw target takes writes in any order (each lands at its own offset), so several are in
  // flight at once. A qcow2 target filled over zeros takes several too: it allocates under its
  // lock in the order of the calls and writes the data outside it, so one request's data goes
  // out while the next allocates (the layout is that of in-order writes). Other formats, and
  // qcow2 targets whose zero runs are written (status read back), get writes one after another.
  const ordered = !(dst.format === "raw" || (dst.format === "qcow2" && o.targetZero));
  const concurrent = !ordered;
  let chain: Promise<void> = Promise.resolve();
  const pending: Promise<void>[] = [];
  const issue = (fn: () => Promise<void>): Promise<void> => {
    const w = ordered ? chain.then(fn) : fn();
    if (ordered) chain = w;
    w.catch(() => {}); // surfaced by the awaits below
    return w;
  };
  let reported = srcOff;
  const advance = (end: number) => {
    if (end > reported) report((reported = end));
  };
  /** Writes still holding a chunk, oldest first. */
  const holding: Promise<void>[] = [];
  fill();
  for (const p of pieces) {
    const at = dstOff + (p.offset - srcOff);
    const end = p.offset + p.length;
    if (p.kind === "skip") {
      if (ordered) void issue(async () => advance(end));
      continue;
    }
    if (p.kind === "zero") {
      pending.push(
        issue(async () => {
          await writeZeros(dst, at, p.length);
          advance(end);
        }),
      );
      continue;
    }
    // Every chunk is behind a pending write: wait for the oldest to come back.
    while (inflight.length === 0) {
      const h = holding.shift();
      if (!h) throw new Error("copy: no read in flight and no write pending");
      await h;
      fill();
    }
    let chunk: Chunk;
    try {
      chunk = await inflight.shift()!;
    } catch (e) {
      // The writes of the chunks before it still land (qemu's other coroutines finish theirs).
      await chain.catch(() => {});
      await Promise.allSettled([...pending, ...holding]);
      throw e;
    }
    const runs = zeroRuns(chunk.data, at, o.sparseSize);
    const w = issue(async () => {
      try {
        await writeRuns(dst, at, chunk.data, runs, o, concurrent);
        if (wb) {
          // A qcow2 target's data lands at the end of its file (its tracked length).
          const grown = (dst.io as { length?: number }).length;
          for (const r of runs) if (r.data) wb.wrote(r.end - r.start, grown ?? at + r.end);
        }
      } finally {
        held--;
        chunk.release();
      }
      fill();
      advance(end);
    });
    holding.push(w);
    // Raw targets: two writes in flight keep the disk busy; more only queue on the file's lock.
    if (holding.length > (ordered ? MAX_BUFS : dst.format === "raw" ? 2 : 3)) await holding.shift();
    fill();
  }
  await chain;
  await Promise.all([...pending, ...holding]);
  advance(srcOff + length);
}

interface Chunk {
  data: Uint8Array;
  /** Gives the bytes back (buffer to the pool, mapping unmapped); throws if they were lost. */
  release(): void;
}

/** Bytes of in-place source data asked to be read ahead of the chunk being mapped. */
const PREFETCH_BYTES = 32 << 20;

/**
 * Starts reading the in-place pieces that follow the one being mapped (NativeIO.prefetch), so a
 * source that is not cached yet arrives in large reads while earlier chunks are written, instead
 * of each mapping reading its pages on the main thread when it needs them.
 */
function prefetcher(
  io: BlockIO | undefined,
  pieces: Piece[],
): { at(p: Piece): void; close(): void } | undefined {
  const n = nativeIO();
  if (!n || !io?.path) return undefined;
  const list = pieces.filter((p) => p.kind === "data" && p.host !== undefined);
  if (list.length === 0) return undefined;
  let fd: number;
  try {
    fd = openSync(io.path, "r");
  } catch {
    return undefined;
  }
  let cur = 0; // the piece being mapped
  let next = 0; // the first piece not asked for yet
  let ahead = 0; // bytes of list[cur, next)
  return {
    at(p) {
      while (cur < list.length && list[cur] !== p && list[cur]!.offset < p.offset) {
        if (cur < next) ahead -= list[cur]!.length;
        cur++;
      }
      if (next < cur) {
        next = cur;
        ahead = 0;
      }
      // Refilled when half the distance is used up; host-contiguous pieces in one call.
      if (ahead >= PREFETCH_BYTES / 2 && next > cur) return;
      let from = -1;
      let to = -1;
      while (next < list.length && ahead < PREFETCH_BYTES) {
        const q = list[next++]!;
        if (q.host !== to) {
          if (to > from) n.prefetch(fd, from, to - from);
          from = q.host!;
        }
        to = q.host! + q.length;
        ahead += q.length;
      }
      if (to > from) n.prefetch(fd, from, to - from);
    },
    close: () => closeSync(fd),
  };
}

/** Source chunks: mapped in place where the source allows, else read into recycled buffers. */
function chunkSource(src: Image, pieces: Piece[]): { get(p: Piece): Promise<Chunk>; close(): void } {
  const io = inPlaceSource(src);
  const pf = prefetcher(io, pieces);
  const free: Uint8Array[] = [];
  const read = async (p: Piece): Promise<Chunk> => {
    try {
      return await readPiece(p);
    } catch (e) {
      const at = e instanceof ImageError && e.guestOffset !== undefined ? e.guestOffset : p.offset;
      throw new SourceReadError(at, e);
    }
  };
  const readPiece = async (p: Piece): Promise<Chunk> => {
    if (p.length > CHUNK) {
      // A piece widened past CHUNK (compressed targets): a one-off buffer.
      const data = new Uint8Array(p.length);
      await src.read(p.offset, data);
      return { data, release: () => {} };
    }
    const b = free.pop() ?? new Uint8Array(Buffer.allocUnsafeSlow(CHUNK).buffer, 0, CHUNK);
    const data = b.subarray(0, p.length);
    try {
      await src.read(p.offset, data);
    } catch (e) {
      free.push(b);
      throw e;
    }
    return { data, release: () => free.push(b) };
  };
  return {
    close: () => pf?.close(),
    async get(p) {
      if (io?.view && p.host !== undefined) {
        pf?.at(p);
        const v = await io.view(p.host, p.length);
        if (v) return v;
      }
      return read(p);
    },
  };
}

/**
 * Widens data pieces to whole target clusters, as qemu-img does for a compressed target: a
 * cluster with any data in it is read whole (holes read as zeros) and compressed, not cut into
 * a partial cluster that would be stored uncompressed. Widened parts are read, not mapped.
 */
function widenToClusters(pieces: Piece[], cs: number, shift: number, end: number, start: number): Piece[] {
  const out: Piece[] = [];
  const down = (x: number) => Math.floor((x + shift) / cs) * cs - shift;
  for (const p of pieces) {
    const s = p.offset;
    const e = p.offset + p.length;
    if (p.kind !== "data") {
      const last = out[out.length - 1];
      const from = last ? Math.max(s, last.offset + last.length) : s;
      if (from < e) out.push({ offset: from, length: e - from, kind: p.kind });
      continue;
    }
    // (Not before the source's start: a target cluster two concatenated sources share.)
    const ws = Math.max(start, down(s));
    const we = Math.min(end, down(e - 1) + cs);
    // Take [ws, s) back from the non-data pieces before.
    for (
      let l = out[out.length - 1];
      l && l.kind !== "data" && l.offset + l.length > ws;
      l = out[out.length - 1]
    ) {
      if (l.offset >= ws) out.pop();
      else {
        l.length = ws - l.offset;
        break;
      }
    }
    const last = out[out.length - 1];
    const from = last && last.offset + last.length > ws ? last.offset + last.length : ws;
    const mid = Math.max(from, Math.min(e, we));
    if (from < s) out.push({ offset: from, length: Math.min(s, we) - from, kind: "data" });
    const a = Math.max(from, s);
    if (a < mid)
      out.push(
        p.host === undefined
          ? { offset: a, length: mid - a, kind: "data" }
          : { offset: a, length: mid - a, kind: "data", host: p.host + (a - s) },
      );
    if (mid < we) out.push({ offset: mid, length: we - mid, kind: "data" });
  }
  return out;
}

/**
 * Merges adjacent pieces of one kind and cuts them again at CHUNK boundaries of the target (a
 * multiple of any cluster size), so no cluster is split between two pieces. A merged piece is
 * still read in place only where all its parts were, contiguously.
 */
function recut(pieces: Piece[], shift: number): Piece[] {
  const merged: Piece[] = [];
  for (const p of pieces) {
    const l = merged[merged.length - 1];
    if (l && l.kind === p.kind && l.offset + l.length === p.offset) {
      if (l.host !== undefined && (p.host === undefined || p.host !== l.host + l.length)) l.host = undefined;
      l.length += p.length;
    } else merged.push({ ...p });
  }
  const out: Piece[] = [];
  for (const m of merged) {
    const e = m.offset + m.length;
    for (let a = m.offset; a < e; ) {
      const b = Math.min(e, Math.floor((a + shift) / CHUNK) * CHUNK + CHUNK - shift);
      const piece: Piece = { offset: a, length: b - a, kind: m.kind };
      if (m.host !== undefined) piece.host = m.host + (a - m.offset);
      out.push(piece);
      a = b;
    }
  }
  return out;
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
  const end = pieces.length ? pieces[pieces.length - 1]!.offset + pieces[pieces.length - 1]!.length : srcOff;
  pieces = recut(widenToClusters(pieces, cs, dstOff - srcOff, end, srcOff), dstOff - srcOff);
  const source = chunkSource(src, pieces);
  // Whole clusters; the window of in-flight compressions keeps the thread pool busy. Each job
  // holds its chunk (buffer or mapping) until it is written.
  type Job = {
    at: number;
    raw: Uint8Array;
    done: Promise<Uint8Array | undefined> | undefined;
    end: number;
    put: () => void;
  };
  const window: Job[] = [];
  const depth = Math.max(2, o.parallel * 8);
  const drain = async (all: boolean) => {
    while (window.length > (all ? 0 : depth)) {
      const j = window.shift()!;
      const comp = j.done ? await j.done : undefined;
      if (j.done) await c.writeCompressedCluster(j.at, comp, j.raw);
      j.put();
      report(j.end);
    }
  };
  try {
    for (const p of pieces) {
      if (p.kind !== "data") {
        if (p.kind === "zero") {
          await drain(true);
          await writeZeros(dst, dstOff + (p.offset - srcOff), p.length);
        }
        report(p.offset + p.length);
        continue;
      }
      const chunk = await source.get(p);
      let refs = 1;
      const put = () => {
        if (--refs === 0) chunk.release();
      };
      const buf = chunk.data;
      try {
        for (let q = 0; q < buf.length; ) {
          const at = dstOff + p.offset - srcOff + q;
          const n = Math.min(cs - (at % cs), buf.length - q);
          const raw = buf.subarray(q, q + n);
          if (isZero(raw) && o.targetZero && o.sparseSize > 0) {
            refs++;
            window.push({ at, raw, done: undefined, end: p.offset + q + n, put });
          } else if (isZero(raw) && o.sparseSize > 0) {
            // (qemu: a zero cluster is not compressed but written as zeros, as where the source
            // has none, when the target may hold data there.)
            await drain(true);
            await writeZeros(dst, at, n);
          } else if (n < cs && at + n < dst.virtualSize) {
            // A partial cluster inside the target (where concatenated sources meet) is written
            // plain. (qemu reads such a cluster across both sources and compresses it.)
            await drain(true);
            await dst.write(at, raw);
          } else {
            // A partial cluster at the target's end is compressed too: the format pads it with
            // zeros (qemu's qcow and qcow2 do; its vmdk takes it as it takes every grain).
            refs++;
            const done = c.compressCluster(raw);
            done.catch(() => {}); // awaited in drain
            window.push({ at, raw, done, end: p.offset + q + n, put });
          }
          q += n;
          await drain(false);
        }
      } finally {
        put();
      }
    }
    await drain(true);
  } finally {
    // After an error, let in-flight compressions finish before their chunks go away.
    await Promise.allSettled(window.map((j) => j.done));
    source.close();
  }
}
