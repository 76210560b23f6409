// Storage volume XML ⇄ StorageVolDef as libvirt 9.0 reads and prints it (storage_conf.c
// virStorageVolDefParseXML / virStorageVolDefFormat). The pool type picks the format enum.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, elements, textContent, type XmlElement } from "../../xml/index.js";
import { parseUuid } from "../common/uuid.js";
import { a, esc, parseRoot, XmlBuf } from "../network/conf-xml.js";
import { formatPerms, parsePerms, parseScaled, storageXmlErr } from "./common.js";
import {
  type PoolType,
  type StoragePoolDef,
  type StorageVolDef,
  VOL_TYPES,
  type VolEncryption,
} from "./types.js";

const S = ErrorDomain.STORAGE;

/** virStorageFileFormat names accepted for volumes in file-based pools. */
// "none" is index 0 of libvirt's enum and is refused when parsing, like an unknown name.
export const FILE_FORMATS = [
  "raw",
  "dir",
  "bochs",
  "cloop",
  "dmg",
  "iso",
  "vpc",
  "vdi",
  "fat",
  "vhd",
  "ploop",
  "cow",
  "qcow",
  "qcow2",
  "qed",
  "vmdk",
] as const;
const DISK_PART_FORMATS = [
  "none",
  "linux",
  "fat16",
  "fat32",
  "linux-swap",
  "linux-lvm",
  "linux-raid",
  "extended",
];

/** The volume format table of a pool type, with its default (poolTypeInfo volOptions). */
export function volFormatsFor(
  pool: PoolType,
): { formats: readonly string[]; defaultFormat: string } | undefined {
  switch (pool) {
    case "dir":
    case "fs":
    case "netfs":
    case "gluster":
    case "vstorage":
    case "rbd":
    case "sheepdog":
      return { formats: FILE_FORMATS, defaultFormat: "raw" };
    case "disk":
      return { formats: DISK_PART_FORMATS, defaultFormat: "none" };
    default:
      return undefined;
  }
}

function parseEncryption(e: XmlElement): VolEncryption {
  const format = attr(e, "format");
  if (format === undefined) throw storageXmlErr("unknown volume encryption format");
  if (format !== "default" && format !== "qcow" && format !== "luks") {
    throw storageXmlErr(`unknown volume encryption format type ${format}`);
  }
  const enc: VolEncryption = { format, secrets: [] };
  for (const s of elements(e, "secret")) {
    const type = attr(s, "type");
    if (type === undefined) throw storageXmlErr("unknown volume encryption secret type");
    if (type !== "passphrase") throw storageXmlErr(`unknown volume encryption secret type ${type}`);
    const u = attr(s, "uuid");
    const usage = attr(s, "usage");
    if (u !== undefined) {
      const uu = parseUuid(u);
      if (!uu) throw storageXmlErr(`malformed volume encryption uuid '${u}'`);
      enc.secrets.push({ type, uuid: uu });
    } else if (usage !== undefined) enc.secrets.push({ type, usage });
    else throw storageXmlErr("either secret uuid or usage expected");
  }
  const c = child(e, "cipher");
  if (c) {
    const name = attr(c, "name");
    const size = attr(c, "size");
    if (name === undefined) throw storageXmlErr("cipher info missing 'name' attribute");
    if (size === undefined || !/^[0-9]+$/.test(size)) {
      throw storageXmlErr(`cannot parse cipher size: '${size ?? ""}'`);
    }
    enc.cipher = { name, size: Number(size), mode: attr(c, "mode"), hash: attr(c, "hash") };
  }
  const iv = child(e, "ivgen");
  if (iv) {
    const name = attr(iv, "name");
    if (name === undefined) throw storageXmlErr("missing ivgen name");
    enc.ivgen = { name, hash: attr(iv, "hash") };
  }
  return enc;
}

/** Parses `<volume>` XML for a pool (its definition or just its type; default: a dir pool). */
export function parseStorageVolXML(xml: string, pool: PoolType | StoragePoolDef = "dir"): StorageVolDef {
  const root = parseRoot(xml, "volume", "(storage_volume_definition)", S);
  const fmts = volFormatsFor(typeof pool === "string" ? pool : pool.type);
  const name = childText(root, "name");
  if (!name) throw storageXmlErr("missing volume name element");
  const typeS = attr(root, "type");
  if (typeS !== undefined && !(VOL_TYPES as readonly string[]).includes(typeS)) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, `unknown volume type '${typeS}'`);
  }
  const capacity = parseScaled(child(root, "capacity"), "capacity");
  if (capacity === undefined) throw storageXmlErr("missing capacity element");
  const alloc = parseScaled(child(root, "allocation"), "allocation");
  const def: StorageVolDef = {
    type: (typeS as StorageVolDef["type"]) ?? "file",
    name,
    key: childText(root, "key"),
    capacity,
    allocation: alloc ?? capacity,
    allocationGiven: alloc !== undefined,
    target: { features: {} },
  };
  const t = child(root, "target");
  if (t) {
    def.target.path = childText(t, "path");
    const fmt = child(t, "format");
    const f = fmt ? attr(fmt, "type") : undefined;
    if (fmts && f !== undefined) {
      if (!fmts.formats.includes(f))
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, `unknown volume format type ${f}`);
      def.target.format = f;
    }
    def.target.perms = parsePerms(child(t, "permissions"));
    const enc = child(t, "encryption");
    if (enc) def.target.encryption = parseEncryption(enc);
    const compat = childText(t, "compat");
    if (compat !== undefined) {
      if (!/^[0-9]+\.[0-9]+$/.test(compat)) throw storageXmlErr("forbidden characters in 'compat' attribute");
      def.target.compat = compat;
    }
    def.target.clusterSize = parseScaled(child(t, "clusterSize"), "clusterSize");
    if (child(t, "nocow")) def.target.nocow = true;
    const feats = child(t, "features");
    if (feats) {
      for (const fe of elements(feats)) {
        if (fe.name === "lazy_refcounts") def.target.features.lazyRefcounts = true;
        else if (fe.name === "extended_l2") def.target.features.extendedL2 = true;
        else throw storageXmlErr(`unsupported feature ${fe.name}`);
      }
      if (def.target.compat === undefined) def.target.compat = "1.1";
    }
  }
  if (fmts && def.target.format === undefined) def.target.format = fmts.defaultFormat;
  const bs = child(root, "backingStore");
  if (bs) {
    const path = childText(bs, "path");
    if (!path) throw storageXmlErr("missing volume backingStore path");
    const bf = child(bs, "format");
    const bfs = bf ? attr(bf, "type") : undefined;
    if (fmts && bfs !== undefined && !fmts.formats.includes(bfs)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, `unknown volume format type ${bfs}`);
    }
    def.backingStore = {
      path,
      format: bfs ?? (fmts ? fmts.defaultFormat : undefined),
      perms: parsePerms(child(bs, "permissions")),
    };
  }
  void textContent;
  return def;
}

function formatEncryption(buf: XmlBuf, e: VolEncryption): void {
  buf.line(`<encryption format='${e.format}'>`);
  buf.indent();
  for (const s of e.secrets) buf.line(`<secret type='${s.type}'${a("uuid", s.uuid)}${a("usage", s.usage)}/>`);
  if (e.cipher) {
    const c = e.cipher;
    buf.line(`<cipher${a("name", c.name)} size='${c.size}'${a("mode", c.mode)}${a("hash", c.hash)}/>`);
  }
  if (e.ivgen) buf.line(`<ivgen${a("name", e.ivgen.name)}${a("hash", e.ivgen.hash)}/>`);
  buf.dedent();
  buf.line("</encryption>");
}

/** Formats a volume as `virsh vol-dumpxml` shows it. */
export function formatStorageVolXML(def: StorageVolDef): string {
  const buf = new XmlBuf();
  buf.line(`<volume type='${def.type}'>`);
  buf.indent();
  buf.line(`<name>${esc(def.name)}</name>`);
  buf.line(`<key>${esc(def.key ?? "(null)")}</key>`);
  buf.line(`<capacity unit='bytes'>${def.capacity}</capacity>`);
  buf.line(`<allocation unit='bytes'>${def.allocation}</allocation>`);
  const t = def.target;
  buf.line("<target>");
  buf.indent();
  if (t.path !== undefined) buf.line(`<path>${esc(t.path)}</path>`);
  if (t.format !== undefined) buf.line(`<format type='${t.format}'/>`);
  formatPerms(buf, t.perms);
  if (t.encryption) formatEncryption(buf, t.encryption);
  if (t.compat !== undefined) buf.line(`<compat>${esc(t.compat)}</compat>`);
  if (t.clusterSize !== undefined) buf.line(`<clusterSize unit='B'>${t.clusterSize}</clusterSize>`);
  if (t.features.lazyRefcounts || t.features.extendedL2) {
    buf.line("<features>");
    buf.indent();
    if (t.features.lazyRefcounts) buf.line("<lazy_refcounts/>");
    if (t.features.extendedL2) buf.line("<extended_l2/>");
    buf.dedent();
    buf.line("</features>");
  }
  buf.dedent();
  buf.line("</target>");
  if (def.backingStore) {
    const b = def.backingStore;
    buf.line("<backingStore>");
    buf.indent();
    buf.line(`<path>${esc(b.path)}</path>`);
    if (b.format !== undefined) buf.line(`<format type='${b.format}'/>`);
    formatPerms(buf, b.perms);
    buf.dedent();
    buf.line("</backingStore>");
  }
  buf.dedent();
  buf.line("</volume>");
  return buf.toString();
}
