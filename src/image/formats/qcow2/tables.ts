// The active L1 table and a cache of L2 tables: guest cluster → L2 mapping lookups, and the
// copy-on-write rules that keep refcounts right (a shared L2 table is copied before it changes).

import { be32, putBe64 } from "../../bytes.js";
import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import { decodeL2, type L2Mapping, OFLAG_COPIED_HI, offsetOf } from "./l2-entry.js";
import type { Refcounts } from "./refcounts.js";

const L2_CACHE_BYTES = 32 << 20;

export interface L1Entry {
  offset: number;
  copied: boolean;
}

export function decodeL1(raw: Uint8Array, count: number): L1Entry[] {
  const out: L1Entry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const hi = be32(raw, i * 8);
    const lo = be32(raw, i * 8 + 4);
    out[i] = { offset: offsetOf(hi, lo), copied: (hi & OFLAG_COPIED_HI) !== 0 };
  }
  return out;
}

export function encodeL1(l1: L1Entry[], bytes: number): Uint8Array {
  const raw = new Uint8Array(bytes);
  for (let i = 0; i < l1.length; i++) {
    const e = l1[i]!;
    putBe64(raw, i * 8, e.offset);
    if (e.copied) raw[i * 8] = raw[i * 8]! | 0x80;
  }
  return raw;
}

export class ClusterTables {
  readonly cs: number;
  readonly l2Entries: number;
  readonly entryBytes: number;
  private cache = new Map<number, Uint8Array>();
  /** L2 tables written in part since the last flush: see writeWhole(). */
  private partial = new Set<number>();

  constructor(
    private readonly io: BlockIO,
    readonly clusterBits: number,
    readonly extL2: boolean,
    readonly dataFile: boolean,
    public l1: L1Entry[],
    public l1Offset: number,
    private readonly refs: () => Refcounts,
    private readonly fileSize: () => number,
  ) {
    this.cs = 2 ** clusterBits;
    this.entryBytes = extL2 ? 16 : 8;
    this.l2Entries = this.cs / this.entryBytes;
  }

  /** Builds the error of a corruption event (the image's qcow2_signal_corruption). */
  corrupt?: (message: string, guestOffset?: number) => Error;

  /** Reads an L2 table (cached). */
  async l2(offset: number): Promise<Uint8Array> {
    let t = this.cache.get(offset);
    if (t) return t;
    if (offset % this.cs !== 0)
      throw new ImageError("corrupt", `L2 table offset 0x${offset.toString(16)} unaligned`, { offset });
    t = new Uint8Array(this.cs);
    // (Past the end of the file it reads as zeros, as qemu's does: nothing allocated there.)
    if (offset < this.fileSize()) await this.io.read(offset, t);
    if (this.cache.size * this.cs >= L2_CACHE_BYTES) {
      const k = this.cache.keys().next().value;
      if (k !== undefined) this.cache.delete(k);
    }
    this.cache.set(offset, t);
    return t;
  }

  dropCache(): void {
    this.cache.clear();
  }

  forget(offset: number): void {
    this.cache.delete(offset);
    this.partial.delete(offset);
  }

  /**
   * Writes each L2 table changed in part since the last call as a whole cluster, as qemu's
   * metadata cache does when it flushes: the same bytes, and the same clusters allocated in
   * the file. Tables no longer in use (freed, or cut off by a shrink) are left alone.
   */
  async writeWhole(): Promise<void> {
    const parts = [...this.partial];
    this.partial.clear();
    if (parts.length === 0) return;
    const inUse = new Set(this.l1.map((e) => e.offset));
    const end = this.fileSize();
    for (const off of parts) {
      if (!inUse.has(off) || off + this.cs > end) continue;
      await this.io.write(off, await this.l2(off));
    }
  }

  /** Mapping of `gci` when its L2 table is cached (or absent): no promise in hot loops. */
  peek(gci: number): L2Mapping | undefined {
    const e = this.l1[Math.floor(gci / this.l2Entries)];
    if (!e || e.offset === 0) return unallocated();
    const t = this.cache.get(e.offset);
    return t ? decodeL2(t, gci % this.l2Entries, this.extL2, this.clusterBits, this.dataFile) : undefined;
  }

  /**
   * The cached L2 table holding `gci`'s entry, or null when its L1 entry is empty (all
   * unallocated); undefined when the table is not cached. Hot loops read entries in place.
   */
  peekTable(gci: number): Uint8Array | null | undefined {
    const e = this.l1[Math.floor(gci / this.l2Entries)];
    if (!e || e.offset === 0) return null;
    return this.cache.get(e.offset);
  }

  /** Mapping of guest cluster `gci`. */
  async lookup(gci: number): Promise<L2Mapping> {
    const l1i = Math.floor(gci / this.l2Entries);
    const e = this.l1[l1i];
    if (!e || e.offset === 0) return unallocated();
    if (e.offset % this.cs !== 0 && this.corrupt) {
      const hex = (n: number) => (n === 0 ? "0" : `0x${n.toString(16)}`);
      throw this.corrupt(`L2 table offset ${hex(e.offset)} unaligned (L1 index: ${hex(l1i)})`, gci * this.cs);
    }
    const t = await this.l2(e.offset);
    return decodeL2(t, gci % this.l2Entries, this.extL2, this.clusterBits, this.dataFile);
  }

  /**
   * Returns a writable (refcount 1) L2 table for L1 index `l1i` and its offset, allocating a new
   * one or copying a shared one first. The L1 entry is updated on disk after the table is written.
   */
  async writableL2(l1i: number): Promise<{ offset: number; table: Uint8Array }> {
    if (l1i >= this.l1.length) throw new ImageError("invalid-argument", "write past the L1 table");
    const e = this.l1[l1i]!;
    const refs = this.refs();
    if (e.offset !== 0) {
      const t = await this.l2(e.offset);
      if (e.copied || (await refs.get(e.offset / this.cs)) === 1) {
        if (!e.copied) {
          e.copied = true;
          await this.writeL1Entry(l1i);
        }
        return { offset: e.offset, table: t };
      }
      // Shared with a snapshot: copy, point L1 at the copy, drop one reference to the old one.
      const copy = t.slice();
      const off = await refs.alloc(1);
      await this.fixCopiedFlags(copy);
      await this.io.write(off, copy);
      const old = e.offset;
      this.l1[l1i] = { offset: off, copied: true };
      this.cache.set(off, copy);
      await this.writeL1Entry(l1i);
      await refs.update(old / this.cs, 1, -1);
      return { offset: off, table: copy };
    }
    const off = await refs.alloc(1);
    const t = new Uint8Array(this.cs);
    await this.io.write(off, t);
    this.cache.set(off, t);
    this.l1[l1i] = { offset: off, copied: true };
    await this.writeL1Entry(l1i);
    return { offset: off, table: t };
  }

  /** Sets each normal entry's COPIED flag from the current refcount (refcount 1 ⇔ copied). */
  async fixCopiedFlags(t: Uint8Array): Promise<void> {
    const refs = this.refs();
    for (let i = 0; i < this.l2Entries; i++) {
      const m = decodeL2(t, i, this.extL2, this.clusterBits, this.dataFile);
      if (m.kind === "compressed" || m.host === 0 || this.dataFile) continue;
      const one = (await refs.get(m.host / this.cs)) === 1;
      const o = i * this.entryBytes;
      t[o] = one ? t[o]! | 0x80 : t[o]! & 0x7f;
    }
  }

  async writeL1Entry(l1i: number): Promise<void> {
    const raw = encodeL1([this.l1[l1i]!], 8);
    await this.io.write(this.l1Offset + l1i * 8, raw);
  }

  /** Writes L2 entries [i0, i1) of a cached table to disk. */
  async writeL2Span(offset: number, t: Uint8Array, i0: number, i1: number): Promise<void> {
    if (i0 > 0 || i1 < this.l2Entries) this.partial.add(offset);
    await this.io.write(
      offset + i0 * this.entryBytes,
      t.subarray(i0 * this.entryBytes, i1 * this.entryBytes),
    );
  }
}

function unallocated(): L2Mapping {
  return {
    kind: "unallocated",
    host: 0,
    compressedSize: 0,
    copied: false,
    allocBits: 0,
    zeroBits: 0,
    hi: 0,
    lo: 0,
  };
}
