// qcow2 write path: plans each guest cluster (rewrite in place, or allocate), composes freshly
// allocated runs into one buffer written at once, then maps them (L2, L1) and only then drops
// the references to what they replaced. Also zero writes and compressed cluster writes.

import { ImageError } from "../../errors.js";
import { markBitmapsInUse } from "./bitmaps.js";
import { compressCluster } from "./compress.js";
import { encodeCompressed, encodeL2, type L2Mapping, SUBCLUSTERS } from "./l2-entry.js";
import type { Qcow2Image } from "./qcow2-image.js";

/** Largest run of freshly allocated clusters composed into one buffer and written at once. */
const MAX_ALLOC_RUN_BYTES = 32 << 20;

interface Plan {
  gci: number;
  within: number;
  n: number;
  dataPos: number;
  m: L2Mapping;
  inPlace: boolean;
  /** A preallocated zero cluster (refcount 1) that is written in place and mapped as data. */
  reuse?: boolean;
}

async function beforeWrite(img: Qcow2Image): Promise<void> {
  if (img.firstWriteDone) return;
  img.firstWriteDone = true;
  // Persistent bitmaps stay intact but are flagged in_use: we do not track dirty ranges.
  await markBitmapsInUse(img);
}

/**
 * Where a write's data goes and what maps it. Immediate (inside the image's lock, the default):
 * each host write and each mapping update happens at once, in order. Deferred (overlappedWrite):
 * host writes and mapping updates are collected, so the data can be written outside the lock
 * while the next request allocates; the updates then run under the lock again.
 */
interface Sink {
  write(host: number, guest: number, buf: Uint8Array): Promise<void>;
  after(fn: () => Promise<void>): Promise<void>;
}

const immediate = (img: Qcow2Image): Sink => ({
  write: (host, guest, buf) => writeData(img, host, guest, buf),
  after: (fn) => fn(),
});

/** A write planned and allocated under the lock: its data writes, then its mapping updates. */
export interface PreparedWrite {
  io: { host: number; guest: number; data: Uint8Array }[];
  commit: (() => Promise<void>)[];
}

export async function guestWrite(img: Qcow2Image, offset: number, data: Uint8Array): Promise<void> {
  await writeWith(img, offset, data, false);
}

/**
 * Plans and allocates a write under the image's lock and returns its host writes and mapping
 * updates for the caller to run (data outside the lock, updates under it again), when every
 * cluster is either rewritten in place or freshly allocated over nothing (unallocated, or a zero
 * flag without storage): then nothing is freed, and the allocations are exactly those of an
 * immediate write. Anything else (copy-on-write of shared or compressed clusters, preallocated
 * zero clusters, subclusters) is written at once, as before, and undefined is returned.
 */
export function prepareWrite(
  img: Qcow2Image,
  offset: number,
  data: Uint8Array,
): Promise<PreparedWrite | undefined> {
  return writeWith(img, offset, data, true);
}

async function writeWith(
  img: Qcow2Image,
  offset: number,
  data: Uint8Array,
  defer: boolean,
): Promise<PreparedWrite | undefined> {
  img.bounds(offset, data.length);
  img.writable();
  if (data.length === 0) return undefined;
  if (img.crypto && (offset % 512 !== 0 || data.length % 512 !== 0)) {
    const a = Math.floor(offset / 512) * 512;
    const tmp = new Uint8Array(Math.ceil((offset + data.length) / 512) * 512 - a);
    await img.readRange(a, tmp);
    tmp.set(data, offset - a);
    offset = a;
    data = tmp;
  }
  await beforeWrite(img);
  const plans: Plan[] = [];
  let pos = 0;
  while (pos < data.length) {
    const g = offset + pos;
    const gci = Math.floor(g / img.cs);
    const within = g - gci * img.cs;
    const n = Math.min(img.cs - within, data.length - pos);
    const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
    let inPlace = false;
    let reuse = false;
    if (m.kind === "normal") {
      inPlace =
        img.hasDataFile ||
        m.copied ||
        (img.refs.peek(m.host / img.cs) ?? (await img.refs.get(m.host / img.cs))) === 1;
    } else if (m.kind === "zero" && m.host !== 0 && m.host % img.cs === 0 && !img.hasDataFile) {
      reuse = inPlace = (img.refs.peek(m.host / img.cs) ?? (await img.refs.get(m.host / img.cs))) === 1;
    }
    plans.push({ gci, within, n, dataPos: pos, m, inPlace, reuse });
    pos += n;
  }
  let prepared: PreparedWrite | undefined;
  let sink = immediate(img);
  if (
    defer &&
    !img.extL2 &&
    plans.every(
      (p) => (p.inPlace && !p.reuse) || p.m.kind === "unallocated" || (p.m.kind === "zero" && p.m.host === 0),
    )
  ) {
    const out: PreparedWrite = { io: [], commit: [] };
    prepared = out;
    sink = {
      write: async (host, guest, buf) => {
        out.io.push({ host, guest, data: buf });
      },
      after: async (fn) => {
        out.commit.push(fn);
      },
    };
  }
  // In-place clusters: contiguous host ranges go out as one write.
  let i = 0;
  while (i < plans.length) {
    const p = plans[i]!;
    if (!p.inPlace) {
      let j = i;
      let bytes = 0;
      while (j < plans.length && !plans[j]!.inPlace && bytes < MAX_ALLOC_RUN_BYTES) {
        bytes += img.cs;
        j++;
      }
      await allocRun(img, data, plans.slice(i, j), sink);
      i = j;
      continue;
    }
    // Plain clusters (no subclusters) whose host clusters follow each other: one write.
    if (!img.extL2 && !p.reuse) {
      const host0 = img.hostOf(p.m, p.gci * img.cs) + p.within;
      let j = i + 1;
      let len = p.n;
      while (j < plans.length) {
        const q = plans[j]!;
        if (!q.inPlace || q.reuse || img.hostOf(q.m, q.gci * img.cs) !== host0 + len) break;
        len += q.n;
        j++;
      }
      if (j > i + 1) {
        await sink.write(host0, offset + p.dataPos, data.subarray(p.dataPos, p.dataPos + len));
        i = j;
        continue;
      }
    }
    await writeInPlace(img, data, p, sink);
    i++;
  }
  return prepared;
}

async function writeInPlace(img: Qcow2Image, data: Uint8Array, p: Plan, sink: Sink): Promise<void> {
  const base = p.gci * img.cs;
  if (p.reuse) {
    const buf = new Uint8Array(img.cs);
    buf.set(data.subarray(p.dataPos, p.dataPos + p.n), p.within);
    await sink.write(p.m.host, base, buf);
    await sink.after(() =>
      setEntries(img, [{ gci: p.gci, host: p.m.host, allocBits: 0xffffffff, zeroBits: 0 }]),
    );
    return;
  }
  const host = img.hostOf(p.m, base);
  if (!img.extL2) {
    await sink.write(host + p.within, base + p.within, data.subarray(p.dataPos, p.dataPos + p.n));
    return;
  }
  // Subclusters: widen to subcluster bounds, fill the widened part from the current view.
  const scs = img.cs / SUBCLUSTERS;
  const s0 = Math.floor(p.within / scs);
  const s1 = Math.ceil((p.within + p.n) / scs);
  const buf = new Uint8Array((s1 - s0) * scs);
  if (p.within % scs !== 0 || (p.within + p.n) % scs !== 0) await img.readRange(base + s0 * scs, buf);
  buf.set(data.subarray(p.dataPos, p.dataPos + p.n), p.within - s0 * scs);
  await sink.write(host + s0 * scs, base + s0 * scs, buf);
  let mask = 0;
  for (let s = s0; s < s1; s++) mask += 2 ** s;
  const alloc = (p.m.allocBits | mask) >>> 0;
  const zero = (p.m.zeroBits & ~mask) >>> 0;
  if (alloc !== p.m.allocBits || zero !== p.m.zeroBits) {
    await sink.after(() =>
      setEntries(img, [{ gci: p.gci, host: p.m.host, allocBits: alloc, zeroBits: zero }]),
    );
  }
}

export async function writeData(
  img: Qcow2Image,
  host: number,
  guest: number,
  buf: Uint8Array,
): Promise<void> {
  if (img.crypto) {
    const enc = buf.slice();
    img.crypto.encrypt(img.crypto.physical ? host : guest, enc);
    await img.data.write(host, enc);
  } else await img.data.write(host, buf);
}

/** Clusters needing new storage: compose full clusters, write once, then map and free the old. */
async function allocRun(img: Qcow2Image, data: Uint8Array, run: Plan[], sink: Sink): Promise<void> {
  const k = run.length;
  const cs = img.cs;
  // Whole clusters of a plain image go out straight from the caller's buffer: no copy.
  if (
    !img.extL2 &&
    run.every((p, i) => p.within === 0 && p.n === cs && p.dataPos === run[0]!.dataPos + i * cs)
  ) {
    await writeRun(img, run, data.subarray(run[0]!.dataPos, run[0]!.dataPos + k * cs), [], sink);
    return;
  }
  const buf = new Uint8Array(k * cs);
  const bits: { alloc: number; zero: number }[] = [];
  for (let i = 0; i < k; i++) {
    const p = run[i]!;
    const view = buf.subarray(i * cs, (i + 1) * cs);
    const base = p.gci * cs;
    const limit = clusterLen(img, p.gci);
    if (img.extL2 && p.m.kind === "unallocated") {
      // Fresh cluster with subclusters: allocate only the touched ones; copy-on-write only
      // the partial first/last subcluster (qemu does the same, untouched ones keep their state).
      const scs = cs / SUBCLUSTERS;
      const s0 = Math.floor(p.within / scs);
      const s1 = Math.ceil((p.within + p.n) / scs);
      for (const sc of new Set([s0, s1 - 1])) {
        const a = sc * scs;
        const partial = sc === s0 ? p.within % scs !== 0 : (p.within + p.n) % scs !== 0;
        if (partial) await img.readRange(base + a, view.subarray(a, Math.min(a + scs, limit)));
      }
      let mask = 0;
      for (let sc = s0; sc < s1; sc++) mask += 2 ** sc;
      bits.push({ alloc: mask >>> 0, zero: (p.m.zeroBits & ~mask) >>> 0 });
    } else {
      if (p.n < cs) await img.readRange(base, view.subarray(0, limit));
      bits.push({ alloc: 0xffffffff, zero: 0 });
    }
    view.set(data.subarray(p.dataPos, p.dataPos + p.n), p.within);
  }
  // Fresh clusters with subclusters: as qemu, only the touched subclusters reach the file (from
  // the first one's start to the last one's end), not the untouched ones around them.
  let span: [number, number] | undefined;
  if (img.extL2 && run.every((p) => p.m.kind === "unallocated")) {
    const scs = cs / SUBCLUSTERS;
    const first = run[0]!;
    const last = run[k - 1]!;
    const end = Math.min(Math.ceil((last.within + last.n) / scs) * scs, clusterLen(img, last.gci));
    span = [Math.floor(first.within / scs) * scs, (k - 1) * cs + end];
  }
  await writeRun(img, run, buf, bits, sink, span);
}

/** Allocates the run's clusters at once, writes `buf` there, maps them, frees what they replaced. */
async function writeRun(
  img: Qcow2Image,
  run: Plan[],
  buf: Uint8Array,
  bits: { alloc: number; zero: number }[],
  sink: Sink,
  span?: [number, number],
) {
  const cs = img.cs;
  // L2 tables first (as qemu does): data clusters of one run then lie next to each other.
  const per = img.tables.l2Entries;
  for (const l1i of new Set(run.map((p) => Math.floor(p.gci / per)))) await img.tables.writableL2(l1i);
  const firstGuest = run[0]!.gci * cs;
  const host = img.hasDataFile ? firstGuest : await img.refs.alloc(run.length);
  if (!img.hasDataFile) img.allocatedData();
  if (span) await sink.write(host + span[0], firstGuest + span[0], buf.subarray(span[0], span[1]));
  else await sink.write(host, firstGuest, buf);
  await sink.after(async () => {
    await setEntries(
      img,
      run.map((p, i) => ({
        gci: p.gci,
        host: img.hasDataFile ? p.gci * cs : host + i * cs,
        allocBits: bits[i]?.alloc ?? 0xffffffff,
        zeroBits: bits[i]?.zero ?? 0,
      })),
    );
    for (const p of run) await release(img, p.m);
  });
}

/** Guest bytes of cluster gci inside the virtual size (the last cluster may be partial). */
export function clusterLen(img: Qcow2Image, gci: number): number {
  return Math.min(img.cs, img.virtualSize - gci * img.cs);
}

/** Drops this image's reference to the storage behind an old mapping. */
export async function release(img: Qcow2Image, m: L2Mapping): Promise<void> {
  if (img.hasDataFile) return;
  if (m.kind === "compressed") {
    const first = Math.floor(m.host / img.cs);
    const last = Math.floor((m.host + m.compressedSize - 1) / img.cs);
    await img.refs.update(first, last - first + 1, -1);
    if (img.compressedCache?.host === m.host) img.compressedCache = undefined;
  } else if (m.host !== 0) {
    await img.refs.update(m.host / img.cs, 1, -1);
  }
}

/** Writes new L2 entries, grouped per L2 table, each table's span in one write. */
export async function setEntries(
  img: Qcow2Image,
  entries: {
    gci: number;
    host: number;
    zero?: boolean;
    allocBits?: number;
    zeroBits?: number;
    /** The COPIED flag when the caller knows it (else from the refcount). */
    copied?: boolean;
  }[],
): Promise<void> {
  let i = 0;
  const per = img.tables.l2Entries;
  while (i < entries.length) {
    const l1i = Math.floor(entries[i]!.gci / per);
    const { offset, table } = await img.tables.writableL2(l1i);
    let lo = Number.MAX_SAFE_INTEGER;
    let hi = -1;
    while (i < entries.length && Math.floor(entries[i]!.gci / per) === l1i) {
      const e = entries[i]!;
      const idx = e.gci % per;
      // With a data file every mapped cluster has refcount 1 by definition (qemu uses COPIED
      // to tell guest cluster 0 at host offset 0 from an unallocated entry).
      const copied =
        e.copied ??
        (img.hasDataFile
          ? !e.zero && (e.allocBits ?? 1) !== 0
          : e.host !== 0 && (img.refs.peek(e.host / img.cs) ?? (await img.refs.get(e.host / img.cs))) === 1);
      encodeL2(table, idx, img.extL2, { ...e, copied });
      lo = Math.min(lo, idx);
      hi = Math.max(hi, idx + 1);
      i++;
    }
    await img.tables.writeL2Span(offset, table, lo, hi);
  }
}

/** True when the image can take compressed clusters (no data file, no encryption, zlib or zstd type). */
export function canCompress(img: Qcow2Image): boolean {
  return img.compressedClusterSize !== undefined;
}

/**
 * Writes one compressed guest cluster. `prepacked` is the deflated full cluster computed ahead
 * (compressClusterAsync), `null` when it did not compress; undefined compresses here.
 */
export async function compressedWrite(
  img: Qcow2Image,
  offset: number,
  data: Uint8Array,
  prepacked?: Uint8Array | null,
): Promise<void> {
  img.writable();
  const gci = offset / img.cs;
  if (!Number.isInteger(gci) || data.length !== clusterLen(img, gci)) {
    throw new ImageError("invalid-argument", "Compressed writes must cover exactly one cluster");
  }
  if (!canCompress(img)) {
    throw new ImageError("unsupported", "Compression is not supported for this image");
  }
  img.bounds(offset, data.length);
  await beforeWrite(img);
  let packed: Uint8Array | undefined;
  if (prepacked === undefined) {
    const full = new Uint8Array(img.cs);
    full.set(data);
    packed = compressCluster(full, img.header.compressionType);
  } else packed = prepacked ?? undefined;
  const old = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
  if (!packed || packed.length >= img.cs) {
    await guestWrite(img, offset, data); // incompressible: stored as a normal cluster, as qemu does
    return;
  }
  // The L2 table first (qemu looks it up for writing before it allocates the bytes), so a new
  // table lands before the compressed data, not after it.
  const per = img.tables.l2Entries;
  await img.tables.writableL2(Math.floor(gci / per));
  // qemu's qcow2_alloc_bytes: pack after the previous compressed cluster while its cluster
  // has room (and its refcount is below the maximum); else take a fresh cluster, and when that
  // one directly follows, the data still starts at the cursor and spans both.
  let host: number;
  const cur = img.compressedCursor;
  const curCluster = Math.floor(cur / img.cs);
  const curRefs = cur ? await img.refs.get(curCluster) : 0;
  const curOk = curRefs > 0 && curRefs < img.refs.max;
  if (curOk && packed.length <= (curCluster + 1) * img.cs - cur) {
    host = cur;
    await img.refs.update(curCluster, 1, 1);
  } else {
    // (No dirty marking here: qemu's compressed writes update refcounts at once.)
    const fresh = await img.refs.alloc(1); // a compressed cluster is shorter than a cluster
    if (curOk && fresh === (curCluster + 1) * img.cs) {
      host = cur;
      await img.refs.update(curCluster, 1, 1);
    } else host = fresh;
  }
  img.compressedCursor = host + packed.length;
  if (img.compressedCursor % img.cs === 0) img.compressedCursor = 0;
  await img.io.write(host, packed);
  const { offset: l2off, table } = await img.tables.writableL2(Math.floor(gci / per));
  encodeCompressed(table, gci % per, img.extL2, img.header.clusterBits, host, packed.length);
  await img.tables.writeL2Span(l2off, table, gci % per, (gci % per) + 1);
  await release(img, old);
}

export async function zeroGuest(
  img: Qcow2Image,
  offset: number,
  length: number,
  opts: { mayUnmap?: boolean } = {},
): Promise<void> {
  img.bounds(offset, length);
  img.writable();
  await beforeWrite(img);
  // Clusters the zeroing frees leave the file too when unmapping is allowed (qemu passes such
  // discard requests through for images opened with discard=unmap, as qemu-img convert and
  // commit open their targets).
  if (opts.mayUnmap) {
    await discardingFrees(img, () => zeroClusters(img, offset, length, true));
    return;
  }
  await zeroClusters(img, offset, length);
}

/** Runs fn, then deallocates in the file the clusters it freed that are still free. */
export async function discardingFrees(img: Qcow2Image, fn: () => Promise<void>): Promise<void> {
  const freed: number[] = [];
  const prev = img.refs.onFreed;
  img.refs.onFreed = (ci) => {
    prev?.(ci);
    freed.push(ci);
  };
  try {
    await fn();
  } finally {
    img.refs.onFreed = prev;
  }
  if (freed.length === 0 || !img.io.discard || img.hasDataFile) return;
  const cis = [...new Set(freed)].sort((a, b) => a - b);
  let i = 0;
  while (i < cis.length) {
    if ((await img.refs.get(cis[i]!)) !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < cis.length && cis[j] === cis[j - 1]! + 1 && (await img.refs.get(cis[j]!)) === 0) j++;
    await img.io.discard(cis[i]! * img.cs, (j - i) * img.cs);
    i = j;
  }
}

async function zeroClusters(
  img: Qcow2Image,
  offset: number,
  length: number,
  mayUnmap = false,
): Promise<void> {
  const end = offset + length;
  let pos = offset;
  const zeroChunk = async (a: number, b: number) => {
    const z = new Uint8Array(Math.min(b - a, 1 << 20));
    for (let p = a; p < b; p += z.length) await guestWrite(img, p, z.subarray(0, Math.min(z.length, b - p)));
  };
  while (pos < end) {
    const gci = Math.floor(pos / img.cs);
    const cEnd = Math.min((gci + 1) * img.cs, img.virtualSize);
    const segEnd = Math.min(cEnd, end);
    const whole = pos === gci * img.cs && segEnd === cEnd;
    const canFlag = img.header.version === 3 || img.header.backingFile === undefined;
    if (!whole || !canFlag || img.hasDataFile) {
      await zeroChunk(pos, segEnd);
    } else if (img.extL2) {
      await zeroWholeExtL2(img, gci, mayUnmap);
    } else {
      const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
      // qemu's zero_in_l2_slice: v3 sets the zero flag even on an unallocated cluster without a
      // backing file (a backing file given later, as safe rebase does, must not show through),
      // keeping an allocated cluster's host offset unless the request may unmap; v2 without a
      // backing file only unmaps, a no-op for an unallocated cluster.
      if (img.header.version === 3) {
        const unmap = m.kind === "compressed" || (mayUnmap && m.kind !== "unallocated" && m.host !== 0);
        const host = unmap || m.kind === "compressed" ? 0 : m.host;
        if (!(m.kind === "zero" && m.host === host)) {
          await setEntries(img, [{ gci, host, zero: true, allocBits: 0, zeroBits: 0xffffffff }]);
          if (unmap) await release(img, m);
        }
      } else if (!(m.kind === "unallocated" && img.header.backingFile === undefined)) {
        await setEntries(img, [{ gci, host: 0 }]);
        await release(img, m);
      }
    }
    pos = segEnd;
  }
}

/**
 * qemu's zero_in_l2_slice for one whole cluster of an extended-L2 image: every subcluster reads
 * zero; the host cluster stays unless the request may unmap (a compressed one always goes).
 */
async function zeroWholeExtL2(img: Qcow2Image, gci: number, mayUnmap: boolean): Promise<void> {
  const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
  const unmap = m.kind === "compressed" || (mayUnmap && m.kind === "normal");
  const host = unmap ? 0 : m.host;
  if (m.kind !== "compressed" && host === m.host && m.allocBits === 0 && m.zeroBits === 0xffffffff) return;
  await setEntries(img, [{ gci, host, allocBits: 0, zeroBits: 0xffffffff }]);
  if (unmap) await release(img, m);
}

/**
 * qemu's qcow2_subcluster_zeroize on an extended-L2 image: offset on a subcluster boundary, the
 * end too unless it is the image's end. The partial clusters at either end get the zero bits of
 * their subclusters (allocation bits cleared, the host cluster kept), whole clusters in between
 * go as zero_in_l2_slice. False where qemu answers ENOTSUP (a compressed cluster zeroed in part);
 * what was done before that stays done, as in qemu.
 */
export async function zeroizeSubclusters(
  img: Qcow2Image,
  offset: number,
  length: number,
  mayUnmap: boolean,
): Promise<boolean> {
  img.bounds(offset, length);
  img.writable();
  await beforeWrite(img);
  const cs = img.cs;
  const scs = cs / SUBCLUSTERS;
  let end = offset + length;
  const head = Math.min(end, Math.ceil(offset / cs) * cs) - offset;
  const pos = offset + head;
  const tail = end >= img.virtualSize ? 0 : end - Math.max(pos, Math.floor(end / cs) * cs);
  end -= tail;
  const part = async (o: number, n: number): Promise<boolean> => {
    const gci = Math.floor(o / cs);
    const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
    if (m.kind === "compressed") return false;
    const sc = Math.floor((o % cs) / scs);
    const nb = Math.ceil(n / scs);
    const mask = (2 ** (sc + nb) - 2 ** sc) >>> 0;
    const zero = (m.zeroBits | mask) >>> 0;
    const alloc = (m.allocBits & ~mask) >>> 0;
    if (zero !== m.zeroBits || alloc !== m.allocBits)
      await setEntries(img, [{ gci, host: m.host, allocBits: alloc, zeroBits: zero }]);
    return true;
  };
  if (head && !(await part(offset, head))) return false;
  const middle = async () => {
    for (let gci = pos / cs; gci * cs < end; gci++) await zeroWholeExtL2(img, gci, mayUnmap);
  };
  // (Clusters freed by a request that may unmap leave the file too, as in zeroGuest.)
  if (mayUnmap) await discardingFrees(img, middle);
  else await middle();
  if (tail && !(await part(end, tail))) return false;
  return true;
}

// ---- status ----
