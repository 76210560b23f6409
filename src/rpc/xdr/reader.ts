// XdrReader: decodes RFC 4506 primitives from a Buffer. Every variable-length item is checked
// against its declared maximum AND the bytes actually left BEFORE anything is allocated.
import { xdrError } from "./xdr-error.js";

export class XdrReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos)
      throw xdrError(`XDR: truncated ${what}: need ${n} bytes, ${this.remaining} left`);
  }

  /** RFC 4506 §4.1 signed 32-bit integer, big-endian. */
  int(): number {
    this.need(4, "int");
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** RFC 4506 §4.2 unsigned 32-bit integer. */
  uint(): number {
    this.need(4, "unsigned int");
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** RFC 4506 §4.5 hyper (signed 64-bit). */
  hyper(): bigint {
    this.need(8, "hyper");
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** RFC 4506 §4.5 unsigned hyper. */
  uhyper(): bigint {
    this.need(8, "unsigned hyper");
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * A hyper as a number when it is a safe integer, else as a bigint (what toNumber(hyper())
   * gives, without building the bigint for the common case).
   */
  hyperNumber(): number | bigint {
    this.need(8, "hyper");
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    // -2^53 + 1 (MIN_SAFE_INTEGER) is hi -2^21 with a non-zero lo
    if (hi < 0x200000 && (hi > -0x200000 || (hi === -0x200000 && lo !== 0))) {
      this.pos += 8;
      return hi * 0x100000000 + lo;
    }
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** An unsigned hyper as a number when it is a safe integer, else as a bigint. */
  uhyperNumber(): number | bigint {
    this.need(8, "unsigned hyper");
    const hi = this.buf.readUInt32BE(this.pos);
    if (hi < 0x200000) {
      const lo = this.buf.readUInt32BE(this.pos + 4);
      this.pos += 8;
      return hi * 0x100000000 + lo;
    }
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** 16 opaque bytes (a uuid) as libvirt's virUUIDFormat text, 8-4-4-4-12 lowercase hex. */
  uuidString(): string {
    this.need(16, "fixed opaque");
    const h = this.buf.toString("hex", this.pos, this.pos + 16);
    this.pos += 16;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  /** RFC 4506 §4.4 boolean: an enum whose only legal values are 0 and 1. */
  bool(): boolean {
    const v = this.int();
    if (v !== 0 && v !== 1) throw xdrError(`XDR: bad boolean value ${v}`);
    return v === 1;
  }

  float(): number {
    this.need(4, "float");
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8, "double");
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** RFC 4506 §4.9 fixed-length opaque: n bytes plus padding to a multiple of 4. */
  fixedOpaque(n: number): Buffer {
    const padded = (n + 3) & ~3;
    this.need(padded, "fixed opaque");
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.checkPadding(this.pos + n, this.pos + padded);
    this.pos += padded;
    return out;
  }

  /** RFC 4506 §4.10 variable-length opaque<max>. */
  varOpaque(max: number): Buffer {
    const n = this.length(max, "opaque");
    return this.fixedOpaque(n);
  }

  /** RFC 4506 §4.11 string<max>: bytes are UTF-8 here, as libvirt passes C strings. */
  string(max: number): string {
    const n = this.length(max, "string");
    const padded = (n + 3) & ~3;
    this.need(padded, "string");
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.checkPadding(this.pos + n, this.pos + padded);
    this.pos += padded;
    return s;
  }

  /**
   * Reads a length word for a variable item and checks it against the declared maximum and
   * against the bytes left (each element takes at least `minElemSize` bytes), so a hostile
   * length can never trigger a large allocation.
   */
  length(max: number, what: string, minElemSize = 1): number {
    const n = this.uint();
    if (n > max) throw xdrError(`XDR: ${what} length ${n} exceeds maximum ${max}`);
    if (n * minElemSize > this.remaining) {
      throw xdrError(`XDR: ${what} length ${n} exceeds the ${this.remaining} bytes left`);
    }
    return n;
  }

  private checkPadding(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (this.buf[i] !== 0) throw xdrError("XDR: non-zero padding");
    }
  }
}
