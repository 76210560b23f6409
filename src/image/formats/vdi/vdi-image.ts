// VDI images (static and dynamic): guest reads/writes through the 1 MiB block map. New blocks are
// appended after the last allocated one, as qemu's block/vdi.c does; the map and header are
// written back on flush/close.

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { CheckResult, Checkable, Image, ImageInfo, MapExtent, Resizable } from "../../image.js";
import {
  decodeVdiHeader,
  encodeVdiHeader,
  VDI_BLOCK_SIZE,
  VDI_BLOCKS_MAX,
  VDI_DISCARDED,
  VDI_HEADER_SIZE,
  VDI_SIGNATURE,
  VDI_TEXT,
  VDI_TYPE_DYNAMIC,
  VDI_TYPE_STATIC,
  VDI_UNALLOCATED,
  VDI_VERSION_1_1,
  type VdiHeader,
} from "./header.js";

export class VdiImage implements Image, Checkable, Resizable {
  readonly format = "vdi" as const;
  readonly io: BlockIO;
  readonly readOnly: boolean;
  readonly checker: Checkable = this;
  readonly resizable: Resizable = this;
  private header: VdiHeader;
  private bmap: Uint32Array;
  private dirtyHeader = false;
  private dirtyEntries = new Set<number>();

  private constructor(io: BlockIO, header: VdiHeader, bmap: Uint32Array, readOnly: boolean) {
    this.io = io;
    this.header = header;
    this.bmap = bmap;
    this.readOnly = readOnly;
  }

  get virtualSize(): number {
    return this.header.diskSize;
  }

  static async open(io: BlockIO, readOnly: boolean): Promise<VdiImage> {
    const hb = new Uint8Array(512);
    await io.read(0, hb);
    const h = decodeVdiHeader(hb, io.path);
    // A map past the end of a truncated file reads as zeros, as qemu reads it (the header check
    // bounds it to VDI_BLOCKS_MAX entries, 2 GiB, as qemu's).
    const raw = new Uint8Array(h.blocksInImage * 4);
    const have = Math.max(0, Math.min(raw.length, (await io.size()) - h.offsetBmap));
    if (have > 0) await io.read(h.offsetBmap, raw.subarray(0, have));
    // (Little-endian hosts use the bytes as they are: a map reaches 2 GiB.)
    let bmap: Uint32Array;
    if (new Uint8Array(new Uint32Array([1]).buffer)[0] === 1)
      bmap = new Uint32Array(raw.buffer, 0, h.blocksInImage);
    else {
      bmap = new Uint32Array(h.blocksInImage);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < bmap.length; i++) bmap[i] = dv.getUint32(i * 4, true);
    }
    return new VdiImage(io, h, bmap, readOnly || io.readOnly);
  }

  /** Writes a new VDI image (qemu's vdi_co_do_create layout: header, map at 0x200, data after). */
  static async create(io: BlockIO, size: number, opts: { static?: boolean } = {}): Promise<void> {
    // node:crypto (for the UUIDs) loads only when an image is created.
    const { randomBytes } = await import("node:crypto");
    const bytes = Math.ceil(size / 512) * 512;
    const blocks = Math.ceil(bytes / VDI_BLOCK_SIZE);
    if (blocks > VDI_BLOCKS_MAX) {
      throw new ImageError(
        "invalid-argument",
        `Unsupported VDI image size (size is 0x${bytes.toString(16)}, max supported is 0x1fffff8000000)`,
      );
    }
    const bmapSize = Math.ceil((blocks * 4) / 512) * 512;
    const h: VdiHeader = {
      text: VDI_TEXT,
      signature: VDI_SIGNATURE,
      version: VDI_VERSION_1_1,
      headerSize: VDI_HEADER_SIZE,
      imageType: opts.static ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC,
      imageFlags: 0,
      description: "",
      offsetBmap: 0x200,
      offsetData: 0x200 + bmapSize,
      cylinders: 0,
      heads: 0,
      sectors: 0,
      sectorSize: 512,
      diskSize: bytes,
      blockSize: VDI_BLOCK_SIZE,
      blockExtra: 0,
      blocksInImage: blocks,
      blocksAllocated: opts.static ? blocks : 0,
      uuidImage: randomBytes(16),
      uuidLastSnap: randomBytes(16),
      uuidLink: new Uint8Array(16),
      uuidParent: new Uint8Array(16),
    };
    await io.write(0, encodeVdiHeader(h));
    // (In pieces: a map reaches 2 GiB.)
    const PIECE = 4 << 20;
    for (let at = 0; at < bmapSize; at += PIECE) {
      const map = Buffer.alloc(Math.min(PIECE, bmapSize - at));
      const first = at / 4;
      const n = Math.min(map.length / 4, blocks - first);
      for (let i = 0; i < n; i++) map.writeUInt32LE(opts.static ? first + i : VDI_UNALLOCATED, i * 4);
      await io.write(0x200 + at, map);
    }
    if (opts.static) await io.truncate(h.offsetData + blocks * VDI_BLOCK_SIZE);
  }

  private bounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw new ImageError("invalid-argument", `Access ${offset}+${length} is past the image end`, {
        path: this.io.path,
        offset,
      });
    }
  }

  private blockOffset(entry: number): number {
    return this.header.offsetData + entry * VDI_BLOCK_SIZE;
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / VDI_BLOCK_SIZE);
      const within = pos % VDI_BLOCK_SIZE;
      const entry = this.bmap[idx]!;
      // Coalesce runs of physically consecutive blocks into one host read.
      let n = Math.min(buf.length - done, VDI_BLOCK_SIZE - within);
      if (entry < VDI_DISCARDED) {
        let next = idx + 1;
        while (done + n < buf.length && this.bmap[next] === entry + (next - idx)) {
          n = Math.min(buf.length - done, n + VDI_BLOCK_SIZE);
          next++;
        }
        await this.io.read(this.blockOffset(entry) + within, buf.subarray(done, done + n));
      } else {
        buf.fill(0, done, done + n);
      }
      done += n;
    }
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / VDI_BLOCK_SIZE);
      const within = pos % VDI_BLOCK_SIZE;
      const n = Math.min(buf.length - done, VDI_BLOCK_SIZE - within);
      const part = buf.subarray(done, done + n);
      const entry = this.bmap[idx]!;
      if (entry < VDI_DISCARDED) {
        await this.io.write(this.blockOffset(entry) + within, part);
      } else {
        // Allocate the next block at the end of the data area (zeros too, as qemu's vdi); a
        // partial write fills the rest with zeros so the block never exposes stale host bytes.
        const nb = this.header.blocksAllocated;
        if (n === VDI_BLOCK_SIZE) {
          await this.io.write(this.blockOffset(nb), part);
        } else {
          const block = new Uint8Array(VDI_BLOCK_SIZE);
          block.set(part, within);
          await this.io.write(this.blockOffset(nb), block);
        }
        this.bmap[idx] = nb;
        this.header.blocksAllocated = nb + 1;
        this.dirtyEntries.add(idx);
        this.dirtyHeader = true;
      }
      done += n;
    }
  }

  /**
   * qemu's vdi driver has no zero-write operation: the block layer writes a buffer of zeros
   * instead, which allocates unallocated blocks like any write. So does this.
   */
  async writeZeroes(offset: number, length: number): Promise<void> {
    this.bounds(offset, length);
    let pos = offset;
    const end = offset + length;
    const zeros = new Uint8Array(Math.min(length, VDI_BLOCK_SIZE));
    while (pos < end) {
      const n = Math.min(end - pos, VDI_BLOCK_SIZE - (pos % VDI_BLOCK_SIZE));
      await this.write(pos, zeros.subarray(0, n));
      pos += n;
    }
  }

  async blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    this.bounds(offset, length);
    const out: MapExtent[] = [];
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const idx = Math.floor(pos / VDI_BLOCK_SIZE);
      const within = pos % VDI_BLOCK_SIZE;
      const n = Math.min(end - pos, VDI_BLOCK_SIZE - within);
      const entry = this.bmap[idx]!;
      const data = entry < VDI_DISCARDED;
      const hostOff = data ? this.blockOffset(entry) + within : undefined;
      const last = out[out.length - 1];
      if (
        last &&
        last.data === data &&
        (!data || (last.offset !== undefined && last.offset + last.length === hostOff))
      ) {
        last.length += n;
      } else {
        // Unallocated blocks read as zeros and vdi has no backing file: qemu reports them present.
        out.push({
          start: pos,
          length: n,
          data,
          zero: !data,
          present: true,
          depth: 0,
          offset: hostOff,
          filename: data ? this.io.path : undefined,
        });
      }
      pos += n;
    }
    return out;
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    await this.writeMetadata();
    await this.io.flush();
  }

  private async writeMetadata(): Promise<void> {
    if (this.dirtyEntries.size > 0) {
      // Write back whole 512-byte sectors of the map that hold changed entries.
      const sectors = new Set<number>();
      for (const i of this.dirtyEntries) sectors.add(Math.floor(i / 128));
      for (const s of [...sectors].sort((a, b) => a - b)) {
        const first = s * 128;
        const count = Math.min(128, this.bmap.length - first);
        const b = Buffer.alloc(count * 4);
        for (let i = 0; i < count; i++) b.writeUInt32LE(this.bmap[first + i]!, i * 4);
        await this.io.write(this.header.offsetBmap + first * 4, b);
      }
      this.dirtyEntries.clear();
    }
    if (this.dirtyHeader) {
      await this.io.write(0, encodeVdiHeader(this.header));
      this.dirtyHeader = false;
    }
  }

  async close(): Promise<void> {
    if (!this.readOnly) await this.writeMetadata();
    await this.io.close();
  }

  async info(): Promise<ImageInfo> {
    return { virtualSize: this.virtualSize, clusterSize: VDI_BLOCK_SIZE };
  }

  /** qemu's vdi_co_check: every map entry must name a distinct block below blocks_allocated. */
  async check(opts?: { repair?: "leaks" | "all" }): Promise<CheckResult> {
    // qemu's vdi_co_check cannot repair: asking for it reports "not supported".
    if (opts?.repair) throw new ImageError("unsupported", "This image format does not support checks");
    const res: CheckResult = {
      corruptions: 0,
      leaks: 0,
      checkErrors: 0,
      corruptionsFixed: 0,
      leaksFixed: 0,
      messages: [],
    };
    const seen = new Uint8Array(this.header.blocksInImage);
    let allocated = 0;
    for (let i = 0; i < this.bmap.length; i++) {
      const e = this.bmap[i]!;
      if (e >= VDI_DISCARDED) continue;
      if (e < this.header.blocksInImage) {
        // (qemu counts every entry in range, and names the data block twice: its own
        // table maps the block to itself.)
        allocated++;
        if (seen[e]) {
          res.messages.push(`ERROR: block index ${e} also used by ${e}`);
          res.corruptions++;
        } else seen[e] = 1;
      } else {
        res.messages.push(`ERROR: block index ${i} too large, is ${e}`);
        res.corruptions++;
      }
    }
    if (allocated !== this.header.blocksAllocated) {
      res.messages.push(
        `ERROR: allocated blocks mismatch, is ${allocated}, should be ${this.header.blocksAllocated}`,
      );
      res.corruptions++;
    }
    return res;
  }

  /** Growing only, as qemu's vdi (which also refuses shrink and static images). */
  async resize(newSize: number, opts: { shrink?: boolean } = {}): Promise<void> {
    if (newSize < this.virtualSize && !opts.shrink) {
      throw new ImageError("invalid-argument", "Use the --shrink option to perform a shrink operation.");
    }
    throw new ImageError("unsupported", "Image format driver does not support resize");
  }
}

export { VDI_TYPE_STATIC };
