// Fills the defaults libvirt's generic post-parse and the test driver add (virDomainDefPostParse,
// testDomainDefPostParse, testDomainGenerateIfnames): UUID, memory, arch, boot order, console
// compatibility, chardev ports, drive addresses, implicit controllers, default video, MACs.

import { attr, child, el, elements, type XmlElement } from "../../xml/index.js";
import { generateMac, generateUuid } from "../common/index.js";
import { cloneChr, setTargetAttr, targetAttr } from "./devices/chardev.js";
import { assignControllerIndexes, insertController } from "./devices/controller.js";
import { assignDiskAddress } from "./devices/disk.js";
import { fillVideoDefaults } from "./devices/video.js";
import { unsupported, xmlErr } from "./errors.js";
import type { ChrDef, ControllerDef, DomainDef } from "./types.js";

/** Architecture the test driver's capabilities default to for an OS type. */
function defaultArch(def: DomainDef): string {
  return def.os.type === "hvm" || def.os.type === "xen" ? "i686" : "i686";
}

/** `implicit` marks the post-parse additions; libvirt adds a SCSI hostdev's controller while parsing. */
function addController(def: DomainDef, type: string, index: number, implicit = true): void {
  const list = def.devices.controllers;
  if (list.some((c) => c.type === type && c.index === index)) return;
  const attrs: ControllerDef["attrs"] = [];
  const children: ControllerDef["children"] = [];
  const c: ControllerDef = { type, index, attrs, children };
  if (implicit) c.implicit = true;
  // an implicit controller is appended (virDomainDefAddController); one found while parsing is sorted in
  if (implicit) list.push(c);
  else insertController(list, c);
}

/** SCSI hostdevs without an address take the first free unit on controller 0 (virDomainHostdevAssignAddress). */
function scsiHostdevAddresses(def: DomainDef): void {
  const other = def.devices.other;
  let hostdevs = false;
  for (let i = 0; i < other.length && !hostdevs; i++) hostdevs = other[i]!.kind === "hostdev";
  if (!hostdevs) return; // (most definitions: nothing to address)
  const used = new Set<string>();
  const key = (a: [string, string][]) => a.map(([k, v]) => `${k}=${v}`).join(",");
  for (const disk of def.devices.disks) {
    if (disk.target.bus === "scsi" && disk.address?.type === "drive") used.add(key(disk.address.attrs));
  }
  for (const o of def.devices.other) {
    if (o.kind !== "hostdev" || o.xml.attrs.find(([k]) => k === "type")?.[1] !== "scsi") continue;
    if (o.xml.children.some((c) => c.kind === "element" && c.name === "address")) continue;
    let unit = 0;
    const attrs = (u: number): [string, string][] => [
      ["controller", "0"],
      ["bus", "0"],
      ["target", "0"],
      ["unit", String(u)],
    ];
    while (used.has(key(attrs(unit)))) unit++;
    used.add(key(attrs(unit)));
    o.xml.children.push(el("address", [["type", "drive"], ...attrs(unit)]));
    addController(def, "scsi", 0, false);
  }
}

/** The buses whose disks' drive addresses imply their controllers, in the order they are added. */
const DRIVE_BUSES = ["scsi", "fdc", "ide", "sata"];

function anyVirtioChr(list: readonly ChrDef[]): boolean {
  for (let i = 0; i < list.length; i++) if (targetAttr(list[i]!, "type") === "virtio") return true;
  return false;
}

function implicitControllers(def: DomainDef): void {
  const d = def.devices;
  const disks = d.disks;
  if (disks.length !== 0) {
    for (let t = 0; t < DRIVE_BUSES.length; t++) {
      const type = DRIVE_BUSES[t]!;
      let max = -1;
      for (let j = 0; j < disks.length; j++) {
        const disk = disks[j]!;
        if (disk.target.bus !== type || disk.address?.type !== "drive") continue;
        let ctl: string | undefined;
        const a = disk.address.attrs;
        for (let k = 0; k < a.length; k++) {
          if (a[k]![0] === "controller") {
            ctl = a[k]![1];
            break;
          }
        }
        const c = Number(ctl ?? 0);
        if (c > max) max = c;
      }
      for (let i = 0; i <= max; i++) addController(def, type, i);
    }
  }
  if (anyVirtioChr(d.channels) || anyVirtioChr(d.consoles)) addController(def, "virtio-serial", 0);
  const other = d.other;
  for (let i = 0; i < other.length; i++) {
    if (other[i]!.kind === "smartcard") {
      addController(def, "ccid", 0);
      break;
    }
  }
}

/**
 * Numbers ports left out: serials take the next port after the highest in use anywhere in the
 * list, parallels the next after those before them (libvirt 9.0 behaves differently for the two).
 */
function chrPorts(list: ChrDef[], wholeList: boolean): void {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (targetAttr(c, "port") !== undefined) continue;
    let max = -1;
    for (const o of wholeList ? list : list.slice(0, i))
      max = Math.max(max, Number(targetAttr(o, "port") ?? -1));
    setTargetAttr(c, "port", String(max + 1));
  }
}

/** virDomainDefAddConsoleCompat: the first console of an HVM guest mirrors the first serial. */
function consoleCompat(def: DomainDef): void {
  const d = def.devices;
  if (def.os.type !== "hvm") return;
  const first = d.consoles[0];
  const firstIsSerial = first !== undefined && ["serial", undefined].includes(targetAttr(first, "type"));
  if (first && firstIsSerial) {
    if (d.serials.length === 0) {
      const s = cloneChr(first);
      s.target = { attrs: [], children: [] };
      const port = targetAttr(first, "port");
      if (port !== undefined) setTargetAttr(s, "port", port);
      delete s.alias;
      d.serials.push(s);
    }
    const ser = d.serials[0]!;
    const con = cloneChr(ser);
    con.target = { attrs: [], children: [] };
    d.consoles[0] = con;
    return;
  }
  // only an ISA (or untyped) first serial gets the compat console, not usb-serial/pci-serial
  if (d.serials.length > 0 && [undefined, "isa-serial"].includes(targetAttr(d.serials[0]!, "type"))) {
    const con = cloneChr(d.serials[0]!);
    con.target = { attrs: [], children: [] };
    d.consoles.unshift(con);
  }
}

function fixConsoleTargets(def: DomainDef): void {
  const d = def.devices;
  d.consoles.forEach((c, i) => {
    if (i === 0 && def.os.type === "hvm" && d.serials.length > 0 && c.target?.attrs.length === 0) {
      setTargetAttr(c, "type", "serial");
      setTargetAttr(c, "port", targetAttr(d.serials[0]!, "port") ?? "0");
      return;
    }
    if (targetAttr(c, "type") === undefined) {
      setTargetAttr(c, "type", def.os.type === "xen" || def.os.type === "linux" ? "xen" : "serial");
    }
    if (targetAttr(c, "port") === undefined) setTargetAttr(c, "port", String(i));
  });
}

/** Smartcards sit on CCID controller 0, one slot each (virDomainDefAssignAddresses for ccid). */
function smartcardAddresses(def: DomainDef): void {
  let slot = 0;
  for (const o of def.devices.other) {
    if (o.kind !== "smartcard") continue;
    if (!o.xml.children.some((c) => c.kind === "element" && c.name === "address")) {
      o.xml.children.push(el("address", { type: "ccid", controller: 0, slot }));
    }
    slot++;
  }
}

export interface PostParseOptions {
  /** Skip the test driver's testnetN interface names (for drivers that name taps themselves). */
  noIfnames?: boolean;
  /** Architecture for an `<os><type>` without arch= (the test driver's is i686; QEMU passes the host's). */
  defaultArch?: string;
}

/**
 * Without `<memory>` the NUMA cells' sum (plus the memory devices') is the memory, and the balloon
 * follows (virDomainDefPostParseMemory; the QEMU driver's define also recomputes it when given).
 */
function numaMemory(def: DomainDef): void {
  if (def.memory !== 0) return;
  const numa = def.cpu ? child(def.cpu, "numa") : undefined;
  if (!numa) return;
  let cells = 0;
  for (const c of elements(numa, "cell")) {
    if (attr(c, "unit") !== "KiB" || !/^[0-9]+$/.test(attr(c, "memory") ?? "")) return;
    cells += Number(attr(c, "memory"));
  }
  if (cells === 0) return;
  let hot = 0;
  for (const o of def.devices.other) {
    if (o.kind !== "memory") continue;
    const t = child(o.xml, "target");
    const size = t ? child(t, "size") : undefined;
    const text =
      size?.children
        .map((k) => (k.kind === "text" ? k.text : ""))
        .join("")
        .trim() ?? "";
    if (/^[0-9]+$/.test(text)) hot += Number(text);
  }
  def.memory = cells + hot;
  if (def.currentMemory === 0 || def.currentMemory > def.memory) def.currentMemory = def.memory;
}

/** A vCPU pin for a vCPU the domain does not have is ignored, as libvirt does (with a warning). */
function dropPinsBeyondVcpus(def: DomainDef): void {
  const ct = def.extra.cputune?.[0];
  if (!ct) return;
  const keep = ct.children.filter(
    (k) => !(k.kind === "element" && k.name === "vcpupin" && Number(attr(k, "vcpu")) >= def.vcpu.max),
  );
  if (keep.length === ct.children.length) return;
  ct.children = keep;
  if (elements(ct).length === 0 && ct.attrs.length === 0) delete def.extra.cputune;
}

/**
 * `<iothreads>` N with some `<iothreadids>` given: the missing ids are the lowest free ones in
 * 1..N, appended (virDomainIOThreadIDDefArrayInit); with none given nothing is listed.
 */
function fillIothreadIds(def: DomainDef): void {
  const ids = def.extra.iothreadids?.[0];
  if (!ids) return;
  const given = elements(ids, "iothread");
  let count = def.extra.iothreads?.[0];
  if (!count) {
    // the count is the ids' when not given, and never below it
    count = el("iothreads", {}, "0");
    def.extra.iothreads = [count];
  }
  const text = count.children
    .map((c) => (c.kind === "text" ? c.text : ""))
    .join("")
    .trim();
  if (!/^[0-9]+$/.test(text)) return;
  const n = Number(text);
  if (given.length >= n) {
    if (given.length > n) count.children = [{ kind: "text", text: String(given.length) }];
    return;
  }
  const used = new Set(given.map((t) => Number(attr(t, "id"))));
  for (let id = 1, missing = n - given.length; id <= n && missing > 0; id++) {
    if (used.has(id)) continue;
    ids.children.push(el("iothread", { id: String(id) }));
    missing--;
  }
}

/** An Open vSwitch port without an interfaceid gets a generated one (virNetDevVPortProfileParse). */
function ovsInterfaceId(vp: XmlElement | undefined): void {
  if (!vp || attr(vp, "type") !== "openvswitch") return;
  let p = child(vp, "parameters");
  if (p && attr(p, "interfaceid") !== undefined) return;
  if (!p) {
    p = el("parameters");
    vp.children = [...elements(vp), p];
  }
  p.attrs.unshift(["interfaceid", generateUuid()]);
}

function anyBoot(list: readonly { boot?: unknown }[]): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.boot !== undefined) return true;
  return false;
}

function anyGenericBoot(other: DomainDef["devices"]["other"]): boolean {
  for (let i = 0; i < other.length; i++) {
    const ch = other[i]!.xml.children;
    for (let j = 0; j < ch.length; j++) {
      const c = ch[j]!;
      if (c.kind === "element" && c.name === "boot") return true;
    }
  }
  return false;
}

export function postParseDomain(def: DomainDef, opts: PostParseOptions = {}): void {
  // Console ports are their document index, given before the serial mirror is inserted.
  def.devices.consoles.forEach((c, i) => {
    if (targetAttr(c, "port") === undefined && targetAttr(c, "type") !== undefined)
      setTargetAttr(c, "port", String(i));
  });
  if (def.uuid === "") def.uuid = generateUuid();
  numaMemory(def);
  dropPinsBeyondVcpus(def);
  fillIothreadIds(def);
  if (def.memory === 0)
    throw xmlErr("Memory size must be specified via <memory> or in the <numa> configuration");
  if (def.currentMemory === 0 || def.currentMemory > def.memory) def.currentMemory = def.memory;
  if (def.os.arch === "") def.os.arch = opts.defaultArch ?? defaultArch(def);
  const d = def.devices;
  const anyBootOrder = anyBoot(d.disks) || anyBoot(d.interfaces) || anyGenericBoot(d.other);
  if (anyBootOrder && def.os.bootDevs.length > 0) {
    throw unsupported("per-device boot elements cannot be used together with os/boot elements");
  }
  if (def.os.type === "hvm" && def.os.bootDevs.length === 0 && !anyBootOrder) def.os.bootDevs.push("hd");

  for (const disk of d.disks) {
    if (disk.device === "cdrom") disk.readonly = true;
    assignDiskAddress(disk);
  }
  chrPorts(d.serials, true);
  chrPorts(d.parallels, false);
  consoleCompat(def);
  chrPorts(d.serials, true);
  fixConsoleTargets(def);
  assignControllerIndexes(d.controllers);
  scsiHostdevAddresses(def);
  implicitControllers(def);
  smartcardAddresses(def);
  if (d.graphics.length > 0 && d.videos.length === 0) {
    d.videos.push({ model: { type: "default", attrs: [], children: [] } });
  }
  d.videos.forEach((v, i) => {
    fillVideoDefaults(v, def.os.type === "xen" || def.os.type === "linux" ? "xen" : "cirrus", i === 0);
  });
  for (const n of d.interfaces) if (n.mac === "") n.mac = generateMac();
  for (const n of d.interfaces) ovsInterfaceId(n.extra.virtualport?.[0]);
  if (!opts.noIfnames) {
    // First unused testnetN for each unnamed interface (testDomainGenerateIfname).
    const used = new Set(d.interfaces.map((o) => o.target));
    let i = 0;
    for (const n of d.interfaces) {
      if (n.target !== undefined) continue;
      while (used.has(`testnet${i}`)) i++;
      n.target = `testnet${i}`;
      used.add(n.target);
    }
  }
}
