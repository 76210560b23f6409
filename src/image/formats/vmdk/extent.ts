// The extent abstraction a VMDK image is built from, and the two simple kinds: FLAT (raw bytes
// at an offset in a file) and ZERO (reads zeros, stores nothing).

import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { MapExtent } from "../../image.js";

/** Reads what lies under an unallocated extent range (backing file or zeros). */
export type Fill = (extentOffset: number, dst: Uint8Array) => Promise<void>;

export interface Extent {
  /** Guest bytes covered. */
  readonly size: number;
  /** Descriptor type ("" for an extent opened from its own header, as qemu reports it). */
  readonly type: string;
  /** Path for `qemu-img info` (the descriptor's name joined to the image directory). */
  readonly fileName: string;
  readonly io?: BlockIO;
  readonly clusterSize?: number;
  readonly compressed: boolean;
  readonly readOnly: boolean;
  read(offset: number, buf: Uint8Array, fill: Fill): Promise<void>;
  write(offset: number, buf: Uint8Array, fill: Fill): Promise<void>;
  writeZeroes?(offset: number, length: number, fill: Fill, hasBacking: boolean): Promise<boolean>;
  /** Status with offsets relative to this extent; `present:false` where unallocated. */
  status(offset: number, length: number, hasBacking: boolean): Promise<MapExtent[]>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class FlatExtent implements Extent {
  readonly compressed = false;
  constructor(
    readonly io: BlockIO,
    readonly size: number,
    readonly base: number,
    readonly type: string,
    readonly fileName: string,
    readonly readOnly: boolean,
  ) {}

  async read(offset: number, buf: Uint8Array): Promise<void> {
    await this.io.read(this.base + offset, buf);
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    if (this.readOnly) throw new ImageError("read-only", "Extent is read-only", { path: this.fileName });
    await this.io.write(this.base + offset, buf);
  }

  async status(offset: number, length: number): Promise<MapExtent[]> {
    // Flat data is always "data" at a fixed host offset; holes in the host file read as zero.
    const ranges = this.io.dataRanges
      ? await this.io.dataRanges(this.base + offset, length)
      : [{ offset: this.base + offset, length }];
    const out: MapExtent[] = [];
    let pos = offset;
    const end = offset + length;
    const push = (s: number, e: number, data: boolean) => {
      if (e > s)
        out.push({
          start: s,
          length: e - s,
          // Holes in a flat file still map 1:1 to the host: qemu reports data that reads zero.
          data: true,
          zero: !data,
          present: true,
          depth: 0,
          offset: this.base + s,
          filename: this.fileName,
        });
    };
    for (const r of ranges) {
      const s = Math.max(r.offset - this.base, offset);
      const e = Math.min(r.offset + r.length - this.base, end);
      if (e <= s) continue;
      push(pos, s, false);
      push(s, e, true);
      pos = e;
    }
    push(pos, end, false);
    return out;
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.io.flush();
  }

  async close(): Promise<void> {
    await this.io.close();
  }
}

export class ZeroExtent implements Extent {
  readonly compressed = false;
  readonly readOnly = true;
  readonly fileName = "";
  readonly type = "ZERO";
  constructor(readonly size: number) {}

  async read(_offset: number, buf: Uint8Array): Promise<void> {
    buf.fill(0);
  }

  async write(): Promise<void> {
    throw new ImageError("read-only", "Cannot write to a ZERO extent");
  }

  async status(offset: number, length: number): Promise<MapExtent[]> {
    return [{ start: offset, length, data: false, zero: true, present: true, depth: 0 }];
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
