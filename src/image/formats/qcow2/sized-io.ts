// A BlockIO wrapper that tracks the file's length without a stat per access, so table offsets
// can be checked against the end of the image cheaply.

import type { BlockIO } from "../../block-io.js";

export class SizedIO implements BlockIO {
  length: number;
  constructor(
    readonly inner: BlockIO,
    length: number,
  ) {
    this.length = length;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }
  get path(): string | undefined {
    return this.inner.path;
  }
  read(offset: number, buf: Uint8Array): Promise<void> {
    return this.inner.read(offset, buf);
  }
  async write(offset: number, buf: Uint8Array): Promise<void> {
    await this.inner.write(offset, buf);
    if (offset + buf.length > this.length) this.length = offset + buf.length;
  }
  async size(): Promise<number> {
    return this.length;
  }
  async truncate(length: number): Promise<void> {
    await this.inner.truncate(length);
    this.length = length;
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  async discard(offset: number, length: number): Promise<void> {
    if (this.inner.discard) await this.inner.discard(offset, length);
    else {
      const z = new Uint8Array(Math.min(length, 1 << 20));
      for (let p = offset; p < offset + length; p += z.length) {
        await this.inner.write(p, z.subarray(0, Math.min(z.length, offset + length - p)));
      }
    }
  }
  /** In-place view of file bytes (bulk copies of data clusters), where the file allows it. */
  view(offset: number, length: number): Promise<{ data: Uint8Array; release(): void } | undefined> {
    return this.inner.view ? this.inner.view(offset, length) : Promise.resolve(undefined);
  }
  /** Data runs of the file (holes read as zeros), where the file can tell. */
  dataRanges(offset: number, length: number): Promise<{ offset: number; length: number }[]> {
    if (this.inner.dataRanges) return this.inner.dataRanges(offset, length);
    const end = Math.min(offset + length, this.length);
    return Promise.resolve(end > offset ? [{ offset, length: end - offset }] : []);
  }
  allocatedBytes(): Promise<number> {
    return this.inner.allocatedBytes ? this.inner.allocatedBytes() : Promise.resolve(this.length);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
