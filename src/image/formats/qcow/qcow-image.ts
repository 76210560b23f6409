// qcow version 1 images: two-level L1/L2 cluster tables, deflate-compressed clusters, an optional
// backing file and legacy AES (read-only here). Allocation appends at the end of the file, as
// qemu's block/qcow.c does.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { BackingChain, Image, ImageInfo, MapExtent } from "../../image.js";
import type { FormatOpenOptions } from "../../registry.js";
import type { QcowAes } from "./aes.js";
import {
  decodeQcowHeader,
  encodeQcowHeader,
  QCOW_CRYPT_AES,
  QCOW_HEADER_SIZE,
  type QcowHeader,
  qcowL1Size,
} from "./header.js";

// node:zlib loads with the first compressed cluster, node:crypto (aes.ts) with an encrypted
// image's key: opening a qcow image for info needs neither.
let zlib: typeof import("node:zlib") | undefined;
async function loadZlib(): Promise<typeof import("node:zlib")> {
  return (zlib ??= await import("node:zlib"));
}
const COMPRESSED = 1n << 63n;

export class QcowImage implements Image, BackingChain {
  readonly format = "qcow" as const;
  readonly io: BlockIO;
  readonly readOnly: boolean;
  readonly backing?: BackingChain;
  backingImage?: Image;
  backingFile?: string;
  readonly backingFormat?: string = undefined;
  readonly clusterSize: number;
  private readonly h: QcowHeader;
  private readonly l1: bigint[];
  private readonly l2Size: number;
  private readonly l2Cache = new Map<number, BigUint64Array>();
  private fileEnd = 0;
  private aes?: QcowAes;
  private encrypted = false;

  /** Encrypted and opened without its key: only metadata (info) is usable. */
  get keyMissing(): boolean {
    return this.encrypted && !this.aes;
  }

  private constructor(io: BlockIO, h: QcowHeader, l1: bigint[], readOnly: boolean) {
    this.io = io;
    this.h = h;
    this.l1 = l1;
    this.readOnly = readOnly;
    this.clusterSize = 2 ** h.clusterBits;
    this.l2Size = 2 ** h.l2Bits;
    this.backing = this;
  }

  get virtualSize(): number {
    return this.h.size;
  }

  static async open(io: BlockIO, opts: FormatOpenOptions): Promise<QcowImage> {
    const hb = new Uint8Array(QCOW_HEADER_SIZE);
    await io.read(0, hb);
    const h = decodeQcowHeader(hb, io.path);
    const fileSize = await io.size();
    const l1Size = qcowL1Size(h);
    if (l1Size * 8 > 64 * 1024 * 1024) {
      throw new ImageError("corrupt", "L1 table is too large", { path: io.path });
    }
    // (Past the end of the file the table reads as zeros, as qemu's read of it does.)
    const raw = new Uint8Array(l1Size * 8);
    const inFile = Math.max(0, Math.min(raw.length, fileSize - h.l1TableOffset));
    if (inFile > 0) await io.read(h.l1TableOffset, raw.subarray(0, inFile));
    const dv = new DataView(raw.buffer);
    const l1: bigint[] = [];
    for (let i = 0; i < l1Size; i++) l1.push(dv.getBigUint64(i * 8));
    const readOnly = opts.readOnly || io.readOnly;
    const img = new QcowImage(io, h, l1, readOnly);
    img.fileEnd = fileSize;
    if (h.cryptMethod === QCOW_CRYPT_AES) {
      // Without the key the image still opens (info, map), but guest data cannot be read.
      const secretId = opts.options?.["encrypt.key-secret"];
      const key = secretId ? opts.secrets?.[secretId] : undefined;
      img.encrypted = true;
      if (key !== undefined) img.aes = new (await import("./aes.js")).QcowAes(key);
      (img as { readOnly: boolean }).readOnly = true;
    }
    if (h.backingFileOffset !== 0 && h.backingFileSize > 0) {
      const nb = new Uint8Array(h.backingFileSize);
      await io.read(h.backingFileOffset, nb);
      img.backingFile = Buffer.from(nb).toString("utf8");
      if (opts.backingChain) img.backingImage = await opts.openBacking(img.backingFile, undefined);
    }
    return img;
  }

  /** qemu's qcow_co_create layout: header, backing name, L1 (zeroed, in 512-byte units). */
  static async create(io: BlockIO, size: number, backingFile?: string, encrypt = false): Promise<void> {
    let headerSize = QCOW_HEADER_SIZE;
    const name = backingFile ? Buffer.from(backingFile, "utf8") : undefined;
    if (name && name.length > 1023) throw new ImageError("invalid-argument", "Backing file name too long");
    const h: QcowHeader = {
      magic: 0x514649fb,
      version: 1,
      backingFileOffset: name ? headerSize : 0,
      backingFileSize: name ? name.length : 0,
      mtime: 0,
      size,
      // With a backing file qemu uses 512-byte clusters (no copying of unmodified sectors) and
      // 4096-entry L2 tables; otherwise 4 KiB clusters and 512-entry tables.
      clusterBits: name ? 9 : 12,
      l2Bits: name ? 12 : 9,
      cryptMethod: encrypt ? QCOW_CRYPT_AES : 0,
      l1TableOffset: 0,
    };
    if (name) headerSize += name.length;
    headerSize = (headerSize + 7) & ~7;
    h.l1TableOffset = headerSize;
    const l1Bytes = Math.ceil((qcowL1Size(h) * 8) / 512) * 512;
    await io.write(0, encodeQcowHeader(h));
    if (name) await io.write(QCOW_HEADER_SIZE, name);
    // (Zeros written as qemu writes them, sector by sector; here a MiB at a time.)
    const z = new Uint8Array(Math.min(l1Bytes, 1 << 20));
    for (let p = 0; p < l1Bytes; p += z.length)
      await io.write(headerSize + p, z.subarray(0, Math.min(z.length, l1Bytes - p)));
    if (l1Bytes === 0) await io.truncate(headerSize);
  }

  private bounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw new ImageError("invalid-argument", `Access ${offset}+${length} is past the image end`, {
        path: this.io.path,
        offset,
      });
    }
  }

  private async l2Table(l1Index: number): Promise<BigUint64Array | undefined> {
    const off = Number(this.l1[l1Index] ?? 0n);
    if (off === 0) return undefined;
    let t = this.l2Cache.get(off);
    if (t) return t;
    // (Offsets from 2^63 up are negative to qemu's block layer: its read fails with EIO.)
    if ((this.l1[l1Index] ?? 0n) >= 1n << 63n) {
      throw new ImageError("io", "Input/output error", { path: this.io.path });
    }
    // qemu reads the table wherever the L1 entry points: unaligned is fine, and what lies past
    // the end of the file reads as zeros (unallocated).
    const raw = new Uint8Array(this.l2Size * 8);
    const inFile = Math.max(0, Math.min(raw.length, (await this.io.size()) - off));
    if (inFile > 0) await this.io.read(off, raw.subarray(0, inFile));
    const dv = new DataView(raw.buffer);
    t = new BigUint64Array(this.l2Size);
    for (let i = 0; i < this.l2Size; i++) t[i] = dv.getBigUint64(i * 8);
    if (this.l2Cache.size > 4096) this.l2Cache.clear();
    this.l2Cache.set(off, t);
    return t;
  }

  /** The L2 entry for a guest offset (0n when unallocated). */
  private async entry(pos: number): Promise<bigint> {
    const cl = Math.floor(pos / this.clusterSize);
    const t = await this.l2Table(Math.floor(cl / this.l2Size));
    return t ? t[cl % this.l2Size]! : 0n;
  }

  private decodeCompressed(e: bigint): { offset: number; size: number } {
    const bits = BigInt(63 - this.h.clusterBits);
    return {
      offset: Number(e & ((1n << bits) - 1n)),
      size: Number((e >> bits) & BigInt(this.clusterSize - 1)),
    };
  }

  private async readCompressed(e: bigint): Promise<Uint8Array> {
    const { offset, size } = this.decodeCompressed(e);
    const src = new Uint8Array(size);
    await this.io.read(offset, src);
    const out = new Uint8Array(this.clusterSize);
    try {
      const d = (zlib ?? (await loadZlib())).inflateRawSync(src, {
        windowBits: 12,
        maxOutputLength: this.clusterSize * 2,
      } as never);
      out.set(d.subarray(0, this.clusterSize));
    } catch (cause) {
      // zlib reports trailing garbage / short input; qemu accepts a stream that fills the cluster.
      throw new ImageError("io", "Input/output error", { path: this.io.path, offset, cause });
    }
    return out;
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    if (this.encrypted && !this.aes) {
      throw new ImageError("encrypted", "Parameter 'encrypt.key-secret' is required for cipher", {
        path: this.io.path,
      });
    }
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const within = pos % this.clusterSize;
      let n = Math.min(buf.length - done, this.clusterSize - within);
      const e = await this.entry(pos);
      const dst = buf.subarray(done, done + n);
      if (e === 0n) {
        if (this.backingImage) await this.readBacking(pos, dst);
        else dst.fill(0);
      } else if (e & COMPRESSED) {
        if (this.aes)
          throw new ImageError("unsupported", "Compressed clusters in encrypted qcow images", {
            path: this.io.path,
          });
        dst.set((await this.readCompressed(e)).subarray(within, within + n));
      } else {
        const host = Number(e);
        // (qemu's qcow_co_preadv: a data cluster not on a sector boundary is EIO.)
        if (host % 512 !== 0)
          throw new ImageError("io", "Input/output error", { path: this.io.path, offset: pos });
        // Extend the read over following clusters that are contiguous on the host.
        while (done + n < buf.length && !this.aes) {
          const ne = await this.entry(pos + n);
          if (ne !== BigInt(host + within + n) || (ne & COMPRESSED) !== 0n) break;
          n = Math.min(buf.length - done, n + this.clusterSize);
        }
        const d = buf.subarray(done, done + n);
        if (this.aes) {
          const cluster = new Uint8Array(this.clusterSize);
          await this.io.read(host, cluster);
          this.aes.decryptSectors(cluster, pos - within);
          d.set(cluster.subarray(within, within + n));
        } else await this.io.read(host + within, d);
      }
      done += n;
    }
  }

  private async readBacking(pos: number, dst: Uint8Array): Promise<void> {
    const b = this.backingImage!;
    const avail = Math.max(0, Math.min(dst.length, b.virtualSize - pos));
    if (avail > 0) await b.read(pos, dst.subarray(0, avail));
    dst.fill(0, avail);
  }

  /** Appends `bytes` at the end of the file, aligned to a cluster or (compressed data, as qemu's
   *  qcow driver) to a 512-byte sector. */
  private async allocate(bytes: number, align: boolean): Promise<number> {
    let off = this.fileEnd;
    const unit = align ? this.clusterSize : 512;
    off = Math.ceil(off / unit) * unit;
    this.fileEnd = off + bytes;
    return off;
  }

  /** Returns the L2 table for a cluster index, allocating (and linking in L1) when missing. */
  private async l2ForWrite(cl: number): Promise<{ table: BigUint64Array; off: number }> {
    const l1i = Math.floor(cl / this.l2Size);
    let off = Number(this.l1[l1i] ?? 0n);
    if (off === 0) {
      off = await this.allocate(this.l2Size * 8, true);
      await this.io.write(off, new Uint8Array(this.l2Size * 8));
      this.l1[l1i] = BigInt(off);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(off));
      await this.io.write(this.h.l1TableOffset + l1i * 8, b);
      this.l2Cache.set(off, new BigUint64Array(this.l2Size));
    }
    return { table: (await this.l2Table(l1i))!, off };
  }

  private async setEntry(cl: number, value: bigint): Promise<void> {
    const { table, off } = await this.l2ForWrite(cl);
    const i = cl % this.l2Size;
    table[i] = value;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value);
    await this.io.write(off + i * 8, b);
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const cl = Math.floor(pos / this.clusterSize);
      const within = pos % this.clusterSize;
      const n = Math.min(buf.length - done, this.clusterSize - within);
      const part = buf.subarray(done, done + n);
      const e = await this.entry(pos);
      if (e !== 0n && (e & COMPRESSED) === 0n) {
        await this.io.write(Number(e) + within, part);
      } else {
        // New cluster: untouched bytes keep what the guest saw before (compressed data,
        // backing file, or zeros).
        let data = part;
        if (n < this.clusterSize) {
          data = new Uint8Array(this.clusterSize);
          if (e !== 0n) data.set(await this.readCompressed(e));
          else if (this.backingImage) await this.readBacking(cl * this.clusterSize, data);
          data.set(part, within);
        }
        // Zeros allocate too, as in qemu's qcow (sparse copies leave zero runs out themselves).
        // The L2 table is allocated before the data cluster, as qemu's get_cluster_offset does.
        await this.l2ForWrite(cl);
        const host = await this.allocate(this.clusterSize, true);
        await this.io.write(host, data);
        await this.setEntry(cl, BigInt(host));
      }
      done += n;
    }
  }

  /** Deflate one full cluster off the main thread (libuv pool); undefined when it does not shrink. */
  async compressCluster(raw: Uint8Array): Promise<Uint8Array | undefined> {
    const z = zlib ?? (await loadZlib());
    // The image's partial last cluster is compressed padded with zeros (as qemu's qcow).
    if (raw.length < this.clusterSize) {
      const padded = new Uint8Array(this.clusterSize);
      padded.set(raw);
      raw = padded;
    }
    const out = await new Promise<Buffer>((resolve, reject) =>
      z.deflateRaw(raw, { windowBits: 12, level: 6, memLevel: 9 }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    return out.length < this.clusterSize ? out : undefined;
  }

  /** Writes a cluster prepared by compressCluster (or raw when it did not compress). */
  async writeCompressedCluster(
    offset: number,
    compressed: Uint8Array | undefined,
    raw: Uint8Array,
  ): Promise<void> {
    if (offset % this.clusterSize !== 0)
      throw new ImageError("invalid-argument", "Compressed writes must be cluster aligned");
    if (!compressed) {
      await this.write(offset, raw);
      return;
    }
    const cl = offset / this.clusterSize;
    await this.l2ForWrite(cl);
    const host = await this.allocate(compressed.length, false);
    await this.io.write(host, compressed);
    const bits = BigInt(63 - this.h.clusterBits);
    await this.setEntry(cl, COMPRESSED | (BigInt(compressed.length) << bits) | BigInt(host));
  }

  get compressedClusterSize(): number {
    return this.clusterSize;
  }

  async blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    this.bounds(offset, length);
    const out: MapExtent[] = [];
    let pos = offset;
    const end = offset + length;
    const l2Span = this.clusterSize * this.l2Size;
    while (pos < end) {
      const within = pos % this.clusterSize;
      let n = Math.min(end - pos, this.clusterSize - within);
      // A missing L2 table leaves its whole span unallocated: step over it at once.
      if ((this.l1[Math.floor(pos / l2Span)] ?? 0n) === 0n) n = Math.min(end - pos, l2Span - (pos % l2Span));
      const e = await this.entry(pos);
      let ext: MapExtent;
      if (e === 0n)
        ext = {
          start: pos,
          length: n,
          data: false,
          zero: !this.backingImage && !this.backingFile,
          present: false,
          depth: 0,
        };
      else if (e & COMPRESSED)
        ext = { start: pos, length: n, data: true, zero: false, present: true, depth: 0, compressed: true };
      else
        ext = {
          start: pos,
          length: n,
          data: true,
          zero: false,
          present: true,
          depth: 0,
          offset: Number(e) + within,
          filename: this.io.path,
        };
      if (this.aes && ext.offset !== undefined) ext.offset = undefined;
      const last = out[out.length - 1];
      if (
        last &&
        last.data === ext.data &&
        last.zero === ext.zero &&
        !!last.compressed === !!ext.compressed &&
        (last.offset === undefined) === (ext.offset === undefined) &&
        (last.offset === undefined || last.offset + last.length === ext.offset)
      ) {
        last.length += n;
      } else out.push(ext);
      pos += n;
    }
    return out;
  }

  /** Drops every cluster (after a commit): zeroed L1 table, file cut after it (qcow_make_empty). */
  async makeEmpty(): Promise<void> {
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
    const l1Bytes = this.l1.length * 8;
    this.l1.fill(0n);
    this.l2Cache.clear();
    await this.io.write(this.h.l1TableOffset, new Uint8Array(l1Bytes));
    await this.io.truncate(this.h.l1TableOffset + l1Bytes);
    this.fileEnd = this.h.l1TableOffset + l1Bytes;
  }

  /** qemu's qcow driver cannot rewrite the backing file name (no bdrv_change_backing_file). */
  async setBacking(_file: string | undefined, _format: string | undefined): Promise<void> {
    throw new ImageError("unsupported", "Operation not supported", { path: this.io.path });
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.io.flush();
  }

  async close(): Promise<void> {
    await this.backingImage?.close();
    await this.io.close();
  }

  async info(): Promise<ImageInfo> {
    return {
      virtualSize: this.virtualSize,
      clusterSize: this.clusterSize,
      backingFilename: this.backingFile,
      encrypted: this.h.cryptMethod === QCOW_CRYPT_AES ? true : undefined,
    };
  }
}
