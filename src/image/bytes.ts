// Endian helpers for on-disk structures. 64-bit fields become JavaScript numbers: every offset a
// format can meaningfully hold fits in 2^53, and larger values are refused rather than rounded.

import { ImageError } from "./errors.js";

export function be16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

export function be32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Reads a big-endian u64; throws 'format' when it does not fit in a safe integer. */
export function be64(b: Uint8Array, off: number, what = "value"): number {
  const hi = be32(b, off);
  const lo = be32(b, off + 4);
  if (hi >= 0x200000)
    throw new ImageError(
      "format",
      `${what} is too large (${hi.toString(16)}${lo.toString(16).padStart(8, "0")})`,
    );
  return hi * 0x100000000 + lo;
}

/** u64 split in halves, for fields whose high bits are flags (qcow2 L1/L2 entries). */
export function be64parts(b: Uint8Array, off: number): [number, number] {
  return [be32(b, off), be32(b, off + 4)];
}

export function putBe16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

export function putBe32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

export function putBe64(b: Uint8Array, off: number, v: number): void {
  putBe32(b, off, Math.floor(v / 0x100000000));
  putBe32(b, off + 4, v >>> 0);
}

export function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function putLe32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}
