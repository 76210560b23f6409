// UML COW images: a bitmap with one bit per 512-byte sector (LSB first) says whether the sector
// lives in this file (at data_offset + sector*512) or in the backing file. Writes are sector
// granular; the bitmap is kept in memory and written back on flush/close.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { BackingChain, Image, ImageInfo, MapExtent } from "../../image.js";
import type { FormatOpenOptions } from "../../registry.js";
import {
  type CowHeader,
  cowBitmapBytes,
  cowDataOffset,
  decodeCowHeader,
  encodeCowHeader,
  COW_V3_HEADER_SIZE,
  COW_V2_HEADER_SIZE,
} from "./header.js";

const SECTOR = 512;
/** Bitmaps larger than this (a 512 GiB... 1 PiB image) are refused before allocating. */
const MAX_BITMAP = 1 << 28;

export class CowImage implements Image, BackingChain {
  readonly format = "cow" as const;
  readonly io: BlockIO;
  readonly readOnly: boolean;
  readonly backing: BackingChain = this;
  backingImage?: Image;
  readonly backingFormat?: string = undefined;
  private readonly h: CowHeader;
  private readonly bitmap: Uint8Array;
  private readonly dirty = new Set<number>();

  private constructor(io: BlockIO, h: CowHeader, bitmap: Uint8Array, readOnly: boolean) {
    this.io = io;
    this.h = h;
    this.bitmap = bitmap;
    this.readOnly = readOnly;
  }

  get virtualSize(): number {
    return Math.floor(this.h.size / SECTOR) * SECTOR;
  }

  get backingFile(): string | undefined {
    return this.h.backingFile || undefined;
  }

  get version(): number {
    return this.h.version;
  }

  static async open(io: BlockIO, opts: FormatOpenOptions): Promise<CowImage> {
    const hb = new Uint8Array(COW_V3_HEADER_SIZE);
    await io.read(0, hb);
    const h = decodeCowHeader(hb, io.path);
    const n = cowBitmapBytes(h.size);
    if (n > MAX_BITMAP) throw new ImageError("unsupported", "COW image too large", { path: io.path });
    // Creation sizes the file to cover the bitmap, so a shorter file is truncated or corrupt.
    if (h.bitmapOffset + n > (await io.size())) {
      throw new ImageError("corrupt", "COW bitmap extends past the end of the file", { path: io.path });
    }
    const bitmap = new Uint8Array(n);
    await io.read(h.bitmapOffset, bitmap);
    const img = new CowImage(io, h, bitmap, opts.readOnly || io.readOnly);
    if (h.backingFile && opts.backingChain)
      img.backingImage = await opts.openBacking(h.backingFile, undefined);
    return img;
  }

  /** Header, then a zeroed bitmap; the data area stays a hole until written. */
  static async create(
    io: BlockIO,
    size: number,
    opts: { backingFile?: string; mtime?: number; version?: 2 | 3; alignment?: number } = {},
  ): Promise<void> {
    const version = opts.version ?? 2;
    const h: CowHeader = {
      version,
      backingFile: opts.backingFile ?? "",
      mtime: opts.mtime ?? 0,
      size: Math.floor(size / SECTOR) * SECTOR,
      sectorSize: SECTOR,
      alignment: version === 3 ? (opts.alignment ?? 512) : 512,
      bitmapOffset: version === 3 ? COW_V3_HEADER_SIZE : COW_V2_HEADER_SIZE,
      dataOffset: 0,
    };
    h.dataOffset = cowDataOffset(h);
    await io.write(0, encodeCowHeader(h));
    await io.truncate(h.bitmapOffset + cowBitmapBytes(h.size));
  }

  private bounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw new ImageError("invalid-argument", `Access ${offset}+${length} is past the image end`, {
        path: this.io.path,
        offset,
      });
    }
  }

  private bit(sector: number): boolean {
    return (this.bitmap[sector >>> 3]! & (1 << (sector & 7))) !== 0;
  }

  /** Sectors from `sector` with the same bit value, at most `max`. */
  private streak(sector: number, max: number): number {
    const v = this.bit(sector);
    let n = 1;
    while (n < max) {
      const s = sector + n;
      if ((s & 7) === 0 && n + 8 <= max && this.bitmap[s >>> 3] === (v ? 0xff : 0)) {
        n += 8;
        continue;
      }
      if (this.bit(s) !== v) break;
      n++;
    }
    return n;
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const sector = Math.floor(pos / SECTOR);
      const lastSector = Math.floor((offset + buf.length - 1) / SECTOR);
      const run = this.streak(sector, lastSector - sector + 1);
      const n = Math.min(buf.length - done, (sector + run) * SECTOR - pos);
      const dst = buf.subarray(done, done + n);
      if (this.bit(sector)) await this.io.read(this.h.dataOffset + pos, dst);
      else if (this.backingImage) {
        const avail = Math.max(0, Math.min(n, this.backingImage.virtualSize - pos));
        if (avail > 0) await this.backingImage.read(pos, dst.subarray(0, avail));
        dst.fill(0, avail);
      } else dst.fill(0);
      done += n;
    }
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
    if (buf.length === 0) return;
    // Widen to whole sectors, filling the edges from what the guest currently sees.
    const first = Math.floor(offset / SECTOR);
    const last = Math.floor((offset + buf.length - 1) / SECTOR);
    let data = buf;
    if (offset % SECTOR !== 0 || (offset + buf.length) % SECTOR !== 0) {
      data = new Uint8Array((last - first + 1) * SECTOR);
      await this.read(first * SECTOR, data.subarray(0, SECTOR));
      if (last > first) await this.read(last * SECTOR, data.subarray(data.length - SECTOR));
      data.set(buf, offset - first * SECTOR);
    }
    await this.io.write(this.h.dataOffset + first * SECTOR, data);
    for (let s = first; s <= last; s++) {
      this.bitmap[s >>> 3]! |= 1 << (s & 7);
      this.dirty.add(s >>> 12);
    }
  }

  async blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    this.bounds(offset, length);
    const out: MapExtent[] = [];
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const sector = Math.floor(pos / SECTOR);
      const run = this.streak(sector, Math.ceil(end / SECTOR) - sector);
      const n = Math.min(end - pos, (sector + run) * SECTOR - pos);
      const data = this.bit(sector);
      out.push(
        data
          ? {
              start: pos,
              length: n,
              data: true,
              zero: false,
              present: true,
              depth: 0,
              offset: this.h.dataOffset + pos,
              filename: this.io.path,
            }
          : { start: pos, length: n, data: false, zero: !this.h.backingFile, present: false, depth: 0 },
      );
      pos += n;
    }
    return out;
  }

  async setBacking(file: string | undefined): Promise<void> {
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
    this.h.backingFile = file ?? "";
    await this.io.write(0, encodeCowHeader(this.h));
  }

  private async writeBitmap(): Promise<void> {
    for (const chunk of [...this.dirty].sort((a, b) => a - b)) {
      const start = chunk * 512;
      await this.io.write(this.h.bitmapOffset + start, this.bitmap.subarray(start, start + 512));
    }
    this.dirty.clear();
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    await this.writeBitmap();
    await this.io.flush();
  }

  async close(): Promise<void> {
    if (!this.readOnly) await this.writeBitmap();
    await this.backingImage?.close();
    await this.io.close();
  }

  async info(): Promise<ImageInfo> {
    return { virtualSize: this.virtualSize, backingFilename: this.backingFile };
  }
}
