// Storage pool XML ⇄ StoragePoolDef as libvirt 9.0 parses, defaults and prints it
// (storage_conf.c virStoragePoolDefParseXML / virStoragePoolDefFormat). No I/O.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, type XmlElement } from "../../xml/index.js";
import { generateUuid, parseUuid } from "../common/uuid.js";
import { enumAttr, esc, parseRoot, XmlBuf } from "../network/conf-xml.js";
import { formatPerms, parsePerms, sanitizePath, storageXmlErr } from "./common.js";
import { formatPoolSource, parsePoolSource, POOL_TYPE_INFO } from "./pool-source.js";
import { POOL_TYPES, type StoragePoolDef } from "./types.js";

const S = ErrorDomain.STORAGE;

/** Parses `<pool>` XML (virStoragePoolDefParseString) including libvirt's defaults and checks. */
export function parseStoragePoolXML(xml: string): StoragePoolDef {
  return parseStoragePoolElement(parseRoot(xml, "pool", "(storage_pool_definition)", S));
}

export function parseStoragePoolElement(root: XmlElement): StoragePoolDef {
  const type = enumAttr(root, "type", POOL_TYPES, true)!;
  const info = POOL_TYPE_INFO[type];
  const source = parsePoolSource(child(root, "source"), type);
  const name = childText(root, "name");
  if (!name) throw storageXmlErr("missing pool source name element");
  if (name.includes("/")) throw storageXmlErr(`name ${name} cannot contain '/'`);
  const uuidS = childText(root, "uuid");
  let uuid: string;
  if (!uuidS) uuid = generateUuid();
  else {
    const u = parseUuid(uuidS);
    if (!u) throw storageXmlErr("malformed uuid element");
    uuid = u;
  }
  const def: StoragePoolDef = {
    type,
    name,
    uuid,
    capacity: 0n,
    allocation: 0n,
    available: 0n,
    source,
    target: {},
  };
  if (info.host && source.hosts.length === 0) throw storageXmlErr("missing storage pool source host name");
  if (info.dir && source.dir === undefined) {
    if (type === "gluster") source.dir = "/";
    else throw storageXmlErr("missing storage pool source path");
  }
  if (info.name && source.name === undefined) {
    if (type === "rbd") throw storageXmlErr("element 'name' is mandatory for RBD pool");
    source.name = name;
  }
  if (info.adapter && !source.adapter) throw storageXmlErr("missing storage pool source adapter");
  // Only pools whose sole source is a device require one (libvirt: flags == SOURCE_DEVICE).
  if ((type === "fs" || type === "disk") && source.devices.length === 0) {
    throw storageXmlErr("missing storage pool source device name");
  }
  if (info.formats && source.format === undefined) source.format = info.defaultFormat;
  const target = child(root, "target");
  const path = target ? childText(target, "path") : undefined;
  if (!info.noTarget) {
    if (path) def.target.path = sanitizePath(path);
    else if (type === "logical") def.target.path = `/dev/${source.name}`;
    else if (type === "zfs") def.target.path = `/dev/zvol/${source.name}`;
    else throw storageXmlErr("missing storage pool target path");
    def.target.perms = parsePerms(target ? child(target, "permissions") : undefined);
  }
  if (type === "iscsi-direct" && !source.initiatorIqn) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, S, "missing initiator IQN");
  }
  const feats = child(root, "features");
  const cow = feats ? child(feats, "cow") : undefined;
  if (cow) {
    def.cow = enumAttr(cow, "state", ["yes", "no"] as const, true) === "yes";
  }
  const refresh = child(root, "refresh");
  const rvol = refresh ? child(refresh, "volume") : undefined;
  if (rvol) {
    const al = attr(rvol, "allocation");
    if (al !== "default" && al !== "capacity")
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        S,
        `unknown storage pool volume refresh allocation type ${al ?? ""}`,
      );
    def.refreshAllocation = al;
  }
  for (const c of root.children) if (c.kind === "element" && c.name.includes(":")) def.namespaceData = c;
  return def;
}

/** Formats a pool as `virsh pool-dumpxml` shows it (sizes in bytes, `<source>` always present). */
export function formatStoragePoolXML(def: StoragePoolDef): string {
  const buf = new XmlBuf();
  buf.line(`<pool type='${def.type}'>`);
  buf.indent();
  buf.line(`<name>${esc(def.name)}</name>`);
  buf.line(`<uuid>${def.uuid}</uuid>`);
  buf.line(`<capacity unit='bytes'>${def.capacity}</capacity>`);
  buf.line(`<allocation unit='bytes'>${def.allocation}</allocation>`);
  buf.line(`<available unit='bytes'>${def.available}</available>`);
  if (def.cow !== undefined) {
    buf.line("<features>");
    buf.indent();
    buf.line(`<cow state='${def.cow ? "yes" : "no"}'/>`);
    buf.dedent();
    buf.line("</features>");
  }
  formatPoolSource(buf, def.source, def.type);
  if (!POOL_TYPE_INFO[def.type].noTarget) {
    buf.line("<target>");
    buf.indent();
    if (def.target.path !== undefined) buf.line(`<path>${esc(def.target.path)}</path>`);
    formatPerms(buf, def.target.perms);
    buf.dedent();
    buf.line("</target>");
  }
  if (def.refreshAllocation !== undefined) {
    buf.line("<refresh>");
    buf.indent();
    buf.line(`<volume allocation='${def.refreshAllocation}'/>`);
    buf.dedent();
    buf.line("</refresh>");
  }
  buf.dedent();
  buf.line("</pool>");
  return buf.toString();
}
