// qcow (version 1) header: 48 big-endian bytes, then the backing file name. Field layout and the
// limits checked follow qemu's block/qcow.c (QCowHeader).

import { ImageError } from "../../errors.js";

export const QCOW_MAGIC = 0x514649fb; // 'QFI\xfb'
export const QCOW_VERSION = 1;
export const QCOW_HEADER_SIZE = 48;
export const QCOW_CRYPT_NONE = 0;
export const QCOW_CRYPT_AES = 1;
export const QCOW_OFLAG_COMPRESSED = 1n << 63n;

export interface QcowHeader {
  magic: number;
  version: number;
  backingFileOffset: number;
  backingFileSize: number;
  mtime: number;
  size: number;
  clusterBits: number;
  l2Bits: number;
  cryptMethod: number;
  l1TableOffset: number;
}

export function isQcow(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return dv.getUint32(0) === QCOW_MAGIC && dv.getUint32(4) === QCOW_VERSION;
}

export function decodeQcowHeader(buf: Uint8Array, path?: string): QcowHeader {
  if (buf.length < QCOW_HEADER_SIZE) throw new ImageError("format", "Image not in qcow format", { path });
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h: QcowHeader = {
    magic: dv.getUint32(0),
    version: dv.getUint32(4),
    backingFileOffset: Number(dv.getBigUint64(8)),
    backingFileSize: dv.getUint32(16),
    mtime: dv.getUint32(20),
    size: Number(dv.getBigUint64(24)),
    clusterBits: dv.getUint8(32),
    l2Bits: dv.getUint8(33),
    cryptMethod: dv.getUint32(36),
    l1TableOffset: Number(dv.getBigUint64(40)),
  };
  const bad = (m: string) => new ImageError("format", m, { path });
  if (h.magic !== QCOW_MAGIC) throw bad("Image not in qcow format");
  if (h.version !== QCOW_VERSION)
    throw new ImageError(
      "unsupported",
      `qcow (v1) does not support qcow version ${h.version}` +
        (h.version === 2 || h.version === 3 ? "\nTry the 'qcow2' driver instead." : ""),
      { path },
    );
  if (h.size <= 1) throw bad("Image size is too small (must be at least 2 bytes)");
  if (h.clusterBits < 9 || h.clusterBits > 16) throw bad("Cluster size must be between 512 and 64k");
  // L2 tables are one cluster or less in qemu: 512 bytes .. 64 KiB.
  if (h.l2Bits < 6 || h.l2Bits > 13) throw bad("L2 table size must be between 512 and 64k");
  if (h.cryptMethod > QCOW_CRYPT_AES) throw bad(`invalid encryption method in qcow header`);
  if (!Number.isSafeInteger(h.size) || h.size > 2 ** 56) throw bad("Image too large");
  if (h.backingFileOffset !== 0 && h.backingFileSize > 1023) throw bad("Backing file name too long");
  return h;
}

export function encodeQcowHeader(h: QcowHeader): Uint8Array {
  const b = new Uint8Array(QCOW_HEADER_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, h.magic);
  dv.setUint32(4, h.version);
  dv.setBigUint64(8, BigInt(h.backingFileOffset));
  dv.setUint32(16, h.backingFileSize);
  dv.setUint32(20, h.mtime);
  dv.setBigUint64(24, BigInt(h.size));
  dv.setUint8(32, h.clusterBits);
  dv.setUint8(33, h.l2Bits);
  dv.setUint32(36, h.cryptMethod);
  dv.setBigUint64(40, BigInt(h.l1TableOffset));
  return b;
}

/** L1 entries needed for `size` bytes. */
export function qcowL1Size(h: Pick<QcowHeader, "size" | "clusterBits" | "l2Bits">): number {
  const shift = h.clusterBits + h.l2Bits;
  return Math.ceil(h.size / 2 ** shift);
}
