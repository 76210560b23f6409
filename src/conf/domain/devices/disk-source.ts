// A disk's storage source (`<source>` of a disk or of each `<backingStore>`), modelled per storage
// type as libvirt 9.0 reads and prints it (virDomainStorageSourceParse / virDomainDiskSourceFormat):
// only the attributes and children its type has are kept, in libvirt's order, and the checks its
// type has are applied. Found with virsh -c test:///default define + dumpxml of libvirt 9.0.

import { attr, elements, type XmlElement, type XmlNode } from "../../../xml/index.js";
import { ATTR_CHECKS } from "../attr-checks.js";
import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import { invalidAttr, missingAttr, unsupported, xmlErr, xmlPropErr } from "../errors.js";

/** The attributes each storage type reads, in the order libvirt prints them. */
const TYPE_ATTRS: Record<string, readonly string[]> = {
  file: ["file", "fdgroup"],
  block: ["dev"],
  dir: ["dir"],
  network: ["protocol", "name", "query", "tls", "tlsHostname"],
  volume: ["pool", "volume", "mode"],
  nvme: ["type", "managed", "namespace"],
  vhostuser: ["type", "path"],
};

/** Children only a network source has, in libvirt's order (before the common ones). */
const NETWORK_CHILDREN = [
  "host",
  "identity",
  "snapshot",
  "config",
  "initiator",
  "ssl",
  "cookies",
  "readahead",
  "timeout",
];
/** Children every storage type has, after its own (a network source has no seclabel, a volume no auth). */
const COMMON_CHILDREN = ["slices", "seclabel", "auth", "encryption", "reservations"];

const CURL = new Set(["http", "https", "ftp", "ftps"]);

/** Whether a network source of `protocol` keeps the child `name`. */
function networkChild(name: string, protocol: string | undefined): boolean {
  switch (name) {
    case "ssl":
      return protocol === "https" || protocol === "ftps";
    case "cookies":
      return protocol === "http" || protocol === "https";
    case "identity":
      return protocol === "nfs";
    case "readahead":
    case "timeout":
      return protocol !== undefined && CURL.has(protocol);
    default:
      return true;
  }
}

function childRank(type: string, name: string, protocol: string | undefined): number {
  let own: readonly string[] = [];
  if (type === "network") own = NETWORK_CHILDREN;
  else if (type === "nvme") own = ["address"];
  else if (type === "vhostuser") own = ["reconnect"];
  const i = own.indexOf(name);
  if (i >= 0) return type === "network" && !networkChild(name, protocol) ? -1 : i;
  const j = COMMON_CHILDREN.indexOf(name);
  if (j < 0) return -1;
  if (name === "seclabel" && type === "network") return -1;
  if (name === "auth" && type === "volume") return -1;
  return own.length + j;
}

const HEX = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;
const PCI_FIELDS: [string, number][] = [
  ["domain", 4],
  ["bus", 2],
  ["slot", 2],
  ["function", 0],
];

/** An NVMe source's PCI address as libvirt prints it (virPCIDeviceAddressFormat: no type, hex). */
function nvmeAddress(a: XmlElement): XmlElement {
  const out: [string, string][] = [];
  for (const [k, w] of PCI_FIELDS) {
    const v = attr(a, k);
    const n = v === undefined ? 0 : Number(v.trim());
    out.push([k, Number.isInteger(n) && n >= 0 ? HEX(n, w) : (v ?? "0")]);
  }
  return { kind: "element", name: "address", attrs: out, children: [], line: a.line };
}

/** Attributes in libvirt's order for the children of a storage source that have several. */
const CHILD_ATTRS: Record<string, readonly string[]> = {
  slice: ["type", "offset", "size"],
  reconnect: ["enabled", "timeout"],
};

function ordered(e: XmlElement, order: readonly string[]): XmlElement {
  const attrs: [string, string][] = [];
  for (const k of order) {
    const v = attr(e, k);
    if (v !== undefined) attrs.push([k, v]);
  }
  return { ...e, attrs };
}

/** One child of a storage source as libvirt prints it, or undefined when it prints none. */
function canonChild(k: XmlElement): XmlElement | undefined {
  switch (k.name) {
    case "address":
      return nvmeAddress(k);
    case "slices": {
      // only the storage slice is read (./slices/slice[@type='storage'])
      const slice = elements(k, "slice").find((x) => attr(x, "type") === "storage");
      return slice ? { ...k, children: [ordered(slice, CHILD_ATTRS.slice!)] } : undefined;
    }
    case "readahead":
    case "timeout": {
      // a number, printed when not zero
      const key = k.name === "readahead" ? "size" : "seconds";
      const v = attr(k, key);
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) === 0) return undefined;
      return { ...k, attrs: [[key, String(Number(v))]], children: [] };
    }
    case "ssl":
      return attr(k, "verify") === undefined ? undefined : ordered(k, ["verify"]);
    case "cookies":
      return elements(k, "cookie").length === 0 ? undefined : k;
    case "host":
      return ordered(k, ["name", "port", "transport", "socket"]);
    case "identity":
      return ordered(k, ["user", "group"]);
    case "snapshot":
      // only the name is read (./snapshot/@name), the config file's path (./config/@file)
      return attr(k, "name") === undefined ? undefined : ordered(k, ["name"]);
    case "config":
      return attr(k, "file") === undefined ? undefined : ordered(k, ["file"]);
    case "reservations": {
      // the managed='no' helper's socket: type, path, mode
      const rs = elements(k, "source")[0];
      return rs
        ? { ...ordered(k, ["managed"]), children: [ordered(rs, ["type", "path", "mode"])] }
        : ordered(k, ["managed"]);
    }
    case "reconnect": {
      const enabled = attr(k, "enabled");
      if (enabled === undefined) return undefined;
      return ordered(k, enabled === "yes" ? CHILD_ATTRS.reconnect! : ["enabled"]);
    }
    default:
      return k;
  }
}

/**
 * The source of storage `type` as libvirt keeps it: its own attributes in order (a disk's own
 * source also startupPolicy), children in order, everything else dropped. `src` is a canonical
 * copy (canonGeneric) that is changed in place and returned.
 */
export function canonStorageSource(type: string, src: XmlElement, top: boolean): XmlElement {
  const own = TYPE_ATTRS[type];
  if (own === undefined) return src;
  const protocol = type === "network" ? attr(src, "protocol") : undefined;
  const attrs: [string, string][] = [];
  for (const k of own) {
    const v = attr(src, k);
    if (v === undefined) continue;
    if (k === "query" && protocol !== "http" && protocol !== "https") continue;
    attrs.push([k, v]);
  }
  if (top) {
    const sp = attr(src, "startupPolicy");
    if (sp !== undefined) attrs.push(["startupPolicy", sp]);
  }
  src.attrs = attrs;
  if (src.children.length === 0) return src;
  const kids: [XmlElement, number, number][] = [];
  const seen = new Set<string>();
  src.children.forEach((k: XmlNode, i) => {
    if (k.kind !== "element") return;
    const r = childRank(type, k.name, protocol);
    if (r < 0) return;
    // one of each, the first (libvirt reads them by XPath), but every host
    if (k.name !== "host" && seen.has(k.name)) return;
    seen.add(k.name);
    const c = canonChild(k);
    if (c) kids.push([c, r, i]);
  });
  kids.sort((a, b) => a[1] - b[1] || a[2] - b[2]);
  src.children = kids.map((x) => x[0]);
  return src;
}

const PROTOCOLS = new Set(ATTR_CHECKS["disk/source@protocol"]?.values ?? []);

/**
 * The checks of a storage source of `type` that libvirt makes while reading it, in its order
 * (the disk's own source gets most of them from the attribute tables first; a backing store's
 * source only from here). `src` is the raw element.
 */
export function checkStorageSource(type: string, src: XmlElement): void {
  checkOwnSource(type, src);
  if (src.children.length > 0) checkSourceChildren(type, src);
}

const DIGITS = /^[0-9]+$/;

/** The children a storage source reads, checked as libvirt reads them (after its attributes). */
function checkSourceChildren(type: string, src: XmlElement): void {
  const protocol = type === "network" ? attr(src, "protocol") : undefined;
  for (const k of src.children) {
    if (k.kind !== "element") continue;
    switch (k.name) {
      case "ssl": {
        const v = attr(k, "verify");
        if ((protocol === "https" || protocol === "ftps") && v !== undefined && v !== "yes" && v !== "no")
          throw invalidAttr("verify", "ssl", v);
        break;
      }
      case "cookies":
        if (protocol !== "http" && protocol !== "https") break;
        for (const c of elements(k, "cookie")) {
          const name = attr(c, "name");
          if (name === undefined) throw xmlErr("missing cookie name");
          // RFC 6265: a token for the name, cookie-octets for the value
          if (/[\x00-\x20()<>@,;:\\"/[\]?={}\x7f]/.test(name))
            throw virError(
              ErrorCode.XML_ERROR,
              ErrorDomain.STORAGE,
              `cookie name '${name}' contains invalid characters`,
            );
          const value = textOf(c);
          if (value === "") throw xmlErr(`missing value for cookie '${name}'`);
          if (/[\x00-\x20",;\\\x7f]/.test(value))
            throw virError(
              ErrorCode.XML_ERROR,
              ErrorDomain.STORAGE,
              `value of cookie '${name}' contains invalid characters`,
            );
        }
        break;
      case "readahead":
      case "timeout": {
        if (protocol === undefined || !CURL.has(protocol)) break;
        const v = attr(k, k.name === "readahead" ? "size" : "seconds");
        if (v !== undefined && !DIGITS.test(v)) throw xmlErr("invalid readahead size or timeout");
        break;
      }
      case "slices": {
        const slice = elements(k, "slice").find((x) => attr(x, "type") === "storage");
        if (!slice) break;
        const offset = attr(slice, "offset");
        const size = attr(slice, "size");
        if (offset === undefined || size === undefined)
          throw xmlErr("missing offset or size attribute of slice");
        if (!DIGITS.test(offset)) throw xmlErr(`malformed value '${offset}' of 'offset' attribute of slice`);
        if (!DIGITS.test(size)) throw xmlErr(`malformed value '${size}' of 'size' attribute of slice`);
        break;
      }
      case "reconnect": {
        if (type !== "vhostuser") break;
        const enabled = attr(k, "enabled");
        if (enabled === undefined) break;
        if (enabled !== "yes" && enabled !== "no") throw invalidAttr("enabled", "reconnect", enabled);
        if (enabled !== "yes") break;
        const t = attr(k, "timeout");
        if (t === undefined) throw missingAttr("timeout", "reconnect");
        if (!DIGITS.test(t))
          throw xmlPropErr(
            `Invalid value for attribute 'timeout' in element 'reconnect': '${t}'. Expected non-negative integer value`,
          );
        break;
      }
      case "reservations": {
        const managed = attr(k, "managed");
        if (managed === undefined) throw missingAttr("managed", "reservations");
        if (managed !== "yes" && managed !== "no") throw invalidAttr("managed", "reservations", managed);
        const rs = elements(k, "source")[0];
        if (managed === "no" && (!rs || attr(rs, "type") === undefined))
          throw virError(
            ErrorCode.XML_ERROR,
            ErrorDomain.STORAGE,
            "missing connection type for <reservations/>",
          );
        break;
      }
    }
  }
}

function textOf(e: XmlElement): string {
  let t = "";
  for (const c of e.children) if (c.kind === "text") t += c.text;
  return t;
}

function checkOwnSource(type: string, src: XmlElement): void {
  switch (type) {
    case "network": {
      const protocol = attr(src, "protocol");
      if (protocol === undefined) throw missingAttr("protocol", "source");
      if (!PROTOCOLS.has(protocol)) throw invalidAttr("protocol", "source", protocol);
      const name = attr(src, "name");
      if (name === undefined && protocol !== "nbd") throw xmlErr("missing name for disk source");
      const tls = attr(src, "tls");
      if (tls !== undefined && tls !== "yes" && tls !== "no") throw invalidAttr("tls", "source", tls);
      // gluster and rbd keep "volume/image" in one name
      if (name && (protocol === "gluster" || protocol === "rbd") && !(name.indexOf("/") > 0))
        throw xmlErr(`can't split path '${name}' into pool name and image name`);
      for (const h of elements(src, "host")) {
        const transport = attr(h, "transport");
        if (attr(h, "name") === undefined && transport !== "unix") throw xmlErr("missing name for host");
        if (transport !== "unix" && attr(h, "socket") !== undefined)
          throw xmlErr(`transport '${transport ?? "(null)"}' does not support socket attribute`);
        if (transport === "unix" && attr(h, "socket") === undefined)
          throw xmlErr("missing socket for unix transport");
      }
      break;
    }
    case "volume": {
      if ((attr(src, "pool") === undefined) !== (attr(src, "volume") === undefined))
        throw xmlErr("'pool' and 'volume' must be specified together for 'pool' type source");
      const mode = attr(src, "mode");
      if (mode !== undefined && mode !== "host" && mode !== "direct")
        throw unsupported(`unknown source mode '${mode}' for volume type disk`);
      break;
    }
    case "nvme": {
      const t = attr(src, "type");
      if (t === undefined) throw xmlErr("missing 'type' attribute to disk source");
      if (t !== "pci") throw xmlErr(`unsupported source type '${t}'`);
      const ns = attr(src, "namespace");
      if (ns === undefined) throw xmlErr("missing 'namespace' attribute to disk source");
      if (!/^[0-9]+$/.test(ns.trim())) throw xmlErr(`malformed namespace '${ns}'`);
      const managed = attr(src, "managed");
      if (managed !== undefined && managed !== "yes" && managed !== "no")
        throw invalidAttr("managed", "source", managed);
      if (elements(src, "address").length === 0) throw xmlErr("NVMe disk source is missing address");
      break;
    }
    case "vhostuser": {
      const t = attr(src, "type");
      if (t === undefined) throw xmlErr("missing 'type' attribute for vhostuser disk source");
      if (attr(src, "path") === undefined) throw xmlErr("missing 'path' attribute for vhostuser disk source");
      if (t !== "unix") throw xmlErr("invalid 'type' attribute for vhostuser disk source");
      break;
    }
  }
}
