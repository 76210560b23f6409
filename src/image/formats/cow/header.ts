// User-mode-Linux COW headers, big-endian. v2 as qemu's old block/cow.c laid it out (natural C
// alignment: 1056 bytes, bitmap right after, data at the next 512-byte boundary); v3 as UML's
// cow_user.c (packed 4128 bytes, bitmap after the header, data aligned to `alignment`).

import { ImageError } from "../../errors.js";

export const COW_MAGIC = 0x4f4f4f4d; // "OOOM"
export const COW_V2_HEADER_SIZE = 1056;
export const COW_V2_PATH_LEN = 1024;
export const COW_V3_HEADER_SIZE = 4128;
export const COW_V3_PATH_LEN = 4096;

export interface CowHeader {
  version: 2 | 3;
  backingFile: string;
  mtime: number;
  size: number;
  sectorSize: number;
  /** v3 only: data area alignment (v2: 512). */
  alignment: number;
  bitmapOffset: number;
  dataOffset: number;
}

export function isCow(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return dv.getUint32(0) === COW_MAGIC && (dv.getUint32(4) === 2 || dv.getUint32(4) === 3);
}

function cstr(b: Uint8Array, off: number, len: number): string {
  const s = Buffer.from(b.buffer, b.byteOffset + off, len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? len : z).toString("utf8");
}

export function decodeCowHeader(b: Uint8Array, path?: string): CowHeader {
  const bad = (m: string) => new ImageError("format", m, { path });
  if (b.length < COW_V2_HEADER_SIZE) throw bad("Image not in COW format");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0) !== COW_MAGIC) throw bad("Image not in COW format");
  const version = dv.getUint32(4);
  let h: CowHeader;
  if (version === 2) {
    const size = Number(dv.getBigUint64(1040));
    h = {
      version: 2,
      backingFile: cstr(b, 8, COW_V2_PATH_LEN),
      mtime: dv.getInt32(1032),
      size,
      sectorSize: dv.getUint32(1048),
      alignment: 512,
      bitmapOffset: COW_V2_HEADER_SIZE,
      dataOffset: 0,
    };
  } else if (version === 3) {
    if (b.length < COW_V3_HEADER_SIZE) throw bad("COW v3 header truncated");
    h = {
      version: 3,
      mtime: dv.getUint32(8),
      size: Number(dv.getBigUint64(12)),
      sectorSize: dv.getUint32(20),
      alignment: dv.getUint32(24),
      backingFile: cstr(b, 32, COW_V3_PATH_LEN),
      bitmapOffset: COW_V3_HEADER_SIZE,
      dataOffset: 0,
    };
    if (dv.getUint32(28) !== 0)
      throw new ImageError("unsupported", "COW v3 format other than bitmap", { path });
  } else {
    throw new ImageError(
      "unsupported",
      `'cow' driver does not support the feature 'COW version ${version}'`,
      { path },
    );
  }
  if (h.sectorSize !== 512) throw bad(`unsupported COW sector size ${h.sectorSize}`);
  if (h.alignment < 512 || h.alignment > 1 << 20 || (h.alignment & (h.alignment - 1)) !== 0) {
    throw bad(`invalid COW alignment ${h.alignment}`);
  }
  if (!Number.isSafeInteger(h.size) || h.size > 2 ** 53) throw bad("Image too large");
  h.dataOffset = cowDataOffset(h);
  return h;
}

export function cowBitmapBytes(size: number): number {
  return Math.ceil(Math.floor(size / 512) / 8);
}

export function cowDataOffset(h: Pick<CowHeader, "size" | "alignment" | "bitmapOffset">): number {
  const end = h.bitmapOffset + cowBitmapBytes(h.size);
  return Math.ceil(end / h.alignment) * h.alignment;
}

export function encodeCowHeader(h: CowHeader): Uint8Array {
  const enc = (s: string, max: number) => {
    const n = Buffer.from(s, "utf8");
    if (n.length >= max) throw new ImageError("invalid-argument", "Backing file name too long");
    return n;
  };
  if (h.version === 2) {
    const b = new Uint8Array(COW_V2_HEADER_SIZE);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, COW_MAGIC);
    dv.setUint32(4, 2);
    b.set(enc(h.backingFile, COW_V2_PATH_LEN), 8);
    dv.setInt32(1032, h.mtime);
    dv.setBigUint64(1040, BigInt(h.size));
    dv.setUint32(1048, h.sectorSize);
    return b;
  }
  const b = new Uint8Array(COW_V3_HEADER_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, COW_MAGIC);
  dv.setUint32(4, 3);
  dv.setUint32(8, h.mtime >>> 0);
  dv.setBigUint64(12, BigInt(h.size));
  dv.setUint32(20, h.sectorSize);
  dv.setUint32(24, h.alignment);
  dv.setUint32(28, 0);
  b.set(enc(h.backingFile, COW_V3_PATH_LEN), 32);
  return b;
}
