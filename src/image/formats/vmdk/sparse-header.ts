// VMDK hosted sparse extent header (VMware "Virtual Disk Format 1.1", section 5: SparseExtentHeader,
// 512 bytes little-endian) and the stream-optimized grain/metadata markers (section 6).

import { ImageError } from "../../errors.js";

export const VMDK4_MAGIC = 0x564d444b; // 'KDMV' read little-endian
export const FLAG_NL_DETECT = 1 << 0;
export const FLAG_RGD = 1 << 1;
export const FLAG_ZERO_GRAIN = 1 << 2;
export const FLAG_COMPRESS = 1 << 16;
export const FLAG_MARKER = 1 << 17;
export const COMPRESSION_DEFLATE = 1;
/** gdOffset value meaning "the grain directory is found via the footer" (stream-optimized). */
export const GD_AT_END = 0xffffffffffffffffn;
export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;

export interface SparseHeader {
  version: number;
  flags: number;
  capacity: number; // sectors
  grainSize: number; // sectors
  descriptorOffset: number; // sectors
  descriptorSize: number; // sectors
  numGTEsPerGT: number;
  rgdOffset: number; // sectors
  gdOffset: bigint; // sectors (GD_AT_END possible)
  overHead: number; // sectors
  uncleanShutdown: number;
  compressAlgorithm: number;
}

export function isVmdkSparse(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x4b && b[1] === 0x44 && b[2] === 0x4d && b[3] === 0x56;
}

export function decodeSparseHeader(b: Uint8Array, path?: string): SparseHeader {
  if (b.length < 512 || !isVmdkSparse(b))
    throw new ImageError("format", "Not a VMDK sparse extent", { path });
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const num = (o: number, what: string) => {
    const v = u64(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageError("format", `Invalid VMDK ${what}`, { path });
    return Number(v);
  };
  const h: SparseHeader = {
    version: dv.getUint32(4, true),
    flags: dv.getUint32(8, true),
    capacity: num(12, "capacity"),
    grainSize: num(20, "grain size"),
    descriptorOffset: num(28, "descriptor offset"),
    descriptorSize: num(36, "descriptor size"),
    numGTEsPerGT: dv.getUint32(44, true),
    rgdOffset: num(48, "redundant GD offset"),
    gdOffset: u64(56),
    overHead: num(64, "overhead"),
    uncleanShutdown: dv.getUint8(72),
    compressAlgorithm: dv.getUint16(77, true),
  };
  // The same limits qemu's vmdk_open_vmdk4 applies before sizing any table.
  if (h.version > 3) {
    throw new ImageError("unsupported", `Unsupported VMDK version ${h.version}`, { path });
  }
  if (h.grainSize === 0 || h.grainSize > 0x20000 || (h.grainSize & (h.grainSize - 1)) !== 0) {
    throw new ImageError("format", `Invalid granularity, image may be corrupt`, { path });
  }
  if (h.numGTEsPerGT === 0 || h.numGTEsPerGT > 512 * 1024) {
    throw new ImageError("format", "L2 table size too big", { path });
  }
  if (h.capacity > 2 ** 44) throw new ImageError("format", "Invalid VMDK capacity", { path });
  const gtCount = Math.ceil(h.capacity / h.grainSize / h.numGTEsPerGT);
  if (gtCount * 4 > 64 * 1024 * 1024) throw new ImageError("format", "L1 size too big", { path });
  return h;
}

export function encodeSparseHeader(h: SparseHeader): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, VMDK4_MAGIC, true);
  dv.setUint32(4, h.version, true);
  dv.setUint32(8, h.flags, true);
  dv.setBigUint64(12, BigInt(h.capacity), true);
  dv.setBigUint64(20, BigInt(h.grainSize), true);
  dv.setBigUint64(28, BigInt(h.descriptorOffset), true);
  dv.setBigUint64(36, BigInt(h.descriptorSize), true);
  dv.setUint32(44, h.numGTEsPerGT, true);
  dv.setBigUint64(48, BigInt(h.rgdOffset), true);
  dv.setBigUint64(56, h.gdOffset, true);
  dv.setBigUint64(64, BigInt(h.overHead), true);
  dv.setUint8(72, h.uncleanShutdown);
  // Newline-detection bytes: "\n", " ", "\r\n" (spec section 5, singleEndLineChar etc.).
  b[73] = 0x0a;
  b[74] = 0x20;
  b[75] = 0x0d;
  b[76] = 0x0a;
  dv.setUint16(77, h.compressAlgorithm, true);
  return b;
}

/** Layout qemu's vmdk_init_extent gives a new sparse extent of `sectors`. */
export function sparseLayout(sectors: number, grainSize = 128, gtes = 512) {
  const grains = Math.ceil(sectors / grainSize);
  const gtSectors = Math.ceil((gtes * 4) / 512);
  const gtCount = Math.ceil(grains / gtes);
  const gdSectors = Math.ceil((gtCount * 4) / 512);
  const descriptorOffset = 1;
  const descriptorSize = 20;
  const rgdOffset = descriptorOffset + descriptorSize;
  const gdOffset = rgdOffset + gdSectors + gtSectors * gtCount;
  const overHead = Math.ceil((gdOffset + gdSectors + gtSectors * gtCount) / grainSize) * grainSize;
  return {
    grains,
    gtSectors,
    gtCount,
    gdSectors,
    descriptorOffset,
    descriptorSize,
    rgdOffset,
    gdOffset,
    overHead,
  };
}
