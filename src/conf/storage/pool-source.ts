// A storage pool's <source> (libvirt's virStoragePoolDefParseSource / virStoragePoolSourceFormat).
// Which parts are printed depends on the pool type's option flags, as in libvirt's poolTypeInfo.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, elements, type XmlElement } from "../../xml/index.js";
import { parseUuid } from "../common/uuid.js";
import { a, esc, type XmlBuf } from "../network/conf-xml.js";
import { sanitizePath, storageXmlErr } from "./common.js";
import type { PoolAdapter, PoolAuth, PoolSource, PoolType } from "./types.js";

const S = ErrorDomain.STORAGE;

/** Per-type source options: which source parts exist, and the format enum with its default. */
export interface PoolTypeInfo {
  host?: boolean;
  device?: boolean;
  dir?: boolean;
  adapter?: boolean;
  name?: boolean;
  initiator?: boolean;
  formats?: readonly string[];
  defaultFormat?: string;
  /** Pools without a local target path (network-only). */
  noTarget?: boolean;
}

const FS_FORMATS = [
  "auto",
  "ext2",
  "ext3",
  "ext4",
  "ufs",
  "iso9660",
  "udf",
  "gfs",
  "gfs2",
  "vfat",
  "hfs+",
  "xfs",
  "ocfs2",
  "vmfs",
];
const DISK_FORMATS = ["unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2"];

export const POOL_TYPE_INFO: Record<PoolType, PoolTypeInfo> = {
  dir: {},
  fs: { device: true, formats: FS_FORMATS, defaultFormat: "auto" },
  netfs: { host: true, dir: true, formats: ["auto", "nfs", "glusterfs", "cifs"], defaultFormat: "auto" },
  logical: { name: true, device: true, formats: ["unknown", "lvm2"], defaultFormat: "lvm2" },
  disk: { device: true, formats: DISK_FORMATS, defaultFormat: "unknown" },
  iscsi: { host: true, device: true, initiator: true },
  "iscsi-direct": { host: true, device: true, initiator: true, noTarget: true },
  scsi: { adapter: true },
  mpath: {},
  rbd: { host: true, name: true, noTarget: true },
  sheepdog: { host: true, name: true, noTarget: true },
  gluster: { host: true, name: true, dir: true, noTarget: true },
  zfs: { name: true, device: true },
  vstorage: { name: true },
};

function hexNum(s: string | undefined, max: number): number {
  if (s === undefined) return 0;
  const v = /^0[xX][0-9a-fA-F]+$/.test(s)
    ? Number.parseInt(s, 16)
    : /^[0-9]+$/.test(s)
      ? Number(s)
      : Number.NaN;
  if (Number.isNaN(v) || v > max)
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, "Cannot parse <address> attribute");
  return v;
}

function parseAdapter(e: XmlElement): PoolAdapter {
  const t = attr(e, "type");
  if (t === undefined || t === "scsi_host") {
    const pa = child(e, "parentaddr");
    const ad: PoolAdapter = { type: "scsi_host", name: attr(e, "name") };
    if (pa) {
      const addr = child(pa, "address");
      if (!addr) throw storageXmlErr("Missing scsi_host PCI address element");
      ad.parentaddr = {
        uniqueId: attr(pa, "unique_id"),
        domain: hexNum(attr(addr, "domain"), 0xffff),
        bus: hexNum(attr(addr, "bus"), 0xff),
        slot: hexNum(attr(addr, "slot"), 0x1f),
        function: hexNum(attr(addr, "function"), 7),
      };
    }
    if (ad.name === undefined && !ad.parentaddr) {
      throw storageXmlErr("Either 'name' or 'parent' must be specified for the 'scsi_host' adapter");
    }
    if (ad.name !== undefined && ad.parentaddr) {
      throw storageXmlErr("Both 'name' and 'parent' cannot be specified for the 'scsi_host' adapter");
    }
    return ad;
  }
  if (t === "fc_host") {
    const m = attr(e, "managed");
    if (m !== undefined && m !== "yes" && m !== "no")
      throw storageXmlErr(`unknown fc_host managed setting '${m}'`);
    const ad: PoolAdapter = {
      type: "fc_host",
      parent: attr(e, "parent"),
      parentWwnn: attr(e, "parent_wwnn"),
      parentWwpn: attr(e, "parent_wwpn"),
      parentFabricWwn: attr(e, "parent_fabric_wwn"),
      managed: m === undefined ? undefined : m === "yes",
      wwnn: attr(e, "wwnn"),
      wwpn: attr(e, "wwpn"),
    };
    if (ad.wwnn === undefined || ad.wwpn === undefined) {
      throw storageXmlErr("'wwnn' and 'wwpn' must be specified for adapter type 'fchost'");
    }
    return ad;
  }
  throw storageXmlErr(`Unknown pool adapter type '${t}'`);
}

function parseAuth(e: XmlElement): PoolAuth {
  const type = attr(e, "type");
  if (type === undefined) throw storageXmlErr("missing authentication type");
  if (type !== "chap" && type !== "ceph")
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, `unknown auth type '${type}'`);
  const username = attr(e, "username");
  if (username === undefined) throw storageXmlErr("missing username for auth");
  const sec = child(e, "secret");
  if (!sec) throw storageXmlErr("Missing <secret> element in auth");
  const auth: PoolAuth = { type, username };
  const u = attr(sec, "uuid");
  const usage = attr(sec, "usage");
  if (u !== undefined) {
    const uu = parseUuid(u);
    if (!uu) throw storageXmlErr(`invalid auth secret uuid '${u}'`);
    auth.secretUuid = uu;
    if (usage !== undefined) throw storageXmlErr("either secret uuid or usage expected");
  } else if (usage !== undefined) auth.secretUsage = usage;
  else throw storageXmlErr("either secret uuid or usage expected");
  return auth;
}

export function parsePoolSource(e: XmlElement | undefined, type: PoolType): PoolSource {
  const src: PoolSource = { hosts: [], devices: [] };
  if (!e) return src;
  const info = POOL_TYPE_INFO[type];
  src.name = childText(e, "name");
  const fmt = child(e, "format");
  if (fmt && info.formats) {
    const f = attr(fmt, "type");
    if (f === undefined) throw storageXmlErr("missing pool source format name");
    if (!info.formats.includes(f))
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, `unknown pool format type ${f}`);
    src.format = f;
  }
  for (const h of elements(e, "host")) {
    const name = attr(h, "name");
    if (name === undefined) throw storageXmlErr("missing storage pool host name");
    const port = attr(h, "port");
    let p: number | undefined;
    if (port !== undefined) {
      if (!/^[0-9]+$/.test(port) || Number(port) > 0x7fffffff)
        throw storageXmlErr(`Invalid port number: ${port}`);
      p = Number(port);
    }
    src.hosts.push({ name, port: p });
  }
  const init = child(e, "initiator");
  const iqn = init ? child(init, "iqn") : undefined;
  if (iqn) src.initiatorIqn = attr(iqn, "name");
  for (const d of elements(e, "device")) {
    const path = attr(d, "path");
    if (path === undefined) throw storageXmlErr("missing storage pool source device path");
    const ps = attr(d, "part_separator");
    if (ps !== undefined && ps !== "yes" && ps !== "no") {
      throw storageXmlErr(`invalid part_separator setting '${ps}'`);
    }
    src.devices.push({ path, partSeparator: ps === undefined ? undefined : ps === "yes" });
  }
  const dir = child(e, "dir");
  const dirPath = dir ? attr(dir, "path") : undefined;
  if (dirPath !== undefined) src.dir = sanitizePath(dirPath);
  const ad = child(e, "adapter");
  if (ad) src.adapter = parseAdapter(ad);
  const auth = child(e, "auth");
  if (auth) src.auth = parseAuth(auth);
  const proto = child(e, "protocol");
  if (proto && attr(proto, "ver") !== undefined) {
    const v = attr(proto, "ver")!;
    if (!/^[0-9]+$/.test(v)) throw storageXmlErr(`storage pool protocol ver '${v}' is malformed`);
    src.protocolVer = Number(v);
  }
  const vendor = child(e, "vendor");
  if (vendor) src.vendor = attr(vendor, "name");
  const product = child(e, "product");
  if (product) src.product = attr(product, "name");
  return src;
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;

function formatAdapter(buf: XmlBuf, ad: PoolAdapter): void {
  if (ad.type === "fc_host") {
    const m = ad.managed === undefined ? "" : ` managed='${ad.managed ? "yes" : "no"}'`;
    buf.line(
      `<adapter type='fc_host'${a("parent", ad.parent)}${a("parent_wwnn", ad.parentWwnn)}${a("parent_wwpn", ad.parentWwpn)}` +
        `${a("parent_fabric_wwn", ad.parentFabricWwn)}${m}${a("wwnn", ad.wwnn)}${a("wwpn", ad.wwpn)}/>`,
    );
    return;
  }
  if (!ad.parentaddr) {
    buf.line(`<adapter type='scsi_host'${a("name", ad.name)}/>`);
    return;
  }
  const p = ad.parentaddr;
  buf.line("<adapter type='scsi_host'>");
  buf.indent();
  buf.line(`<parentaddr${a("unique_id", p.uniqueId)}>`);
  buf.indent();
  buf.line(
    `<address domain='${hex(p.domain, 4)}' bus='${hex(p.bus, 2)}' slot='${hex(p.slot, 2)}' function='${hex(p.function, 1)}'/>`,
  );
  buf.dedent();
  buf.line("</parentaddr>");
  buf.dedent();
  buf.line("</adapter>");
}

export function formatPoolSource(buf: XmlBuf, src: PoolSource, type: PoolType): void {
  const info = POOL_TYPE_INFO[type];
  buf.line("<source>");
  buf.indent();
  if (info.host)
    for (const h of src.hosts) buf.line(`<host${a("name", h.name)}${a("port", h.port || undefined)}/>`);
  if (info.device) {
    for (const d of src.devices) {
      const ps = d.partSeparator === undefined ? "" : ` part_separator='${d.partSeparator ? "yes" : "no"}'`;
      buf.line(`<device${a("path", d.path)}${ps}/>`);
    }
  }
  if (info.dir && src.dir !== undefined) buf.line(`<dir${a("path", src.dir)}/>`);
  if (info.adapter && src.adapter) formatAdapter(buf, src.adapter);
  if (info.name && src.name !== undefined) buf.line(`<name>${esc(src.name)}</name>`);
  if (info.initiator && src.initiatorIqn !== undefined) {
    buf.line("<initiator>");
    buf.indent();
    buf.line(`<iqn${a("name", src.initiatorIqn)}/>`);
    buf.dedent();
    buf.line("</initiator>");
  }
  if (info.formats && src.format !== undefined) buf.line(`<format type='${src.format}'/>`);
  if (src.auth) {
    const au = src.auth;
    buf.line(`<auth${a("type", au.type)}${a("username", au.username)}>`);
    buf.indent();
    buf.line(`<secret${a("uuid", au.secretUuid)}${a("usage", au.secretUsage)}/>`);
    buf.dedent();
    buf.line("</auth>");
  }
  if (src.protocolVer) buf.line(`<protocol ver='${src.protocolVer}'/>`);
  if (src.vendor !== undefined) buf.line(`<vendor${a("name", src.vendor)}/>`);
  if (src.product !== undefined) buf.line(`<product${a("name", src.product)}/>`);
  buf.dedent();
  buf.line("</source>");
}
