// qcow2 reference counts (spec "Host cluster management"): a two-level table of refcount blocks
// with entries of refcount_bits = 1..64. Cached, written through; also the cluster allocator.

import { be16, be32, be64, putBe16, putBe32, putBe64 } from "../../bytes.js";
import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import { MAX_REFTABLE_BYTES } from "./header.js";

/** Refcount block cache budget; blocks are written through, so eviction is free. */
const CACHE_BYTES = 32 << 20;
/** Entries of the refcount table / L1 / L2 keep the offset in bits 9..55 (spec). */
const OFFSET_MASK_HI = 0x00ffffff;

// Finding the used entries of mostly-empty qcow2 tables (L2 tables, the refcount table) and
// zero stretches of check's counts without looking at each entry in JavaScript: one-shot
// processes (tsvirt-img info/check) run these loops in code that is never warm, where a native
// memcmp of a stretch costs less than a few entries' worth of interpreted loads.
//
// Comparisons use the static Buffer.compare of two views: Buffer.prototype.compare with offsets
// validates each of its four offsets through Node's wrapped validators (a rest-arguments call
// each), which in a check of a large table is most of the cost, and whose wrapper then gets
// optimized by TurboFan for nothing.

/** Entries looked at per all-zero test at first (the stretch then doubles while it stays zero). */
export const ZERO_RUN = 64;

const zeros = new Uint8Array(4096);

/**
 * Whether bytes [start, end) of `b` are all zero: the first 4 KiB compared with zeros, the rest
 * with the bytes 4 KiB before it (equal all along from a zero start: zero too), so that no zero
 * buffer as long as a table (which the snapshot of tsvirt-img would carry) is needed.
 */
export function zeroBytes(b: ArrayBufferView, start: number, end: number): boolean {
  const len = end - start;
  if (len <= 0) return true;
  const head = Math.min(len, zeros.length);
  const at = b.byteOffset + start;
  if (
    Buffer.compare(
      new Uint8Array(b.buffer, at, head),
      head === zeros.length ? zeros : new Uint8Array(zeros.buffer, 0, head),
    ) !== 0
  )
    return false;
  return (
    len === head ||
    Buffer.compare(
      new Uint8Array(b.buffer, at, len - head),
      new Uint8Array(b.buffer, at + head, len - head),
    ) === 0
  );
}

/**
 * The first multiple of ZERO_RUN entries past `i` (entries of `eb` bytes; `i` itself when the
 * stretch at `i` is not all zero) whose ZERO_RUN entries are not all zero bytes, or `n`. Empty
 * stretches are passed in doubling steps: a table used only at its start costs a handful of
 * compares, not one per ZERO_RUN entries.
 */
export function nextNonZero(b: ArrayBufferView, i: number, n: number, eb: number): number {
  let span = ZERO_RUN;
  while (i < n) {
    const end = Math.min(n, i + span);
    if (zeroBytes(b, i * eb, end * eb)) {
      i = end;
      span *= 2;
    } else if (span === ZERO_RUN) return i;
    else span = ZERO_RUN;
  }
  return n;
}

export function entryOffset(b: Uint8Array, off: number): number {
  const hi = be32(b, off) & OFFSET_MASK_HI;
  const lo = be32(b, off + 4) & ~0x1ff;
  return hi * 0x100000000 + (lo >>> 0);
}

export class Refcounts {
  readonly clusterSize: number;
  readonly bits: number;
  /** Refcount entries per block. */
  readonly perBlock: number;
  readonly max: number;
  table: number[];
  tableOffset: number;
  tableClusters: number;
  private cache = new Map<number, Uint8Array>();
  /** Blocks written in part since the last flush (index → offset): see writeWhole(). */
  private partial = new Map<number, number>();
  private freeIndex = 0;
  private reserved: [number, number][] = [];
  private growing = false;
  /** Called for each cluster whose refcount drops to zero (so caches can forget it). */
  onFreed?: (ci: number) => void;

  constructor(
    private readonly io: BlockIO,
    clusterBits: number,
    refcountOrder: number,
    table: number[],
    tableOffset: number,
    tableClusters: number,
    /** Persists a moved refcount table in the header. */
    readonly onMoved: (offset: number, clusters: number) => Promise<void>,
  ) {
    this.clusterSize = 2 ** clusterBits;
    this.bits = 2 ** refcountOrder;
    this.perBlock = (this.clusterSize * 8) / this.bits;
    this.max = this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    this.table = table;
    this.tableOffset = tableOffset;
    this.tableClusters = tableClusters;
  }

  /** Loads the refcount table (size already capped by the header check). */
  static async load(
    io: BlockIO,
    clusterBits: number,
    refcountOrder: number,
    tableOffset: number,
    tableClusters: number,
    onTableMoved: (offset: number, clusters: number) => Promise<void>,
  ): Promise<Refcounts> {
    const bytes = tableClusters * 2 ** clusterBits;
    if (bytes > MAX_REFTABLE_BYTES) throw new ImageError("format", "Reference count table too large");
    const raw = new Uint8Array(bytes);
    await io.read(tableOffset, raw);
    const table: number[] = new Array(bytes / 8).fill(0);
    // Most of the table is zero (no block yet): runs of entries are passed by one memcmp, the
    // others tested 8 bytes at once, and only non-zero ones decoded: every qcow2 open runs this,
    // in code that is never warm (tsvirt-img check of a 1 GiB qcow2: ~7 M instructions fewer).
    const words = new Uint32Array(raw.buffer, raw.byteOffset, bytes / 4);
    const n = table.length;
    for (let i = nextNonZero(raw, 0, n, 8); i < n; i = nextNonZero(raw, i + ZERO_RUN, n, 8)) {
      const end = Math.min(n, i + ZERO_RUN);
      for (let j = i; j < end; j++) {
        if (words[2 * j] !== 0 || words[2 * j + 1] !== 0) table[j] = entryOffset(raw, j * 8);
      }
    }
    return new Refcounts(io, clusterBits, refcountOrder, table, tableOffset, tableClusters, onTableMoved);
  }

  getEntry(block: Uint8Array, i: number): number {
    switch (this.bits) {
      case 8:
        return block[i]!;
      case 16:
        return be16(block, i * 2);
      case 32:
        return be32(block, i * 4);
      case 64:
        return be64(block, i * 8, "refcount");
      default: {
        // Sub-byte widths pack from the least significant bit of each byte (qemu refcount.c).
        const bit = i * this.bits;
        return (block[bit >> 3]! >> (bit & 7)) & this.max;
      }
    }
  }

  setEntry(block: Uint8Array, i: number, v: number): void {
    switch (this.bits) {
      case 8:
        block[i] = v;
        return;
      case 16:
        putBe16(block, i * 2, v);
        return;
      case 32:
        putBe32(block, i * 4, v);
        return;
      case 64:
        putBe64(block, i * 8, v);
        return;
      default: {
        const bit = i * this.bits;
        const sh = bit & 7;
        block[bit >> 3] = (block[bit >> 3]! & ~(this.max << sh)) | (v << sh);
      }
    }
  }

  /** Byte span [start, end) in a block holding entries [i0, i1). */
  private span(i0: number, i1: number): [number, number] {
    return [Math.floor((i0 * this.bits) / 8), Math.ceil((i1 * this.bits) / 8)];
  }

  private async loadBlock(rti: number): Promise<Uint8Array | undefined> {
    const off = this.table[rti];
    if (!off) return undefined;
    let b = this.cache.get(rti);
    if (b) return b;
    b = new Uint8Array(this.clusterSize);
    await this.io.read(off, b);
    if (this.cache.size * this.clusterSize >= CACHE_BYTES) {
      const first = this.cache.keys().next().value;
      if (first !== undefined) this.cache.delete(first);
    }
    this.cache.set(rti, b);
    return b;
  }

  /** Refcount of `ci` when it can be answered without I/O (hot loops avoid a promise per cluster). */
  peek(ci: number): number | undefined {
    const rti = Math.floor(ci / this.perBlock);
    if (rti >= this.table.length || !this.table[rti]) return 0;
    const b = this.cache.get(rti);
    return b ? this.getEntry(b, ci % this.perBlock) : undefined;
  }

  /**
   * Refcounts of the first `n` clusters covered by refcount block `rti`, decoded at once (a
   * byte-swapped copy for 16/32-bit widths): check compares every cluster without a call per
   * cluster. Undefined when the block does not exist (all zero); throws when it cannot be read.
   */
  async blockCounts(rti: number, n = this.perBlock): Promise<ArrayLike<number> | undefined> {
    if (rti >= this.table.length || !this.table[rti]) return undefined;
    const b = this.cache.get(rti) ?? (await this.loadBlock(rti));
    if (!b) return undefined;
    n = Math.min(n, this.perBlock);
    const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (this.bits === 8) return b.slice(0, n);
    if ((this.bits === 16 || this.bits === 32) && little) {
      const out = this.bits === 16 ? new Uint16Array(n) : new Uint32Array(n);
      const bytes = Buffer.from(out.buffer);
      bytes.set(b.subarray(0, bytes.length));
      if (this.bits === 16) bytes.swap16();
      else bytes.swap32();
      return out;
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.getEntry(b, i);
    return out;
  }

  /** Refcount of cluster index `ci` (0 where no block exists). */
  async get(ci: number): Promise<number> {
    const quick = this.peek(ci);
    if (quick !== undefined) return quick;
    const rti = Math.floor(ci / this.perBlock);
    if (rti >= this.table.length) return 0;
    const b = await this.loadBlock(rti);
    return b ? this.getEntry(b, ci % this.perBlock) : 0;
  }

  /** End of the reserved range holding `ci`, or -1 (in-flight allocations are not yet counted). */
  private reservedEnd(ci: number): number {
    for (const [s, e] of this.reserved) if (ci >= s && ci < e) return e;
    return -1;
  }

  /** Finds `n` contiguous free clusters (not yet referenced). */
  private async findFree(n: number): Promise<number> {
    let start = this.freeIndex;
    for (;;) {
      let ok = true;
      for (let i = 0; i < n; i++) {
        const ci = start + i;
        const r = this.reservedEnd(ci);
        if (r >= 0 || (this.peek(ci) ?? (await this.get(ci))) !== 0) {
          // Everything below a referenced cluster at the scan origin is in use: later scans
          // start after it (else each allocation rescans all clusters behind a metadata one).
          if (r < 0 && ci === this.freeIndex) this.freeIndex = ci + 1;
          start = r >= 0 ? r : ci + 1;
          ok = false;
          break;
        }
      }
      if (ok) return start;
    }
  }

  /** Allocates `n` contiguous clusters with refcount 1; returns the host byte offset. */
  async alloc(n: number): Promise<number> {
    const start = await this.findFree(n);
    const r: [number, number] = [start, start + n];
    this.reserved.push(r);
    try {
      await this.update(start, n, 1);
    } finally {
      this.reserved.splice(this.reserved.indexOf(r), 1);
    }
    if (start === this.freeIndex) this.freeIndex = start + n;
    return start * this.clusterSize;
  }

  /** Adds `delta` to the refcount of clusters [ci, ci+n). */
  async update(ci: number, n: number, delta: number): Promise<void> {
    await this.modify(ci, n, (old, at) => {
      const v = old + delta;
      if (v < 0) throw new ImageError("corrupt", `Refcount of cluster ${at} would drop below zero`);
      if (v > this.max) throw new ImageError("corrupt", `Refcount of cluster ${at} would overflow`);
      return v;
    });
  }

  /** Sets the refcount of clusters [ci, ci+n) to `value` (check/repair). */
  async set(ci: number, n: number, value: number): Promise<void> {
    if (value > this.max) throw new ImageError("corrupt", `Refcount ${value} exceeds the width`);
    await this.modify(ci, n, () => value);
  }

  private async modify(ci: number, n: number, f: (old: number, at: number) => number): Promise<void> {
    let pos = ci;
    const end = ci + n;
    while (pos < end) {
      const rti = Math.floor(pos / this.perBlock);
      const i0 = pos % this.perBlock;
      const i1 = Math.min(this.perBlock, i0 + (end - pos));
      const block = await this.ensureBlock(rti);
      let zeroed = false;
      for (let i = i0; i < i1; i++) {
        const v = f(this.getEntry(block, i), rti * this.perBlock + i);
        if (v === 0) {
          zeroed = true;
          this.onFreed?.(rti * this.perBlock + i);
        }
        this.setEntry(block, i, v);
      }
      const [s, e] = this.span(i0, i1);
      await this.io.write(this.table[rti]! + s, block.subarray(s, e));
      if (s > 0 || e < this.clusterSize) this.partial.set(rti, this.table[rti]!);
      if (zeroed) this.freeIndex = Math.min(this.freeIndex, pos);
      pos += i1 - i0;
    }
  }

  /** Returns refcount block `rti`, creating it (and growing the table) when missing. */
  private async ensureBlock(rti: number): Promise<Uint8Array> {
    if (rti >= this.table.length) {
      if (this.growing) throw new ImageError("corrupt", "Refcount table growth did not converge");
      await this.growTable(rti + 1);
    }
    const have = await this.loadBlock(rti);
    if (have) return have;
    const b = await this.findFree(1);
    const block = new Uint8Array(this.clusterSize);
    const selfCovered = Math.floor(b / this.perBlock) === rti;
    if (selfCovered) this.setEntry(block, b % this.perBlock, 1);
    const off = b * this.clusterSize;
    await this.io.write(off, block);
    this.table[rti] = off;
    this.cache.set(rti, block);
    if (!selfCovered) {
      this.reserved.push([b, b + 1]);
      try {
        await this.update(b, 1, 1);
      } finally {
        this.reserved.pop();
      }
    }
    if (!this.growing) {
      const e = new Uint8Array(8);
      putBe64(e, 0, off);
      await this.io.write(this.tableOffset + rti * 8, e);
    }
    return block;
  }

  private async growTable(needLen: number): Promise<void> {
    const per = this.clusterSize / 8;
    const newLen = Math.ceil((Math.max(needLen, Math.ceil(this.table.length * 1.5)) + 2) / per) * per;
    if (newLen * 8 > MAX_REFTABLE_BYTES)
      throw new ImageError("invalid-argument", "Reference count table too large");
    const oldOffset = this.tableOffset;
    const oldClusters = this.tableClusters;
    const k = newLen / per;
    this.table = this.table.concat(new Array(newLen - this.table.length).fill(0));
    this.growing = true;
    let start: number;
    try {
      start = await this.findFree(k);
      this.reserved.push([start, start + k]);
      await this.update(start, k, 1);
      this.reserved.pop();
      const raw = new Uint8Array(k * this.clusterSize);
      for (let i = 0; i < this.table.length; i++) putBe64(raw, i * 8, this.table[i]!);
      await this.io.write(start * this.clusterSize, raw);
      await this.onMoved(start * this.clusterSize, k);
    } finally {
      this.growing = false;
    }
    this.tableOffset = start * this.clusterSize;
    this.tableClusters = k;
    await this.update(oldOffset / this.clusterSize, oldClusters, -1);
  }

  /**
   * After a shrink, as qemu's qcow2_shrink_reftable: a refcount block that counts nothing but
   * (possibly) itself leaves the table, and the whole table is written. (A dropped block that
   * another block counts keeps that count, as in qemu.) Returns the dropped blocks' offsets.
   */
  async shrinkTable(): Promise<number[]> {
    const dropped: number[] = [];
    for (let rti = 0; rti < this.table.length; rti++) {
      const off = this.table[rti];
      if (!off) continue;
      const b = await this.loadBlock(rti);
      if (!b) continue;
      const self = Math.floor(off / this.clusterSize);
      let used = false;
      for (let i = 0; i < this.perBlock && !used; i++) {
        if (this.getEntry(b, i) !== 0 && rti * this.perBlock + i !== self) used = true;
      }
      if (used) continue;
      this.table[rti] = 0;
      this.cache.delete(rti);
      this.partial.delete(rti);
      dropped.push(off);
    }
    this.freeIndex = 0;
    await this.rewriteTable();
    return dropped;
  }

  /** Writes the whole table and forgets cached blocks (after check rebuilt refcounts). */
  async rewriteTable(): Promise<void> {
    const raw = new Uint8Array(this.tableClusters * this.clusterSize);
    for (let i = 0; i < this.table.length; i++) putBe64(raw, i * 8, this.table[i]!);
    await this.io.write(this.tableOffset, raw);
  }

  /**
   * Writes each refcount block changed in part since the last call as a whole cluster, as qemu's
   * metadata cache does when it flushes: the same bytes, and the same blocks allocated in the
   * file (a block that was sparse on disk is filled, as after qemu-img).
   */
  async writeWhole(): Promise<void> {
    const parts = [...this.partial];
    this.partial.clear();
    const end = await this.io.size();
    for (const [rti, off] of parts) {
      if (this.table[rti] !== off || off + this.clusterSize > end) continue;
      const b = this.cache.get(rti) ?? (await this.loadBlock(rti));
      if (b) await this.io.write(off, b);
    }
  }

  clearCache(): void {
    this.partial.clear();
    this.cache.clear();
    this.freeIndex = 0;
  }

  resetFreeIndex(): void {
    this.freeIndex = 0;
  }
}
