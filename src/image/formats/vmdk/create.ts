// Creating VMDK images with qemu-img's -o options: monolithicSparse, monolithicFlat,
// twoGbMaxExtentSparse/Flat (descriptor + numbered extent files) and streamOptimized.

import { randomInt } from "node:crypto";
import { basename, extname } from "node:path";
import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { FormatCreateContext } from "../../registry.js";
import { type ExtentLine, formatDescriptor, type VmdkDescriptor } from "./descriptor.js";
import {
  COMPRESSION_DEFLATE,
  encodeSparseHeader,
  FLAG_COMPRESS,
  FLAG_MARKER,
  FLAG_NL_DETECT,
  FLAG_RGD,
  FLAG_ZERO_GRAIN,
  sparseLayout,
} from "./sparse-header.js";
import { VmdkImage } from "./vmdk-image.js";

export const VMDK_OPTIONS = [
  "size",
  "adapter_type",
  "backing_file",
  "backing_fmt",
  "compat6",
  "hwversion",
  "subformat",
  "toolsversion",
  "zeroed_grain",
];
const SUBFORMATS = [
  "monolithicSparse",
  "monolithicFlat",
  "twoGbMaxExtentSparse",
  "twoGbMaxExtentFlat",
  "streamOptimized",
];
const ADAPTERS = ["ide", "lsilogic", "buslogic", "legacyESX"];
const TWO_GB = 2 * 1024 * 1024 * 1024;

/** qemu's qapi_bool_parse: on/yes/true/y and off/no/false/n. */
function bool(v: string | undefined, name: string): boolean {
  if (v === undefined || v === "off" || v === "no" || v === "false" || v === "n") return false;
  if (v === "on" || v === "yes" || v === "true" || v === "y") return true;
  throw new ImageError("invalid-argument", `Parameter '${name}' expects 'on' or 'off'`);
}

/** Writes one sparse extent (header, redundant and primary GD/GT, optional embedded descriptor). */
async function writeSparseExtent(
  io: BlockIO,
  sectors: number,
  opts: { stream: boolean; zeroedGrain: boolean; descriptor?: string },
): Promise<void> {
  const L = sparseLayout(sectors);
  const flags =
    FLAG_NL_DETECT |
    FLAG_RGD |
    (opts.stream ? FLAG_COMPRESS | FLAG_MARKER : 0) |
    (opts.zeroedGrain ? FLAG_ZERO_GRAIN : 0);
  await io.write(
    0,
    encodeSparseHeader({
      version: opts.stream ? 3 : 1,
      flags,
      capacity: sectors,
      grainSize: 128,
      descriptorOffset: L.descriptorOffset,
      descriptorSize: L.descriptorSize,
      numGTEsPerGT: 512,
      rgdOffset: L.rgdOffset,
      gdOffset: BigInt(L.gdOffset),
      overHead: L.overHead,
      uncleanShutdown: 0,
      compressAlgorithm: opts.stream ? COMPRESSION_DEFLATE : 0,
    }),
  );
  await io.truncate(L.overHead * 512);
  const dir = (first: number) => {
    const b = Buffer.alloc(L.gdSectors * 512);
    for (let i = 0; i < L.gtCount; i++) b.writeUInt32LE(first + L.gdSectors + i * L.gtSectors, i * 4);
    return b;
  };
  await io.write(L.rgdOffset * 512, dir(L.rgdOffset));
  await io.write(L.gdOffset * 512, dir(L.gdOffset));
  if (opts.descriptor !== undefined) {
    const d = Buffer.from(opts.descriptor, "latin1");
    if (d.length > L.descriptorSize * 512) throw new ImageError("invalid-argument", "Descriptor too long");
    await io.write(L.descriptorOffset * 512, d);
  }
}

/**
 * The option checks qemu's vmdk create makes before it creates the file (where the file
 * protocol's own options, such as preallocation, are checked).
 */
export function checkVmdkOptions(options: Record<string, string>): {
  subformat: string;
  adapter: string;
  compat6: boolean;
  zeroedGrain: boolean;
} {
  const subformat = options.subformat ?? "monolithicSparse";
  if (!SUBFORMATS.includes(subformat))
    throw new ImageError("invalid-argument", `invalid parameter value: ${subformat}`);
  const adapter = options.adapter_type ?? "ide";
  if (!ADAPTERS.includes(adapter))
    throw new ImageError("invalid-argument", `invalid parameter value: ${adapter}`);
  const compat6 = bool(options.compat6, "compat6");
  const zeroedGrain = bool(options.zeroed_grain, "zeroed_grain");
  if (compat6 && options.hwversion)
    throw new ImageError("invalid-argument", "compat6 cannot be enabled with hwversion set");
  if (options.backing_file && /Flat$/.test(subformat))
    throw new ImageError("invalid-argument", "Flat image can't have backing file");
  if (zeroedGrain && /Flat$/.test(subformat))
    throw new ImageError("invalid-argument", "Flat image can't enable zeroed grain");
  return { subformat, adapter, compat6, zeroedGrain };
}

export async function createVmdk(
  io: BlockIO,
  size: number | undefined,
  options: Record<string, string>,
  ctx: FormatCreateContext,
): Promise<void> {
  for (const k of Object.keys(options)) {
    if (!VMDK_OPTIONS.includes(k)) throw new ImageError("invalid-argument", `Invalid parameter '${k}'`);
  }
  // qemu's order: the backing format first, value checks, then vmdk_co_do_create's.
  if (options.backing_file && options.backing_fmt && options.backing_fmt !== "vmdk")
    throw new ImageError("invalid-argument", "backing_file must be a vmdk image");
  if (io.path === "") throw new ImageError("invalid-argument", "No filename provided");
  const { subformat, adapter, compat6, zeroedGrain } = checkVmdkOptions(options);
  const hw = options.hwversion && options.hwversion !== "undefined" ? options.hwversion : compat6 ? "6" : "4";
  let parentCid = 0xffffffff;
  let hint: string | undefined;
  if (options.backing_file) {
    const b = await ctx.openImage(options.backing_file, undefined);
    try {
      if (!(b instanceof VmdkImage))
        throw new ImageError("invalid-argument", "backing_file must be a vmdk image");
      size ??= b.virtualSize;
      parentCid = b.desc.cid;
    } finally {
      await b.close();
    }
    hint = options.backing_file;
  }
  if (size === undefined) throw new ImageError("invalid-argument", "Image creation needs a size parameter");
  const sectors = Math.ceil(size / 512);
  const heads = adapter === "ide" ? 16 : 255;
  const desc: VmdkDescriptor = {
    version: 1,
    cid: randomInt(0, 0xffffffff),
    parentCid,
    createType: subformat,
    parentFileNameHint: hint,
    extents: [],
    ddb: [
      ["ddb.virtualHWVersion", hw],
      ["ddb.geometry.cylinders", String(Math.floor(sectors / (heads * 63)))],
      ["ddb.geometry.heads", String(heads)],
      ["ddb.geometry.sectors", "63"],
      ["ddb.adapterType", adapter],
      ["ddb.toolsVersion", options.toolsversion ?? "2147483647"],
    ],
  };
  const path = io.path ?? "image.vmdk";
  const ext = extname(path);
  const prefix = basename(path, ext);
  if (subformat === "monolithicSparse" || subformat === "streamOptimized") {
    desc.extents.push({ access: "RW", sectors, type: "SPARSE", file: basename(path), offset: 0 });
    await writeSparseExtent(io, sectors, {
      stream: subformat === "streamOptimized",
      zeroedGrain,
      descriptor: formatDescriptor(desc),
    });
    return;
  }
  const flat = subformat.endsWith("Flat");
  const pieces: ExtentLine[] = [];
  if (subformat === "monolithicFlat")
    pieces.push({ access: "RW", sectors, type: "FLAT", file: `${prefix}-flat${ext}`, offset: 0 });
  else {
    const per = TWO_GB / 512;
    for (let i = 0, left = sectors; left > 0; i++, left -= per) {
      const n = Math.min(per, left);
      const tag = String(i + 1).padStart(3, "0");
      pieces.push({
        access: "RW",
        sectors: n,
        type: flat ? "FLAT" : "SPARSE",
        file: `${prefix}-${flat ? "f" : "s"}${tag}${ext}`,
        offset: 0,
      });
    }
  }
  for (const p of pieces) {
    // Replace an existing extent file as qemu does (FileIO honours `truncate` with `create`).
    const eio = await ctx.openFile(p.file, { readOnly: false, create: true, truncate: true } as never);
    try {
      await eio.truncate(0);
      if (flat) {
        await eio.truncate(p.sectors * 512);
        // qemu's file driver allocates the first block of a new file (allocate_first_block).
        if (p.sectors > 0) await eio.write(0, new Uint8Array(Math.min(4096, p.sectors * 512)));
      } else await writeSparseExtent(eio, p.sectors, { stream: false, zeroedGrain });
      await eio.flush();
    } finally {
      await eio.close();
    }
  }
  desc.extents = pieces;
  await io.write(0, Buffer.from(formatDescriptor(desc), "latin1"));
}
