// `tsvirt-img measure`: the file size a conversion to -O fmt needs ("required") and would need
// fully allocated, by qemu's formulas (qcow2_calc_prealloc_size, raw: allocated bytes).

import { chainStatus } from "./chain-status.js";
import { CliError, fromUsage, type Out, openCli } from "./context.js";
import { parseOptionString } from "./create-options.js";
import { getopt } from "./getopt.js";
import { type QValue, toQemuJson } from "./qdict.js";
import { parseSize } from "./units.js";

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

export async function cmdMeasure(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(argv, "hf:O:o:l:U", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "output", arg: "required" },
      { name: "size", arg: "required" },
      { name: "force-share", arg: "none", key: "U" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let outFmt = "raw";
  let output = "human";
  let sizeOpt: number | undefined;
  const opts: Record<string, string> = {};
  for (const [k, v] of p.opts) {
    if (k === "f") fmt = v;
    else if (k === "O") outFmt = v;
    else if (k === "o") for (const [a, b] of parseOptionString(v)) opts[a] = b;
    else if (k === "output") output = v;
    else if (k === "size") {
      const s = parseSize(v);
      if (s === undefined)
        throw new CliError("Invalid image size specified. You may use k, M, G, T, P or E suffixes for ");
      sizeOpt = Number(s);
    }
  }
  if (sizeOpt !== undefined && p.args.length > 0)
    throw new CliError("--size N cannot be used together with a filename.");
  if (sizeOpt === undefined && p.args.length !== 1)
    throw new CliError("Either --size N or one filename must be specified.");
  if (output !== "human" && output !== "json")
    throw new CliError("--output must be used with human or json as argument.");
  if (outFmt !== "raw" && outFmt !== "qcow2")
    throw new CliError(`Format driver '${outFmt}' does not support size measurement`);
  let virtual = sizeOpt ?? 0;
  const cs = opts.cluster_size ? Number(parseSize(opts.cluster_size)) : 65536;
  const refBits = opts.refcount_bits ? Number(opts.refcount_bits) : 16;
  const extL2 = opts.extended_l2 === "on";
  // With --size nothing is allocated yet (qemu counts only metadata for qcow2).
  let requiredData = outFmt === "raw" ? virtual : 0;
  let srcFormat: string | undefined;
  if (sizeOpt === undefined) {
    const img = await openCli(p.args[0]!, fmt, { readOnly: true });
    try {
      virtual = img.virtualSize;
      srcFormat = img.format;
      // Unallocated sectors count towards the size of a raw file (qemu's raw_measure).
      requiredData = outFmt === "raw" ? virtual : 0;
      const gran = outFmt === "qcow2" ? cs : 1;
      let pos = 0;
      for (const e of outFmt === "raw" ? [] : await chainStatus(img, 0, virtual)) {
        if (e.start + e.length <= pos) continue;
        const start = Math.max(pos, e.start);
        if (e.zero && !e.data) continue;
        if (!e.data) continue;
        // qcow2: a data run counts whole clusters from its start to the next cluster boundary.
        const end = roundUp(e.start + e.length, gran);
        requiredData += (start % gran) + (end - start) - (start % gran);
        pos = end;
      }
    } finally {
      await img.close();
    }
  }
  let required: number;
  let full: number;
  const d: Record<string, QValue | undefined> = {};
  if (outFmt === "qcow2") {
    const vs = roundUp(virtual, cs);
    full = qcow2PreallocSize(vs, cs, Math.log2(refBits), extL2);
    required = full - vs + requiredData;
    // Only a qcow2 source can carry persistent bitmaps, so only then is their size reported.
    d.bitmaps = srcFormat === "qcow2" && opts.compat !== "0.10" ? 0 : undefined;
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
