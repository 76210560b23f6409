// qcow2 header and header extensions (qemu docs/interop/qcow2.txt, "Header" and "Header
// extensions"): a pure decoder that refuses every invalid field, and the matching encoder.

import { be32, be64, putBe32, putBe64 } from "../../bytes.js";
import { ImageError } from "../../errors.js";

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const V2_HEADER_LEN = 72;
export const V3_HEADER_LEN = 104;
/** Limits qemu enforces (block/qcow2.h): L1 ≤ 32 MiB, refcount table ≤ 8 MiB, 65536 snapshots. */
export const MAX_L1_BYTES = 0x2000000;
export const MAX_REFTABLE_BYTES = 0x800000;
export const MAX_SNAPSHOTS = 65536;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;

/** Incompatible feature bits (spec "incompatible_features"). */
export const INCOMPAT_DIRTY = 1;
export const INCOMPAT_CORRUPT = 2;
export const INCOMPAT_DATA_FILE = 4;
export const INCOMPAT_COMPRESSION = 8;
export const INCOMPAT_EXTL2 = 16;
const INCOMPAT_KNOWN = 0x1f;
/** Compatible bit 0: lazy refcounts. Autoclear bit 0: bitmaps, bit 1: raw external data. */
export const COMPAT_LAZY_REFCOUNTS = 1;
export const AUTOCLEAR_BITMAPS = 1;
export const AUTOCLEAR_DATA_FILE_RAW = 2;

/** Header extension types (spec "Header extensions"). */
export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

export const CRYPT_NONE = 0;
export const CRYPT_AES = 1;
export const CRYPT_LUKS = 2;

export interface HeaderExtension {
  type: number;
  data: Uint8Array;
}

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: number;
  compatible: number;
  autoclear: number;
  refcountOrder: number;
  headerLength: number;
  /** 0 = zlib, 1 = zstd. */
  compressionType: number;
  backingFile?: string;
  backingFormat?: string;
  dataFile?: string;
  crypto?: { offset: number; length: number };
  /** Extensions kept verbatim (feature table, bitmaps, unknown ones) so rewrites preserve them. */
  otherExtensions: HeaderExtension[];
}

const dec = new TextDecoder("utf-8", { fatal: false });
const enc = new TextEncoder();

function fmt(msg: string, offset?: number): ImageError {
  return new ImageError("format", msg, { offset });
}

/**
 * Decodes and validates the header cluster. `head` holds at least the first cluster (or the
 * whole file when shorter). `fileSize` bounds table offsets.
 */
export function parseHeader(head: Uint8Array, _fileSize: number): Qcow2Header {
  if (head.length < V2_HEADER_LEN) throw fmt("Image is not in qcow2 format");
  if (be32(head, 0) !== QCOW2_MAGIC) throw fmt("Image is not in qcow2 format");
  const version = be32(head, 4);
  if (version !== 2 && version !== 3) {
    throw new ImageError("unsupported", `Unsupported qcow2 version ${version}`);
  }
  const clusterBits = be32(head, 20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw fmt(`Unsupported cluster size: 2^${clusterBits}`);
  }
  const cs = 2 ** clusterBits;
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(head, 8),
    backingFileSize: be32(head, 16),
    clusterBits,
    size: u64(head, 24),
    cryptMethod: be32(head, 32),
    l1Size: be32(head, 36),
    l1TableOffset: u64(head, 40),
    refcountTableOffset: u64(head, 48),
    refcountTableClusters: be32(head, 56),
    nbSnapshots: be32(head, 60),
    snapshotsOffset: u64(head, 64),
    incompatible: 0,
    compatible: 0,
    autoclear: 0,
    refcountOrder: 4,
    headerLength: V2_HEADER_LEN,
    compressionType: 0,
    otherExtensions: [],
  };
  if (version === 3) {
    if (head.length < V3_HEADER_LEN) throw fmt("qcow2 header too short");
    h.incompatible = be32(head, 76);
    h.compatible = be32(head, 84);
    h.autoclear = be32(head, 92);
    h.refcountOrder = be32(head, 96);
    h.headerLength = be32(head, 100);
    if (h.headerLength < V3_HEADER_LEN) throw fmt("qcow2 header too short");
    if (h.headerLength > cs || h.headerLength > head.length) throw fmt("qcow2 header exceeds cluster size");
    if (h.headerLength % 8 !== 0 && h.headerLength > V3_HEADER_LEN)
      throw fmt("qcow2 header length not aligned");
    if (h.headerLength > V3_HEADER_LEN) h.compressionType = head[104]!;
  }
  if (h.backingFileOffset > cs) throw fmt("Invalid backing file offset");
  const zstd = (h.incompatible & INCOMPAT_COMPRESSION) !== 0;
  if (h.compressionType > 1) throw fmt(`qcow2: unknown compression type: ${h.compressionType}`);
  if (h.compressionType === 0 && zstd)
    throw fmt("qcow2: Compression type incompatible feature bit must not be set");
  if (h.compressionType === 1 && !zstd)
    throw fmt("qcow2: Compression type incompatible feature bit must be set");
  if (version === 3) {
    const high = be32(head, 72);
    const low = (h.incompatible & ~INCOMPAT_KNOWN) >>> 0;
    if (high !== 0 || low !== 0) throw unsupportedFeatures(head, high, low);
  }
  if (h.refcountOrder > 6) throw fmt("Reference count entry width too large; may not exceed 64 bits");
  if (h.cryptMethod > CRYPT_LUKS) throw fmt(`Unsupported encryption method ${h.cryptMethod}`);
  if (h.incompatible & INCOMPAT_EXTL2 && clusterBits < 14) {
    throw fmt("Extended L2 entries need a cluster size of at least 16 KiB (512-byte subclusters)");
  }
  // Tables: offsets cluster-aligned, sizes capped, and their start inside the file.
  if (h.l1Size > MAX_L1_BYTES / 8) throw fmt("Active L1 table too large");
  const l2Bits = clusterBits - (h.incompatible & INCOMPAT_EXTL2 ? 4 : 3);
  const needL1 = Math.ceil(h.size / 2 ** (clusterBits + l2Bits));
  if (needL1 > MAX_L1_BYTES / 8) throw fmt("Image is too big");
  if (h.l1Size < needL1) throw fmt("L1 table is too small");
  // (qemu reads an L1 table past the end of a truncated file as zeros; its size is bounded by
  // the 32 MiB limit above, not by the file.)
  checkTable(head, 40, h.l1Size * 8, cs, "Active L1 table");
  if (h.refcountTableClusters * cs > MAX_REFTABLE_BYTES) throw fmt("Reference count table too large");
  if (h.refcountTableClusters === 0) throw fmt("Image does not contain a reference count table");
  checkTable(head, 48, h.refcountTableClusters * cs, cs, "Reference count table");
  if (h.nbSnapshots > MAX_SNAPSHOTS) throw fmt("Too many snapshots");
  checkTable(head, 64, h.nbSnapshots * 40, cs, "Snapshot table");
  if (h.backingFileOffset !== 0) {
    if (h.backingFileSize > 1023 || h.backingFileOffset > cs - h.backingFileSize || h.backingFileSize === 0) {
      throw fmt("Backing file name too long");
    }
    if (h.backingFileOffset + h.backingFileSize > head.length) {
      throw fmt("Backing file name lies past the end of the file");
    }
    h.backingFile = dec.decode(head.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize));
  }
  parseExtensions(h, head, cs);
  if (h.incompatible & INCOMPAT_DATA_FILE && h.dataFile === undefined) {
    throw fmt("Could not open data file: the image has no data file name");
  }
  if (h.cryptMethod === CRYPT_LUKS && !h.crypto)
    throw fmt("LUKS encryption without a crypto header extension");
  return h;
}

/**
 * Incompatible feature bits this implementation does not know: qemu names them from the image's
 * own feature name table extension (in the table's order), then the rest as one hex mask.
 */
function unsupportedFeatures(head: Uint8Array, high: number, low: number): ImageError {
  let mask = (BigInt(high) << 32n) | BigInt(low);
  const names: string[] = [];
  const hl = be32(head, 100);
  let off = Math.max(hl, V3_HEADER_LEN);
  for (let n = 0; n < 1024 && off + 8 <= head.length; n++) {
    const type = be32(head, off);
    const len = be32(head, off + 4);
    off += 8;
    if (type === EXT_END || len > head.length - off) break;
    if (type === EXT_FEATURE_TABLE) {
      for (let e = off; e + 48 <= off + len; e += 48) {
        const bit = BigInt(head[e + 1]!);
        if (head[e] !== 0 || bit > 63n || !(mask & (1n << bit))) continue;
        const raw = head.subarray(e + 2, e + 48);
        const nul = raw.indexOf(0);
        names.push(dec.decode(nul < 0 ? raw : raw.subarray(0, nul)));
        mask &= ~(1n << bit);
      }
    }
    off += Math.ceil(len / 8) * 8;
  }
  if (mask) names.push(`Unknown incompatible feature: ${mask.toString(16)}`);
  return new ImageError("unsupported", `Unsupported qcow2 feature(s): ${names.join(", ")}`);
}

/**
 * A u64 header field as a number: exact below 2^53, above that only as close as a double gets
 * (qemu accepts table offsets far past the end of the file; they read as zeros).
 */
function u64(b: Uint8Array, off: number): number {
  return be32(b, off) * 0x100000000 + be32(b, off + 4);
}

/**
 * A table's offset (the header field at `field`) must be cluster-aligned and the table must end
 * below 2^63, as qemu's qcow2_validate_table checks ("... offset invalid"); anywhere past the
 * end of the file is accepted (reads there are zeros).
 */
function checkTable(head: Uint8Array, field: number, bytes: number, cs: number, name: string): void {
  const offset = u64(head, field);
  if ((be32(head, field + 4) & (cs - 1)) !== 0 || offset + bytes >= 2 ** 63) {
    throw fmt(`${name} offset invalid`, offset);
  }
}

function parseExtensions(h: Qcow2Header, head: Uint8Array, cs: number): void {
  let off = h.headerLength;
  const end = h.backingFileOffset !== 0 ? h.backingFileOffset : Math.min(cs, head.length);
  for (let n = 0; n < 1024; n++) {
    if (off + 8 > end) return; // v2 images may simply stop
    const type = be32(head, off);
    const len = be32(head, off + 4);
    off += 8;
    if (type === EXT_END) return;
    if (len > end - off) throw fmt("Invalid header extension length", off);
    const data = head.slice(off, off + len);
    off += Math.ceil(len / 8) * 8;
    switch (type) {
      case EXT_BACKING_FORMAT:
        h.backingFormat = dec.decode(data);
        break;
      case EXT_DATA_FILE:
        h.dataFile = dec.decode(data);
        break;
      case EXT_CRYPTO:
        if (len < 16) throw fmt("Invalid crypto header extension length");
        h.crypto = {
          offset: be64(data, 0, "crypto header offset"),
          length: be64(data, 8, "crypto header length"),
        };
        if (h.crypto.offset % cs !== 0) throw fmt("Invalid encryption header offset");
        break;
      default:
        h.otherExtensions.push({ type, data });
    }
  }
  throw fmt("Too many header extensions");
}

/** Encodes the header cluster (header, extensions, end marker, backing file name). */
export function encodeHeader(h: Qcow2Header, clusterSize: number): Uint8Array {
  const out = new Uint8Array(clusterSize);
  const hl = h.version === 3 ? Math.max(h.headerLength, V3_HEADER_LEN) : V2_HEADER_LEN;
  putBe32(out, 0, QCOW2_MAGIC);
  putBe32(out, 4, h.version);
  putBe32(out, 16, 0);
  putBe32(out, 20, h.clusterBits);
  putBe64(out, 24, h.size);
  putBe32(out, 32, h.cryptMethod);
  putBe32(out, 36, h.l1Size);
  putBe64(out, 40, h.l1TableOffset);
  putBe64(out, 48, h.refcountTableOffset);
  putBe32(out, 56, h.refcountTableClusters);
  putBe32(out, 60, h.nbSnapshots);
  putBe64(out, 64, h.snapshotsOffset);
  if (h.version === 3) {
    putBe64(out, 72, h.incompatible);
    putBe64(out, 80, h.compatible);
    putBe64(out, 88, h.autoclear);
    putBe32(out, 96, h.refcountOrder);
    putBe32(out, 100, hl);
    if (hl > V3_HEADER_LEN) out[104] = h.compressionType;
  }
  let off = hl;
  const put = (type: number, data: Uint8Array) => {
    const need = 8 + Math.ceil(data.length / 8) * 8;
    if (off + need + 8 > clusterSize)
      throw new ImageError("invalid-argument", "Header extensions do not fit in the first cluster");
    putBe32(out, off, type);
    putBe32(out, off + 4, data.length);
    out.set(data, off + 8);
    off += need;
  };
  if (h.backingFormat !== undefined) put(EXT_BACKING_FORMAT, enc.encode(h.backingFormat));
  if (h.dataFile !== undefined) put(EXT_DATA_FILE, enc.encode(h.dataFile));
  if (h.crypto) {
    const d = new Uint8Array(16);
    putBe64(d, 0, h.crypto.offset);
    putBe64(d, 8, h.crypto.length);
    put(EXT_CRYPTO, d);
  }
  for (const e of h.otherExtensions) put(e.type, e.data);
  off += 8; // end marker (zeros)
  if (h.backingFile !== undefined && h.backingFile !== "") {
    const name = enc.encode(h.backingFile);
    if (name.length > 1023 || off + name.length > clusterSize) {
      throw new ImageError("invalid-argument", "Backing file name too long");
    }
    out.set(name, off);
    putBe64(out, 8, off);
    putBe32(out, 16, name.length);
  } else {
    putBe64(out, 8, 0);
  }
  return out;
}

/** The feature name table qemu writes at create time (type, bit, name). */
export function featureNameTable(): Uint8Array {
  const names: [number, number, string][] = [
    [0, 0, "dirty bit"],
    [0, 1, "corrupt bit"],
    [0, 2, "external data file"],
    [0, 3, "compression type"],
    [0, 4, "extended L2 entries"],
    [1, 0, "lazy refcounts"],
    [2, 0, "bitmaps"],
    [2, 1, "raw external data"],
  ];
  const out = new Uint8Array(names.length * 48);
  names.forEach(([type, bit, name], i) => {
    out[i * 48] = type;
    out[i * 48 + 1] = bit;
    out.set(enc.encode(name), i * 48 + 2);
  });
  return out;
}
