// An open qcow2 image: guest reads and writes through L1/L2 mapping, allocation with refcounts,
// backing chains, zero/compressed clusters and subclusters. Metadata writes are ordered so a
// failure never leaves a dangling reference: data, then L2, then L1; refcounts before references.

import { dirname, isAbsolute, resolve } from "node:path";
import type { BlockIO } from "../../block-io.js";
import { CorruptionError, ImageError } from "../../errors.js";
import type {
  BackingChain,
  Checkable,
  Image,
  ImageInfo,
  InternalSnapshots,
  MapExtent,
  Resizable,
} from "../../image.js";
import { zstdAvailable } from "../../io/native.js";
import {
  AUTOCLEAR_BITMAPS,
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  encodeHeader,
  INCOMPAT_CORRUPT,
  INCOMPAT_EXTL2,
  type Qcow2Header,
} from "./header.js";
import { type L2Mapping, SUBCLUSTERS, subclusterKind } from "./l2-entry.js";
import type { Refcounts } from "./refcounts.js";
import { readSnapshotTable, type SnapshotEntry, snapshotInfo } from "./snapshot-table.js";
import type { SizedIO } from "./sized-io.js";
import type { ClusterTables } from "./tables.js";

/** C's %#x: 0 as "0", the rest with 0x. */
function hex(n: number): string {
  return n === 0 ? "0" : `0x${n.toString(16)}`;
}

// Writing, compression (node:zlib), block status, check, snapshots, resize and amend are imported
// on first use: opening an image for its metadata (tsvirt-img info) loads none of that code.
// openQcow2 preloads the write path for writable images.
let writePath: typeof import("./write-path.js") | undefined;
let compress: typeof import("./compress.js") | undefined;
let blockStatus: typeof import("./block-status.js") | undefined;
export async function loadWritePath(): Promise<typeof import("./write-path.js")> {
  return (writePath ??= await import("./write-path.js"));
}
async function loadCompress(): Promise<typeof import("./compress.js")> {
  return (compress ??= await import("./compress.js"));
}

/** Encryption of data clusters by 512-byte sector; `physical` picks host (LUKS) or guest (AES) IVs. */
export interface Qcow2Crypto {
  readonly physical: boolean;
  readonly format: "luks" | "aes";
  /** Opened without its key: data clusters cannot be read or written, only metadata. */
  readonly locked: boolean;
  encrypt(sectorOffset: number, buf: Uint8Array): void;
  decrypt(sectorOffset: number, buf: Uint8Array): void;
  info(): Record<string, unknown>;
}

/** `at`: host offset of a zero/unallocated range inside an allocated cluster (map reports it). */
type Segment = {
  kind: "data" | "zero" | "backing" | "compressed";
  len: number;
  host: number;
  at?: number;
  m?: L2Mapping;
};

export class Qcow2Image implements Image, BackingChain {
  /** Warnings qemu prints while opening the image (qemu-img shows them on stderr). */
  openWarnings: string[] = [];
  readonly format = "qcow2" as const;
  readonly cs: number;
  readonly extL2: boolean;
  virtualSize: number;
  backingImage?: Image;
  firstWriteDone = false;
  /** Next free byte for compressed data inside the last cluster used for it (qcow2_alloc_bytes). */
  compressedCursor = 0;
  compressedCache?: { host: number; data: Uint8Array };

  /** Encrypted and opened without its key: only metadata (info) is usable, as in qemu-img. */
  get keyMissing(): boolean {
    return this.crypto?.locked === true;
  }

  constructor(
    readonly io: SizedIO,
    readonly header: Qcow2Header,
    public tables: ClusterTables,
    public refs: Refcounts,
    readonly dataIO: BlockIO | undefined,
    readonly readOnly: boolean,
    readonly crypto?: Qcow2Crypto,
  ) {
    this.cs = 2 ** header.clusterBits;
    this.extL2 = (header.incompatible & INCOMPAT_EXTL2) !== 0;
    this.virtualSize = header.size;
    tables.corrupt = (m, g) => this.corruption(m, g);
  }

  /** Snapshot table entries (loaded at open). */
  snapshotList: SnapshotEntry[] = [];

  async loadSnapshots(): Promise<void> {
    this.snapshotList = await readSnapshotTable(this.io, this.header);
  }

  /** Forget cached tables/compressed data of clusters whose refcount reached zero. */
  watchFrees(): void {
    this.refs.onFreed = (ci) => {
      this.tables.forget(ci * this.cs);
      if (this.compressedCache && Math.floor(this.compressedCache.host / this.cs) === ci)
        this.compressedCache = undefined;
      if (this.compressedCursor && Math.floor(this.compressedCursor / this.cs) === ci)
        this.compressedCursor = 0;
    };
  }

  get snapshots(): InternalSnapshots {
    const sn = async () => new (await import("./snapshots.js")).Qcow2Snapshots(this);
    return {
      list: async () => this.snapshotList.map(snapshotInfo),
      create: (name) => this.exclusive(async () => (await sn()).create(name)),
      apply: (id) => this.exclusive(async () => (await sn()).apply(id)),
      delete: (id) => this.exclusive(async () => (await sn()).delete(id)),
    };
  }

  get checker(): Checkable {
    return {
      check: (opts) => this.exclusive(async () => (await import("./check.js")).checkQcow2(this, opts)),
    };
  }

  get resizable(): Resizable {
    return {
      resize: (n, opts) =>
        this.exclusive(async () => (await import("./resize.js")).resizeQcow2(this, n, opts)),
    };
  }

  get backing(): BackingChain {
    return this;
  }
  get backingFile(): string | undefined {
    return this.header.backingFile;
  }
  get backingFormat(): string | undefined {
    return this.header.backingFormat;
  }
  /** Data clusters live in an external file, at guest offset = host offset. */
  get hasDataFile(): boolean {
    return this.dataIO !== undefined;
  }
  get data(): BlockIO {
    return this.dataIO ?? this.io;
  }

  async writeHeader(): Promise<void> {
    await this.io.write(0, encodeHeader(this.header, this.cs));
  }

  setBacking(file: string | undefined, format: string | undefined): Promise<void> {
    return this.exclusive(() => this.setBackingNow(file, format));
  }

  /** setBacking without the mutation queue (for callers already inside it). */
  async setBackingNow(file: string | undefined, format: string | undefined): Promise<void> {
    this.writable();
    this.header.backingFile = file;
    this.header.backingFormat = file === undefined ? undefined : format;
    await this.writeHeader();
  }

  /** qemu-img amend: change creation options in place (see amend.ts). */
  amend(options: Record<string, string>): Promise<void> {
    return this.exclusive(async () => (await import("./amend.js")).amendQcow2(this, options));
  }

  bounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw new ImageError("invalid-argument", `Access ${offset}+${length} is past the image end`, {
        path: this.io.path,
        offset,
      });
    }
  }

  writable(): void {
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
  }

  // ---- reads ----

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    if (this.crypto && (offset % 512 !== 0 || buf.length % 512 !== 0)) {
      const a = Math.floor(offset / 512) * 512;
      const tmp = new Uint8Array(Math.ceil((offset + buf.length) / 512) * 512 - a);
      await this.readRange(a, tmp);
      buf.set(tmp.subarray(offset - a, offset - a + buf.length));
      return;
    }
    await this.readRange(offset, buf);
  }

  /** Splits guest range [g, g+n) of one cluster into segments by mapping. */
  segments(m: L2Mapping, gci: number, within: number, n: number): Segment[] {
    const base = gci * this.cs;
    if (this.extL2 && m.kind !== "compressed") {
      const scs = this.cs / SUBCLUSTERS;
      const out: Segment[] = [];
      let p = within;
      while (p < within + n) {
        const sc = Math.floor(p / scs);
        const e = Math.min((sc + 1) * scs, within + n);
        const k = subclusterKind(m, sc);
        const hostBase = m.kind === "normal" ? this.hostOf(m, base) : undefined;
        const seg: Segment =
          k === "data"
            ? { kind: "data", len: e - p, host: hostBase! + p }
            : {
                kind: k === "zero" ? "zero" : "backing",
                len: e - p,
                host: 0,
                at: hostBase === undefined ? undefined : hostBase + p,
              };
        const last = out[out.length - 1];
        const contiguous =
          seg.kind === "data"
            ? last?.host !== undefined && last.host + last.len === seg.host
            : last?.at === undefined
              ? seg.at === undefined
              : seg.at === last.at + last.len;
        if (last && last.kind === seg.kind && contiguous) last.len += seg.len;
        else out.push(seg);
        p = e;
      }
      return out;
    }
    switch (m.kind) {
      case "unallocated":
        return [{ kind: "backing", len: n, host: 0 }];
      case "zero":
        return [{ kind: "zero", len: n, host: 0, at: m.host ? m.host + within : undefined }];
      case "compressed":
        return [{ kind: "compressed", len: n, host: m.host, m }];
      default:
        return [{ kind: "data", len: n, host: this.hostOf(m, base) + within }];
    }
  }

  /** Host offset of a normal cluster (validated). */
  hostOf(m: L2Mapping, guestBase: number): number {
    if (this.dataIO && this.header.autoclear & AUTOCLEAR_DATA_FILE_RAW) return guestBase;
    if (m.host % this.cs !== 0 || (m.lo & 0x1fe) !== 0) {
      const gci = Math.floor(guestBase / this.cs);
      const per = this.tables.l2Entries;
      const l2 = this.tables.l1[Math.floor(gci / per)]?.offset ?? 0;
      throw this.corruption(
        `Cluster allocation offset ${hex(m.host)} unaligned (L2 offset: ${hex(l2)}, L2 index: ${hex(gci % per)})`,
        guestBase,
      );
    }
    return m.host;
  }

  /** Whether a corruption event was already reported (qemu reports the first one only). */
  private corruptionSignalled = false;

  /**
   * qemu's qcow2_signal_corruption on an image opened read-only: the first event prints its
   * notice, the request fails with EIO.
   */
  corruption(message: string, guestOffset?: number): CorruptionError {
    let notice: string | undefined;
    if (this.corruptionSignalled) notice = undefined;
    else if (this.readOnly)
      notice = `qcow2: Image is corrupt: ${message}; further non-fatal corruption events will be suppressed\n`;
    else {
      // Opened for writing: qemu marks the image corrupt in its header (as fatal).
      notice = `qcow2: Marking image as corrupt: ${message}; further corruption events will be suppressed\n`;
      this.header.incompatible |= INCOMPAT_CORRUPT;
      // (qemu rewrites the whole header cluster.)
      this.corruptMark = this.writeHeader().catch(() => {});
    }
    this.corruptionSignalled = true;
    return new CorruptionError(notice, { path: this.io.path, guestOffset });
  }

  /**
   * Lazy refcounts: a data cluster was allocated. qemu then marks the image dirty and, when it
   * closes the image, clean again by rewriting the whole header cluster (qcow2_update_header):
   * the same bytes, but a sparse header cluster ends up allocated.
   */
  private lazyDirty = false;

  allocatedData(): void {
    if (this.header.compatible & COMPAT_LAZY_REFCOUNTS) this.lazyDirty = true;
  }

  /** The header write that marks the image corrupt, under way. */
  private corruptMark: Promise<void> | undefined;

  async readRange(offset: number, buf: Uint8Array): Promise<void> {
    let pos = 0;
    let run: { kind: "data" | "backing"; src: number; at: number; len: number } | undefined;
    const flush = async () => {
      if (!run) return;
      const r = run;
      run = undefined;
      const view = buf.subarray(r.at, r.at + r.len);
      if (r.kind === "data") {
        await this.data.read(r.src, view);
        if (this.crypto) this.crypto.decrypt(this.crypto.physical ? r.src : offset + r.at, view);
      } else await this.readBacking(r.src, view);
    };
    while (pos < buf.length) {
      const g = offset + pos;
      const gci = Math.floor(g / this.cs);
      const within = g - gci * this.cs;
      const n = Math.min(this.cs - within, buf.length - pos);
      const m = this.tables.peek(gci) ?? (await this.tables.lookup(gci));
      for (const s of this.segments(m, gci, within, n)) {
        const src = s.kind === "data" ? s.host : offset + pos;
        if (s.kind === "data" || s.kind === "backing") {
          if (run && run.kind === s.kind && run.src + run.len === src && run.at + run.len === pos)
            run.len += s.len;
          else {
            await flush();
            run = { kind: s.kind, src, at: pos, len: s.len };
          }
        } else {
          await flush();
          if (s.kind === "zero") buf.fill(0, pos, pos + s.len);
          else {
            const c = await this.readCompressed(s.m!);
            const w = g - gci * this.cs;
            buf.set(c.subarray(w, w + s.len), pos);
          }
        }
        pos += s.len;
      }
    }
    await flush();
  }

  private async readBacking(guest: number, view: Uint8Array): Promise<void> {
    const b = this.backingImage;
    if (!b || guest >= b.virtualSize) {
      view.fill(0);
      return;
    }
    const n = Math.min(view.length, b.virtualSize - guest);
    await b.read(guest, view.subarray(0, n));
    view.fill(0, n);
  }

  async readCompressed(m: L2Mapping): Promise<Uint8Array> {
    if (this.compressedCache?.host === m.host) return this.compressedCache.data;
    if (m.compressedSize > 2 * this.cs + 1024 || m.host + m.compressedSize > this.io.length + 512) {
      // (qemu's read of it fails: EIO.)
      throw new ImageError("io", "Input/output error", { offset: m.host });
    }
    const raw = new Uint8Array(m.compressedSize);
    await this.io.read(m.host, raw);
    const data = (compress ?? (await loadCompress())).decompressCluster(
      raw,
      this.cs,
      this.header.compressionType,
      m.host,
    );
    this.compressedCache = { host: m.host, data };
    return data;
  }

  // ---- writes ----

  /**
   * Metadata changes (planning, allocation, table updates) run one at a time under this lock:
   * they are not reentrant.
   */
  private queue: Promise<unknown> = Promise.resolve();
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Operations under way with the guest byte range each covers (see sequenced()). */
  private tracked: { lo: number; hi: number; done: Promise<void> }[] = [];
  /** Settles once the latest operation has taken its place in the lock's queue. */
  private entered: Promise<void> = Promise.resolve();

  /**
   * Runs `first` under the lock once every earlier operation whose guest range overlaps [lo, hi)
   * has finished, then `then` with its result (outside the lock). Operations take their places
   * in the lock's queue in call order, so allocations follow the order of the calls whatever
   * waited; later overlapping operations wait for this one to finish. Writes to other clusters
   * go on meanwhile: their data I/O overlaps.
   */
  private sequenced<A, T>(
    lo: number,
    hi: number,
    first: () => Promise<A>,
    then: (a: A) => Promise<T> | T,
  ): Promise<T> {
    const wait: Promise<void>[] = [this.entered];
    for (const r of this.tracked) if (r.lo < hi && lo < r.hi) wait.push(r.done);
    let end!: () => void;
    let enter!: () => void;
    const rec = { lo, hi, done: new Promise<void>((r) => (end = r)) };
    this.entered = new Promise<void>((r) => (enter = r));
    this.tracked.push(rec);
    const run = (wait.length === 1 ? wait[0]! : Promise.all(wait))
      .then(() => {
        const p = this.locked(first);
        enter();
        return p;
      })
      .then(then);
    const finish = () => {
      this.tracked.splice(this.tracked.indexOf(rec), 1);
      end();
    };
    run.then(finish, finish);
    return run;
  }

  /** A mutation of whole clusters around [offset, offset+length), under the lock. */
  private clusters<T>(offset: number, length: number, fn: () => Promise<T>): Promise<T> {
    return this.clustersThen(offset, length, fn, async (r) => r);
  }

  /** Mutations of the whole image: after everything under way, alone, under the lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.sequenced(0, Number.POSITIVE_INFINITY, fn, (r) => r);
  }

  /**
   * Plans and allocates under the lock, writes the data outside it (the next request allocates
   * meanwhile), then maps it under the lock. Allocation follows the order of the calls, so the
   * layout is the one of one-at-a-time writes. Overlapping requests run one after the other.
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    return this.clustersThen(
      offset,
      data.length,
      async () => (writePath ?? (await loadWritePath())).prepareWrite(this, offset, data),
      async (p) => {
        if (!p) return;
        const wp = writePath!;
        // Data first: a failure leaves the clusters allocated but unmapped (a leak, never garbage).
        if (p.io.length === 1) await wp.writeData(this, p.io[0]!.host, p.io[0]!.guest, p.io[0]!.data);
        else await Promise.all(p.io.map((w) => wp.writeData(this, w.host, w.guest, w.data)));
        if (p.commit.length)
          await this.locked(async () => {
            for (const c of p.commit) await c();
          });
      },
    );
  }

  private clustersThen<A, T>(
    offset: number,
    length: number,
    first: () => Promise<A>,
    then: (a: A) => Promise<T>,
  ): Promise<T> {
    const lo = Math.floor(offset / this.cs) * this.cs;
    const hi = Math.ceil((offset + Math.max(length, 1)) / this.cs) * this.cs;
    return this.sequenced(lo, hi, first, then);
  }

  writeZeroes(offset: number, length: number, opts: { mayUnmap?: boolean } = {}): Promise<void> {
    return this.clusters(offset, length, async () =>
      (writePath ?? (await loadWritePath())).zeroGuest(this, offset, length, opts),
    );
  }

  /**
   * qemu's qcow2_subcluster_zeroize (extended L2 only): subcluster-aligned zeroing through the
   * subclusters' zero bits; false where qemu answers ENOTSUP (the caller writes zeros instead).
   */
  zeroizeSubclusters(offset: number, length: number, mayUnmap: boolean): Promise<boolean> {
    return this.clusters(offset, length, async () =>
      (writePath ?? (await loadWritePath())).zeroizeSubclusters(this, offset, length, mayUnmap),
    );
  }

  writeCompressed(offset: number, data: Uint8Array): Promise<void> {
    return this.clusters(offset, data.length, async () =>
      (writePath ?? (await loadWritePath())).compressedWrite(this, offset, data),
    );
  }

  /**
   * Cluster size for compressed writes; undefined when this image cannot hold compressed clusters
   * (write-path.ts canCompress(), inlined so a read-only open need not load the write path).
   */
  get compressedClusterSize(): number | undefined {
    if (this.hasDataFile || this.crypto) return undefined;
    const t = this.header.compressionType;
    return t === 0 || (t === 1 && zstdAvailable()) ? this.cs : undefined;
  }

  /** Deflates one guest cluster on libuv's thread pool (zero-padded to a full cluster, as qemu). */
  compressCluster(raw: Uint8Array): Promise<Uint8Array | undefined> {
    let full = raw;
    if (raw.length !== this.cs) {
      full = new Uint8Array(this.cs);
      full.set(raw.subarray(0, this.cs));
    }
    return (compress ? Promise.resolve(compress) : loadCompress()).then((c) => c.compressClusterAsync(full, this.header.compressionType));
  }

  /** Stores a cluster prepared by compressCluster (undefined: it did not compress, stored raw). */
  writeCompressedCluster(offset: number, packed: Uint8Array | undefined, raw: Uint8Array): Promise<void> {
    return this.clusters(offset, raw.length, async () =>
      (writePath ?? (await loadWritePath())).compressedWrite(this, offset, raw, packed ?? null),
    );
  }

  blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    if (blockStatus) return blockStatus.qcow2BlockStatus(this, offset, length);
    return import("./block-status.js").then((m) => (blockStatus = m).qcow2BlockStatus(this, offset, length));
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    await this.tables.writeWhole();
    await this.refs.writeWhole();
    await this.io.flush();
    if (this.dataIO) await this.dataIO.flush();
  }

  async close(): Promise<void> {
    // Requests still under way finish first (their data and mappings land before the flush).
    await Promise.allSettled(this.tracked.map((r) => r.done));
    await this.corruptMark;
    await this.flush().catch(() => {});
    if (this.lazyDirty && !this.readOnly) await this.writeHeader().catch(() => {});
    await this.io.close();
    if (this.dataIO) await this.dataIO.close();
    if (this.backingImage) await this.backingImage.close();
  }

  async info(): Promise<ImageInfo> {
    const h = this.header;
    const data: Record<string, unknown> = { compat: h.version === 3 ? "1.1" : "0.10" };
    data["compression-type"] = h.compressionType === 1 ? "zstd" : "zlib";
    if (h.version === 3) data["lazy-refcounts"] = (h.compatible & 1) !== 0;
    // The bitmaps code loads only for an image whose header says bitmaps are in use.
    const bitmaps =
      h.autoclear & AUTOCLEAR_BITMAPS ? await (await import("./bitmaps.js")).bitmapInfo(this) : undefined;
    if (bitmaps) data.bitmaps = bitmaps;
    data["refcount-bits"] = 2 ** h.refcountOrder;
    if (this.crypto) data.encrypt = this.crypto.info();
    if (h.version === 3) {
      data.corrupt = (h.incompatible & 2) !== 0;
      if (h.dataFile !== undefined) {
        data["data-file"] = h.dataFile;
        data["data-file-raw"] = (h.autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0;
      }
      data["extended-l2"] = this.extL2;
    }
    const info: ImageInfo = {
      virtualSize: this.virtualSize,
      clusterSize: this.cs,
      dirtyFlag: (h.incompatible & 1) !== 0,
      encrypted: h.cryptMethod !== 0 ? true : undefined,
      formatSpecific: { type: "qcow2", data },
    };
    if (h.backingFile !== undefined) {
      info.backingFilename = h.backingFile;
      // Resolved as qemu does (relative to this image's directory), opened or not.
      const b = h.backingFile;
      if (this.backingImage?.io.path) info.fullBackingFilename = this.backingImage.io.path;
      else if (this.io.path) info.fullBackingFilename = isAbsolute(b) ? b : resolve(dirname(this.io.path), b);
      if (h.backingFormat) info.backingFilenameFormat = h.backingFormat;
    }
    return info;
  }
}
