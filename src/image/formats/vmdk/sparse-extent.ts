// A hosted sparse VMDK extent: grain directory -> grain tables -> grains (VMware "Virtual Disk
// Format 1.1" section 5), including stream-optimized extents whose grains are deflate-compressed
// behind grain markers (section 6). New grains are appended at the end of the file, as qemu does.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { MapExtent } from "../../image.js";
import type { Extent, Fill } from "./extent.js";
import {
  decodeSparseHeader,
  FLAG_COMPRESS,
  FLAG_MARKER,
  FLAG_RGD,
  FLAG_ZERO_GRAIN,
  GD_AT_END,
  type SparseHeader,
} from "./sparse-header.js";

// node:zlib loads with the first compressed grain (opening a vmdk for info needs none).
let zlib: typeof import("node:zlib") | undefined;
async function loadZlib(): Promise<typeof import("node:zlib")> {
  return (zlib ??= await import("node:zlib"));
}
const GTE_ZEROED = 1;

export class SparseExtent implements Extent {
  readonly type: string;
  readonly compressed: boolean;
  readonly clusterSize: number;
  readonly size: number;
  private readonly gd: Uint32Array;
  private readonly rgd?: Uint32Array;
  private readonly gts = new Map<number, Uint32Array>();
  private readonly dirtyGts = new Set<number>();
  private nextSector: number;
  private readonly gtBytes: number;

  private constructor(
    readonly io: BlockIO,
    readonly header: SparseHeader,
    gd: Uint32Array,
    rgd: Uint32Array | undefined,
    fileSize: number,
    type: string,
    readonly fileName: string,
    readonly readOnly: boolean,
  ) {
    this.gd = gd;
    this.rgd = rgd;
    this.type = type;
    this.compressed = (header.flags & FLAG_COMPRESS) !== 0;
    this.clusterSize = header.grainSize * 512;
    this.size = header.capacity * 512;
    this.gtBytes = header.numGTEsPerGT * 4;
    this.nextSector = Math.max(header.overHead, Math.ceil(fileSize / 512));
  }

  static async open(
    io: BlockIO,
    opts: { type: string; fileName: string; readOnly: boolean; header?: SparseHeader },
  ): Promise<SparseExtent> {
    let h = opts.header;
    if (!h) {
      const hb = new Uint8Array(512);
      await io.read(0, hb);
      h = decodeSparseHeader(hb, opts.fileName);
    }
    const fileSize = await io.size();
    if (h.gdOffset === GD_AT_END) {
      // Stream-optimized images written in one pass keep the real header in the footer:
      // footer marker, footer (a header copy), end-of-stream marker in the last 3 sectors.
      const fb = new Uint8Array(512);
      await io.read(fileSize - 1024, fb);
      const footer = decodeSparseHeader(fb, opts.fileName);
      if (footer.gdOffset === GD_AT_END)
        throw new ImageError("corrupt", "Invalid footer", { path: opts.fileName });
      h = { ...h, gdOffset: footer.gdOffset, rgdOffset: footer.rgdOffset };
    }
    // qemu: the file must reach the first grain.
    if (fileSize < h.overHead * 512)
      throw new ImageError("corrupt", `File truncated, expecting at least ${h.overHead * 512} bytes`, {
        path: opts.fileName,
      });
    const gtCount = Math.ceil(h.capacity / h.grainSize / h.numGTEsPerGT);
    const readDir = async (sector: number) => {
      const raw = new Uint8Array(gtCount * 4);
      await io.read(sector * 512, raw);
      const dv = new DataView(raw.buffer);
      const t = new Uint32Array(gtCount);
      for (let i = 0; i < gtCount; i++) t[i] = dv.getUint32(i * 4, true);
      return t;
    };
    const gdOffset = Number(h.gdOffset);
    if (gdOffset * 512 + gtCount * 4 > fileSize + 512)
      throw new ImageError("corrupt", "Grain directory past the end of the file", { path: opts.fileName });
    const gd = await readDir(gdOffset);
    const rgd = h.flags & FLAG_RGD && h.rgdOffset > 0 ? await readDir(h.rgdOffset) : undefined;
    return new SparseExtent(io, h, gd, rgd, fileSize, opts.type, opts.fileName, opts.readOnly);
  }

  private async gt(gdIndex: number): Promise<Uint32Array | undefined> {
    const sector = this.gd[gdIndex] ?? 0;
    if (sector === 0) return undefined;
    let t = this.gts.get(gdIndex);
    if (t) return t;
    const raw = new Uint8Array(this.gtBytes);
    await this.io.read(sector * 512, raw);
    const dv = new DataView(raw.buffer);
    t = new Uint32Array(this.header.numGTEsPerGT);
    for (let i = 0; i < t.length; i++) t[i] = dv.getUint32(i * 4, true);
    if (this.gts.size >= 4096) {
      // Bounded cache: drop clean tables (dirty ones are written back on flush).
      for (const k of this.gts.keys()) if (!this.dirtyGts.has(k)) this.gts.delete(k);
    }
    this.gts.set(gdIndex, t);
    return t;
  }

  /** The grain table entry for the grain holding `offset`: 0 unallocated, 1 zeroed, else a sector. */
  private async gte(offset: number): Promise<number> {
    const grain = Math.floor(offset / this.clusterSize);
    const t = await this.gt(Math.floor(grain / this.header.numGTEsPerGT));
    return t ? t[grain % this.header.numGTEsPerGT]! : 0;
  }

  /** Whether writing [offset, offset+length) allocates a grain (one is unallocated or zeroed). */
  async allocates(offset: number, length: number): Promise<boolean> {
    const first = Math.floor(offset / this.clusterSize) * this.clusterSize;
    for (let pos = first; pos < offset + length; pos += this.clusterSize) {
      const e = await this.gte(pos);
      if (e === 0 || (e === GTE_ZEROED && this.hasZeroGrain())) return true;
    }
    return false;
  }

  /** Whether writeZeroes() zeroes [offset, offset+length) through zeroed-grain entries alone. */
  zeroesByEntry(offset: number, length: number): boolean {
    return this.hasZeroGrain() && offset % this.clusterSize === 0 && length % this.clusterSize === 0;
  }

  private hasZeroGrain(): boolean {
    return (this.header.flags & FLAG_ZERO_GRAIN) !== 0;
  }

  private async readCompressedGrain(sector: number): Promise<Uint8Array> {
    let data: Uint8Array;
    if (this.header.flags & FLAG_MARKER) {
      const m = new Uint8Array(12);
      await this.io.read(sector * 512, m);
      const size = new DataView(m.buffer).getUint32(8, true);
      if (size === 0 || size > this.clusterSize * 2 + 1024) {
        throw new ImageError("corrupt", `Invalid compressed grain size ${size}`, { path: this.fileName });
      }
      data = new Uint8Array(size);
      await this.io.read(sector * 512 + 12, data);
    } else {
      data = new Uint8Array(this.clusterSize * 2);
      await this.io.read(sector * 512, data);
    }
    const out = new Uint8Array(this.clusterSize);
    try {
      const d = (zlib ?? (await loadZlib())).inflateSync(data, {
        maxOutputLength: this.clusterSize * 2,
      } as never);
      out.set(d.subarray(0, this.clusterSize));
    } catch (cause) {
      throw new ImageError("corrupt", "Could not decompress grain", { path: this.fileName, cause });
    }
    return out;
  }

  async read(offset: number, buf: Uint8Array, fill: Fill): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const within = pos % this.clusterSize;
      let n = Math.min(buf.length - done, this.clusterSize - within);
      const e = await this.gte(pos);
      const dst = buf.subarray(done, done + n);
      if (e === 0) await fill(pos, dst);
      else if (e === GTE_ZEROED && this.hasZeroGrain()) dst.fill(0);
      else if (this.compressed) dst.set((await this.readCompressedGrain(e)).subarray(within, within + n));
      else {
        while (done + n < buf.length) {
          const ne = await this.gte(pos + n);
          if (ne !== e + (within + n) / 512) break;
          n = Math.min(buf.length - done, n + this.clusterSize);
        }
        await this.io.read(e * 512 + within, buf.subarray(done, done + n));
      }
      done += n;
    }
  }

  private async setGte(offset: number, value: number): Promise<void> {
    const grain = Math.floor(offset / this.clusterSize);
    const gdi = Math.floor(grain / this.header.numGTEsPerGT);
    let t = await this.gt(gdi);
    if (!t) {
      // No grain table yet (images from other tools may omit empty ones): append one.
      const sector = this.allocate(this.gtBytes);
      await this.io.write(sector * 512, new Uint8Array(Math.ceil(this.gtBytes / 512) * 512));
      this.gd[gdi] = sector;
      const b = Buffer.alloc(4);
      b.writeUInt32LE(sector);
      await this.io.write(Number(this.header.gdOffset) * 512 + gdi * 4, b);
      if (this.rgd) {
        // The redundant directory points at its own copy of the table.
        const rs = this.allocate(this.gtBytes);
        await this.io.write(rs * 512, new Uint8Array(Math.ceil(this.gtBytes / 512) * 512));
        this.rgd[gdi] = rs;
        b.writeUInt32LE(rs);
        await this.io.write(this.header.rgdOffset * 512 + gdi * 4, b);
      }
      t = new Uint32Array(this.header.numGTEsPerGT);
      this.gts.set(gdi, t);
    }
    t[grain % this.header.numGTEsPerGT] = value;
    this.dirtyGts.add(gdi);
  }

  private allocate(bytes: number): number {
    const s = this.nextSector;
    this.nextSector += Math.ceil(bytes / 512);
    return s;
  }

  private writable(): void {
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.fileName });
  }

  async write(offset: number, buf: Uint8Array, fill: Fill): Promise<void> {
    this.writable();
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const within = pos % this.clusterSize;
      const n = Math.min(buf.length - done, this.clusterSize - within);
      const part = buf.subarray(done, done + n);
      const e = await this.gte(pos);
      const allocated = e !== 0 && !(e === GTE_ZEROED && this.hasZeroGrain());
      if (allocated && !this.compressed) {
        await this.io.write(e * 512 + within, part);
      } else if (allocated) {
        throw new ImageError("unsupported", "Could not write to allocated cluster for streamOptimized", {
          path: this.fileName,
        });
      } else {
        let grain = part;
        if (n < this.clusterSize) {
          grain = new Uint8Array(this.clusterSize);
          if (e === 0) await fill(pos - within, grain);
          grain.set(part, within);
        }
        // Zeros allocate a grain too, as in qemu's vmdk (sparse copies leave zero runs out).
        if (this.compressed)
          await this.appendCompressed(pos - within, (zlib ?? (await loadZlib())).deflateSync(grain));
        else if (n === this.clusterSize && e === 0) {
          // A run of whole new grains goes to consecutive sectors in one host write.
          let len = n;
          while (done + len + this.clusterSize <= buf.length && len < 8 << 20) {
            if ((await this.gte(pos + len)) !== 0) break;
            len += this.clusterSize;
          }
          const sector = this.allocate(len);
          await this.io.write(sector * 512, buf.subarray(done, done + len));
          for (let g = 0; g < len; g += this.clusterSize) await this.setGte(pos + g, sector + g / 512);
          done += len;
          continue;
        } else {
          const sector = this.allocate(this.clusterSize);
          await this.io.write(sector * 512, grain);
          await this.setGte(pos, sector);
        }
      }
      done += n;
    }
  }

  /** Zeroes whole grains through the zeroed-grain GTE when the extent has the feature. */
  async writeZeroes(offset: number, length: number, fill: Fill, hasBacking: boolean): Promise<boolean> {
    if (offset % this.clusterSize !== 0 || length % this.clusterSize !== 0) return false;
    if (!this.hasZeroGrain() && hasBacking) return false;
    for (let pos = offset; pos < offset + length; pos += this.clusterSize) {
      const e = await this.gte(pos);
      if (this.hasZeroGrain()) await this.setGte(pos, GTE_ZEROED);
      else if (e !== 0) {
        if (this.compressed) return false;
        await this.io.write(e * 512, new Uint8Array(this.clusterSize));
      }
    }
    void fill;
    return true;
  }

  /** Compresses a grain off the main thread; the result goes to writeCompressedGrain. */
  async compressGrain(raw: Uint8Array): Promise<Uint8Array> {
    const z = zlib ?? (await loadZlib());
    return new Promise((resolve, reject) => z.deflate(raw, (e, out) => (e ? reject(e) : resolve(out))));
  }

  /** Appends a compressed grain with its marker (LBA in sectors, byte size), sector aligned. */
  async appendCompressed(grainOffset: number, compressed: Uint8Array): Promise<void> {
    this.writable();
    if (await this.gte(grainOffset)) {
      throw new ImageError("unsupported", "Could not write to allocated cluster for streamOptimized", {
        path: this.fileName,
      });
    }
    const total = Math.ceil((12 + compressed.length) / 512) * 512;
    const rec = new Uint8Array(total);
    const dv = new DataView(rec.buffer);
    dv.setBigUint64(0, BigInt(grainOffset / 512), true);
    dv.setUint32(8, compressed.length, true);
    rec.set(compressed, 12);
    const sector = this.allocate(total);
    await this.io.write(sector * 512, rec);
    // qemu reserves a whole grain for each compressed one, writing it with zeros before the record
    // goes in: the file reaches at least a grain past the record's start, in written (allocated)
    // blocks (later records still follow the previous one directly). Only the part past the
    // current end is written here: what lies before it is already written.
    const reach = sector * 512 + this.clusterSize;
    const size = await this.io.size();
    const from = Math.max(size, sector * 512 + total);
    if (from < reach) await this.io.write(from, new Uint8Array(reach - from));
    await this.setGte(grainOffset, sector);
  }

  async status(offset: number, length: number, hasBacking: boolean): Promise<MapExtent[]> {
    const out: MapExtent[] = [];
    let pos = offset;
    const end = offset + length;
    const gtSpan = this.clusterSize * this.header.numGTEsPerGT;
    while (pos < end) {
      const within = pos % this.clusterSize;
      let n = Math.min(end - pos, this.clusterSize - within);
      // No grain table: its whole span is unallocated.
      if ((this.gd[Math.floor(pos / gtSpan)] ?? 0) === 0) n = Math.min(end - pos, gtSpan - (pos % gtSpan));
      const e = await this.gte(pos);
      let x: MapExtent;
      if (e === 0) x = { start: pos, length: n, data: false, zero: !hasBacking, present: false, depth: 0 };
      else if (e === GTE_ZEROED && this.hasZeroGrain())
        x = { start: pos, length: n, data: false, zero: true, present: true, depth: 0 };
      else if (this.compressed)
        x = { start: pos, length: n, data: true, zero: false, present: true, depth: 0, compressed: true };
      else
        x = {
          start: pos,
          length: n,
          data: true,
          zero: false,
          present: true,
          depth: 0,
          offset: e * 512 + within,
          filename: this.fileName,
        };
      out.push(x);
      pos += n;
    }
    return out;
  }

  private async writeTables(): Promise<void> {
    for (const gdi of [...this.dirtyGts].sort((a, b) => a - b)) {
      const t = this.gts.get(gdi)!;
      const b = Buffer.alloc(this.gtBytes);
      for (let i = 0; i < t.length; i++) b.writeUInt32LE(t[i]!, i * 4);
      await this.io.write(this.gd[gdi]! * 512, b);
      if (this.rgd?.[gdi]) await this.io.write(this.rgd[gdi]! * 512, b);
    }
    this.dirtyGts.clear();
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    await this.writeTables();
    await this.io.flush();
  }

  async close(): Promise<void> {
    if (!this.readOnly) {
      await this.writeTables();
      // qemu aligns the end of a stream-optimized file to a sector.
      const size = await this.io.size();
      if (size % 512 !== 0) await this.io.truncate(Math.ceil(size / 512) * 512);
    }
    await this.io.close();
  }

  /** Grain-level consistency: every table and grain must lie inside the file (qemu's vmdk_check). */
  async check(): Promise<string[]> {
    const errs: string[] = [];
    const fileSize = await this.io.size();
    for (let gdi = 0; gdi < this.gd.length; gdi++) {
      if (!this.gd[gdi]) continue;
      const t = await this.gt(gdi);
      if (!t) continue;
      for (let i = 0; i < t.length; i++) {
        const e = t[i]!;
        if (e === 0 || (e === GTE_ZEROED && this.hasZeroGrain())) continue;
        const end = e * 512 + (this.compressed ? 512 : this.clusterSize);
        if (end > fileSize) {
          const grainOffset = (gdi * this.header.numGTEsPerGT + i) * this.clusterSize;
          errs.push(
            `ERROR: cluster ${grainOffset / this.clusterSize}: Cluster offset 0x${(e * 512).toString(16)} points after image end 0x${fileSize.toString(16)}`,
          );
        }
      }
    }
    return errs;
  }
}
