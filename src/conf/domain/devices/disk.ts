// `<disk>`: parse, drive-address assignment and format (virDomainDiskDef). Source, driver and
// the rarer children are kept as elements with attributes in libvirt's canonical order.

import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import { attr, child, el, elements, textContent, type XmlElement } from "../../../xml/index.js";
import { formatDeviceInfo, parseDeviceInfo } from "../device-info.js";
import { canonGeneric } from "../generic.js";
import { canonStorageSource } from "./disk-source.js";
import { missingAttr, unsupported, xmlErr } from "../errors.js";
import type { DiskDef } from "../types.js";
import { enumAttr, extrasOf, orderAttrs, pushExtra } from "../xml-util.js";

const DISK_TYPES = ["file", "block", "dir", "network", "volume", "nvme", "vhostuser"];
const DISK_DEVICES = ["floppy", "disk", "cdrom", "lun"];
const DISK_BUSES = ["ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd"];

const DRIVER_ORDER = [
  "name",
  "type",
  "cache",
  "error_policy",
  "rerror_policy",
  "io",
  "ioeventfd",
  "event_idx",
  "copy_on_read",
  "discard",
  "iothread",
  "detect_zeroes",
  "queues",
  "queue_size",
];
/** Children of `<disk>` formatted in this order (after driver/source/backingStore). */
const EXTRA_BEFORE_TARGET = ["backenddomain", "geometry", "blockio", "mirror"];
const EXTRA_AFTER_TARGET = ["iotune"];
const EXTRA_TAIL = ["encryption"];

/** virDiskNameToIndex: "vdb" → 1, "sdaa" → 26; undefined when not a disk name. */
export function diskNameToIndex(name: string): number | undefined {
  const m = /^(fd|hd|vd|sd|xvd|ubd|ub)([a-z]+)([0-9]*)$/.exec(name);
  if (!m) return undefined;
  let v = -1;
  for (const ch of m[2]!) v = (v + 1) * 26 + (ch.charCodeAt(0) - 97);
  return v;
}

function defaultBus(dev: string, device: string): string {
  if (device === "floppy") return "fdc";
  if (dev.startsWith("hd")) return "ide";
  if (dev.startsWith("sd")) return "scsi";
  if (dev.startsWith("vd")) return "virtio";
  if (dev.startsWith("xvd")) return "xen";
  if (dev.startsWith("ubd")) return "uml";
  if (dev.startsWith("ub")) return "usb";
  if (dev.startsWith("fd")) return "fdc";
  return "ide";
}

/**
 * A canonical copy of a disk's (or a backing store's) `<source>` for storage `type`: what that
 * type reads, in libvirt's order (canonStorageSource); index= (the live numbering) dropped.
 */
function canonSource(type: string, s: XmlElement, top: boolean): XmlElement {
  const c = canonStorageSource(type, canonGeneric(s, "disk"), top);
  if (c.children.length === 0) return c; // the usual <source file=.../>: no children
  // A relabel='yes' seclabel without a label is the default and not printed.
  c.children = c.children.filter(
    (k) =>
      !(
        k.kind === "element" &&
        k.name === "seclabel" &&
        attr(k, "relabel") === "yes" &&
        elements(k).length === 0
      ),
  );
  if (type === "network") canonHosts(c);
  return c;
}

/**
 * A network source's hosts as libvirt prints them: transport='tcp' (the default) left out, and a
 * TCP host without a port (or with port 0) given its protocol's default one.
 */
function canonHosts(src: XmlElement): void {
  for (const h of elements(src, "host"))
    h.attrs = h.attrs.filter(([k, v]) => !(k === "transport" && v === "tcp"));
  defaultHostPorts(src);
  // port 0 is no port (a protocol without a default one, an rdma host)
  for (const h of elements(src, "host"))
    if (attr(h, "port") === "0") h.attrs = h.attrs.filter(([k]) => k !== "port");
}

/** The port a TCP host of a network source without one (or with port 0) gets, by protocol. */
const DEFAULT_PORT: Record<string, string> = {
  http: "80",
  https: "443",
  ftp: "21",
  ftps: "990",
  tftp: "69",
  nbd: "10809",
  iscsi: "3260",
  gluster: "24007",
  sheepdog: "7000",
  ssh: "22",
  vxhs: "9999",
};

/**
 * A network source's TCP hosts without a port (or with port 0) get the protocol's default port,
 * as libvirt 9.0's post-parse gives them (rbd and nfs have none).
 */
function defaultHostPorts(src: XmlElement): void {
  const proto = attr(src, "protocol");
  const port = proto === undefined ? undefined : DEFAULT_PORT[proto];
  if (port === undefined) return;
  for (const h of elements(src, "host")) {
    if (attr(h, "transport") !== undefined) continue;
    const p = attr(h, "port");
    if (p === undefined) h.attrs = [...h.attrs, ["port", port]];
    else if (p === "0") h.attrs = h.attrs.map(([k, v]) => [k, k === "port" ? port : v]);
  }
}

/**
 * Each level of a backing chain keeps of its `<source>` what its storage type reads, as the
 * disk's own source does; a `<source>` left with nothing is not printed.
 */
function backingSources(bs: XmlElement): XmlElement {
  for (let b: XmlElement | undefined = bs; b; b = child(b, "backingStore")) {
    const type = attr(b, "type");
    const i = b.children.findIndex((k) => k.kind === "element" && k.name === "source");
    if (type === undefined || i < 0) continue;
    const src = canonSource(type, b.children[i] as XmlElement, false);
    if (src.attrs.length === 0 && src.children.length === 0) b.children.splice(i, 1);
    else b.children[i] = src;
    // format, source, then the next level (a nested level is not ordered by canonGeneric)
    const kids = elements(b);
    const rank = (n: string) => (n === "format" ? 0 : n === "source" ? 1 : 2);
    b.children = kids.sort((x, y) => rank(x.name) - rank(y.name));
  }
  return bs;
}

/** Path-ish description of the source for messages ("/a", "pool/img"). */
export function diskSourceName(d: DiskDef): string | undefined {
  const s = d.source;
  if (!s) return undefined;
  return attr(s, "file") ?? attr(s, "dev") ?? attr(s, "dir") ?? attr(s, "name") ?? attr(s, "volume");
}

/** Children of `<disk>` kept verbatim in `extra`. */
const KEPT_CHILDREN = new Set(["auth", ...EXTRA_BEFORE_TARGET, ...EXTRA_AFTER_TARGET, ...EXTRA_TAIL]);

// The value lists parseDisk checks, made once rather than as literals in every call.
const DISK_MODELS = ["virtio", "virtio-transitional", "virtio-non-transitional"];
const YES_NO = ["yes", "no"];
const ON_OFF = ["on", "off"];
const SGIO = ["filtered", "unfiltered"];
const SNAPSHOT = ["no", "internal", "external", "manual"];
const CACHE = ["default", "none", "writethrough", "writeback", "directsync", "unsafe"];
const IO = ["default", "native", "threads", "io_uring"];
const DISCARD = ["default", "unmap", "ignore"];
const ERROR_POLICY = ["default", "stop", "report", "ignore", "enospace"];
const DETECT_ZEROES = ["default", "off", "on", "unmap"];
const TRAY = ["closed", "open"];

/** Whether a canonical driver attribute is printed: "default" means unset, except for name and type. */
function keptDriverAttr(a: [string, string]): boolean {
  return !(a[1] === "default" && a[0] !== "name" && a[0] !== "type");
}

export function parseDisk(e: XmlElement): DiskDef {
  const type = enumAttr(e, "type", DISK_TYPES) ?? "file";
  const device = enumAttr(e, "device", DISK_DEVICES) ?? "disk";
  const attrs: [string, string][] = [];
  const model = enumAttr(e, "model", DISK_MODELS);
  if (model) attrs.push(["model", model]);
  const rawio = enumAttr(e, "rawio", YES_NO);
  if (rawio) attrs.push(["rawio", rawio]);
  const sgio = enumAttr(e, "sgio", SGIO);
  if (sgio === "unfiltered") throw unsupported("unfiltered sgio is no longer supported");
  if (sgio) attrs.push(["sgio", sgio]);
  const snap = enumAttr(e, "snapshot", SNAPSHOT);
  if (snap) attrs.push(["snapshot", snap]);

  // (nested parts made apart: a literal holding literals is copied in the runtime by baseline code)
  const target: DiskDef["target"] = { dev: "", bus: "" };
  const extra: DiskDef["extra"] = {};
  const d: DiskDef = { type, device, attrs, target, readonly: false, shareable: false, extra };
  const src = child(e, "source");
  if (src) d.source = canonSource(type, src, true);
  // an NVMe disk's controller is managed unless said otherwise (the disk's own source only)
  if (type === "nvme" && d.source && attr(d.source, "managed") === undefined)
    d.source.attrs.splice(attr(d.source, "type") === undefined ? 0 : 1, 0, ["managed", "yes"]);
  if (type === "vhostuser") {
    // a vhost-user disk cannot be snapshotted: snapshot='no' is implied, any other is refused
    if (snap !== undefined && snap !== "no")
      throw unsupported("only snapshot=no is supported with vhostuser disk");
    if (snap === undefined) attrs.push(["snapshot", "no"]);
  }
  const drv = child(e, "driver");
  if (drv) {
    enumAttr(drv, "cache", CACHE);
    enumAttr(drv, "io", IO);
    enumAttr(drv, "discard", DISCARD);
    enumAttr(drv, "error_policy", ERROR_POLICY);
    enumAttr(drv, "detect_zeroes", DETECT_ZEROES);
    const c = canonGeneric(drv, "disk");
    c.attrs = orderAttrs(c.attrs, DRIVER_ORDER);
    // "default" means unset and is not printed; the legacy "aio" format means a raw image.
    c.attrs = c.attrs.filter(keptDriverAttr);
    if (attr(c, "type") === "aio") {
      c.attrs = c.attrs.map(([k, v]) => (k === "type" ? [k, "raw"] : [k, v]));
    }
    if (c.attrs.length || c.children.length) d.driver = c;
  }
  const bs = child(e, "backingStore");
  if (bs) d.backingStore = backingSources(canonGeneric(bs, "disk"));
  const tgt = child(e, "target");
  const dev = tgt ? attr(tgt, "dev") : undefined;
  if (!tgt || dev === undefined) {
    const name = d.source ? diskSourceName(d) : undefined;
    throw virError(ErrorCode.NO_TARGET, ErrorDomain.DOMAIN, name ?? dev ?? "");
  }
  const bus = enumAttr(tgt, "bus", DISK_BUSES);
  if (diskNameToIndex(dev) === undefined) {
    const addr = child(e, "address");
    if (!addr) throw xmlErr(`Unknown disk name '${dev}' and no address specified`);
    if (attr(addr, "type") === "drive") {
      throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, `Invalid harddisk device name: ${dev}`);
    }
  }
  d.target = { dev, bus: bus ?? defaultBus(dev, device) };
  if (bus !== undefined) d.busGiven = bus;
  const tray = enumAttr(tgt, "tray", TRAY);
  if (tray === "open") d.target.tray = tray;
  const rem = enumAttr(tgt, "removable", ON_OFF);
  if (rem) d.target.removable = rem;
  const rr = attr(tgt, "rotation_rate");
  if (rr !== undefined) d.target.rotationRate = rr;
  if (child(e, "readonly")) d.readonly = true;
  if (child(e, "shareable")) d.shareable = true;
  const tr = child(e, "transient");
  if (tr) d.transient = canonGeneric(tr, "disk");
  const serial = child(e, "serial");
  if (serial) d.serial = textContent(serial);
  const wwn = child(e, "wwn");
  if (wwn) d.wwn = textContent(wwn);
  const vendor = child(e, "vendor");
  if (vendor) d.vendor = textContent(vendor);
  const product = child(e, "product");
  if (product) d.product = textContent(product);
  const kids = e.children;
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i]!;
    if (c.kind === "element" && KEPT_CHILDREN.has(c.name))
      pushExtra(d.extra, c.name, canonGeneric(c, "disk"));
  }
  const ns = d.type === "nvme" && d.source ? attr(d.source, "namespace") : undefined;
  if (ns !== undefined && !/^[0-9]+$/.test(ns.trim())) throw xmlErr(`malformed namespace '${ns}'`);
  if (ns !== undefined && Number(ns) === 0) throw unsupported("NVMe namespace can't be zero");
  if (d.type === "network" && d.source && attr(d.source, "protocol") === undefined) {
    throw missingAttr("protocol", "source");
  }
  parseDeviceInfo(e, d);
  return d;
}

/** virDomainDiskDefAssignAddress: drive addresses for ide/fdc/scsi/sata disks without one. */
export function assignDiskAddress(d: DiskDef): void {
  if (d.address) return;
  const idx = diskNameToIndex(d.target.dev);
  if (idx === undefined) return;
  let ctrl: number;
  let bus = 0;
  let unit: number;
  switch (d.target.bus) {
    case "ide":
      ctrl = Math.floor(idx / 4);
      bus = Math.floor((idx % 4) / 2);
      unit = idx % 2;
      break;
    case "fdc":
      ctrl = Math.floor(idx / 2);
      unit = idx % 2;
      break;
    case "scsi":
      ctrl = Math.floor(idx / 7);
      unit = idx % 7;
      break;
    case "sata":
      ctrl = Math.floor(idx / 6);
      unit = idx % 6;
      break;
    default:
      return;
  }
  d.address = {
    type: "drive",
    attrs: [
      ["controller", String(ctrl)],
      ["bus", String(bus)],
      ["target", "0"],
      ["unit", String(unit)],
    ],
  };
}

/** A network source's `<cookies>` are secret: printed only with the security info (VIR_DOMAIN_XML_SECURE). */
function withoutCookies(src: XmlElement): XmlElement {
  if (!src.children.some((k) => k.kind === "element" && k.name === "cookies")) return src;
  return { ...src, children: src.children.filter((k) => !(k.kind === "element" && k.name === "cookies")) };
}

/** A backing chain without cookies (a copy where one has them). */
function backingWithoutCookies(b: XmlElement): XmlElement {
  let changed = false;
  const children = b.children.map((k) => {
    if (k.kind !== "element") return k;
    const n =
      k.name === "source" ? withoutCookies(k) : k.name === "backingStore" ? backingWithoutCookies(k) : k;
    if (n !== k) changed = true;
    return n;
  });
  return changed ? { ...b, children } : b;
}

export function formatDisk(d: DiskDef, secure = false): XmlElement {
  const ex = d.extra;
  const source = d.source && !secure && d.type === "network" ? withoutCookies(d.source) : d.source;
  const backing = d.backingStore && !secure ? backingWithoutCookies(d.backingStore) : d.backingStore;
  // snapshot='no' is implied for read-only disks and then not printed.
  const attrs = d.readonly ? d.attrs.filter(([k, v]) => !(k === "snapshot" && v === "no")) : d.attrs;
  return el(
    "disk",
    [["type", d.type], ["device", d.device], ...attrs],
    d.driver,
    // Old-style <auth> directly under <disk> stays where it was written: before <source>.
    ex["auth"],
    // a <source> left with nothing (an empty drive's, its index= dropped) is not printed
    source && (source.attrs.length > 0 || source.children.length > 0) ? source : undefined,
    backing,
    extrasOf(ex, EXTRA_BEFORE_TARGET),
    el("target", {
      dev: d.target.dev,
      bus: d.target.bus,
      tray: d.target.tray,
      removable: d.target.removable,
      rotation_rate: d.target.rotationRate,
    }),
    extrasOf(ex, EXTRA_AFTER_TARGET),
    d.readonly && el("readonly"),
    d.shareable && el("shareable"),
    d.transient,
    d.serial !== undefined && el("serial", {}, d.serial),
    d.wwn !== undefined && el("wwn", {}, d.wwn),
    d.vendor !== undefined && el("vendor", {}, d.vendor),
    d.product !== undefined && el("product", {}, d.product),
    extrasOf(ex, EXTRA_TAIL),
    formatDeviceInfo(d),
  );
}

/** What insertDisk keeps about the list it builds (one per list, made by the parse of <devices>). */
export interface DiskInsertState {
  /** Each disk's target index (diskNameToIndex, -1 when none), parallel to the list. */
  index: number[];
  /** Highest target index per written bus. */
  busMax: Map<string, number>;
}

export function diskInsertState(): DiskInsertState {
  return { index: [], busMax: new Map() };
}

/**
 * Inserts `d` as libvirt does (virDomainDiskInsertPreAlloced): disks on one bus stay together,
 * ordered by their target name's index; a new bus goes at the end. `list` is changed only
 * through insertDisk with the same `st`.
 */
export function insertDisk(list: DiskDef[], d: DiskDef, st: DiskInsertState): void {
  const idx = diskNameToIndex(d.target.dev) ?? -1;
  const bus = d.busGiven ?? "";
  // Fast path for the usual in-order document (keeps big documents linear): nothing on this
  // bus sorts after the new disk and the list ends with this bus.
  const max = st.busMax.get(bus);
  st.busMax.set(bus, Math.max(max ?? -1, idx));
  const last = list[list.length - 1];
  if (last && (last.busGiven ?? "") === bus && max !== undefined && max <= idx) {
    list.push(d);
    st.index.push(idx);
    return;
  }
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    // Grouping uses the bus as written: a default bus is only filled in after parsing.
    if ((cur.busGiven ?? "") !== bus) continue;
    if (st.index[i]! > idx) at = i;
    else if (at === -1) at = i + 1;
  }
  if (at === -1) {
    list.push(d);
    st.index.push(idx);
  } else {
    list.splice(at, 0, d);
    st.index.splice(at, 0, idx);
  }
}

export function checkDuplicateTargets(disks: DiskDef[]): void {
  const seen = new Map<string, DiskDef>();
  for (const d of disks) {
    const prev = seen.get(d.target.dev);
    if (prev) {
      const a = diskSourceName(prev) ?? "";
      const b = diskSourceName(d) ?? "";
      throw xmlErr(`target '${d.target.dev}' duplicated for disk sources '${a}' and '${b}'`);
    }
    seen.set(d.target.dev, d);
  }
}
