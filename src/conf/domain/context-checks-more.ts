// More of libvirt 9.0's parse-time rules (domain_conf.c, device_conf.c) and generic validation
// (domain_validate.c), each seen refusing a document with the same code and text: the test
// driver's corpus (tests/data/domain-invalid) and libvirtd's QEMU driver (tests/data/qemu-dumpxml).

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, elements, type XmlElement } from "../../xml/index.js";
import { missingAttr, unsupported, xmlErr } from "./errors.js";
import { parseCpuSet } from "./normalize.js";
import type { DomainDef } from "./types.js";

const has = (e: XmlElement, k: string) => attr(e, k) !== undefined;
const text = (e: XmlElement) =>
  e.children
    .map((c) => (c.kind === "text" ? c.text : ""))
    .join("")
    .trim();

/** strtoul with base 0, as virXMLPropUInt reads PCI address parts ("0x1f", "31", "037"). */
function cUint(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^0[0-7]+$/.test(s)) return Number.parseInt(s, 8);
  if (/^[0-9]+$/.test(s)) return Number(s);
  return undefined;
}

/** virPCIDeviceAddressIsValid(report=true) on a non-empty `<address type='pci'>`. */
function checkPciAddress(a: XmlElement): void {
  const [dom, bus, slot, fn] = ["domain", "bus", "slot", "function"].map((k) => cUint(attr(a, k)) ?? 0);
  // no domain, bus or slot: an empty address (virPCIDeviceAddressIsEmpty), to be assigned
  if (dom === 0 && bus === 0 && slot === 0) return;
  const err = (m: string) => virError(ErrorCode.XML_ERROR, ErrorDomain.NONE, `Invalid PCI address ${m}`);
  if (dom! > 0xffff) throw err(`domain='0x${dom!.toString(16)}', must be <= 0xFFFF`);
  if (bus! > 0xff) throw err(`bus='0x${bus!.toString(16)}', must be <= 0xFF`);
  if (slot! > 0x1f) throw err(`slot='0x${slot!.toString(16)}', must be <= 0x1F`);
  if (fn! > 7) throw err(`function=0x${fn!.toString(16)}, must be <= 7`);
}

const NET_MODEL_CHARS = /^[A-Za-z0-9_-]*$/;

/** Per-device rules checked while the device is parsed. */
export function checkDeviceMore(e: XmlElement): void {
  const ch = e.children;
  for (let i = 0; i < ch.length; i++) {
    const a = ch[i]!;
    if (a.kind === "element" && a.name === "address" && attr(a, "type") === "pci") checkPciAddress(a);
  }
  if (e.name === "interface") {
    const m = child(e, "model");
    const type = m ? attr(m, "type") : undefined;
    if (type !== undefined && !NET_MODEL_CHARS.test(type)) {
      throw virError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, "Model name contains invalid characters");
    }
    const vp = child(e, "virtualport");
    if (vp && attr(vp, "type") === "802.1Qbg") {
      const p = child(vp, "parameters");
      if (!p || !has(p, "managerid")) {
        // netdev_vport_profile_conf.c reports from VIR_FROM_NET
        throw virError(
          ErrorCode.XML_ERROR,
          ErrorDomain.NET,
          "missing managerid in <virtualport type='802.1Qbg'>",
        );
      }
    }
  }
  if (
    (e.name === "hostdev" || (e.name === "interface" && attr(e, "type") === "hostdev")) &&
    child(e, "source")
  ) {
    // a USB host device is found by bus and device number
    for (const a of elements(child(e, "source")!, "address")) {
      if (attr(a, "type") !== "usb") continue;
      for (const k of ["bus", "device"]) if (!has(a, k)) throw missingAttr(k, "address");
    }
  }
  if (e.name === "memory" && attr(e, "model") === "virtio-mem") {
    const t = child(e, "target");
    const b = t ? child(t, "block") : undefined;
    const n = b && /^[0-9]+$/.test(text(b)) ? Number(text(b)) : 0;
    if (n === 0 || (n & (n - 1)) !== 0) {
      throw virError(ErrorCode.XML_DETAIL, ErrorDomain.DOMAIN, "block size must be a power of two");
    }
  }
  if (e.name === "disk") {
    // a network backing store names its protocol
    for (let b = child(e, "backingStore"); b; b = child(b, "backingStore")) {
      const src = child(b, "source");
      if (attr(b, "type") === "network" && src && !has(src, "protocol"))
        throw missingAttr("protocol", "source");
    }
    // the disk's own source (its auth may sit on the disk), then each backing store's
    const src = child(e, "source");
    if (attr(e, "type") === "network" && src) checkNetworkAuth(src, child(src, "auth") ?? child(e, "auth"));
    for (let b = child(e, "backingStore"); b; b = child(b, "backingStore")) {
      const bsrc = child(b, "source");
      if (attr(b, "type") === "network" && bsrc) checkNetworkAuth(bsrc, child(bsrc, "auth"));
    }
    const io = child(e, "iotune");
    if (io) {
      const set = (n: string) => {
        const c = child(io, n);
        return c !== undefined && /^[0-9]+$/.test(text(c)) && Number(text(c)) > 0;
      };
      for (const what of ["bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max"]) {
        if (set(`total_${what}`) && (set(`read_${what}`) || set(`write_${what}`))) {
          throw xmlErr(`total and read/write ${what} cannot be set at the same time`);
        }
      }
    }
  }
}

/** Network protocols that take credentials (the others refuse an <auth>). */
const AUTH_PROTOCOLS = new Set(["iscsi", "rbd", "http", "https", "ftp", "ftps", "ssh"]);

/**
 * A network source's credentials (virDomainDiskDefValidateSourceChainOne): only for protocols
 * that take them, and an RBD secret is a ceph one, an iSCSI secret an iscsi one.
 */
function checkNetworkAuth(src: XmlElement, auth: XmlElement | undefined): void {
  if (!auth) return;
  const proto = attr(src, "protocol");
  if (proto === undefined) return;
  if (!AUTH_PROTOCOLS.has(proto))
    throw unsupported(`authentication is not supported for protocol '${proto}'`);
  const secret = child(auth, "secret");
  const stype = secret ? attr(secret, "type") : undefined;
  const want = proto === "rbd" ? "ceph" : proto === "iscsi" ? "iscsi" : undefined;
  if (stype !== undefined && want !== undefined && stype !== want) {
    throw unsupported(`invalid secret type '${stype}'`);
  }
}

/** Domain-level rules checked while parsing (after the devices' own). */
export function checkContextMore(root: XmlElement): void {
  const hv = child(child(root, "features") ?? root, "hyperv");
  const spin = hv ? child(hv, "spinlocks") : undefined;
  const retries = spin && attr(spin, "state") === "on" ? cUint(attr(spin, "retries")) : undefined;
  if (retries !== undefined && retries < 4095)
    throw xmlErr("HyperV spinlock retry count must be at least 4095");
  if (retries !== undefined && retries > 8388607) {
    throw xmlErr("HyperV spinlock retry count must be less than 8388607");
  }
  const nt = child(root, "numatune");
  const cpu = child(root, "cpu");
  const cells = cpu ? elements(child(cpu, "numa") ?? cpu, "cell") : [];
  if (nt && elements(nt, "memnode").length > 0 && cells.length === 0) {
    throw xmlErr("Element 'memnode' is invalid without any guest NUMA cells");
  }
  const devices = child(root, "devices");
  for (const v of devices ? elements(devices, "vsock") : []) {
    const cid = child(v, "cid");
    const addr = cid ? cUint(attr(cid, "address")) : undefined;
    if (addr !== undefined && addr < 3 && attr(cid!, "auto") !== "yes")
      throw unsupported("guest CIDs must be >= 3");
  }
  if (devices && elements(devices, "watchdog").length > 1) {
    throw virError(
      ErrorCode.INTERNAL_ERROR,
      ErrorDomain.DOMAIN,
      "only a single watchdog device is supported",
    );
  }
}

const PERIODS = ["period", "global_period", "emulator_period", "iothread_period"];
const QUOTAS = ["quota", "global_quota", "emulator_quota", "iothread_quota"];

/** virDomainDefValidate's rules on a post-parsed definition (duplicates, ranges, overlaps). */
export function validateMore(def: DomainDef): void {
  const ct = def.extra.cputune?.[0];
  if (ct) {
    const val = (n: string) => {
      const c = child(ct, n);
      return c && /^-?[0-9]+$/.test(text(c)) ? Number(text(c)) : 0;
    };
    for (const n of PERIODS) {
      const v = val(n);
      if (v > 0 && (v < 1000 || v > 1000000)) {
        throw unsupported(`Value of cputune '${n}' must be in range [1000, 1000000]`);
      }
    }
    for (const n of QUOTAS) {
      const v = val(n);
      if (v > 0 && (v < 1000 || v > 17592186044415)) {
        throw unsupported(`Value of cputune '${n}' must be in range [1000, 17592186044415]`);
      }
    }
  }
  const usbNone = def.devices.controllers.some((c) => c.type === "usb" && c.model === "none");
  if (usbNone && def.devices.inputs.some((i) => i.bus === "usb")) {
    throw unsupported("Can't add USB input device. USB bus is disabled");
  }
  if (usbNone && def.devices.other.some((o) => o.kind === "hub" && attr(o.xml, "type") === "usb")) {
    throw unsupported("Can't add USB hub: USB is disabled for this domain");
  }
  const ctrls = def.devices.controllers;
  for (let i = 0; i < ctrls.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = ctrls[i]!;
      const b = ctrls[j]!;
      // USB companions share their master's index
      if (a.type === "usb" || a.type !== b.type || a.index !== b.index) continue;
      throw xmlErr(`Multiple '${a.type}' controllers with index '${a.index}'`);
    }
  }
  const numa = def.cpu ? child(def.cpu, "numa") : undefined;
  if (numa) {
    const cells = elements(numa, "cell").map((c) => new Set(parseCpuSet(attr(c, "cpus") ?? "") ?? []));
    for (let i = 0; i < cells.length; i++) {
      for (let j = 0; j < i; j++) {
        if ([...cells[i]!].some((x) => cells[j]!.has(x))) {
          throw unsupported(`NUMA cells ${i} and ${j} have overlapping vCPU ids`);
        }
      }
    }
  }
  for (const d of def.devices.disks) {
    if (d.device === "lun" && !["block", "network", "volume"].includes(d.type)) {
      throw unsupported("disk device='lun' is only valid for block type disk source");
    }
  }
  const disks = def.devices.disks;
  const drive = (a: DomainDef["devices"]["disks"][number]["address"]) => {
    if (a?.type !== "drive") return undefined;
    const g = (k: string) => Number(a.attrs.find(([x]) => x === k)?.[1] ?? 0);
    return [g("controller"), g("bus"), g("target"), g("unit")] as const;
  };
  for (let i = 0; i < disks.length; i++) {
    const a = drive(disks[i]!.address);
    if (!a) continue;
    for (let j = i + 1; j < disks.length; j++) {
      const b = drive(disks[j]!.address);
      if (!b || disks[i]!.target.bus !== disks[j]!.target.bus || a.some((x, k) => x !== b[k])) continue;
      throw unsupported(
        `Found duplicate drive address for disk with target name '${disks[i]!.target.dev}' controller='${a[0]}' bus='${a[1]}' target='${a[2]}' unit='${a[3]}'`,
      );
    }
  }
}
