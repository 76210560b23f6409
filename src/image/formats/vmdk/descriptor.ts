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

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** The create types qemu opens from a descriptor file (vmdk_open_desc_file). */
const DESC_FILE_TYPES = [
  "monolithicFlat",
  "vmfs",
  "vmfsSparse",
  "seSparse",
  "twoGbMaxExtentSparse",
  "twoGbMaxExtentFlat",
];

/**
 * qemu's vmdk_parse_description: the text 2 characters after the first occurrence of `name` up to
 * the next double quote; undefined when missing, unterminated or not shorter than bufSize.
 */
function descriptionOpt(text: string, name: string, bufSize: number): string | undefined {
  const i = text.indexOf(name);
  if (i < 0) return undefined;
  const from = i + name.length + 2;
  if (from >= text.length) return undefined;
  const to = text.indexOf('"', from);
  if (to < 0 || bufSize < to - from + 1) return undefined;
  return text.slice(from, to);
}

const isSpace = (c: string | undefined) =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

/**
 * sscanf(p, "%10s %ld %10s \"%511[^\n\r\"]\" %ld") as qemu's vmdk_parse_extents calls it on
 * the text from a line start: whitespace (newlines too) is skipped, so a blank line reads the
 * next line. Returns how many conversions matched and their values.
 */
function scanExtent(s: string, at: number) {
  let i = at;
  const ws = () => {
    while (isSpace(s[i])) i++;
  };
  const word = (max: number): string | undefined => {
    ws();
    const b = i;
    while (i < s.length && i - b < max && !isSpace(s[i])) i++;
    return i > b ? s.slice(b, i) : undefined;
  };
  const int = (): number | undefined => {
    ws();
    const m = /^[+-]?\d+/.exec(s.slice(i, i + 40));
    if (!m) return undefined;
    // (Trailing digits past 40 would only saturate further: strtoll's clamp.)
    let j = i + m[0].length;
    while (j < s.length && s[j]! >= "0" && s[j]! <= "9") j++;
    const digits = s.slice(i, j);
    i = j;
    const v = BigInt(digits);
    const max = 2n ** 63n - 1n;
    return Number(v > max ? max : v < -max - 1n ? -max - 1n : v);
  };
  const r: { n: number; access?: string; sectors?: number; type?: string; fname?: string; offset?: number } = {
    n: 0,
  };
  if ((r.access = word(10)) === undefined) return r;
  r.n = 1;
  if ((r.sectors = int()) === undefined) return r;
  r.n = 2;
  if ((r.type = word(10)) === undefined) return r;
  r.n = 3;
  ws();
  if (s[i] !== '"') return r;
  i++;
  const b = i;
  while (i < s.length && i - b < 511 && s[i] !== "\n" && s[i] !== "\r" && s[i] !== '"') i++;
  if (i === b) return r;
  r.fname = s.slice(b, i);
  r.n = 4;
  if (s[i] !== '"') return r;
  i++;
  if ((r.offset = int()) === undefined) return r;
  r.n = 5;
  return r;
}

/**
 * qemu's vmdk_parse_extents: for each line start, the sscanf above; lines that do not read as an
 * RW extent with a file name are skipped (also RDONLY, NOACCESS and ZERO extents, unknown types,
 * sizes not above 0), FLAT needs an offset and the others none (VMFS: offset 0).
 */
function parseExtents(text: string, path?: string): ExtentLine[] {
  const out: ExtentLine[] = [];
  for (let p = 0; p < text.length; ) {
    const nl = text.indexOf("\n", p);
    const next = nl < 0 ? text.length : nl + 1;
    const m = scanExtent(text, p);
    if (m.n >= 4 && m.access === "RW") {
      let offset = m.offset ?? -1;
      let bad = false;
      if (m.type === "FLAT") bad = m.n !== 5 || offset < 0;
      else if (m.type === "VMFS") {
        if (m.n === 4) offset = 0;
        else bad = true;
      } else bad = m.n !== 4;
      if (bad) {
        const line = text.slice(p, nl < 0 ? text.length : nl);
        throw new ImageError("format", `Invalid extent line: ${line}`, { path });
      }
      const known = ["FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"];
      if (m.sectors! > 0 && known.includes(m.type!))
        out.push({
          access: "RW",
          sectors: m.sectors!,
          type: m.type as ExtentType,
          file: m.fname!,
          offset: Math.max(offset, 0),
        });
    }
    p = next;
  }
  return out;
}

/**
 * Parses a descriptor. `descriptorFile`: a descriptor file's text, checked as qemu opens one (its
 * createType among the split/flat ones, then its extent lines); otherwise an embedded descriptor,
 * whose extent lines qemu never reads.
 */
export function parseDescriptor(text: string, path?: string, descriptorFile = false): VmdkDescriptor {
  const d: VmdkDescriptor = {
    version: 1,
    cid: 0xffffffff,
    parentCid: 0xffffffff,
    createType: "",
    extents: [],
    ddb: [],
  };
  // (qemu works on the text as a C string: up to its first NUL.)
  const z = text.indexOf("\0");
  const c = z < 0 ? text : text.slice(0, z);
  // (An embedded descriptor, e.g. a truncated one, may also give it as a plain key line.)
  const ct =
    descriptionOpt(c, "createType", 128) ??
    (descriptorFile ? undefined : /^\s*createType\s*=\s*"?([^"\r\n]*)/m.exec(c)?.[1]?.trim());
  if (ct === undefined) throw new ImageError("format", "invalid VMDK image descriptor", { path });
  d.createType = ct;
  if (descriptorFile && !DESC_FILE_TYPES.includes(ct))
    throw new ImageError("unsupported", `Unsupported image type '${ct}'`, { path });
  for (const raw of c.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = unquote(line.slice(eq + 1));
    if (key.startsWith("ddb.")) d.ddb.push([key, value]);
    else if (key === "version") d.version = Number(value);
    else if (key === "CID") d.cid = Number.parseInt(value, 16) >>> 0;
    else if (key === "parentCID") d.parentCid = Number.parseInt(value, 16) >>> 0;
    else if (key === "parentFileNameHint") d.parentFileNameHint = value;
  }
  if (descriptorFile) d.extents = parseExtents(c, path);
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
