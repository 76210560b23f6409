// VDI (VirtualBox) header v1.1: decode/encode of the 512-byte header at offset 0. Facts follow
// qemu's block/vdi.c (little-endian fields, signature 0xbeda107f at 0x40, version 1.1).

import { ImageError } from "../../errors.js";

export const VDI_SIGNATURE = 0xbeda107f;
export const VDI_VERSION_1_1 = 0x00010001;
export const VDI_HEADER_SIZE = 0x180; // header_size field value for v1.1
export const VDI_TEXT = "<<< QEMU VM Virtual Disk Image >>>\n";
export const VDI_TYPE_DYNAMIC = 1;
export const VDI_TYPE_STATIC = 2;
/** Block map values: never written, and "reads as zero" (VirtualBox's discard marker). */
export const VDI_UNALLOCATED = 0xffffffff;
export const VDI_DISCARDED = 0xfffffffe;
export const VDI_BLOCK_SIZE = 1 << 20;
/**
 * qemu refuses images whose block map would exceed this many entries (VDI_BLOCKS_IN_IMAGE_MAX:
 * the map, in bytes rounded up to a sector, stays within INT_MAX).
 */
export const VDI_BLOCKS_MAX = (2 ** 31 - 512) / 4;

export interface VdiHeader {
  text: string;
  signature: number;
  version: number;
  headerSize: number;
  imageType: number;
  imageFlags: number;
  description: string;
  offsetBmap: number;
  offsetData: number;
  cylinders: number;
  heads: number;
  sectors: number;
  sectorSize: number;
  diskSize: number;
  blockSize: number;
  blockExtra: number;
  blocksInImage: number;
  blocksAllocated: number;
  uuidImage: Uint8Array;
  uuidLastSnap: Uint8Array;
  uuidLink: Uint8Array;
  uuidParent: Uint8Array;
}

export function isVdi(buf: Uint8Array): boolean {
  if (buf.length < 0x48) return false;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.readUInt32LE(0x40) === VDI_SIGNATURE;
}

export function decodeVdiHeader(buf: Uint8Array, path?: string): VdiHeader {
  if (buf.length < 512) throw new ImageError("format", "VDI header truncated", { path });
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const cstr = (off: number, len: number) => {
    const s = b.subarray(off, off + len);
    const z = s.indexOf(0);
    return s.subarray(0, z < 0 ? len : z).toString("latin1");
  };
  const h: VdiHeader = {
    text: cstr(0, 0x40),
    signature: b.readUInt32LE(0x40),
    version: b.readUInt32LE(0x44),
    headerSize: b.readUInt32LE(0x48),
    imageType: b.readUInt32LE(0x4c),
    imageFlags: b.readUInt32LE(0x50),
    description: cstr(0x54, 256),
    offsetBmap: b.readUInt32LE(0x154),
    offsetData: b.readUInt32LE(0x158),
    cylinders: b.readUInt32LE(0x15c),
    heads: b.readUInt32LE(0x160),
    sectors: b.readUInt32LE(0x164),
    sectorSize: b.readUInt32LE(0x168),
    diskSize: Number(b.readBigUInt64LE(0x170)),
    blockSize: b.readUInt32LE(0x178),
    blockExtra: b.readUInt32LE(0x17c),
    blocksInImage: b.readUInt32LE(0x180),
    blocksAllocated: b.readUInt32LE(0x184),
    uuidImage: b.subarray(0x188, 0x198),
    uuidLastSnap: b.subarray(0x198, 0x1a8),
    uuidLink: b.subarray(0x1a8, 0x1b8),
    uuidParent: b.subarray(0x1b8, 0x1c8),
  };
  validate(h, path, b.readBigUInt64LE(0x170));
  return h;
}

// The checks qemu's vdi_open makes before trusting the header (sizes are bounded before any
// allocation of the block map).
function validate(h: VdiHeader, path?: string, rawDiskSize = BigInt(h.diskSize)): void {
  const bad = (m: string) => new ImageError("format", m, { path });
  // qemu checks the disk size first (a header of another format fails here), then rounds an odd
  // size up to whole sectors.
  if (rawDiskSize > 0x1fffff8000000n)
    throw bad(
      `Unsupported VDI image size (size is 0x${rawDiskSize.toString(16)}, max supported is 0x1fffff8000000)`,
    );
  if (h.diskSize % 512 !== 0) h.diskSize = Math.ceil(h.diskSize / 512) * 512;
  if (h.signature !== VDI_SIGNATURE)
    throw bad(`Image not in VDI format (bad signature ${(h.signature >>> 0).toString(16).padStart(8, "0")})`);
  if (h.version !== VDI_VERSION_1_1) {
    throw new ImageError(
      "unsupported",
      `unsupported VDI image (version ${h.version >>> 16}.${h.version & 0xffff})`,
      { path },
    );
  }
  if (h.offsetBmap % 512 !== 0)
    throw bad(`unsupported VDI image (unaligned block map offset 0x${h.offsetBmap.toString(16)})`);
  if (h.offsetData % 512 !== 0)
    throw bad(`unsupported VDI image (unaligned data offset 0x${h.offsetData.toString(16)})`);
  if (h.sectorSize !== 512) throw bad(`unsupported VDI image (sector size ${h.sectorSize} is not 512)`);
  if (h.blockSize !== VDI_BLOCK_SIZE)
    throw bad(`unsupported VDI image (block size ${h.blockSize} is not 1048576)`);
  if (h.diskSize > h.blocksInImage * h.blockSize)
    throw bad(
      `unsupported VDI image (disk size ${h.diskSize}, image bitmap has room for ${h.blocksInImage * h.blockSize})`,
    );
  const isNull = (u: Uint8Array) => u.every((x) => x === 0);
  if (!isNull(h.uuidLink)) throw bad("unsupported VDI image (non-NULL link UUID)");
  if (!isNull(h.uuidParent)) throw bad("unsupported VDI image (non-NULL parent UUID)");
  if (h.blocksInImage > VDI_BLOCKS_MAX)
    throw bad(
      `unsupported VDI image (too many blocks ${h.blocksInImage}, max is ${Math.floor(VDI_BLOCKS_MAX)})`,
    );
  // qemu ignores block_extra and takes blocks_allocated as the next block to allocate whatever
  // it says. (Ours alone: a block map must not run into the data area, which bounds the map's
  // allocation by the header's own offsets; qemu-img's images never do.)
  if (h.offsetBmap < 512 || h.offsetData < h.offsetBmap + h.blocksInImage * 4)
    throw bad("unsupported VDI image (block map overlaps data)");
}

export function encodeVdiHeader(h: VdiHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.text, 0, 0x40, "latin1");
  b.writeUInt32LE(h.signature, 0x40);
  b.writeUInt32LE(h.version, 0x44);
  b.writeUInt32LE(h.headerSize, 0x48);
  b.writeUInt32LE(h.imageType, 0x4c);
  b.writeUInt32LE(h.imageFlags, 0x50);
  b.write(h.description, 0x54, 255, "latin1");
  b.writeUInt32LE(h.offsetBmap, 0x154);
  b.writeUInt32LE(h.offsetData, 0x158);
  b.writeUInt32LE(h.cylinders, 0x15c);
  b.writeUInt32LE(h.heads, 0x160);
  b.writeUInt32LE(h.sectors, 0x164);
  b.writeUInt32LE(h.sectorSize, 0x168);
  b.writeBigUInt64LE(BigInt(h.diskSize), 0x170);
  b.writeUInt32LE(h.blockSize, 0x178);
  b.writeUInt32LE(h.blockExtra, 0x17c);
  b.writeUInt32LE(h.blocksInImage, 0x180);
  b.writeUInt32LE(h.blocksAllocated, 0x184);
  b.set(h.uuidImage, 0x188);
  b.set(h.uuidLastSnap, 0x198);
  b.set(h.uuidLink, 0x1a8);
  b.set(h.uuidParent, 0x1b8);
  return b;
}
