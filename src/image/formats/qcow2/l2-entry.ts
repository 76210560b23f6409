// qcow2 L1/L2 entry codec (spec "Cluster mapping"): standard 64-bit entries, compressed-cluster
// descriptors and extended L2 entries with per-subcluster allocation/zero bitmaps.

import { be32, putBe32 } from "../../bytes.js";
import { ImageError } from "../../errors.js";

export const OFLAG_COPIED_HI = 0x80000000; // bit 63
export const OFLAG_COMPRESSED_HI = 0x40000000; // bit 62
export const OFLAG_ZERO_LO = 1; // bit 0 (standard L2 entries, version 3)
export const SUBCLUSTERS = 32;

export type ClusterKind = "unallocated" | "zero" | "normal" | "compressed";

export interface L2Mapping {
  kind: ClusterKind;
  /** Host offset of the cluster (normal, zero with preallocation) or of compressed data. */
  host: number;
  /** Compressed: bytes to read from `host`. */
  compressedSize: number;
  copied: boolean;
  /** Extended L2 only: allocation bits (1 = subcluster stored at host) and zero bits. */
  allocBits: number;
  zeroBits: number;
  /** Raw entry halves, for reserved-bit checks. */
  hi: number;
  lo: number;
}

/** Offset field of an L1/L2/refcount-table entry: bits 9..55. */
export function offsetOf(hi: number, lo: number): number {
  return (hi & 0x00ffffff) * 0x100000000 + ((lo & ~0x1ff) >>> 0);
}

/**
 * `dataFile`: with an external data file, offset 0 is a valid host offset; an entry is then
 * allocated when its COPIED flag is set (qemu's disambiguation).
 */
export function decodeL2(
  table: Uint8Array,
  index: number,
  extL2: boolean,
  clusterBits: number,
  dataFile = false,
): L2Mapping {
  const off = index * (extL2 ? 16 : 8);
  const hi = be32(table, off);
  const lo = be32(table, off + 4);
  const allocBits = extL2 ? be32(table, off + 12) : 0;
  const zeroBits = extL2 ? be32(table, off + 8) : 0;
  const copied = (hi & OFLAG_COPIED_HI) !== 0;
  const m: L2Mapping = {
    kind: "unallocated",
    host: 0,
    compressedSize: 0,
    copied,
    allocBits,
    zeroBits,
    hi,
    lo,
  };
  if (hi & OFLAG_COMPRESSED_HI) {
    // Compressed descriptor: x = 62 - (cluster_bits - 8) offset bits, then sector count - 1.
    const v = (BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo);
    const x = BigInt(62 - (clusterBits - 8));
    const hostOff = Number(v & ((1n << x) - 1n));
    const sectors = Number(v >> x) + 1;
    m.kind = "compressed";
    m.host = hostOff;
    m.compressedSize = sectors * 512 - (hostOff & 511);
    m.copied = false;
    return m;
  }
  m.host = offsetOf(hi, lo);
  const allocated = m.host !== 0 || (dataFile && copied);
  if (extL2) {
    m.kind = allocated ? "normal" : "unallocated";
  } else if (lo & OFLAG_ZERO_LO) m.kind = "zero";
  else m.kind = allocated ? "normal" : "unallocated";
  return m;
}

/** Subcluster status for extended L2: 'data' (allocated), 'zero', or 'unallocated'. */
export function subclusterKind(m: L2Mapping, sc: number): "data" | "zero" | "unallocated" {
  const bit = 2 ** sc;
  if (Math.floor(m.allocBits / bit) % 2 === 1) return "data";
  if (Math.floor(m.zeroBits / bit) % 2 === 1) return "zero";
  return "unallocated";
}

/** Encodes a standard/extended entry into `table` at `index`. */
export function encodeL2(
  table: Uint8Array,
  index: number,
  extL2: boolean,
  e: { host: number; copied: boolean; zero?: boolean; allocBits?: number; zeroBits?: number },
): void {
  const off = index * (extL2 ? 16 : 8);
  if (e.host % 512 !== 0) throw new ImageError("corrupt", "unaligned cluster offset");
  putBe32(table, off, (Math.floor(e.host / 0x100000000) & 0x00ffffff) | (e.copied ? OFLAG_COPIED_HI : 0));
  putBe32(table, off + 4, (e.host >>> 0) | (!extL2 && e.zero ? OFLAG_ZERO_LO : 0));
  if (extL2) {
    putBe32(table, off + 8, e.zeroBits ?? 0);
    putBe32(table, off + 12, e.allocBits ?? 0);
  }
}

/** Encodes a compressed-cluster descriptor (host offset, byte length) into a 64-bit entry. */
export function encodeCompressed(
  table: Uint8Array,
  index: number,
  extL2: boolean,
  clusterBits: number,
  host: number,
  size: number,
): void {
  const off = index * (extL2 ? 16 : 8);
  const x = BigInt(62 - (clusterBits - 8));
  const sectors = Math.ceil(((host & 511) + size) / 512);
  const v = (1n << 62n) | (BigInt(sectors - 1) << x) | BigInt(host);
  putBe32(table, off, Number(v >> 32n));
  putBe32(table, off + 4, Number(v & 0xffffffffn));
  if (extL2) {
    putBe32(table, off + 8, 0);
    putBe32(table, off + 12, 0);
  }
}
