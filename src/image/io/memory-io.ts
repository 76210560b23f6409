// MemoryIO: sparse in-memory BlockIO in fixed chunks, for tests and fuzzing. Unwritten chunks
// take no memory, discard frees whole chunks, dataRanges is exact at chunk granularity.

import type { BlockIO } from "../block-io.js";
import { ImageError } from "../errors.js";

export const MEMORY_CHUNK = 64 * 1024;

export class MemoryIO implements BlockIO {
  readonly readOnly: boolean;
  readonly path?: string;
  private chunks = new Map<number, Uint8Array>();
  private length = 0;
  private closed = false;
  /** Optional cap so fuzzed images cannot grow memory without bound. */
  readonly maxSize: number;

  constructor(init?: Uint8Array, opts: { readOnly?: boolean; path?: string; maxSize?: number } = {}) {
    this.readOnly = opts.readOnly ?? false;
    this.path = opts.path;
    this.maxSize = opts.maxSize ?? Number.MAX_SAFE_INTEGER;
    if (init) {
      this.put(0, init);
      this.length = init.length;
    }
  }

  private check(): void {
    if (this.closed) throw new ImageError("io", "memory image is closed", { path: this.path });
  }

  private put(offset: number, buf: Uint8Array): void {
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / MEMORY_CHUNK);
      const within = pos - idx * MEMORY_CHUNK;
      const n = Math.min(MEMORY_CHUNK - within, buf.length - done);
      let chunk = this.chunks.get(idx);
      if (!chunk) {
        chunk = new Uint8Array(MEMORY_CHUNK);
        this.chunks.set(idx, chunk);
      }
      chunk.set(buf.subarray(done, done + n), within);
      done += n;
    }
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.check();
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / MEMORY_CHUNK);
      const within = pos - idx * MEMORY_CHUNK;
      const n = Math.min(MEMORY_CHUNK - within, buf.length - done);
      const chunk = pos < this.length ? this.chunks.get(idx) : undefined;
      const valid = Math.max(0, Math.min(n, this.length - pos));
      if (chunk && valid > 0) {
        buf.set(chunk.subarray(within, within + valid), done);
        buf.fill(0, done + valid, done + n);
      } else buf.fill(0, done, done + n);
      done += n;
    }
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.check();
    if (this.readOnly) throw new ImageError("read-only", "memory image is read-only", { path: this.path });
    if (offset + buf.length > this.maxSize) {
      throw new ImageError("io", `write past the memory image cap (${this.maxSize} bytes)`, { offset });
    }
    this.put(offset, buf);
    this.length = Math.max(this.length, offset + buf.length);
  }

  async size(): Promise<number> {
    this.check();
    return this.length;
  }

  async truncate(length: number): Promise<void> {
    this.check();
    if (this.readOnly) throw new ImageError("read-only", "memory image is read-only", { path: this.path });
    if (length > this.maxSize)
      throw new ImageError("io", "truncate past the memory image cap", { offset: length });
    if (length < this.length) {
      const firstDead = Math.ceil(length / MEMORY_CHUNK);
      for (const idx of [...this.chunks.keys()]) if (idx >= firstDead) this.chunks.delete(idx);
      const partial = this.chunks.get(Math.floor(length / MEMORY_CHUNK));
      if (partial) partial.fill(0, length % MEMORY_CHUNK);
    }
    this.length = length;
  }

  async flush(): Promise<void> {
    this.check();
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check();
    if (this.readOnly) throw new ImageError("read-only", "memory image is read-only", { path: this.path });
    const end = Math.min(offset + length, this.length);
    let pos = offset;
    while (pos < end) {
      const idx = Math.floor(pos / MEMORY_CHUNK);
      const within = pos - idx * MEMORY_CHUNK;
      const n = Math.min(MEMORY_CHUNK - within, end - pos);
      if (n === MEMORY_CHUNK) this.chunks.delete(idx);
      else this.chunks.get(idx)?.fill(0, within, within + n);
      pos += n;
    }
  }

  async dataRanges(offset: number, length: number): Promise<{ offset: number; length: number }[]> {
    this.check();
    const end = Math.min(offset + length, this.length);
    const out: { offset: number; length: number }[] = [];
    let pos = offset;
    while (pos < end) {
      const idx = Math.floor(pos / MEMORY_CHUNK);
      const next = Math.min((idx + 1) * MEMORY_CHUNK, end);
      if (this.chunks.has(idx)) {
        const last = out[out.length - 1];
        if (last && last.offset + last.length === pos) last.length += next - pos;
        else out.push({ offset: pos, length: next - pos });
      }
      pos = next;
    }
    return out;
  }

  async allocatedBytes(): Promise<number> {
    return this.chunks.size * MEMORY_CHUNK;
  }

  /** A copy of the whole contents (tests). */
  async bytes(): Promise<Uint8Array> {
    const out = new Uint8Array(this.length);
    await this.read(0, out);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
