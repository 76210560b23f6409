// Message framing (virnetprotocol.x "RPC wire format"): a 4-byte big-endian length that counts
// itself, then header + payload. FrameDecoder reassembles frames from any split of the stream and
// validates the length word before buffering anything for the frame.
import { XdrReader, XdrWriter, xdrError } from "../xdr/index.js";
import { VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_LEN_MAX, VIR_NET_MESSAGE_MAX } from "./constants.js";
import { decodeHeader, encodeHeader, type MessageHeader } from "./header.js";

export interface Frame {
  header: MessageHeader;
  /** The payload (bytes after the header). */
  body: Buffer;
}

/** Encodes header + payload into one length-prefixed frame. */
export function encodeFrame(header: MessageHeader, payload?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(VIR_NET_MESSAGE_MAX + VIR_NET_MESSAGE_LEN_MAX);
  w.uint(0);
  encodeHeader(w, header);
  payload?.(w);
  w.patchUint(0, w.length);
  return w.toBuffer();
}

/** What encodeReply needs of a codec (a Codec, or a procedure's direct ret encoder). */
export interface Encoder {
  encode(w: XdrWriter, v: any): void;
}

/**
 * The frame answering call `h`: its prog, vers, proc and serial with the given type and status,
 * and `value` encoded by `enc`. The header words come from a decoded header (in range by
 * construction) and are written without encodeFrame's header object and callback.
 */
export function encodeReply(
  h: MessageHeader,
  type: number,
  status: number,
  enc: Encoder,
  value: unknown,
): Buffer {
  const w = new XdrWriter(VIR_NET_MESSAGE_MAX + VIR_NET_MESSAGE_LEN_MAX);
  w.frameHeader(h.prog, h.vers, h.proc, type, h.serial, status);
  enc.encode(w, value);
  w.patchUint(0, w.length);
  return w.toBuffer();
}

/** Decodes one complete frame (length word included). */
export function decodeFrame(buf: Buffer): Frame {
  const len = checkLength(buf.readUInt32BE(0));
  if (buf.length !== len) throw xdrError(`frame length ${len} does not match ${buf.length} bytes`);
  const r = new XdrReader(buf, VIR_NET_MESSAGE_LEN_MAX);
  const header = decodeHeader(r);
  return { header, body: buf.subarray(r.offset) };
}

/** libvirt virNetMessageDecodeLength: the length counts itself and may not exceed MAX + 4. */
function checkLength(len: number): number {
  if (len < VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX) {
    throw xdrError(`packet ${len} bytes received from client too small`);
  }
  if (len - VIR_NET_MESSAGE_LEN_MAX > VIR_NET_MESSAGE_MAX) {
    throw xdrError(`packet ${len} bytes received from client too large, want ${VIR_NET_MESSAGE_MAX}`);
  }
  return len;
}

/** Incremental reassembly: push() any chunk, get back every frame it completes. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private want = -1;

  /** Bytes received but not yet part of a completed frame. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * push()'s common case without its bookkeeping: nothing is buffered and `chunk` is exactly one
   * frame (one call per read) → that frame, its length checked as push() checks it; else null,
   * and the chunk is left for push().
   */
  whole(chunk: Buffer): Buffer | null {
    if (this.buffered !== 0 || chunk.length < VIR_NET_MESSAGE_LEN_MAX) return null;
    const len = chunk.readUInt32BE(0);
    if (len !== chunk.length) return null;
    checkLength(len);
    return chunk;
  }

  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      if (this.want < 0) {
        if (this.buffered < VIR_NET_MESSAGE_LEN_MAX) break;
        this.want = checkLength(this.peekLength());
      }
      if (this.buffered < this.want) break;
      out.push(this.take(this.want));
      this.want = -1;
    }
    return out;
  }

  private peekLength(): number {
    const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks).subarray(0, 4);
    return head.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      // the whole frame sits in one received chunk: hand out a view, no copy
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const frame = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const use = Math.min(c.length, n - filled);
      c.copy(frame, filled, 0, use);
      filled += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    this.buffered -= n;
    return frame;
  }
}
