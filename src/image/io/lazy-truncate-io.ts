// LazyTruncateIO: an existing file being re-created reads as empty, but is only emptied on the
// first change, so a create that fails validation leaves the old file intact (as qemu-img does).

import type { BlockIO } from "../block-io.js";

export class LazyTruncateIO implements BlockIO {
  private emptied = false;
  private emptying: Promise<void> | undefined;

  constructor(private readonly inner: BlockIO) {}

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  get path(): string | undefined {
    return this.inner.path;
  }

  /** Empties the file once, before the first change. */
  private async empty(): Promise<void> {
    if (!this.emptying) {
      this.emptied = true;
      this.emptying = this.inner.truncate(0);
    }
    await this.emptying; // concurrent first writes all wait for the one truncate
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    if (!this.emptied) {
      buf.fill(0);
      return;
    }
    await this.inner.read(offset, buf);
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    await this.empty();
    await this.inner.write(offset, buf);
  }

  async size(): Promise<number> {
    return this.emptied ? this.inner.size() : 0;
  }

  async truncate(length: number): Promise<void> {
    // Emptied once, like a write: what was written since stays (a create may write a header
    // and then size the file, or size it and then write its first block).
    await this.empty();
    if (length > 0 || (await this.inner.size()) > 0) await this.inner.truncate(length);
  }

  async flush(): Promise<void> {
    if (this.emptied) await this.inner.flush();
  }

  async discard(offset: number, length: number): Promise<void> {
    await this.empty();
    if (this.inner.discard) await this.inner.discard(offset, length);
    else await this.inner.write(offset, new Uint8Array(length));
  }

  async zeroRange(offset: number, length: number): Promise<boolean> {
    await this.empty();
    return this.inner.zeroRange ? this.inner.zeroRange(offset, length) : false;
  }

  async preallocate(offset: number, length: number): Promise<boolean> {
    await this.empty();
    return this.inner.preallocate ? this.inner.preallocate(offset, length) : false;
  }

  async dataRanges(offset: number, length: number): Promise<{ offset: number; length: number }[]> {
    if (!this.emptied) return [];
    return this.inner.dataRanges ? this.inner.dataRanges(offset, length) : [{ offset, length }];
  }

  async allocatedBytes(): Promise<number> {
    if (!this.emptied) return 0;
    return this.inner.allocatedBytes ? this.inner.allocatedBytes() : this.inner.size();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
