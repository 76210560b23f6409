// XdrWriter: encodes RFC 4506 primitives into a growing Buffer. It refuses to grow past `limit`
// (libvirt's VIR_NET_MESSAGE_MAX by default) so an encoder can never build an unsendable message.
import { xdrError } from "./xdr-error.js";

const INITIAL = 1024;

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(private readonly limit = 32 * 1024 * 1024) {
    this.buf = Buffer.alloc(Math.min(INITIAL, limit));
  }

  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    const want = this.pos + n;
    if (want > this.limit) throw xdrError(`XDR: message would exceed ${this.limit} bytes`);
    if (want <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < want) size *= 2;
    const next = Buffer.alloc(Math.min(size, this.limit));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff)
      throw xdrError(`XDR: int out of range: ${v}`);
    this.reserve(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw xdrError(`XDR: unsigned int out of range: ${v}`);
    this.reserve(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  hyper(v: bigint | number): void {
    const b = BigInt(v);
    if (b < -(1n << 63n) || b >= 1n << 63n) throw xdrError(`XDR: hyper out of range: ${b}`);
    this.reserve(8);
    this.buf.writeBigInt64BE(b, this.pos);
    this.pos += 8;
  }

  uhyper(v: bigint | number): void {
    const b = BigInt(v);
    if (b < 0n || b >= 1n << 64n) throw xdrError(`XDR: unsigned hyper out of range: ${b}`);
    this.reserve(8);
    this.buf.writeBigUInt64BE(b, this.pos);
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.int(v ? 1 : 0);
  }

  float(v: number): void {
    this.reserve(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** Fixed opaque: exactly n bytes (shorter input is zero-filled), padded to 4. */
  fixedOpaque(v: Uint8Array, n: number): void {
    if (v.length > n) throw xdrError(`XDR: fixed opaque of ${v.length} bytes exceeds ${n}`);
    const padded = (n + 3) & ~3;
    this.reserve(padded);
    this.buf.set(v, this.pos);
    if (v.length < padded) this.buf.fill(0, this.pos + v.length, this.pos + padded);
    this.pos += padded;
  }

  /** Writes n bytes given as 2n hex digits (uuids), padded to 4; refuses anything else. */
  hexOpaque(hex: string, n: number): void {
    const padded = (n + 3) & ~3;
    this.reserve(padded);
    if (hex.length !== 2 * n || this.buf.write(hex, this.pos, n, "hex") !== n) {
      throw xdrError(`XDR: '${hex}' is not ${n} bytes of hex`);
    }
    if (n < padded) this.buf.fill(0, this.pos + n, this.pos + padded);
    this.pos += padded;
  }

  varOpaque(v: Uint8Array, max: number): void {
    if (v.length > max) throw xdrError(`XDR: opaque of ${v.length} bytes exceeds maximum ${max}`);
    this.uint(v.length);
    this.fixedOpaque(v, v.length);
  }

  string(v: string, max: number): void {
    if (typeof v !== "string") throw xdrError(`XDR: expected a string, got ${typeof v}`);
    const len = Buffer.byteLength(v, "utf8");
    if (len > max) throw xdrError(`XDR: string of ${len} bytes exceeds maximum ${max}`);
    const padded = (len + 3) & ~3;
    this.reserve(4 + padded);
    this.buf.writeUInt32BE(len, this.pos);
    // encode straight into the message buffer: no temporary copy per string
    this.buf.write(v, this.pos + 4, len, "utf8");
    if (len < padded) this.buf.fill(0, this.pos + 4 + len, this.pos + 4 + padded);
    this.pos += 4 + padded;
  }

  /** Appends already-encoded bytes (stream payloads). */
  raw(v: Uint8Array): void {
    this.reserve(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Overwrites a previously written uint (used for the frame length word). */
  patchUint(at: number, v: number): void {
    this.buf.writeUInt32BE(v, at);
  }

  /** The bytes written so far (a view, not a copy: the writer is done once this is called). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
