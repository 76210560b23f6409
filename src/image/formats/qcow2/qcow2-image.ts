// An open qcow2 image: guest reads and writes through L1/L2 mapping, allocation with refcounts,
// backing chains, zero/compressed clusters and subclusters. Metadata writes are ordered so a
// failure never leaves a dangling reference: data, then L2, then L1; refcounts before references.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type {
  BackingChain,
  Checkable,
  Image,
  ImageInfo,
  InternalSnapshots,
  MapExtent,
  Resizable,
} from "../../image.js";
import { markBitmapsInUse } from "./bitmaps.js";
import { checkQcow2 } from "./check.js";
import { resizeQcow2 } from "./resize.js";
import { Qcow2Snapshots } from "./snapshots.js";
import { compressCluster, decompressCluster } from "./compress.js";
import { AUTOCLEAR_DATA_FILE_RAW, encodeHeader, INCOMPAT_EXTL2, type Qcow2Header } from "./header.js";
import { encodeCompressed, encodeL2, type L2Mapping, SUBCLUSTERS, subclusterKind } from "./l2-entry.js";
import type { Refcounts } from "./refcounts.js";
import { readSnapshotTable, type SnapshotEntry } from "./snapshot-table.js";
import type { SizedIO } from "./sized-io.js";
import type { ClusterTables } from "./tables.js";

/** Encryption of data clusters by 512-byte sector; `physical` picks host (LUKS) or guest (AES) IVs. */
export interface Qcow2Crypto {
  readonly physical: boolean;
  readonly format: "luks" | "aes";
  encrypt(sectorOffset: number, buf: Uint8Array): void;
  decrypt(sectorOffset: number, buf: Uint8Array): void;
  info(): Record<string, unknown>;
}

/** Largest run of freshly allocated clusters composed into one buffer and written at once. */
const MAX_ALLOC_RUN_BYTES = 32 << 20;

/** `at`: host offset of a zero/unallocated range inside an allocated cluster (map reports it). */
type Segment = {
  kind: "data" | "zero" | "backing" | "compressed";
  len: number;
  host: number;
  at?: number;
  m?: L2Mapping;
};

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

export class Qcow2Image implements Image, BackingChain {
  readonly format = "qcow2" as const;
  readonly cs: number;
  readonly extL2: boolean;
  virtualSize: number;
  backingImage?: Image;
  private firstWriteDone = false;
  private compressedCache?: { host: number; data: Uint8Array };

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
    return new Qcow2Snapshots(this);
  }

  get checker(): Checkable {
    return { check: (opts) => checkQcow2(this, opts) };
  }

  get resizable(): Resizable {
    return { resize: (n, opts) => resizeQcow2(this, n, opts) };
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
  private get data(): BlockIO {
    return this.dataIO ?? this.io;
  }

  async writeHeader(): Promise<void> {
    await this.io.write(0, encodeHeader(this.header, this.cs));
  }

  async setBacking(file: string | undefined, format: string | undefined): Promise<void> {
    this.writable();
    this.header.backingFile = file;
    this.header.backingFormat = file === undefined ? undefined : format;
    await this.writeHeader();
  }

  private bounds(offset: number, length: number): void {
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
  private hostOf(m: L2Mapping, guestBase: number): number {
    if (this.dataIO && this.header.autoclear & AUTOCLEAR_DATA_FILE_RAW) return guestBase;
    if (m.host % this.cs !== 0 || (m.lo & 0x1fe) !== 0) {
      throw new ImageError("corrupt", `Cluster allocation offset 0x${m.host.toString(16)} unaligned`, {
        offset: m.host,
      });
    }
    return m.host;
  }

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
      throw new ImageError("corrupt", "Compressed cluster descriptor points past the end of the image", {
        offset: m.host,
      });
    }
    const raw = new Uint8Array(m.compressedSize);
    await this.io.read(m.host, raw);
    const data = decompressCluster(raw, this.cs, this.header.compressionType, m.host);
    this.compressedCache = { host: m.host, data };
    return data;
  }

  // ---- writes ----

  private async beforeWrite(): Promise<void> {
    if (this.firstWriteDone) return;
    this.firstWriteDone = true;
    // Persistent bitmaps stay intact but are flagged in_use: we do not track dirty ranges.
    await markBitmapsInUse(this);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.bounds(offset, data.length);
    this.writable();
    if (data.length === 0) return;
    if (this.crypto && (offset % 512 !== 0 || data.length % 512 !== 0)) {
      const a = Math.floor(offset / 512) * 512;
      const tmp = new Uint8Array(Math.ceil((offset + data.length) / 512) * 512 - a);
      await this.readRange(a, tmp);
      tmp.set(data, offset - a);
      offset = a;
      data = tmp;
    }
    await this.beforeWrite();
    const plans: Plan[] = [];
    let pos = 0;
    while (pos < data.length) {
      const g = offset + pos;
      const gci = Math.floor(g / this.cs);
      const within = g - gci * this.cs;
      const n = Math.min(this.cs - within, data.length - pos);
      const m = this.tables.peek(gci) ?? (await this.tables.lookup(gci));
      let inPlace = false;
      let reuse = false;
      if (m.kind === "normal") {
        inPlace =
          this.hasDataFile ||
          m.copied ||
          (this.refs.peek(m.host / this.cs) ?? (await this.refs.get(m.host / this.cs))) === 1;
      } else if (m.kind === "zero" && m.host !== 0 && m.host % this.cs === 0 && !this.hasDataFile) {
        reuse = inPlace = (this.refs.peek(m.host / this.cs) ?? (await this.refs.get(m.host / this.cs))) === 1;
      }
      plans.push({ gci, within, n, dataPos: pos, m, inPlace, reuse });
      pos += n;
    }
    // In-place clusters: contiguous host ranges go out as one write.
    let i = 0;
    while (i < plans.length) {
      const p = plans[i]!;
      if (!p.inPlace) {
        let j = i;
        let bytes = 0;
        while (j < plans.length && !plans[j]!.inPlace && bytes < MAX_ALLOC_RUN_BYTES) {
          bytes += this.cs;
          j++;
        }
        await this.allocRun(offset, data, plans.slice(i, j));
        i = j;
        continue;
      }
      // Plain clusters (no subclusters) whose host clusters follow each other: one write.
      if (!this.extL2 && !p.reuse) {
        const host0 = this.hostOf(p.m, p.gci * this.cs) + p.within;
        let j = i + 1;
        let len = p.n;
        while (j < plans.length) {
          const q = plans[j]!;
          if (!q.inPlace || q.reuse || this.hostOf(q.m, q.gci * this.cs) !== host0 + len) break;
          len += q.n;
          j++;
        }
        if (j > i + 1) {
          await this.writeData(host0, offset + p.dataPos, data.subarray(p.dataPos, p.dataPos + len));
          i = j;
          continue;
        }
      }
      await this.writeInPlace(offset, data, p);
      i++;
    }
  }

  private async writeInPlace(offset: number, data: Uint8Array, p: Plan): Promise<void> {
    const base = p.gci * this.cs;
    if (p.reuse) {
      const buf = new Uint8Array(this.cs);
      buf.set(data.subarray(p.dataPos, p.dataPos + p.n), p.within);
      await this.writeData(p.m.host, base, buf);
      await this.setEntries([{ gci: p.gci, host: p.m.host, allocBits: 0xffffffff, zeroBits: 0 }]);
      return;
    }
    const host = this.hostOf(p.m, base);
    if (!this.extL2) {
      await this.writeData(host + p.within, base + p.within, data.subarray(p.dataPos, p.dataPos + p.n));
      return;
    }
    // Subclusters: widen to subcluster bounds, fill the widened part from the current view.
    const scs = this.cs / SUBCLUSTERS;
    const s0 = Math.floor(p.within / scs);
    const s1 = Math.ceil((p.within + p.n) / scs);
    const buf = new Uint8Array((s1 - s0) * scs);
    if (p.within % scs !== 0 || (p.within + p.n) % scs !== 0) await this.readRange(base + s0 * scs, buf);
    buf.set(data.subarray(p.dataPos, p.dataPos + p.n), p.within - s0 * scs);
    await this.writeData(host + s0 * scs, base + s0 * scs, buf);
    let mask = 0;
    for (let s = s0; s < s1; s++) mask += 2 ** s;
    const alloc = (p.m.allocBits | mask) >>> 0;
    const zero = (p.m.zeroBits & ~mask) >>> 0;
    if (alloc !== p.m.allocBits || zero !== p.m.zeroBits) {
      await this.setEntries([{ gci: p.gci, host: p.m.host, allocBits: alloc, zeroBits: zero }]);
    }
    void offset;
  }

  private async writeData(host: number, guest: number, buf: Uint8Array): Promise<void> {
    if (this.crypto) {
      const enc = buf.slice();
      this.crypto.encrypt(this.crypto.physical ? host : guest, enc);
      await this.data.write(host, enc);
    } else await this.data.write(host, buf);
  }

  /** Clusters needing new storage: compose full clusters, write once, then map and free the old. */
  private async allocRun(offset: number, data: Uint8Array, run: Plan[]): Promise<void> {
    const k = run.length;
    const buf = new Uint8Array(k * this.cs);
    for (let i = 0; i < k; i++) {
      const p = run[i]!;
      const view = buf.subarray(i * this.cs, (i + 1) * this.cs);
      if (p.n < this.cs) await this.readRange(p.gci * this.cs, view.subarray(0, this.clusterLen(p.gci)));
      view.set(data.subarray(p.dataPos, p.dataPos + p.n), p.within);
    }
    const firstGuest = run[0]!.gci * this.cs;
    let host: number;
    if (this.hasDataFile) host = firstGuest;
    else host = await this.refs.alloc(k);
    await this.writeData(host, firstGuest, buf);
    const full = 0xffffffff;
    await this.setEntries(
      run.map((p, i) => ({
        gci: p.gci,
        host: this.hasDataFile ? p.gci * this.cs : host + i * this.cs,
        allocBits: full,
        zeroBits: 0,
      })),
    );
    for (const p of run) await this.release(p.m);
    void offset;
  }

  /** Guest bytes of cluster gci inside the virtual size (the last cluster may be partial). */
  private clusterLen(gci: number): number {
    return Math.min(this.cs, this.virtualSize - gci * this.cs);
  }

  /** Drops this image's reference to the storage behind an old mapping. */
  async release(m: L2Mapping): Promise<void> {
    if (this.hasDataFile) return;
    if (m.kind === "compressed") {
      const first = Math.floor(m.host / this.cs);
      const last = Math.floor((m.host + m.compressedSize - 1) / this.cs);
      await this.refs.update(first, last - first + 1, -1);
      if (this.compressedCache?.host === m.host) this.compressedCache = undefined;
    } else if (m.host !== 0) {
      await this.refs.update(m.host / this.cs, 1, -1);
    }
  }

  /** Writes new L2 entries, grouped per L2 table, each table's span in one write. */
  async setEntries(
    entries: { gci: number; host: number; zero?: boolean; allocBits?: number; zeroBits?: number }[],
  ): Promise<void> {
    let i = 0;
    const per = this.tables.l2Entries;
    while (i < entries.length) {
      const l1i = Math.floor(entries[i]!.gci / per);
      const { offset, table } = await this.tables.writableL2(l1i);
      let lo = Number.MAX_SAFE_INTEGER;
      let hi = -1;
      while (i < entries.length && Math.floor(entries[i]!.gci / per) === l1i) {
        const e = entries[i]!;
        const idx = e.gci % per;
        // With a data file every mapped cluster has refcount 1 by definition (qemu uses COPIED
        // to tell guest cluster 0 at host offset 0 from an unallocated entry).
        const copied = this.hasDataFile
          ? !e.zero && (e.allocBits ?? 1) !== 0
          : e.host !== 0 &&
            (this.refs.peek(e.host / this.cs) ?? (await this.refs.get(e.host / this.cs))) === 1;
        encodeL2(table, idx, this.extL2, { ...e, copied });
        lo = Math.min(lo, idx);
        hi = Math.max(hi, idx + 1);
        i++;
      }
      await this.tables.writeL2Span(offset, table, lo, hi);
    }
  }

  /** Next free byte for compressed data inside the last cluster used for it (qcow2_alloc_bytes). */
  private compressedCursor = 0;

  async writeCompressed(offset: number, data: Uint8Array): Promise<void> {
    this.writable();
    const gci = offset / this.cs;
    if (!Number.isInteger(gci) || data.length !== this.clusterLen(gci)) {
      throw new ImageError("invalid-argument", "Compressed writes must cover exactly one cluster");
    }
    if (this.hasDataFile || this.crypto || this.header.compressionType !== 0) {
      throw new ImageError("unsupported", "Compression is not supported for this image");
    }
    this.bounds(offset, data.length);
    await this.beforeWrite();
    const full = new Uint8Array(this.cs);
    full.set(data);
    const packed = compressCluster(full);
    const old = this.tables.peek(gci) ?? (await this.tables.lookup(gci));
    if (!packed || packed.length > this.cs - 512) {
      await this.write(offset, data); // incompressible: stored as a normal cluster, as qemu does
      return;
    }
    // Pack into the cluster holding the cursor when it fits, else into fresh clusters.
    let host: number;
    const cur = this.compressedCursor;
    const curCluster = Math.floor(cur / this.cs);
    const room = cur ? (curCluster + 1) * this.cs - cur : 0;
    if (cur && packed.length <= room && (await this.refs.get(curCluster)) > 0) {
      host = cur;
      await this.refs.update(curCluster, 1, 1);
    } else {
      host = await this.refs.alloc(Math.ceil(packed.length / this.cs));
    }
    this.compressedCursor = host + packed.length;
    if (this.compressedCursor % this.cs === 0) this.compressedCursor = 0;
    await this.io.write(host, packed);
    const per = this.tables.l2Entries;
    const { offset: l2off, table } = await this.tables.writableL2(Math.floor(gci / per));
    encodeCompressed(table, gci % per, this.extL2, this.header.clusterBits, host, packed.length);
    await this.tables.writeL2Span(l2off, table, gci % per, (gci % per) + 1);
    await this.release(old);
  }

  async writeZeroes(offset: number, length: number, _opts: { mayUnmap?: boolean } = {}): Promise<void> {
    this.bounds(offset, length);
    this.writable();
    await this.beforeWrite();
    const end = offset + length;
    let pos = offset;
    const zeroChunk = async (a: number, b: number) => {
      const z = new Uint8Array(Math.min(b - a, 1 << 20));
      for (let p = a; p < b; p += z.length) await this.write(p, z.subarray(0, Math.min(z.length, b - p)));
    };
    while (pos < end) {
      const gci = Math.floor(pos / this.cs);
      const cEnd = Math.min((gci + 1) * this.cs, this.virtualSize);
      const segEnd = Math.min(cEnd, end);
      const whole = pos === gci * this.cs && segEnd === cEnd;
      const canFlag = this.header.version === 3 || !this.backingImage;
      if (!whole || !canFlag || this.hasDataFile) {
        await zeroChunk(pos, segEnd);
      } else {
        const m = this.tables.peek(gci) ?? (await this.tables.lookup(gci));
        if (!(m.kind === "zero" || (m.kind === "unallocated" && !this.backingImage && !this.extL2))) {
          if (this.header.version === 3) {
            await this.setEntries([{ gci, host: 0, zero: true, allocBits: 0, zeroBits: 0xffffffff }]);
          } else await this.setEntries([{ gci, host: 0 }]);
          await this.release(m);
        }
      }
      pos = segEnd;
    }
  }

  // ---- status ----

  async blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    this.bounds(offset, length);
    const out: MapExtent[] = [];
    const push = async (e: MapExtent) => {
      const last = out[out.length - 1];
      if (
        last &&
        last.data === e.data &&
        last.zero === e.zero &&
        last.depth === e.depth &&
        last.present === e.present &&
        last.compressed === e.compressed &&
        last.filename === e.filename &&
        (last.offset === undefined ? e.offset === undefined : e.offset === last.offset + last.length)
      ) {
        last.length += e.length;
      } else out.push(e);
    };
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const gci = Math.floor(pos / this.cs);
      const within = pos - gci * this.cs;
      const n = Math.min(this.cs - within, end - pos);
      const m = this.tables.peek(gci) ?? (await this.tables.lookup(gci));
      let p = pos;
      for (const s of this.segments(m, gci, within, n)) {
        if (s.kind === "data") {
          await push({
            start: p,
            length: s.len,
            data: true,
            zero: false,
            present: true,
            depth: 0,
            offset: s.host,
            filename: this.data.path,
          });
        } else if (s.kind === "compressed") {
          await push({
            start: p,
            length: s.len,
            data: true,
            zero: false,
            present: true,
            depth: 0,
            compressed: true,
          });
        } else if (s.kind === "zero") {
          await push({
            start: p,
            length: s.len,
            data: false,
            zero: true,
            present: true,
            depth: 0,
            ...(s.at !== undefined ? { offset: s.at, filename: this.data.path } : {}),
          });
        } else if (this.backingImage && p < this.backingImage.virtualSize) {
          const bl = Math.min(s.len, this.backingImage.virtualSize - p);
          for (const b of await this.backingImage.blockStatus(p, bl))
            await push({ ...b, depth: b.depth + 1 });
          if (bl < s.len)
            await push({
              start: p + bl,
              length: s.len - bl,
              data: false,
              zero: true,
              present: false,
              depth: 0,
            });
        } else {
          // The chain ends here (no backing file, or past its end): zeros at this depth.
          await push({
            start: p,
            length: s.len,
            data: false,
            zero: true,
            present: false,
            depth: 0,
            ...(s.at !== undefined && !this.backingImage ? { offset: s.at, filename: this.data.path } : {}),
          });
        }
        p += s.len;
      }
      pos += n;
    }
    return out;
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    await this.io.flush();
    if (this.dataIO) await this.dataIO.flush();
  }

  async close(): Promise<void> {
    await this.flush().catch(() => {});
    await this.io.close();
    if (this.dataIO) await this.dataIO.close();
    if (this.backingImage) await this.backingImage.close();
  }

  async info(): Promise<ImageInfo> {
    const h = this.header;
    const data: Record<string, unknown> = { compat: h.version === 3 ? "1.1" : "0.10" };
    data["compression-type"] = h.compressionType === 1 ? "zstd" : "zlib";
    if (h.version === 3) data["lazy-refcounts"] = (h.compatible & 1) !== 0;
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
      if (this.backingImage?.io.path) info.fullBackingFilename = this.backingImage.io.path;
      if (h.backingFormat) info.backingFilenameFormat = h.backingFormat;
    }
    return info;
  }
}
