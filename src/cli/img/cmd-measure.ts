// `tsvirt-img measure`: the file size a conversion to -O fmt needs ("required") and would need
// fully allocated, by qemu's formulas (qcow2_calc_prealloc_size, raw: allocated bytes).

import { hasFormat, type Image } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";
import { CliError, fromUsage, hasImageOpts, openCli, type Out, showHelp } from "./context.js";
import {
  checkOptionList,
  checkOptionValue,
  createOptionsWithProtocol,
  parseOptionString,
} from "./create-options.js";
import { getopt, HelpRequest, UsageError } from "./getopt.js";
import { loadSnapshot, parseSnapshotParam, type SnapshotParam } from "./snapshot-param.js";
import { type QValue, toQemuJson, cliObjects, type Secrets } from "./qdict.js";
import { strtosz } from "./units.js";

const divUp = (a: number, b: number) => Math.ceil(a / b);
const roundUp = (a: number, b: number) => divUp(a, b) * b;

export function refcountMetadataSize(clusters: number, cs: number, order: number): number {
  const perTable = cs / 8;
  const perBlock = (cs * 8) / 2 ** order;
  let table = 0;
  let blocks = 0;
  let last: number;
  let n = 0;
  do {
    last = n;
    blocks = divUp(clusters + table + blocks, perBlock);
    table = divUp(blocks, perTable);
    n = clusters + blocks + table;
  } while (n !== last);
  return (blocks + table) * cs;
}

export function qcow2PreallocSize(total: number, cs: number, order: number, extL2: boolean): number {
  const aligned = roundUp(total, cs);
  const l2e = extL2 ? 16 : 8;
  let meta = cs;
  let nl2e = aligned / cs;
  nl2e = roundUp(nl2e, cs / l2e);
  meta += nl2e * l2e;
  let nl1e = (nl2e * l2e) / cs;
  nl1e = roundUp(nl1e, cs / 8);
  meta += nl1e * 8;
  meta += refcountMetadataSize((meta + aligned) / cs, cs, order);
  return meta + aligned;
}

/** Key bytes of each LUKS cipher (qcrypto_cipher_get_key_len). */
const CIPHER_KEY: Record<string, number> = {
  "aes-128": 16,
  "aes-192": 24,
  "aes-256": 32,
  des: 8,
  "3des": 24,
  "cast5-128": 16,
  "serpent-128": 16,
  "serpent-192": 24,
  "serpent-256": 32,
  "twofish-128": 16,
  "twofish-192": 24,
  "twofish-256": 32,
  sm4: 16,
};

/**
 * The LUKS header and key material a LUKS qcow2 puts before its data (qemu's
 * qcrypto_block_calculate_payload_offset): a 4 KiB header, then 8 key slots, each the master
 * key split in 4000 stripes, in 4 KiB units. The key secret must exist.
 */
function luksHeaderSize(o: Record<string, string>, secrets: Secrets): number {
  const id = o["encrypt.key-secret"]!;
  if (secrets[id] === undefined) throw new CliError(`No secret with id '${id}'`);
  const alg = o["encrypt.cipher-alg"] ?? "aes-256";
  const bytes = CIPHER_KEY[alg];
  if (bytes === undefined) throw new CliError(`Parameter 'cipher-alg' does not accept value '${alg}'`);
  const mode = o["encrypt.cipher-mode"] ?? "xts";
  if (!["ecb", "cbc", "xts", "ctr"].includes(mode))
    throw new CliError(`Parameter 'cipher-mode' does not accept value '${mode}'`);
  const keyLen = mode === "xts" ? bytes * 2 : bytes;
  return 4096 + 8 * roundUp(keyLen * 4000, 4096);
}

export async function cmdMeasure(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "hf:O:o:l:U",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "output", arg: "required" },
        { name: "size", arg: "required" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "measure",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    // qemu-img measure lets glibc report a bad option, then prints its help (exit status 0).
    if (e instanceof UsageError) {
      io.err(`measure: ${e.glibc}\n`);
      return showHelp(io);
    }
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let outFmt = "raw";
  let output = "human";
  let sizeOpt: number | undefined;
  let snapshot: SnapshotParam | undefined;
  const optStrings: string[] = [];
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "O") outFmt = v;
    else if (k === "o") {
      checkOptionList(v);
      optStrings.push(v);
    } else if (k === "l") snapshot = parseSnapshotParam(v, io);
    else if (k === "output") {
      if (v !== "human" && v !== "json")
        throw new CliError("--output must be used with human or json as argument.");
      output = v;
    } else if (k === "size") {
      // cvtnum("image size"): a size in [0, INT64_MAX].
      const r = strtosz(v);
      if (r.warning) io.err(`tsvirt-img: warning: ${r.warning}\n`);
      if (r.error === "EINVAL")
        throw new CliError(
          "Invalid image size specified. You may use k, M, G, T, P or E suffixes for\ntsvirt-img: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.",
        );
      if (r.value === undefined || r.value > 0x7fffffffffffffffn)
        throw new CliError("Invalid image size specified. Must be between 0 and 9223372036854775807.");
      sizeOpt = Number(r.value);
    }
  }
  if (sizeOpt !== undefined && p.args.length > 0)
    throw new CliError("--size N cannot be used together with a filename.");
  if (p.args.length > 1) throw new CliError("At most one filename argument is allowed.");
  if (sizeOpt === undefined && p.args.length !== 1)
    throw new CliError("Either --size N or one filename must be specified.");
  const img =
    sizeOpt === undefined
      ? await openCli(p.args[0]!, fmt, { warn: io, readOnly: true, imageOpts: hasImageOpts(p.opts), secrets })
      : undefined;
  try {
    if (img && snapshot !== undefined) await loadSnapshot([img], snapshot);
    return await measure(img, sizeOpt, outFmt, optStrings, output, io, secrets);
  } finally {
    await img?.close();
  }
}

async function measure(
  img: Image | undefined,
  sizeOpt: number | undefined,
  outFmt: string,
  optStrings: string[],
  output: string,
  io: Out,
  secrets: Secrets,
): Promise<number> {
  if (!hasFormat(outFmt)) throw new CliError(`Unknown file format '${outFmt}'`);
  // -o is parsed against the format's and the file protocol's creation options first.
  const opts: Record<string, string> = {};
  const descs = createOptionsWithProtocol(outFmt);
  for (const [k, v] of optStrings.flatMap(parseOptionString)) {
    const invalid = `\ntsvirt-img: Invalid options for file format '${outFmt}'`;
    const d = descs.find((x) => x.name === k);
    if (!d) throw new CliError(`Invalid parameter '${k}'${invalid}`);
    try {
      opts[k] = checkOptionValue(d, v, "", io);
    } catch (e) {
      if (e instanceof CliError) throw new CliError(`${e.message}${invalid}`);
      throw e;
    }
  }
  if (outFmt !== "raw" && outFmt !== "qcow2")
    throw new CliError(`Block driver '${outFmt}' does not support size measurement`);
  let cs = 65536;
  let luksPayload = 0;
  let refBits = 16;
  let extL2 = false;
  const prealloc = opts.preallocation ?? "off";
  if (outFmt === "qcow2") {
    // qcow2_measure's own checks, in its order and with its texts.
    extL2 = ["on", "yes", "true", "y"].includes(opts.extended_l2 ?? "");
    if (opts.cluster_size !== undefined) cs = Number(opts.cluster_size);
    if (cs < 512 || cs > 2 << 20 || (cs & (cs - 1)) !== 0)
      throw new CliError("Cluster size must be a power of two between 512 and 2048k");
    if (extL2 && cs < 16384)
      throw new CliError("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
    const compat = opts.compat ?? "1.1";
    if (!["0.10", "v2", "1.1", "v3"].includes(compat))
      throw new CliError(`Invalid compatibility level: '${compat}'`);
    const v2 = compat === "0.10" || compat === "v2";
    if (opts.refcount_bits !== undefined) refBits = Number(opts.refcount_bits);
    if (refBits < 1 || refBits > 64 || (refBits & (refBits - 1)) !== 0)
      throw new CliError("Refcount width must be a power of two and may not exceed 64 bits");
    if (v2 && refBits !== 16)
      throw new CliError(
        "Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)",
      );
    if (!["off", "metadata", "falloc", "full"].includes(prealloc))
      throw new CliError(`invalid parameter value: ${prealloc}`);
    if (opts["encrypt.format"] === "luks") {
      if (opts["encrypt.key-secret"] === undefined)
        throw new CliError("Parameter 'encrypt.key-secret' is required for cipher");
      luksPayload = roundUp(luksHeaderSize(opts, secrets), cs);
    }
    // (qemu checks the size option, --size or -o size: an image's own size is not checked.)
    const optSize = sizeOpt ?? (opts.size !== undefined ? Number(strtosz(opts.size).value ?? 0) : 0);
    const virtualSize = roundUp(optSize, cs);
    const l2Tables = Math.ceil(virtualSize / cs / (cs / (extL2 ? 16 : 8)));
    if (l2Tables * 8 > 0x2000000)
      throw new CliError("The image size is too large (try using a larger cluster size)");
  }
  // raw_measure rounds a --size up to whole sectors.
  let virtual = outFmt === "raw" ? roundUp(sizeOpt ?? 0, 512) : (sizeOpt ?? 0);
  // With --size nothing is allocated yet (qemu counts only metadata for qcow2).
  let requiredData = outFmt === "raw" ? virtual : 0;
  let srcFormat: string | undefined;
  let srcV3 = false;
  if (img) {
    {
      virtual = img.virtualSize;
      srcFormat = img.format;
      srcV3 = (img as unknown as { header?: { version?: number } }).header?.version === 3;
      // Unallocated sectors count towards the size of a raw file (qemu's raw_measure).
      requiredData = outFmt === "raw" ? virtual : 0;
      const gran = outFmt === "qcow2" ? cs : 1;
      let pos = 0;
      for (const e of outFmt === "raw" ? [] : await chainStatus(img, 0, virtual)) {
        if (e.start + e.length <= pos) continue;
        const start = Math.max(pos, e.start);
        // Zero regions (holes under data too) need nothing (qcow2_measure skips BDRV_BLOCK_ZERO).
        if (e.zero || !e.data) continue;
        // qcow2: a data run counts whole clusters from its start to the next cluster boundary.
        const end = roundUp(e.start + e.length, gran);
        requiredData += (start % gran) + (end - start);
        pos = end;
      }
      // A new backing file may share nothing with the source: every cluster counts.
      if (outFmt === "qcow2" && opts.backing_file !== undefined) requiredData = roundUp(virtual, cs);
    }
  }
  let required: number;
  let full: number;
  const d: Record<string, QValue | undefined> = {};
  if (outFmt === "qcow2") {
    const vs = roundUp(virtual, cs);
    full = luksPayload + qcow2PreallocSize(vs, cs, Math.log2(refBits), extL2);
    required = prealloc === "full" || prealloc === "falloc" ? full : full - vs + requiredData;
    // Only a qcow2 source can carry persistent bitmaps, so only then is their size reported.
    d.bitmaps = srcFormat === "qcow2" && srcV3 && opts.compat !== "0.10" ? 0 : undefined;
    if (d.bitmaps !== undefined && img) {
      // qemu's qcow2_get_persistent_dirty_bitmap_size: each bitmap's data clusters as if all
      // allocated, its table's clusters, and the directory's clusters (target cluster size).
      const { bitmapInfo } = await import("../../image/formats/qcow2/bitmaps.js");
      const list = await bitmapInfo(img as Parameters<typeof bitmapInfo>[0]);
      let total = 0;
      let dir = 0;
      for (const bm of list ?? []) {
        const gran = bm.granularity as number;
        const bytes = Math.ceil(Math.ceil(img.virtualSize / gran) / 8);
        const clusters = Math.ceil(bytes / cs);
        total += clusters * cs + roundUp(clusters * 8, cs);
        dir += roundUp(24 + Buffer.byteLength(bm.name as string), 8);
      }
      d.bitmaps = total + roundUp(dir, cs);
    }
  } else {
    full = virtual;
    required = requiredData;
  }
  d.required = required;
  d["fully-allocated"] = full;
  if (output === "json") io.out(toQemuJson(d) + "\n");
  else {
    io.out(`required size: ${required}\nfully allocated size: ${full}\n`);
    if (d.bitmaps !== undefined) io.out(`bitmaps size: ${d.bitmaps}\n`);
  }
  return 0;
}
