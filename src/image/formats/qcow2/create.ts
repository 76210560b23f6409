// Creates a qcow2 image with qemu-img's `-o` options (compat, cluster_size, refcount_bits,
// extended_l2, lazy_refcounts, backing_file/backing_fmt, data_file, compression_type,
// preallocation, encrypt.*). Writes a minimal skeleton, then preallocates through the allocator.

import type { BlockIO } from "../../block-io.js";
import { alignUp, putBe64 } from "../../bytes.js";
import { ImageError } from "../../errors.js";
import type { FormatCreateContext } from "../../registry.js";
import {
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  CRYPT_AES,
  EXT_FEATURE_TABLE,
  encodeHeader,
  INCOMPAT_COMPRESSION,
  INCOMPAT_DATA_FILE,
  INCOMPAT_EXTL2,
  MAX_L1_BYTES,
  type Qcow2Header,
  featureNameTable,
} from "./header.js";

function bad(msg: string): ImageError {
  return new ImageError("invalid-argument", msg);
}

/** qemu's qapi_bool_parse: on/yes/true/y and off/no/false/n. */
function bool(v: string | undefined, key: string): boolean {
  if (v === undefined || v === "off" || v === "false" || v === "no" || v === "n") return false;
  if (v === "on" || v === "true" || v === "yes" || v === "y") return true;
  throw bad(`Parameter '${key}' expects 'on' or 'off'`);
}

/** Parses qemu-style sizes: 512, 64k, 2M (binary suffixes). */
export function parseSize(v: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkKmMgGtTpPeE]?)$/.exec(v.trim());
  if (!m) throw bad(`Parameter '${key}' expects a non-negative number below 2^64`);
  const mult: Record<string, number> = {
    "": 1,
    b: 1,
    k: 2 ** 10,
    m: 2 ** 20,
    g: 2 ** 30,
    t: 2 ** 40,
    p: 2 ** 50,
    e: 2 ** 60,
  };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

export interface Qcow2CreatePlan {
  header: Qcow2Header;
  preallocation: "off" | "metadata" | "falloc" | "full";
  encryptFormat?: "luks";
  dataFileRaw: boolean;
}

export async function createQcow2(
  io: BlockIO,
  sizeArg: number | undefined,
  o: Record<string, string>,
  ctx: FormatCreateContext,
): Promise<void> {
  const known = new Set([
    "size",
    "compat",
    "cluster_size",
    "backing_file",
    "backing_fmt",
    "preallocation",
    "lazy_refcounts",
    "refcount_bits",
    "extended_l2",
    "compression_type",
    "data_file",
    "data_file_raw",
    "encryption",
    "encrypt.format",
    "encrypt.key-secret",
    "encrypt.cipher-alg",
    "encrypt.cipher-mode",
    "encrypt.ivgen-alg",
    "encrypt.ivgen-hash-alg",
    "encrypt.hash-alg",
    "encrypt.iter-time",
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw bad(`Invalid parameter '${k}'`);
  let size = sizeArg ?? (o.size !== undefined ? parseSize(o.size, "size") : undefined);
  // Checks in qemu's order: the encryption alias first, QAPI enum values, then
  // qcow2_co_create's own checks.
  // (The alias: on means aes, off is dropped, any other value becomes encrypt.format's.)
  const alias = o.encryption;
  if (alias !== undefined && alias !== "off" && o["encrypt.format"] !== undefined)
    throw bad("'encrypt.format' and its alias 'encryption' can't be used at the same time");
  const compat = o.compat ?? "1.1";
  let version: 2 | 3;
  if (compat === "0.10" || compat === "v2") version = 2;
  else if (compat === "1.1" || compat === "v3") version = 3;
  else throw bad(`Parameter 'version' does not accept value '${compat}'`);
  const encFormat = alias !== undefined && alias !== "on" && alias !== "off" ? alias : o["encrypt.format"];
  if (encFormat !== undefined && encFormat !== "luks" && encFormat !== "aes")
    throw bad(`Parameter 'format' does not accept value '${encFormat}'`);
  if (encFormat === "luks") (await import("./luks-create.js")).checkLuksEnums(o);
  let prealloc = o.preallocation ?? "off";
  if (!["off", "metadata", "falloc", "full"].includes(prealloc))
    throw bad(`Parameter 'preallocation' does not accept value '${prealloc}'`);
  const ctype = o.compression_type ?? "zlib";
  if (ctype !== "zlib" && ctype !== "zstd")
    throw bad(`Parameter 'compression-type' does not accept value '${ctype}'`);
  const cs = o.cluster_size !== undefined ? parseSize(o.cluster_size, "cluster_size") : 65536;
  if (cs < 512 || cs > 2 * 1024 * 1024 || (cs & (cs - 1)) !== 0) {
    throw bad("Cluster size must be a power of two between 512 and 2048k");
  }
  const clusterBits = Math.log2(cs);
  const v3 = "compatibility level 1.1 and above (use version=v3 or greater)";
  const extL2 = bool(o.extended_l2, "extended_l2");
  if (extL2 && version === 2) throw bad(`Extended L2 entries are only supported with ${v3}`);
  if (extL2 && cs < 16384)
    throw bad("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
  // (qcow2_co_create's order: backing checks right after the cluster size, before refcounts.)
  if (o.backing_file !== undefined && prealloc !== "off" && !extL2)
    throw bad("Backing file and preallocation can only be used at the same time if extended_l2 is on");
  if (o.backing_fmt !== undefined && o.backing_file === undefined)
    throw bad("Backing format cannot be used without backing file");
  const lazy = bool(o.lazy_refcounts, "lazy_refcounts");
  if (lazy && version === 2) throw bad(`Lazy refcounts only supported with ${v3}`);
  const refBits = o.refcount_bits !== undefined ? Number(o.refcount_bits) : 16;
  if (!Number.isInteger(refBits) || refBits < 1 || refBits > 64 || (refBits & (refBits - 1)) !== 0) {
    throw bad("Refcount width must be a power of two and may not exceed 64 bits");
  }
  if (version === 2 && refBits !== 16) {
    throw bad(
      "Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)",
    );
  }
  const dataFileRaw = bool(o.data_file_raw, "data_file_raw");
  if (o.data_file !== undefined && version === 2)
    throw bad(`External data files are only supported with ${v3}`);
  if (dataFileRaw && o.data_file === undefined) throw bad("data-file-raw requires data-file");
  if (dataFileRaw && o.backing_file !== undefined)
    throw bad("Backing file and data-file-raw cannot be used at the same time");
  if (ctype === "zstd" && version === 2) throw bad(`Non-zlib compression type is only supported with ${v3}`);
  // qemu: a raw data file needs L1/L2 tables mapping it 1:1, so "off" becomes metadata.
  if (dataFileRaw && prealloc === "off") prealloc = "metadata";
  const encrypted = alias === "on" || encFormat !== undefined;
  if (encrypted && o["encrypt.key-secret"] === undefined)
    throw bad("Parameter 'encrypt.key-secret' is required for cipher");
  // AES-CBC (qemu 7.2 still creates it): only the header says so; the key is the secret itself.
  const aes = encrypted && encFormat !== "luks";
  if (aes) {
    const { pickSecret } = await import("./crypto.js");
    if (!pickSecret(ctx.secrets, o))
      throw new ImageError("not-found", `No secret with id '${o["encrypt.key-secret"]}' found`);
  }
  let backingFormat = o.backing_fmt;
  // Opened only to learn what was not given (-u never opens it, as qemu-img create -u).
  if (o.backing_file !== undefined && (size === undefined || (backingFormat === undefined && !ctx.unsafe))) {
    const b = await ctx.openImage(o.backing_file, backingFormat);
    try {
      backingFormat ??= b.format;
      size ??= b.virtualSize;
    } finally {
      await b.close();
    }
  }
  if (size === undefined) throw bad("Image creation needs a size parameter");
  if (size % 512 !== 0) size = alignUp(size, 512);
  const l2Entries = cs / (extL2 ? 16 : 8);
  const l1Size = Math.ceil(size / (cs * l2Entries));
  // (qemu's create fails growing the L1 table to the size: EFBIG.)
  if (l1Size * 8 > MAX_L1_BYTES)
    throw bad("Could not resize image: Failed to grow the L1 table: File too large");

  // Skeleton: header | refcount table | refcount blocks | L1 (qemu places them the same way).
  const perBlock = (cs * 8) / refBits;
  // qemu allocates no L1 table for an empty image (l1_table_offset stays 0).
  const l1Clusters = Math.ceil((l1Size * 8) / cs);
  let rb = 1;
  let rt = 1;
  for (let i = 0; i < 10; i++) {
    const total = 1 + rt + rb + l1Clusters;
    rb = Math.ceil(total / perBlock);
    rt = Math.ceil((rb * 8) / cs);
  }
  const total = 1 + rt + rb + l1Clusters;
  const h: Qcow2Header = {
    version,
    backingFileOffset: 0,
    backingFileSize: 0,
    clusterBits,
    size,
    cryptMethod: aes ? CRYPT_AES : 0,
    l1Size,
    l1TableOffset: l1Size === 0 ? 0 : (1 + rt + rb) * cs,
    refcountTableOffset: cs,
    refcountTableClusters: rt,
    nbSnapshots: 0,
    snapshotsOffset: 0,
    incompatible: (extL2 ? INCOMPAT_EXTL2 : 0) | (ctype === "zstd" ? INCOMPAT_COMPRESSION : 0),
    compatible: lazy ? COMPAT_LAZY_REFCOUNTS : 0,
    autoclear: dataFileRaw ? AUTOCLEAR_DATA_FILE_RAW : 0,
    refcountOrder: Math.log2(refBits),
    headerLength: version === 3 ? 112 : 72,
    compressionType: ctype === "zstd" ? 1 : 0,
    backingFile: o.backing_file,
    backingFormat: o.backing_file !== undefined ? backingFormat : undefined,
    // qemu writes the feature name table only into v3 header clusters larger than 4 KiB.
    otherExtensions:
      cs > 4096 && version === 3 ? [{ type: EXT_FEATURE_TABLE, data: featureNameTable() }] : [],
  };
  if (o.data_file !== undefined) {
    h.incompatible |= INCOMPAT_DATA_FILE;
    h.dataFile = o.data_file;
    const df = await ctx.openFile(o.data_file, { readOnly: false, create: true });
    try {
      // qemu's truncate to the virtual size reaches the data file too (raw or not).
      await df.truncate(0);
      await df.truncate(size);
      // (Its file driver allocates the first block of the file it made, as for any new file.)
      if (size && size > 0 && df.path !== undefined) await df.write(0, new Uint8Array(Math.min(4096, size)));
    } finally {
      await df.close();
    }
  }
  const refTable = new Uint8Array(rt * cs);
  for (let i = 0; i < rb; i++) putBe64(refTable, i * 8, (1 + rt + i) * cs);
  const blocks = new Uint8Array(rb * cs);
  // Refcount 1 for every skeleton cluster; entries packed as the width requires.
  for (let c = 0; c < total; c++) setPacked(blocks, c, refBits);
  await io.truncate(0);
  await io.write(0, encodeHeader(h, cs));
  await io.write(cs, refTable);
  await io.write((1 + rt) * cs, blocks);
  // Like qemu, only the L1 entries are written: the file ends right after them.
  if (l1Size > 0) await io.write(h.l1TableOffset, new Uint8Array(l1Size * 8));
  if (encFormat === "luks" || prealloc !== "off") {
    const { finishCreate } = await import("./create-finish.js");
    await finishCreate(io, h, {
      prealloc: prealloc as Qcow2CreatePlan["preallocation"],
      luks: encFormat === "luks",
      options: o,
      ctx,
    });
  }
}

/** Sets refcount entry `c` to 1 in packed refcount blocks of width `bits`. */
function setPacked(blocks: Uint8Array, c: number, bits: number): void {
  const bit = c * bits;
  if (bits < 8) blocks[bit >> 3] = blocks[bit >> 3]! | (1 << (bit & 7));
  else blocks[(bit + bits) / 8 - 1] = 1; // big-endian: the value 1 is the entry's last byte
}
