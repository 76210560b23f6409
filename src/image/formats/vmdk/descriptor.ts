// VMDK text descriptor: parse and format (VMware "Virtual Disk Format 1.1", section 4: header
// keys, extent lines, disk database). Formatting mirrors qemu-img's output byte for byte.

import { ImageError } from "../../errors.js";

export type ExtentAccess = "RW" | "RDONLY" | "NOACCESS";
export type ExtentType = "SPARSE" | "FLAT" | "ZERO" | "VMFS" | "VMFSSPARSE" | "SESPARSE";

export interface ExtentLine {
  access: ExtentAccess;
  sectors: number;
  type: ExtentType;
  file: string;
  /** Start of the data in a FLAT extent file, in sectors. */
  offset: number;
}

export interface VmdkDescriptor {
  version: number;
  cid: number;
  parentCid: number;
  createType: string;
  parentFileNameHint?: string;
  extents: ExtentLine[];
  /** ddb.* keys (without quotes), in file order. */
  ddb: [string, string][];
}

/** Descriptors larger than this are refused before reading (qemu caps at a few MiB too). */
export const MAX_DESCRIPTOR = 1 << 20;

const EXTENT_RE =
  /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(SPARSE|FLAT|ZERO|VMFS|VMFSSPARSE|SESPARSE)(?:\s+"([^"]*)")?(?:\s+(\d+))?\s*$/;

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

export function parseDescriptor(text: string, path?: string): VmdkDescriptor {
  const d: VmdkDescriptor = {
    version: 1,
    cid: 0xffffffff,
    parentCid: 0xffffffff,
    createType: "",
    extents: [],
    ddb: [],
  };
  let sawCreateType = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\0.*$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = EXTENT_RE.exec(line);
    if (m) {
      const type = m[3] as ExtentType;
      if (type !== "ZERO" && m[4] === undefined)
        throw new ImageError("format", `Invalid extent line: ${line}`, { path });
      d.extents.push({
        access: m[1] as ExtentAccess,
        sectors: Number(m[2]),
        type,
        file: m[4] ?? "",
        offset: m[5] ? Number(m[5]) : 0,
      });
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = unquote(line.slice(eq + 1));
    if (key.startsWith("ddb.")) d.ddb.push([key, value]);
    else if (key === "version") d.version = Number(value);
    else if (key === "CID") d.cid = Number.parseInt(value, 16) >>> 0;
    else if (key === "parentCID") d.parentCid = Number.parseInt(value, 16) >>> 0;
    else if (key === "createType") {
      d.createType = value;
      sawCreateType = true;
    } else if (key === "parentFileNameHint") d.parentFileNameHint = value;
  }
  if (!sawCreateType) throw new ImageError("format", "invalid VMDK image descriptor", { path });
  for (const e of d.extents) {
    if (!Number.isSafeInteger(e.sectors) || e.sectors < 0 || e.sectors > 2 ** 44) {
      throw new ImageError("format", "Invalid extent size in descriptor", { path });
    }
  }
  return d;
}

/** qemu-img's descriptor layout (block/vmdk.c desc_template). */
export function formatDescriptor(d: VmdkDescriptor): string {
  const parent = d.parentFileNameHint !== undefined ? `parentFileNameHint="${d.parentFileNameHint}"` : "";
  const extents = d.extents
    .map(
      (e) =>
        `${e.access} ${e.sectors} ${e.type}${e.type === "ZERO" ? "" : ` "${e.file}"`}${e.type === "FLAT" || e.type === "VMFS" ? ` ${e.offset}` : ""}\n`,
    )
    .join("");
  const ddb = d.ddb.map(([k, v]) => `${k} = "${v}"\n`).join("");
  return (
    "# Disk DescriptorFile\n" +
    `version=${d.version}\n` +
    `CID=${(d.cid >>> 0).toString(16)}\n` +
    `parentCID=${(d.parentCid >>> 0).toString(16)}\n` +
    `createType="${d.createType}"\n` +
    `${parent}\n` +
    "# Extent description\n" +
    extents +
    "\n" +
    "# The Disk Data Base\n" +
    "#DDB\n" +
    "\n" +
    ddb
  );
}

export function ddbGet(d: VmdkDescriptor, key: string): string | undefined {
  return d.ddb.find(([k]) => k === key)?.[1];
}
