// Checks whose rule depends on context (a device's type decides which source attributes are
// mandatory): the complements of the table-driven attribute checks, with libvirt 9.0's errors.
// Runs on the raw tree before modelling, like validateAttributes.

import { checkContextMore, checkDeviceMore } from "./context-checks-more.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, child, elements, type XmlElement, type XmlNode } from "../../xml/index.js";
import { checkStorageSource } from "./devices/disk-source.js";
import { internalErr, missingAttr, unsupported, xmlErr } from "./errors.js";

const has = (e: XmlElement | undefined, k: string) => e !== undefined && attr(e, k) !== undefined;

/** Source rules shared by every character-device-like element (virDomainChrSourceDefValidate). */
function checkChrSource(type: string | undefined, e: XmlElement): void {
  const sources = elements(e, "source");
  // only UDP has two ends (virDomainChrSourceDefParseXML)
  if (sources.length > 1 && type !== "udp")
    throw xmlErr("only one source element is allowed for character device");
  // A missing <source> is judged like an empty one.
  const src: XmlElement = sources[0] ?? { kind: "element", name: "source", attrs: [], children: [], line: 0 };
  switch (type) {
    case "file":
    case "dev":
    case "pipe":
      if (src && !has(src, "path")) throw internalErr("Missing source path attribute for char device");
      break;
    case "tcp":
      if (src && !has(src, "host")) throw internalErr("Missing source host attribute for char device");
      if (src && !has(src, "service")) throw internalErr("Missing source service attribute for char device");
      break;
    case "unix": {
      // only a virtio (or xen) channel's path is made up by the driver
      const t = child(e, "target");
      const tt = t ? attr(t, "type") : undefined;
      if (!has(src, "path") && !(e.name === "channel" && (tt === "virtio" || tt === "xen")))
        throw internalErr("Missing source path attribute for char device");
      break;
    }
    case "spiceport":
    case "dbus":
      // (a redirdev over D-Bus needs no channel)
      if (src && !has(src, "channel") && !(type === "dbus" && e.name === "redirdev")) {
        throw unsupported("Missing source channel attribute for char device");
      }
      break;
  }
}

function checkSecret(s: XmlElement, encryption: boolean): void {
  if (!has(s, "type")) {
    if (encryption)
      throw virError(ErrorCode.XML_ERROR, ErrorDomain.STORAGE, "unknown volume encryption secret type");
    throw unsupported("unknown secret type '<null>'");
  }
  if (!has(s, "uuid") && !has(s, "usage")) {
    throw virError(ErrorCode.XML_ERROR, ErrorDomain.NONE, "missing secret uuid or usage attribute");
  }
}

/** The source attribute naming a disk's path, per disk type. */
const DISK_PATH_ATTR: Readonly<Record<string, string>> = { file: "file", block: "dev", dir: "dir" };

function checkDisk(d: XmlElement): void {
  const type = attr(d, "type") ?? "file";
  const device = attr(d, "device") ?? "disk";
  const bus = attr(child(d, "target") ?? d, "bus");
  if (device === "floppy" && bus !== undefined && bus !== "fdc") {
    throw internalErr(`Invalid bus type '${bus}' for floppy disk`);
  }
  if (device !== "floppy" && bus === "fdc") throw internalErr("Invalid bus type 'fdc' for disk");
  const src = child(d, "source");
  const dev = attr(child(d, "target") ?? d, "dev") ?? "";
  const pathAttr = DISK_PATH_ATTR;
  if (pathAttr[type] && !has(src, pathAttr[type]!) && device !== "cdrom" && device !== "floppy") {
    throw virError(ErrorCode.NO_SOURCE, ErrorDomain.DOMAIN, dev);
  }
  if (src) checkStorageSource(type, src);
  const policy = src ? attr(src, "startupPolicy") : undefined;
  if (policy !== undefined && type === "network")
    throw xmlErr(`disk startupPolicy '${policy}' is not allowed for disk of 'network' type`);
  if (policy === "requisite" && device !== "cdrom" && device !== "floppy")
    throw xmlErr("disk startupPolicy 'requisite' is allowed only for cdrom or floppy");
  // persistent reservations are a SCSI LUN's (a backing store's are not checked)
  if (src && device !== "lun" && child(src, "reservations"))
    throw unsupported("<reservations/> allowed only for lun devices");
  checkBackingChain(child(d, "backingStore"));
}

/** STORAGE_TYPES: the storage types a backing store may have (virStorageType). */
const STORAGE_TYPES = new Set(["file", "block", "dir", "network", "volume", "nvme", "vhostuser"]);

/**
 * Each level of a `<backingStore>` chain down to its terminator (no type), as libvirt reads it
 * (virDomainDiskBackingStoreParse): format and source required, a known type, then its source
 * checked as that type's (virDomainStorageSourceParse).
 */
function checkBackingChain(first: XmlElement | undefined): void {
  for (let b = first; b; b = child(b, "backingStore")) {
    const type = attr(b, "type");
    if (type === undefined) return;
    if (!child(b, "format")) throw xmlErr("missing disk backing store format");
    const src = child(b, "source");
    if (!src) throw xmlErr("missing disk backing store source");
    if (!STORAGE_TYPES.has(type)) throw xmlErr(`unknown storage source type '${type}'`);
    checkStorageSource(type, src);
  }
}

/** Source attributes an interface type requires. */
const IFACE_SOURCE_NEEDS: Readonly<Record<string, readonly string[]>> = {
  vhostuser: ["type", "path"],
  udp: ["address", "port"],
  mcast: ["address", "port"],
  server: ["address", "port"],
  client: ["address", "port"],
};
/** The source modes an interface type allows. */
const IFACE_SOURCE_MODES: Readonly<Record<string, readonly string[]>> = {
  direct: ["vepa", "bridge", "private", "passthrough"],
  vhostuser: ["server", "client"],
};
const DRIVER_NAMES = ["qemu", "vhost"];

function checkInterface(n: XmlElement): void {
  const type = attr(n, "type");
  const src = child(n, "source");
  const need = IFACE_SOURCE_NEEDS;
  if (src && type && need[type])
    for (const k of need[type]!) if (!has(src, k)) throw missingAttr(k, "source");
  const drvName = attr(child(n, "driver") ?? n, "name");
  if (child(n, "driver") && drvName !== undefined && !DRIVER_NAMES.includes(drvName) && type !== "hostdev") {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.XML,
      `Invalid value for attribute 'name' in element 'driver': '${drvName}'.`,
    );
  }
  const modes = IFACE_SOURCE_MODES;
  const mode = src ? attr(src, "mode") : undefined;
  if (type && modes[type] && mode !== undefined && !modes[type]!.includes(mode)) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.XML,
      `Invalid value for attribute 'mode' in element 'source': '${mode}'.`,
    );
  }
  if (src && type === "hostdev") {
    const a = child(src, "address");
    if (!a || !has(a, "type")) throw xmlErr("missing source address type");
  }
  if (src && type === "udp" && !child(src, "local")) {
    throw xmlErr("'<local>' element missing for 'udp' socket interface");
  }
  for (const bw of elements(n, "bandwidth")) {
    for (const dir of elements(bw)) {
      if (dir.name !== "inbound" && dir.name !== "outbound") continue; // others are ignored
      if (!has(dir, "average") && !has(dir, "floor")) {
        throw new VirError({
          code: ErrorCode.XML_DETAIL,
          domain: ErrorDomain.NONE,
          message: "Missing mandatory average or floor attributes",
        });
      }
    }
  }
  const vp = child(n, "virtualport");
  if (vp && attr(vp, "type") === "802.1Qbh" && !has(child(vp, "parameters"), "profileid")) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.NET,
      "missing profileid in <virtualport type='802.1Qbh'>",
    );
  }
}

function checkHostdev(h: XmlElement): void {
  const type = attr(h, "type");
  const mode = attr(h, "mode") ?? "subsystem";
  const subsys = ["usb", "pci", "scsi", "scsi_host", "mdev"];
  const caps = ["storage", "misc", "net"];
  if (type !== undefined && !(mode === "subsystem" ? subsys : caps).includes(type)) {
    throw unsupported(`unknown host device source address type '${type}'`);
  }
  const src = child(h, "source");
  const a = src ? child(src, "address") : undefined;
  if (type === "mdev") {
    if (!has(h, "model")) throw missingAttr("model", "hostdev");
    const m = attr(h, "model")!;
    if (!["vfio-pci", "vfio-ccw", "vfio-ap"].includes(m)) {
      throw virError(
        ErrorCode.XML_ERROR,
        ErrorDomain.XML,
        `Invalid value for attribute 'model' in element 'hostdev': '${m}'.`,
      );
    }
    if (a && !has(a, "uuid")) throw unsupported("Missing 'uuid' attribute for element <address>");
  }
  if (type === "usb" && a) for (const k of ["bus", "device"]) if (!has(a, k)) throw missingAttr(k, "address");
  if (type === "scsi" && a)
    for (const k of ["bus", "target", "unit"]) if (!has(a, k)) throw missingAttr(k, "address");
  if (type === "scsi" && src && !has(child(src, "adapter"), "name") && attr(src, "protocol") === undefined) {
    throw xmlErr("'adapter' name must be specified for scsi hostdev source");
  }
  if (type === "usb" && src && !a) {
    if (child(src, "product") && !child(src, "vendor")) throw internalErr("missing vendor");
    if (child(src, "vendor") && !child(src, "product")) throw internalErr("missing product");
  }
}

function checkFilesystem(f: XmlElement): void {
  const type = attr(f, "type") ?? "mount";
  const src = child(f, "source");
  const tgt = child(f, "target");
  if (type === "ram") {
    if (src && !has(src, "usage")) throw xmlErr("missing 'usage' attribute for RAM filesystem");
    return;
  }
  const srcKey: Record<string, string> = {
    mount: "dir",
    bind: "dir",
    block: "dev",
    file: "file",
    template: "name",
  };
  const sk = srcKey[type];
  if (sk && !has(src, sk))
    throw virError(ErrorCode.NO_SOURCE, ErrorDomain.DOMAIN, attr(tgt ?? f, "dir") ?? "");
  if (!has(tgt, "dir"))
    throw virError(ErrorCode.NO_TARGET, ErrorDomain.DOMAIN, sk && src ? (attr(src, sk) ?? "") : "");
}

/**
 * checkAddress on `x` and every element below it: `x` first, then its children's subtrees from the
 * last child to the first (the order the first error is found in). Depth is bounded by the parser's.
 */
function checkAddresses(x: XmlElement): void {
  if (x.name === "address") checkAddress(x);
  const ch = x.children;
  for (let i = ch.length - 1; i >= 0; i--) {
    const k = ch[i]!;
    if (k.kind === "element") checkAddresses(k);
  }
}

function checkDevice(e: XmlElement): void {
  checkAddresses(e);
  checkDeviceAddress(e);
  checkDeviceMore(e);
  switch (e.name) {
    case "serial":
    case "parallel":
    case "console":
    case "channel":
    case "redirdev":
      if (e.name !== "redirdev" && attr(e, "type") === "spicevmc") {
        const tt = attr(child(e, "target") ?? e, "type");
        if (e.name !== "channel" || tt !== "virtio")
          throw unsupported("spicevmc device type only supports virtio");
      }
      checkChrSource(attr(e, "type"), e);
      if (e.name === "channel") {
        const t = child(e, "target");
        if (t && attr(t, "type") === "guestfwd") {
          if (!has(t, "address")) throw xmlErr("guestfwd channel does not define a target address");
          if (!has(t, "port")) throw missingAttr("port", "target");
        }
      }
      break;
    case "smartcard":
      if (attr(e, "mode") === "host-certificates" && elements(e, "certificate").length !== 3) {
        throw xmlErr("host-certificates mode needs exactly three certificates");
      }
      if (attr(e, "mode") === "passthrough") {
        if (!has(e, "type")) throw xmlErr("passthrough mode requires a character device type attribute");
        checkChrSource(attr(e, "type"), e);
      }
      break;
    case "rng": {
      const b = child(e, "backend");
      if (b && attr(b, "model") === "egd") {
        if (!has(b, "type")) throw xmlErr("missing EGD backend type");
        checkChrSource(attr(b, "type"), b);
      }
      break;
    }
    case "disk":
      checkDisk(e);
      break;
    case "interface":
      checkInterface(e);
      break;
    case "hostdev":
      checkHostdev(e);
      break;
    case "filesystem":
      checkFilesystem(e);
      break;
    case "iommu": {
      const drv = child(e, "driver");
      const model = attr(e, "model");
      if (drv && drv.attrs.length > 0 && model !== "intel") {
        throw xmlErr(`iommu model '${model}' doesn't support additional attributes`);
      }
      break;
    }
    case "tpm": {
      const b = child(e, "backend");
      if (b && attr(b, "type") === "external" && !has(child(b, "source"), "type")) {
        throw xmlErr("missing external TPM backend type");
      }
      break;
    }
    case "input":
      if (attr(e, "type") === "passthrough" && (attr(e, "bus") ?? "virtio") === "ps2") {
        throw internalErr("ps2 bus does not support passthrough input device");
      }
      if (["evdev", "passthrough"].includes(attr(e, "type") ?? "")) {
        const s = child(e, "source");
        if (s && !has(s, "dev") && !has(s, "evdev")) throw xmlErr("Missing evdev path for input device");
      }
      break;
    case "graphics":
      for (const l of elements(e, "listen")) {
        const lt = attr(l, "type");
        if (lt === "network" && !has(l, "network")) {
          throw xmlErr("'network' attribute is required for listen type 'network'");
        }
        if (lt !== "network" && has(l, "network")) {
          throw xmlErr("'network' attribute is valid only for listen type 'network'");
        }
      }
      break;
    case "memory":
      if (attr(e, "model") === "nvdimm" && !child(child(e, "source") ?? e, "path")) {
        throw new VirError({
          code: ErrorCode.XML_DETAIL,
          domain: ErrorDomain.DOMAIN,
          message: "path is required for model 'nvdimm'",
        });
      }
      break;
    case "shmem":
      if (child(e, "msi") && !child(e, "server")) throw xmlErr("msi option is only supported with a server");
      break;
    case "video": {
      const acc = child(child(e, "model") ?? e, "acceleration");
      if (acc && acc.attrs.length === 0) throw unsupported("missing values for acceleration");
      break;
    }
  }
  const src = child(e, "source") ?? e;
  checkSecretsIn(e, "auth", false);
  checkSecretsIn(src, "auth", false);
  checkSecretsIn(e, "encryption", true);
  checkSecretsIn(src, "encryption", true);
}

/** The `<secret>`s of each child of `e` named `holder` (auth, encryption). */
function checkSecretsIn(e: XmlElement, holder: string, encryption: boolean): void {
  const ch = e.children;
  for (let i = 0; i < ch.length; i++) {
    const h = ch[i]!;
    if (h.kind !== "element" || h.name !== holder) continue;
    const secs = h.children;
    for (let j = 0; j < secs.length; j++) {
      const sec = secs[j]!;
      if (sec.kind === "element" && sec.name === "secret") checkSecret(sec, encryption);
    }
  }
}

const uintErr = (k: string, v: string) =>
  virError(
    ErrorCode.XML_ERROR,
    ErrorDomain.XML,
    `Invalid value for attribute '${k}' in element 'address': '${v}'. Expected non-negative integer value`,
  );

/** Attribute rules of CCID and DIMM addresses (decimal slots; DIMM needs one). */
function checkAddress(a: XmlElement): void {
  const type = attr(a, "type");
  const decimal = (k: string) => {
    const v = attr(a, k);
    if (v !== undefined && !/^\s*[0-9]+$/.test(v)) throw uintErr(k, v);
  };
  if (type === "ccid") {
    decimal("controller");
    decimal("slot");
  }
  if (type === "dimm") {
    if (!has(a, "slot")) throw missingAttr("slot", "address");
    decimal("slot");
  }
}

/** Device-level address rules: USB devices need USB addresses, PCI hostdevs PCI ones. */
function checkDeviceAddress(e: XmlElement): void {
  const a = child(e, "address");
  const type = a ? attr(a, "type") : undefined;
  if (!a || type === undefined) return;
  const onUsb =
    (e.name === "input" && attr(e, "bus") === "usb") ||
    (e.name === "redirdev" && (attr(e, "bus") ?? "usb") === "usb") ||
    (e.name === "hub" && attr(e, "type") === "usb");
  if (onUsb && type !== "usb") throw xmlErr("Invalid address for a USB device");
  if (e.name === "hostdev" && attr(e, "type") === "pci" && type !== "pci" && type !== "unassigned") {
    throw internalErr("PCI host devices must use 'pci' or 'unassigned' address type");
  }
}

const NO_NODES: readonly XmlNode[] = [];

/** The element's own text children, concatenated. */
function directText(e: XmlElement): string {
  const ch = e.children;
  let s = "";
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "text") s += c.text;
  }
  return s;
}

/** Throws libvirt's error for the first context-dependent rule the document breaks. */
export function checkContext(root: XmlElement): void {
  const clock = child(root, "clock");
  if (clock && attr(clock, "offset") === "timezone" && !has(clock, "timezone")) {
    throw internalErr("missing 'timezone' attribute for clock with offset='timezone'");
  }
  const clockKids = clock ? clock.children : NO_NODES;
  for (let i = 0; i < clockKids.length; i++) {
    const t = clockKids[i]!;
    if (t.kind !== "element" || t.name !== "timer") continue;
    const name = attr(t, "name") ?? "";
    if (["kvmclock", "hypervclock"].includes(name) && has(t, "tickpolicy")) {
      throw unsupported(`timer ${name} doesn't support setting of timer tickpolicy`);
    }
    if (name !== "rtc" && has(t, "track"))
      throw unsupported(`timer ${name} doesn't support setting of timer track`);
    if (child(t, "catchup") && attr(t, "tickpolicy") !== "catchup") {
      throw xmlErr("setting of timer catchup policies is only supported with tickpolicy='catchup'");
    }
  }
  const nt = child(root, "numatune");
  const mem = nt ? child(nt, "memory") : undefined;
  const vcpu = child(root, "vcpu");
  if (
    mem &&
    !has(mem, "nodeset") &&
    attr(mem, "placement") !== "auto" &&
    attr(vcpu ?? root, "placement") !== "auto"
  ) {
    throw unsupported("nodeset for NUMA memory tuning must be set if 'placement' is 'static'");
  }
  const os = child(root, "os");
  const osType = os ? child(os, "type") : undefined;
  if (os && osType && directText(osType).trim() === "exe") {
    if (!child(os, "init")) throw xmlErr("init binary must be specified");
  }
  if (os && child(os, "nvram") && !child(os, "loader") && !has(os, "firmware")) {
    throw new VirError({
      code: ErrorCode.XML_DETAIL,
      domain: ErrorDomain.DOMAIN,
      message: "no loader path specified and firmware auto selection disabled",
    });
  }
  const vcpuscheds = (child(root, "cputune") ?? root).children;
  for (let i = 0; i < vcpuscheds.length; i++) {
    const s = vcpuscheds[i]!;
    if (s.kind !== "element" || s.name !== "vcpusched") continue;
    const sched = attr(s, "scheduler");
    if ((sched === "fifo" || sched === "rr") && !has(s, "priority")) {
      throw missingAttr("priority", "vcpusched");
    }
  }
  const hv = child(child(root, "features") ?? root, "hyperv");
  const spin = hv ? child(hv, "spinlocks") : undefined;
  if (spin && attr(spin, "state") === "on" && !has(spin, "retries"))
    throw missingAttr("retries", "spinlocks");
  const vid = hv ? child(hv, "vendor_id") : undefined;
  if (vid && attr(vid, "state") === "on" && !has(vid, "value")) {
    throw xmlErr("missing 'value' attribute for HyperV feature 'vendor_id'");
  }
  // (without <vcpus>, the root's own <vcpu> children are looked at, as before)
  const vcpus = (child(root, "vcpus") ?? root).children;
  for (let i = 0; i < vcpus.length; i++) {
    const v = vcpus[i]!;
    if (v.kind !== "element" || v.name !== "vcpu") continue;
    if (attr(v, "enabled") === "no" && attr(v, "hotpluggable") === "no") {
      throw unsupported(`vcpu '${attr(v, "id")}' is both offline and not hotpluggable`);
    }
  }
  const top = root.children;
  for (let i = 0; i < top.length; i++) {
    const sl = top[i]!;
    if (sl.kind !== "element" || sl.name !== "seclabel") continue;
    if (attr(sl, "type") === "dynamic" && attr(sl, "relabel") === "no") {
      throw unsupported("dynamic label type must use resource relabeling");
    }
    if (attr(sl, "type") === "static" && !child(sl, "label")) throw xmlErr("security label is missing");
  }
  const numa = child(child(root, "cpu") ?? root, "numa");
  if (numa) {
    const ids = elements(numa, "cell")
      .map((c) => Number(attr(c, "id") ?? Number.NaN))
      .sort((a, b) => a - b);
    if (ids.some((id, i) => id !== i)) {
      throw xmlErr(
        "Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges or ranges not starting from 0 are not allowed",
      );
    }
  }
  const devices = child(root, "devices");
  if (devices) {
    const ch = devices.children;
    for (let i = 0; i < ch.length; i++) {
      const d = ch[i]!;
      if (d.kind === "element") checkDevice(d);
    }
  }
  checkContextMore(root);
}
