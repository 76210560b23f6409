// A bounded-by-caller async queue of byte chunks: the session pushes the data of incoming
// VIR_NET_STREAM packets (and the lengths of VIR_NET_STREAM_HOLE packets), the driver consumes
// them as an AsyncIterable (upload streams). Only sparse consumers (sparse()) accept holes.
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";

export class StreamQueue implements AsyncIterable<Uint8Array> {
  private readonly chunks: (Uint8Array | number)[] = [];
  private bytes = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  /**
   * `onLow` is called whenever the consumer takes a chunk and the queue holds at most `lowWater`
   * bytes, so the producer (the client socket) can resume reading.
   */
  constructor(
    private readonly lowWater = 1 << 20,
    private readonly onLow: () => void = () => {},
  ) {}

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.notify();
  }

  /** A hole of `length` bytes in the client's data. */
  pushHole(length: number): void {
    this.chunks.push(length);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(e: Error): void {
    this.failure = e;
    this.notify();
  }

  get buffered(): number {
    return this.bytes;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for await (const c of this.sparse()) {
      // libvirtd's daemonStreamHandleHole on a stream opened without the sparse flag
      if (typeof c === "number") throw virError(ErrorCode.RPC, ErrorDomain.RPC, "Unexpected stream hole");
      yield c;
    }
  }

  /** Chunks and holes (numbers) in the client's order. */
  async *sparse(): AsyncGenerator<Uint8Array | number> {
    for (;;) {
      if (this.failure) throw this.failure;
      const c = this.chunks.shift();
      if (c !== undefined) {
        if (typeof c !== "number") {
          this.bytes -= c.length;
          if (this.bytes <= this.lowWater) this.onLow();
        }
        yield c;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
  }
}
