// qcow2 consistency check and repair, following qemu-img check's algorithm so verdicts, counts
// and messages agree: rebuild every refcount from the metadata (header, L1/L2 trees of the
// active state and of each snapshot, snapshot table, refcount structures, crypto header,
// bitmaps), compare with the on-disk refcounts, fix leaks/errors, rebuild when needed.

import { be32 } from "../../bytes.js";
import { ImageError } from "../../errors.js";
import type { CheckResult } from "../../image.js";
import { INCOMPAT_CORRUPT, INCOMPAT_DIRTY } from "./header.js";
import { decodeL2, encodeL2, OFLAG_COMPRESSED_HI, OFLAG_COPIED_HI, offsetOf } from "./l2-entry.js";
import { readBitmapClusters } from "./bitmaps.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { rebuildRefcounts } from "./check-rebuild.js";
import { checkCopiedFlags } from "./check-copied.js";
import { snapshotTableSize } from "./snapshot-table.js";
import { nextNonZero, ZERO_RUN, zeroBytes } from "./refcounts.js";

export { nextNonZero, ZERO_RUN };

export const FIX_LEAKS = 1;
export const FIX_ERRORS = 2;
/** In-memory refcounts may reach this many clusters past the file end before check gives up. */
const MAX_CLUSTERS_PAST_EOF = 1 << 22;

/**
 * check's in-memory refcounts by cluster index (qemu's refcount_table in qcow2_check_refcounts):
 * one growable typed array, no per-cluster objects. Iterates the clusters with a non-zero count
 * in index order.
 */
export class RefTable {
  /** Counts by cluster index; replaced by a larger copy when an index past its end is set. */
  a: Uint32Array;
  constructor(clusters: number) {
    this.a = new Uint32Array(Math.max(1024, clusters));
  }
  get(i: number): number {
    return i < this.a.length ? this.a[i]! : 0;
  }
  set(i: number, v: number): void {
    this.reach(i)[i] = v;
  }
  /** The array, grown (doubling) so that index `i` exists. */
  reach(i: number): Uint32Array {
    if (i < this.a.length) return this.a;
    let n = this.a.length;
    while (n <= i) n *= 2;
    const b = new Uint32Array(n);
    b.set(this.a);
    this.a = b;
    return b;
  }
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    const a = this.a;
    for (let i = 0; i < a.length; i++) if (a[i]) yield [i, a[i]!];
  }
}

export interface CheckState {
  res: CheckResult;
  imrt: RefTable;
  /** Size of the in-memory table in clusters (file clusters, grown by references past EOF). */
  nb: number;
  fix: number;
  rebuild: boolean;
  fileClusters: number;
  /** File length in bytes (references a cluster or more past it are corruptions). */
  fileLen: number;
  nextContig: number;
  /**
   * The COPIED pass's answer for the active L2 tables, gathered while counting (checkL2): cop[k]
   * is 1 for a cluster referenced by an active standard entry with COPIED set whose count went
   * from 0 to 1; copiedSlow is set by anything else an active entry is (no COPIED, a shared or
   * unusual cluster, the general path) and by any further reference to a marked cluster. When it
   * stays clear and the refcount comparison found nothing, every active entry has COPIED and an
   * on-disk refcount of exactly 1: checkCopiedFlags need not read the L2 tables again.
   */
  cop: Uint8Array;
  copiedSlow: boolean;
}

class CheckAbort extends Error {}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The big-endian table as host-order 32-bit words (a swapped copy): the check loops read entry
 * halves as array elements instead of calling a decoder per field, which is what a one-shot
 * process (code never warm) pays for on every cluster. Signed words: a high half with bit 31 set
 * (the COPIED flag of nearly every entry) stays a small integer, where an unsigned one is a
 * heap number the cold code allocates per entry. Bit tests read the same either way; arithmetic
 * takes `>>> 0` first.
 */
export function hostWords(b: Uint8Array): Int32Array {
  const w = new Int32Array(b.length >>> 2);
  const v = Buffer.from(w.buffer);
  v.set(b.subarray(0, v.length));
  if (LITTLE_ENDIAN) v.swap32();
  return w;
}

export const hex = (hi: number, lo: number) => ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16);

export function newResult(): CheckResult {
  return {
    corruptions: 0,
    leaks: 0,
    checkErrors: 0,
    corruptionsFixed: 0,
    leaksFixed: 0,
    allocatedClusters: 0,
    fragmentedClusters: 0,
    compressedClusters: 0,
    messages: [],
  };
}

export function incRefs(img: Qcow2Image, st: CheckState, offset: number, size: number): void {
  if (size <= 0) return;
  const cs = img.cs;
  if (offset + size - st.fileLen >= cs) {
    st.res.messages.push(
      `ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x${offset.toString(16)} size 0x${size.toString(16)}`,
    );
    st.res.corruptions++;
    return;
  }
  const first = Math.floor(offset / cs);
  const last = Math.floor((offset + size - 1) / cs);
  for (let k = first; k <= last; k++) {
    if (k >= st.fileClusters + MAX_CLUSTERS_PAST_EOF) {
      st.res.checkErrors++;
      st.res.messages.push(
        `ERROR: cluster offset 0x${(k * cs).toString(16)} is far past the end of the image`,
      );
      throw new CheckAbort();
    }
    if (k >= st.nb) st.nb = k + 1;
    const a = k < st.imrt.a.length ? st.imrt.a : st.imrt.reach(k);
    const r = a[k]!;
    if (r !== 0 && st.cop[k] === 1) st.copiedSlow = true;
    // (A count of 2^32 - 1 cannot happen in an image qcow2's size limits allow; never wrap.)
    if (r === img.refs.max || r === 0xffffffff) {
      st.res.messages.push(`ERROR: overflow cluster offset=0x${(k * cs).toString(16)}`);
      st.res.messages.push(
        "Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a clean copy if the image cannot be opened for writing",
      );
      st.res.corruptions++;
      continue;
    }
    a[k] = r + 1;
  }
}

async function checkL2(
  img: Qcow2Image,
  st: CheckState,
  l2Offset: number,
  frag: boolean,
  active: boolean,
): Promise<void> {
  const t = img.tables;
  const table = new Uint8Array(img.cs);
  await img.io.read(l2Offset, table);
  const res = st.res;
  const eb = t.entryBytes;
  const words = hostWords(table);
  const ext = img.extL2;
  const cs = img.cs;
  const csMask = cs - 1;
  const cb = img.header.clusterBits;
  const max = img.refs.max;
  const fileLen = st.fileLen;
  const cop = st.cop;
  const bytes = Buffer.from(table.buffer, table.byteOffset, table.length);
  const n = t.l2Entries;
  // Standard entries in the image file itself: the usual entry takes the fast path below.
  const plain = !ext && !img.hasDataFile;
  // State the fast path keeps in locals (written back around the general path).
  let a = st.imrt.a;
  let nb = st.nb;
  let next = 0;
  let allocated = 0;
  let fragmented = 0;
  for (let i = 0; i < n; i++) {
    let w = ext ? i << 2 : i << 1;
    let hi = words[w]!;
    let lo = words[w + 1]!;
    // An all-zero entry (unallocated, no bitmap) has nothing to count or report: a run of
    // them, the usual unused part of a table, is skipped at once.
    if (hi === 0 && lo === 0 && i % ZERO_RUN === 0) {
      i = nextNonZero(bytes, i, n, eb);
      if (i >= n) break;
      w = ext ? i << 2 : i << 1;
      hi = words[w]!;
      lo = words[w + 1]!;
    }
    // A standard entry with no flag but COPIED and no reserved bit, pointing at a cluster-aligned
    // offset (or at none: unallocated): counted here with nothing but locals, as the general
    // path below would count it.
    if (plain && (hi & 0x7f000000) === 0 && (lo & 0x1ff) === 0) {
      // Below 2 GiB the offset is the low word itself: a small integer, where the general
      // formula's double arithmetic allocates a heap number per step in cold code.
      const hiOff = hi & 0x00ffffff;
      const small = hiOff === 0 && lo >= 0;
      const offset = small ? lo : hiOff * 0x100000000 + (lo >>> 0);
      if (offset === 0) continue;
      if ((lo & csMask) === 0) {
        // The entries that continue this one (the same high word, each the next cluster: data
        // written in order), counted at once when none of their clusters is referenced yet, as
        // the per-entry path below would count them one by one; a few loads per entry instead
        // of the whole path in code that is never warm.
        if (small && i + 1 < n && words[w + 2] === hi && words[w + 3] === lo + cs) {
          let j = i + 2;
          let nextLo = lo + 2 * cs;
          while (j < n && words[j << 1] === hi && words[(j << 1) + 1] === nextLo) {
            j++;
            nextLo += cs;
          }
          const k0 = lo >> cb;
          const k1 = k0 + (j - i);
          const last = nextLo - cs;
          if (last < fileLen && k1 <= nb && k1 <= a.length && zeroBytes(a, k0 * 4, k1 * 4)) {
            a.fill(1, k0, k1);
            if (active) {
              if (hi < 0) cop.fill(1, k0, k1);
              else st.copiedSlow = true;
            }
            if (frag) {
              allocated += j - i;
              if (next && offset !== next) fragmented++;
              next = nextLo;
            }
            i = j - 1;
            continue;
          }
        }
        if (frag) {
          allocated++;
          if (next && offset !== next) fragmented++;
          next = offset + cs;
        }
        const k = small ? lo >> cb : offset / cs;
        if (offset < fileLen && k < nb && k < a.length) {
          const r = a[k]!;
          if (r !== max && r !== 0xffffffff) {
            a[k] = r + 1;
            // (CheckState.cop: k < fileClusters here.)
            if (r !== 0) {
              if (active || cop[k] === 1) st.copiedSlow = true;
            } else if (active) {
              if (hi < 0) cop[k] = 1;
              else st.copiedSlow = true;
            }
            continue;
          }
        }
        if (active) st.copiedSlow = true;
        incRefs(img, st, offset, cs);
        a = st.imrt.a;
        nb = st.nb;
        continue;
      }
    }
    if (hi === 0 && lo === 0 && !ext) continue;
    if (active) st.copiedSlow = true;
    st.nextContig = next;
    res.allocatedClusters! += allocated;
    res.fragmentedClusters! += fragmented;
    allocated = 0;
    fragmented = 0;
    await checkL2Entry(img, st, table, words, i, l2Offset, frag, active);
    next = st.nextContig;
    a = st.imrt.a;
    nb = st.nb;
  }
  st.nextContig = next;
  res.allocatedClusters! += allocated;
  res.fragmentedClusters! += fragmented;
}

/** checkL2's general path: one entry of any kind (compressed, zero, extended, external data). */
async function checkL2Entry(
  img: Qcow2Image,
  st: CheckState,
  table: Uint8Array,
  words: Int32Array,
  i: number,
  l2Offset: number,
  frag: boolean,
  active: boolean,
): Promise<void> {
  const res = st.res;
  const eb = img.tables.entryBytes;
  const wpe = eb / 4;
  const ext = img.extL2;
  const dataFile = img.hasDataFile;
  const cs = img.cs;
  const max = img.refs.max;
  const hi = words[i * wpe]!;
  const lo = words[i * wpe + 1]!;
  const bitmapHi = ext ? words[i * wpe + 2]! : 0;
  const bitmapLo = ext ? words[i * wpe + 3]! : 0;
  const hasBitmap = bitmapHi !== 0 || bitmapLo !== 0;
  if (hi === 0 && lo === 0 && !hasBitmap) return;
  const compressed = (hi & OFLAG_COMPRESSED_HI) !== 0;
  if (!compressed && ((hi & 0x3f000000) !== 0 || (lo & 0x1fe) !== 0)) {
    res.messages.push(`ERROR found l2 entry with reserved bits set: ${hex(hi, lo)}`);
    res.corruptions++;
  }
  if (compressed) {
    const m = decodeL2(table, i, ext, img.header.clusterBits, dataFile);
    if (hi & 0x80000000) {
      res.messages.push(
        `ERROR: coffset=0x${m.host.toString(16)}: copied flag must never be set for compressed clusters`,
      );
      res.corruptions++;
    }
    const entry = hex(hi & 0x7fffffff, lo);
    if (img.hasDataFile) {
      res.messages.push(`ERROR compressed cluster ${i} with data file, entry=0x${entry}`);
      res.corruptions++;
      return;
    }
    if (hasBitmap) {
      res.messages.push(
        `ERROR compressed cluster ${i} with non-zero subcluster allocation bitmap, entry=0x${entry}`,
      );
      res.corruptions++;
      return;
    }
    incRefs(img, st, m.host, m.compressedSize);
    if (frag) {
      res.allocatedClusters!++;
      res.compressedClusters!++;
      res.fragmentedClusters!++;
    }
    return;
  }
  // decodeL2's kinds for an uncompressed entry, without building the mapping object.
  const offset = offsetOf(hi, lo);
  const zeroFlag = !ext && (lo & 1) !== 0;
  const allocated = offset !== 0 || (dataFile && (hi & OFLAG_COPIED_HI) !== 0);
  if ((allocated && !zeroFlag) || (zeroFlag && offset !== 0)) {
    if ((bitmapHi & bitmapLo) >>> 0 !== 0) {
      res.corruptions++;
      res.messages.push(
        `ERROR offset=${offset.toString(16)}: Allocated cluster has corrupted subcluster allocation bitmap`,
      );
    }
    if (offset % img.cs !== 0) {
      res.corruptions++;
      const containsData = img.extL2 ? bitmapLo !== 0 : !zeroFlag;
      if (!containsData) {
        const repair = (st.fix & FIX_ERRORS) !== 0;
        res.messages.push(
          `${repair ? "Repairing" : "ERROR"} offset=${offset.toString(16)}: Preallocated cluster is not properly aligned; L2 entry corrupted.`,
        );
        if (repair) {
          if (img.extL2) {
            encodeL2(table, i, true, {
              host: 0,
              copied: false,
              allocBits: 0,
              zeroBits: (bitmapHi | bitmapLo) >>> 0,
            });
          } else encodeL2(table, i, false, { host: 0, copied: false, zero: true });
          await img.io.write(l2Offset + i * eb, table.subarray(i * eb, (i + 1) * eb));
          if (active) img.tables.forget(l2Offset);
          res.corruptions--;
          res.corruptionsFixed++;
          return;
        }
      } else {
        res.messages.push(
          `ERROR offset=${offset.toString(16)}: Data cluster is not properly aligned; L2 entry corrupted.`,
        );
      }
    }
    if (frag) {
      res.allocatedClusters!++;
      if (st.nextContig && offset !== st.nextContig) res.fragmentedClusters!++;
      st.nextContig = offset + cs;
    }
    if (!dataFile) {
      // incRefs(img, st, offset, cs) inline for the usual case: an aligned cluster inside the
      // file and the table whose count cannot overflow (everything else takes the full path).
      const k = offset / cs;
      const a = st.imrt.a;
      if (offset % cs === 0 && offset < st.fileLen && k < st.nb && k < a.length) {
        const r = a[k]!;
        if (r !== max && r !== 0xffffffff) {
          a[k] = r + 1;
          if (r !== 0 && st.cop[k] === 1) st.copiedSlow = true;
          return;
        }
      }
      incRefs(img, st, offset, cs);
    }
    return;
  }
  if (!allocated && !zeroFlag && bitmapLo !== 0) {
    res.corruptions++;
    res.messages.push("ERROR: Unallocated cluster has non-zero subcluster allocation map");
  }
}

async function checkL1(
  img: Qcow2Image,
  st: CheckState,
  l1Offset: number,
  l1Size: number,
  frag: boolean,
  active: boolean,
): Promise<void> {
  if (!l1Size) return;
  incRefs(img, st, l1Offset, l1Size * 8);
  // Entries past the end of the file read as zero: never allocate more than the file holds.
  const readable = Math.max(0, Math.min(l1Size, Math.floor((st.fileLen - l1Offset) / 8)));
  const raw = new Uint8Array(readable * 8);
  await img.io.read(l1Offset, raw);
  for (let i = 0; i < readable; i++) {
    const hi = be32(raw, i * 8);
    const lo = be32(raw, i * 8 + 4);
    if (hi === 0 && lo === 0) continue;
    if ((hi & 0x7f000000) !== 0 || (lo & 0x1ff) !== 0) {
      st.res.messages.push(`ERROR found L1 entry with reserved bits set: ${hex(hi, lo)}`);
      st.res.corruptions++;
    }
    const l2 = offsetOf(hi, lo);
    incRefs(img, st, l2, img.cs);
    if (l2 % img.cs !== 0) {
      st.res.messages.push(
        `ERROR l2_offset=${l2.toString(16)}: Table is not cluster aligned; L1 entry corrupted`,
      );
      st.res.corruptions++;
    }
    await checkL2(img, st, l2, frag, active);
  }
}

async function checkRefblocks(img: Qcow2Image, st: CheckState): Promise<void> {
  const cs = img.cs;
  const h = img.header;
  const raw = new Uint8Array(h.refcountTableClusters * cs);
  await img.io.read(h.refcountTableOffset, raw);
  const words = hostWords(raw);
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  const n = raw.length / 8;
  for (let i = 0; i < n; i++) {
    // An empty slot (offset 0, inside the image) has nothing to check: runs of them at once.
    if (i % ZERO_RUN === 0 && words[2 * i] === 0 && words[2 * i + 1] === 0 && st.nb > 0) {
      i = nextNonZero(bytes, i, n, 8);
      if (i >= n) break;
    }
    const hi = words[2 * i]!;
    const lo = words[2 * i + 1]!;
    if (hi === 0 && lo === 0 && st.nb > 0) continue;
    const offset = (hi >>> 0) * 0x100000000 + (lo >>> 0);
    const cluster = Math.floor(offset / cs);
    if (offset % cs !== 0) {
      st.res.messages.push(
        `ERROR refcount block ${i} is not cluster aligned; refcount table entry corrupted`,
      );
      st.res.corruptions++;
      st.rebuild = true;
      continue;
    }
    if (cluster >= st.nb) {
      const repair = (st.fix & FIX_ERRORS) !== 0;
      st.res.messages.push(`${repair ? "Repairing" : "ERROR"} refcount block ${i} is outside image`);
      if (repair && cluster < st.fileClusters + MAX_CLUSTERS_PAST_EOF) {
        await img.io.truncate(offset + cs);
        st.fileClusters = cluster + 1;
        st.fileLen = offset + cs;
        st.nb = Math.max(st.nb, cluster + 1);
        st.res.corruptionsFixed++;
        incRefs(img, st, offset, cs);
        continue;
      }
      st.res.corruptions++;
      if (repair) st.rebuild = true;
      continue;
    }
    if (offset !== 0) {
      incRefs(img, st, offset, cs);
      const r = st.imrt.get(cluster);
      if (r !== 1) {
        st.res.messages.push(`ERROR refcount block ${i} refcount=${r}`);
        st.res.corruptions++;
        st.rebuild = true;
      }
    }
  }
}

export async function calculateRefcounts(img: Qcow2Image, st: CheckState): Promise<void> {
  const h = img.header;
  incRefs(img, st, 0, img.cs);
  await checkL1(img, st, img.tables.l1Offset, img.tables.l1.length, true, true);
  if (img.hasDataFile && img.snapshotList.length) {
    st.res.messages.push(`ERROR ${img.snapshotList.length} snapshots in image with data file`);
    st.res.corruptions++;
  }
  for (const sn of img.snapshotList) {
    if (sn.l1Offset % img.cs !== 0) {
      st.res.messages.push(
        `ERROR snapshot ${sn.id} (${sn.name}) l1_offset=0x${sn.l1Offset.toString(16)}: L1 table is not cluster aligned; snapshot table entry corrupted`,
      );
      st.res.corruptions++;
      continue;
    }
    await checkL1(img, st, sn.l1Offset, sn.l1Size, false, false);
  }
  incRefs(img, st, h.snapshotsOffset, snapshotTableSize(img.snapshotList));
  incRefs(img, st, h.refcountTableOffset, h.refcountTableClusters * img.cs);
  if (h.crypto) incRefs(img, st, h.crypto.offset, h.crypto.length);
  for (const [off, len] of await readBitmapClusters(img)) incRefs(img, st, off, len);
  await checkRefblocks(img, st);
}

/** On-disk refcount of cluster i, or undefined (with a check error) when it cannot be read. */
async function diskRefcount(img: Qcow2Image, st: CheckState, i: number): Promise<number | undefined> {
  const quick = img.refs.peek(i);
  if (quick !== undefined) return quick;
  try {
    return await img.refs.get(i);
  } catch (e) {
    st.res.messages.push(`Can't get refcount for cluster ${i}: ${(e as Error).message}`);
    st.res.checkErrors++;
    return undefined;
  }
}

export async function compareRefcounts(img: Qcow2Image, st: CheckState, fix: number): Promise<number> {
  let highest = 0;
  const per = img.refs.perBlock;
  // One refcount block at a time, decoded at once; a block that cannot be read falls back to
  // asking cluster by cluster (each then reports its own error, as qemu's per-cluster lookups).
  let counts: ArrayLike<number> | undefined | null;
  let base = 0;
  let end = 0;
  // The in-memory counts and their extent (this pass changes neither): locals, not per-call.
  const a = st.imrt.a;
  const nb = st.nb;
  // The block's counts widened to 32 bits (integer widths only), so that runs of ZERO_RUN
  // clusters whose two counts agree, nearly all of them, are passed by one memcmp.
  let wide: Buffer | undefined;
  for (let i = 0; i < nb; i++) {
    if (i >= end) {
      const rti = Math.floor(i / per);
      base = rti * per;
      end = base + per;
      try {
        counts = await img.refs.blockCounts(rti, Math.min(per, nb - base));
      } catch {
        counts = null;
      }
      wide = undefined;
      if (counts instanceof Uint8Array || counts instanceof Uint16Array || counts instanceof Uint32Array) {
        const w = new Uint32Array(counts.length);
        w.set(counts);
        wide = Buffer.from(w.buffer);
        // The whole block at once first: where every count agrees (a clean image), nothing is
        // reported, and the highest cluster in use is the block's last non-zero count.
        const spanEnd = base + w.length;
        if (
          i === base &&
          spanEnd <= a.length &&
          Buffer.compare(new Uint8Array(a.buffer, a.byteOffset + base * 4, wide.length), wide) === 0
        ) {
          for (let k = spanEnd; k > base; ) {
            const s = Math.max(base, k - ZERO_RUN);
            if (!zeroBytes(a, s * 4, k * 4)) {
              for (let m = k - 1; m >= s; m--) {
                if (a[m] !== 0) {
                  highest = m;
                  break;
                }
              }
              break;
            }
            k = s;
          }
          i = spanEnd - 1;
          continue;
        }
      }
    }
    if (wide !== undefined && (i - base) % ZERO_RUN === 0) {
      const j = i - base;
      const e = i + ZERO_RUN;
      if (
        j + ZERO_RUN <= wide.length >>> 2 &&
        e <= a.length &&
        Buffer.compare(
          new Uint8Array(a.buffer, a.byteOffset + i * 4, ZERO_RUN * 4),
          new Uint8Array(wide.buffer, wide.byteOffset + j * 4, ZERO_RUN * 4),
        ) === 0
      ) {
        // Equal counts: nothing to report; the highest cluster in use is the last non-zero one.
        for (let k = e - 1; k >= i; k--) {
          if (a[k] !== 0) {
            highest = k;
            break;
          }
        }
        i = e - 1;
        continue;
      }
    }
    const r1 =
      counts === null
        ? (img.refs.peek(i) ?? (await diskRefcount(img, st, i)))
        : counts === undefined
          ? 0
          : counts[i - base]!;
    if (r1 === undefined) continue;
    const r2 = i < a.length ? a[i]! : 0;
    if (r1 > 0 || r2 > 0) highest = i;
    if (r1 === r2) continue;
    let fixKind: "leaks" | "corruptions" | undefined;
    if (r1 === 0) st.rebuild = true;
    else if (r1 > r2 && fix & FIX_LEAKS) fixKind = "leaks";
    else if (r1 < r2 && fix & FIX_ERRORS) fixKind = "corruptions";
    const word = fixKind ? "Repairing" : r1 < r2 ? "ERROR" : "Leaked";
    st.res.messages.push(`${word} cluster ${i} refcount=${r1} reference=${r2}`);
    if (fixKind) {
      try {
        await img.refs.set(i, 1, r2);
        if (fixKind === "leaks") st.res.leaksFixed++;
        else st.res.corruptionsFixed++;
        continue;
      } catch {
        // fall through: counted as not fixed
      }
    }
    if (r1 < r2) st.res.corruptions++;
    else st.res.leaks++;
  }
  return highest;
}

export function freshState(fix: number, fileLen: number, cs: number, res: CheckResult): CheckState {
  const fileClusters = Math.ceil(fileLen / cs);
  return {
    res,
    imrt: new RefTable(fileClusters),
    nb: fileClusters,
    fix,
    rebuild: false,
    fileClusters,
    fileLen,
    nextContig: 0,
    cop: new Uint8Array(fileClusters),
    copiedSlow: fix !== 0,
  };
}

export async function checkQcow2(
  img: Qcow2Image,
  opts: { repair?: "leaks" | "all" } = {},
): Promise<CheckResult> {
  const fix = opts.repair === "all" ? FIX_LEAKS | FIX_ERRORS : opts.repair === "leaks" ? FIX_LEAKS : 0;
  if (fix) img.writable();
  let res = newResult();
  res.totalClusters = Math.ceil(img.virtualSize / img.cs);
  let st = freshState(fix, await img.io.size(), img.cs, res);
  try {
    await calculateRefcounts(img, st);
    const pre: CheckResult = { ...res, messages: [...res.messages] };
    let highest = await compareRefcounts(img, st, 0);
    if (st.rebuild && fix & FIX_ERRORS) {
      const old = { ...res };
      res.messages.push("Rebuilding refcount structure");
      await rebuildRefcounts(img, st);
      res.corruptions = 0;
      res.leaks = 0;
      const messages = res.messages;
      st = freshState(0, await img.io.size(), img.cs, res);
      await calculateRefcounts(img, st);
      let fresh = 0;
      const saved = { ...res };
      const tmp = newResult();
      st.res = tmp;
      st.rebuild = false;
      highest = await compareRefcounts(img, st, FIX_LEAKS);
      if (st.rebuild) messages.push("ERROR rebuilt refcount structure is still broken");
      fresh = tmp.leaks;
      messages.push(...tmp.messages);
      res = { ...saved, messages };
      if (res.corruptions < old.corruptions) res.corruptionsFixed += old.corruptions - res.corruptions;
      if (res.leaks < old.leaks) res.leaksFixed += old.leaks - res.leaks;
      res.leaks += fresh;
    } else if (fix) {
      if (st.rebuild) {
        res.messages.push("ERROR need to rebuild refcount structures");
        res.checkErrors++;
        return res;
      }
      if (res.leaks || res.corruptions) {
        const keep = res.messages;
        res = { ...pre, messages: keep };
        st.res = res;
        highest = await compareRefcounts(img, st, fix);
      }
    }
    // Nothing found and nothing unusual seen while counting (CheckState.cop): the COPIED pass
    // has nothing to report on the active L2 tables and looks at the L1 table only.
    const l2Clean =
      !st.copiedSlow && !fix && !res.corruptions && !res.leaks && !res.checkErrors && !st.rebuild;
    await checkCopiedFlags(img, res, fix, l2Clean);
    res.imageEndOffset = (highest + 1) * img.cs;
    if (fix && res.checkErrors === 0 && res.corruptions === 0) {
      const h = img.header;
      if (h.incompatible & (INCOMPAT_DIRTY | INCOMPAT_CORRUPT)) {
        h.incompatible &= ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
        await img.writeHeader();
      }
    }
    if (fix) await img.io.flush();
    return res;
  } catch (e) {
    if (e instanceof CheckAbort) return st.res;
    if (e instanceof ImageError && e.kind === "io") {
      st.res.checkErrors++;
      st.res.messages.push(`ERROR: ${e.message}`);
      return st.res;
    }
    throw e;
  }
}
