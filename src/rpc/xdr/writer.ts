// XdrWriter: encodes RFC 4506 primitives into a growing Buffer. It refuses to grow past `limit`
// (libvirt's VIR_NET_MESSAGE_MAX by default) so an encoder can never build an unsendable message.
import { xdrError } from "./xdr-error.js";

/**
 * First buffer size: most replies (refs, numbers, short lists) fit in 256 bytes, and a slice
 * this size takes a quarter of what 1 KiB did from Node's 8 KiB allocUnsafe pool, so a new pool
 * (a malloc'd ArrayBuffer, later swept) is needed every 32 replies instead of every 8.
 */
const INITIAL = 256;
/** Longest string string() tries to copy as ASCII in JS before using Buffer's UTF-8 encoder. */
const SHORT_STRING = 64;

function isAscii(v: string): boolean {
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Value of one hex digit's char code, -1 for anything else. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  // Buffers come from allocUnsafe (the first from Node's shared 8 KiB pool): a zero-filled
  // Buffer.alloc per reply cost about 2.5 us, a tenth of a cheap call's encoding. Nothing stale can
  // leak: every method writes each byte it advances over (padding included) and toBuffer() ends at pos.
  constructor(private readonly limit = 32 * 1024 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.min(INITIAL, limit));
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
    const next = Buffer.allocUnsafe(Math.min(size, this.limit));
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
    if (typeof v === "number" && Number.isSafeInteger(v)) {
      // a safe integer as two words without a BigInt (memory sizes, times, counters)
      this.reserve(8);
      const hi = Math.floor(v / 0x100000000);
      this.buf.writeInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(v - hi * 0x100000000, this.pos + 4);
      this.pos += 8;
      return;
    }
    const b = BigInt(v);
    if (b < -(1n << 63n) || b >= 1n << 63n) throw xdrError(`XDR: hyper out of range: ${b}`);
    this.reserve(8);
    this.buf.writeBigInt64BE(b, this.pos);
    this.pos += 8;
  }

  uhyper(v: bigint | number): void {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) {
      this.reserve(8);
      const hi = Math.floor(v / 0x100000000);
      this.buf.writeUInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(v - hi * 0x100000000, this.pos + 4);
      this.pos += 8;
      return;
    }
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
    if (hex.length !== 2 * n) throw xdrError(`XDR: '${hex}' is not ${n} bytes of hex`);
    // digit by digit in JS: a native Buffer.write call costs more than 16 table lookups
    const buf = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) {
      const hi = hexValue(hex.charCodeAt(2 * i));
      const lo = hexValue(hex.charCodeAt(2 * i + 1));
      if (hi < 0 || lo < 0) throw xdrError(`XDR: '${hex}' is not ${n} bytes of hex`);
      buf[p + i] = (hi << 4) | lo;
    }
    for (let i = n; i < padded; i++) buf[p + i] = 0;
    this.pos += padded;
  }

  /**
   * A uuid in canonical 8-4-4-4-12 text as its 16 bytes, the dashes skipped in place (removing
   * them first with replaceAll cost more than the rest of a domain ref's encoding).
   */
  canonicalUuid(v: string): void {
    this.reserve(16);
    const buf = this.buf;
    const p = this.pos;
    let j = 0;
    for (let i = 0; i < 16; i++) {
      if (j === 8 || j === 13 || j === 18 || j === 23) j++;
      const hi = hexValue(v.charCodeAt(j));
      const lo = hexValue(v.charCodeAt(j + 1));
      if (hi < 0 || lo < 0) throw xdrError(`XDR: '${v.replaceAll("-", "")}' is not 16 bytes of hex`);
      buf[p + i] = (hi << 4) | lo;
      j += 2;
    }
    this.pos += 16;
  }

  varOpaque(v: Uint8Array, max: number): void {
    if (v.length > max) throw xdrError(`XDR: opaque of ${v.length} bytes exceeds maximum ${max}`);
    this.uint(v.length);
    this.fixedOpaque(v, v.length);
  }

  string(v: string, max: number): void {
    if (typeof v !== "string") throw xdrError(`XDR: expected a string, got ${typeof v}`);
    const n = v.length;
    if (n <= SHORT_STRING && n <= max && isAscii(v)) {
      // Short ASCII strings (names, paths in listings) are copied a code unit at a time: cheaper
      // than the two native calls below.
      const padded = (n + 3) & ~3;
      this.reserve(4 + padded);
      const buf = this.buf;
      buf.writeUInt32BE(n, this.pos);
      const p = this.pos + 4;
      for (let i = 0; i < n; i++) buf[p + i] = v.charCodeAt(i);
      for (let i = n; i < padded; i++) buf[p + i] = 0;
      this.pos += 4 + padded;
      return;
    }
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

  /**
   * A message's first seven words: a zero length word (patched once the payload is written) and
   * the header. The words are a decoded header's own fields, so unchecked (uint/int check each).
   */
  frameHeader(prog: number, vers: number, proc: number, type: number, serial: number, status: number): void {
    this.reserve(28);
    const b = this.buf;
    const p = this.pos;
    b.writeUInt32BE(0, p);
    b.writeUInt32BE(prog >>> 0, p + 4);
    b.writeUInt32BE(vers >>> 0, p + 8);
    b.writeInt32BE(proc | 0, p + 12);
    b.writeInt32BE(type | 0, p + 16);
    b.writeUInt32BE(serial >>> 0, p + 20);
    b.writeInt32BE(status | 0, p + 24);
    this.pos = p + 28;
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
