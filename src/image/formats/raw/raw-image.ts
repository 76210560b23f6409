// Raw images: guest bytes are file bytes. Allocation status comes from the BlockIO's data ranges
// (holes read as zeros), resize is a truncate.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { Image, ImageInfo, MapExtent, Resizable } from "../../image.js";

export class RawImage implements Image, Resizable {
  readonly format = "raw" as const;
  readonly io: BlockIO;
  readonly readOnly: boolean;
  virtualSize: number;
  readonly resizable: Resizable = this;

  constructor(io: BlockIO, size: number, readOnly: boolean) {
    this.io = io;
    this.virtualSize = size;
    this.readOnly = readOnly;
  }

  static async open(io: BlockIO, readOnly: boolean): Promise<RawImage> {
    // The block layer counts whole sectors: a file's partial last sector reads as zeros.
    return new RawImage(io, Math.ceil((await io.size()) / 512) * 512, readOnly || io.readOnly);
  }

  private bounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.virtualSize) {
      throw new ImageError("invalid-argument", `Access ${offset}+${length} is past the image end`, {
        path: this.io.path,
        offset,
      });
    }
  }

  private writable(): void {
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    await this.io.read(offset, buf);
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    this.writable();
    await this.io.write(offset, buf);
  }

  async writeZeroes(offset: number, length: number, opts: { mayUnmap?: boolean } = {}): Promise<void> {
    this.bounds(offset, length);
    this.writable();
    if (opts.mayUnmap && this.io.discard) {
      await this.io.discard(offset, length);
      return;
    }
    const chunk = new Uint8Array(Math.min(length, 1 << 20));
    for (let pos = offset; pos < offset + length; pos += chunk.length) {
      await this.io.write(pos, chunk.subarray(0, Math.min(chunk.length, offset + length - pos)));
    }
  }

  async blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    this.bounds(offset, length);
    const end = offset + length;
    const fileSize = await this.io.size();
    const ranges = this.io.dataRanges
      ? await this.io.dataRanges(offset, Math.max(0, Math.min(end, fileSize) - offset))
      : [{ offset, length: Math.max(0, Math.min(end, fileSize) - offset) }];
    const out: MapExtent[] = [];
    const push = (start: number, len: number, data: boolean) => {
      if (len <= 0) return;
      const last = out[out.length - 1];
      if (last && last.data === data && last.start + last.length === start) {
        last.length += len;
        return;
      }
      out.push({
        start,
        length: len,
        data,
        zero: !data,
        present: true,
        depth: 0,
        offset: start,
        filename: this.io.path,
      });
    };
    let pos = offset;
    for (const r of ranges) {
      const s = Math.max(r.offset, offset);
      const e = Math.min(r.offset + r.length, end);
      if (e <= s) continue;
      push(pos, s - pos, false);
      push(s, e - s, true);
      pos = e;
    }
    push(pos, end - pos, false);
    return out;
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.io.flush();
  }

  async close(): Promise<void> {
    await this.io.close();
  }

  async info(): Promise<ImageInfo> {
    return { virtualSize: this.virtualSize };
  }

  async resize(newSize: number, opts: { shrink?: boolean; preallocation?: string } = {}): Promise<void> {
    this.writable();
    if (!Number.isSafeInteger(newSize) || newSize < 0) {
      throw new ImageError("invalid-argument", "Invalid image size specified");
    }
    if (newSize < this.virtualSize && !opts.shrink) {
      throw new ImageError("invalid-argument", "Use the --shrink option to perform a shrink operation.");
    }
    // (The file protocol's truncate knows off, falloc and full only.)
    if (opts.preallocation === "metadata")
      throw new ImageError("unsupported", "Unsupported preallocation mode: metadata");
    const old = this.virtualSize;
    await this.io.truncate(newSize);
    // Growing an empty file allocates its first block, as qemu's file driver does.
    if (old === 0 && newSize > 0 && this.io.path !== undefined)
      await this.io.write(0, new Uint8Array(Math.min(4096, newSize)));
    const grown = newSize - old;
    // falloc reserves the new blocks with fallocate() where the file allows (they map as holes,
    // as qemu's), else zeros are written.
    const reserved =
      grown > 0 &&
      opts.preallocation === "falloc" &&
      !!this.io.preallocate &&
      (await this.io.preallocate(old, grown));
    if (grown > 0 && !reserved && (opts.preallocation === "full" || opts.preallocation === "falloc")) {
      await this.writeZeroesRaw(old, grown);
    }
    this.virtualSize = newSize;
  }

  private async writeZeroesRaw(offset: number, length: number): Promise<void> {
    const chunk = new Uint8Array(Math.min(length, 1 << 20));
    for (let pos = offset; pos < offset + length; pos += chunk.length) {
      await this.io.write(pos, chunk.subarray(0, Math.min(chunk.length, offset + length - pos)));
    }
  }
}
