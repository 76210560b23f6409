// The QEMU driver's post-parse (libvirt 9.0's qemuDomainDefPostParse and device post-parse, as
// seen through `virsh dumpxml` after define): host arch when the XML names none, machine alias →
// versioned machine, emulator path, lifecycle checks, default CPU, the default devices of x86 PC
// machines (USB, SATA on q35, PCI root, PS/2 inputs, audio backend, balloon), device model
// defaults, then device addresses (domain-post-parse-address.ts). Pure.
import type { ControllerDef, DomainDef, GenericDevice } from "../../conf/domain/index.js";
import { setTargetAttr, targetAttr } from "../../conf/domain/devices/chardev.js";
import { xmlErr } from "../../conf/domain/errors.js";
import { checkRedirdevUsb } from "../../conf/domain/validate.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, el, parseXml, type XmlElement } from "../../xml/index.js";
import { type QemuCaps, type QemuMachine, resolveMachine } from "./capabilities.js";
import { unsupported } from "./command-util.js";
import { assignQemuAddresses } from "./domain-post-parse-address.js";
import { qemuValidate } from "./domain-post-parse-validate.js";
import { qemuValidateMore } from "./domain-post-parse-validate-more.js";

/** True when the domain XML gives `<os><type arch=...>` (the generic parser fills i686 otherwise). */
export function xmlNamesArch(xml: string): boolean {
  const root = parseXml(xml, {});
  const os = child(root, "os");
  const type = os ? child(os, "type") : undefined;
  return type !== undefined && attr(type, "arch") !== undefined;
}

const isX86 = (arch: string) => arch === "x86_64" || arch === "i686";

/**
 * Adds a controller as libvirt's virDomainControllerInsertPreAlloced does for one with an index:
 * before the first controller of its type with a higher index, else at the end.
 */
export function insertCtrl(list: ControllerDef[], c: ControllerDef): void {
  const at = list.findIndex((k) => k.type === c.type && k.index > c.index);
  if (at < 0) list.push(c);
  else list.splice(at, 0, c);
}

function hasController(def: DomainDef, type: string, index: number): boolean {
  return def.devices.controllers.some((c) => c.type === type && c.index === index);
}

function ctrl(type: string, index: number, model?: string): ControllerDef {
  const c: ControllerDef = { type, index, attrs: [], children: [] };
  if (model !== undefined) c.model = model;
  return c;
}

const CPU_ATTR_RANK: Record<string, number> = { mode: 0, match: 1, check: 2, migratable: 3 };
function cpuAttrRank(k: string): number {
  return Object.hasOwn(CPU_ATTR_RANK, k) ? CPU_ATTR_RANK[k]! : 4;
}

function orderCpuAttrs(cpu: XmlElement): void {
  // (sort is stable: other attributes keep their order after these four)
  cpu.attrs.sort((x, y) => cpuAttrRank(x[0]) - cpuAttrRank(y[0]));
}

function setDefault(e: XmlElement, k: string, v: string): void {
  if (attr(e, k) === undefined) e.attrs.push([k, v]);
}

/**
 * `<cpu>` defaults: an x86 guest without a CPU model gets qemu64 (qemu32 for i686), checks and
 * fallback filled as libvirt 9.0 shows them after define.
 */
function cpuDefaults(def: DomainDef, x86: boolean): void {
  if (!def.cpu) {
    if (!x86) return;
    def.cpu = el("cpu");
  }
  const cpu = def.cpu;
  const mode = attr(cpu, "mode") ?? "custom";
  if (mode === "host-passthrough" || mode === "maximum") {
    setDefault(cpu, "check", "none");
    if (mode === "host-passthrough") setDefault(cpu, "migratable", "on");
  } else if (mode === "host-model") {
    setDefault(cpu, "check", "partial");
  } else if (mode === "custom") {
    let model = child(cpu, "model");
    const defaulted = !model && x86;
    if (!model && x86) {
      model = el("model", { fallback: "forbid" }, def.os.arch === "i686" ? "qemu32" : "qemu64");
      cpu.children.unshift(model);
    }
    if (model) {
      setDefault(cpu, "mode", "custom");
      setDefault(cpu, "match", "exact");
      setDefault(cpu, "check", def.type === "kvm" && !defaulted ? "partial" : "none");
      setDefault(model, "fallback", "allow");
    }
  }
  orderCpuAttrs(cpu);
}

/** The `<encryption>` elements of a disk (in its source, or its backing chain), for the engine default. */
export function encryptions(e: XmlElement | undefined, out: XmlElement[] = []): XmlElement[] {
  if (!e) return out;
  for (const c of e.children) {
    if (c.kind !== "element") continue;
    if (c.name === "encryption") out.push(c);
    else encryptions(c, out);
  }
  return out;
}

/** Disk defaults: `<driver name='qemu' type='raw'>` for local images (qemuDomainDeviceDiskDefPostParse). */
function diskDefaults(def: DomainDef): void {
  for (const d of def.devices.disks) {
    for (const enc of [...encryptions(d.source), ...(d.extra.encryption ?? [])]) {
      if (attr(enc, "engine") === undefined) {
        const at = enc.attrs.findIndex(([k]) => k === "format") + 1;
        enc.attrs.splice(at, 0, ["engine", "qemu"]);
      }
    }
    if (d.type === "vhostuser") continue;
    // a pool volume's format is known only when the pool is asked (at start)
    if (!d.driver) d.driver = el("driver", { name: "qemu", type: d.type === "volume" ? undefined : "raw" });
    else {
      const a = d.driver.attrs;
      if (attr(d.driver, "name") === undefined) a.unshift(["name", "qemu"]);
      if (attr(d.driver, "type") === undefined && d.type !== "dir" && d.type !== "volume") {
        const at = a.findIndex(([k]) => k === "name") + 1;
        a.splice(at, 0, ["type", "raw"]);
      }
    }
  }
}

/** The implicit `<audio>` backend libvirt 9.0 adds (type spice with SPICE graphics, else none). */
function audioDefault(def: DomainDef): void {
  const d = def.devices;
  if (d.other.some((o) => o.kind === "audio")) return;
  // SPICE carries the audio; other displays but VNC pass the host's audio through (QEMU_AUDIO_DRV,
  // unset for the daemon): no backend is added then
  // SPICE carries the audio; VNC or no display at all get 'none'; other displays alone (SDL,
  // egl-headless, D-Bus) pass the host's audio through: no backend (qemuDomainDefAddDefaultAudioBackend)
  const spice = d.graphics.some((g) => g.type === "spice");
  if (!spice && d.graphics.length > 0 && !d.graphics.some((g) => g.type === "vnc")) return;
  const type = spice ? "spice" : "none";
  const audio: GenericDevice = {
    kind: "audio",
    xml: el("audio", [
      ["id", "1"],
      ["type", type],
    ]),
  };
  // after any sound cards, which share its formatting slot
  let at = -1;
  d.other.forEach((o, i) => {
    if (o.kind === "sound") at = i + 1;
  });
  if (at < 0) d.other.push(audio);
  else d.other.splice(at, 0, audio);
}

/** A unix chardev bound without a path gets one at start; libvirt shows no `<source>` for it. */
function chrSourceDefaults(def: DomainDef): void {
  const d = def.devices;
  for (const c of [...d.serials, ...d.parallels, ...d.consoles, ...d.channels]) {
    if (c.type !== "unix") continue;
    c.children = c.children.filter(
      (k) =>
        !(k.name === "source" && attr(k, "path") === undefined && (attr(k, "mode") ?? "bind") === "bind"),
    );
  }
}

/** QXL's vgamem default (qemuDomainDeviceVideoDefPostParse). */
function videoDefaults(def: DomainDef): void {
  for (const v of def.devices.videos) {
    if (v.model.type !== "qxl" || v.model.attrs.some(([k]) => k === "vgamem")) continue;
    const order = ["type", "ram", "vram", "vram64", "vgamem"];
    let at = 0;
    v.model.attrs.forEach(([k], i) => {
      if (order.includes(k)) at = i + 1;
    });
    v.model.attrs.splice(at, 0, ["vgamem", "16384"]);
  }
}

/** Serial targets: x86 serials are isa-serial unless told, each with its `<model name>`. */
function serialDefaults(def: DomainDef, x86: boolean): void {
  if (!x86) return;
  for (const c of def.devices.serials) {
    if (targetAttr(c, "type") === undefined) setTargetAttr(c, "type", "isa-serial");
    const type = targetAttr(c, "type")!;
    const model = { "isa-serial": "isa-serial", "pci-serial": "pci-serial", "usb-serial": "usb-serial" }[
      type
    ];
    if (model && c.target && !c.target.children.some((k) => k.name === "model")) {
      c.target.children.unshift(el("model", { name: model }));
    }
  }
}

const KIB: Record<string, number> = {
  b: 1 / 1024,
  bytes: 1 / 1024,
  k: 1,
  KiB: 1,
  K: 1,
  M: 1024,
  MiB: 1024,
  G: 1 << 20,
  GiB: 1 << 20,
};

/** A `<size>`-like element in KiB (unit defaults to KiB), or undefined for units not handled here. */
function kib(e: XmlElement | undefined, unitAttr = "unit"): number | undefined {
  if (!e) return undefined;
  const text = e.children
    .map((c) => (c.kind === "text" ? c.text : ""))
    .join("")
    .trim();
  const f = KIB[attr(e, unitAttr) ?? "KiB"];
  return f === undefined || !/^\d+$/.test(text) ? undefined : Number(text) * f;
}

/**
 * DIMM memory devices: each gets its slot (`<address type='dimm' slot=N>`), and with NUMA cells
 * the domain's memory is the cells' sum plus the memory devices' (a define updates the ABI:
 * virDomainDefPostParseMemory with VIR_DOMAIN_DEF_PARSE_ABI_UPDATE).
 */
function dimmDefaults(def: DomainDef): void {
  const dimms = def.devices.other.filter(
    (o) => o.kind === "memory" && (attr(o.xml, "model") === "dimm" || attr(o.xml, "model") === "nvdimm"),
  );
  const kids = (e: XmlElement) => e.children.filter((c): c is XmlElement => c.kind === "element");
  const used = new Set<string>();
  for (const o of dimms) {
    const a = kids(o.xml).find((c) => c.name === "address");
    if (a && attr(a, "slot") !== undefined) used.add(attr(a, "slot")!);
  }
  let slot = 0;
  let extra = 0;
  for (const o of def.devices.other) {
    if (o.kind !== "memory") continue;
    const target = kids(o.xml).find((c) => c.name === "target");
    extra += kib(target && kids(target).find((c) => c.name === "size")) ?? 0;
  }
  for (const o of dimms) {
    if (kids(o.xml).some((c) => c.name === "address")) continue;
    while (used.has(String(slot))) slot++;
    used.add(String(slot));
    o.xml.children.push(
      el("address", [
        ["type", "dimm"],
        ["slot", String(slot)],
      ]),
    );
  }
  const numa = def.cpu && kids(def.cpu).find((c) => c.name === "numa");
  if (!numa) return;
  let cells = 0;
  for (const c of kids(numa)) {
    if (c.name !== "cell") continue;
    const m = Number(attr(c, "memory"));
    const f = KIB[attr(c, "unit") ?? "KiB"];
    if (!Number.isFinite(m) || f === undefined) return;
    cells += m * f;
  }
  const total = cells + extra;
  if (def.currentMemory === def.memory || def.currentMemory > total) def.currentMemory = total;
  def.memory = total;
}

/** Where libvirtd (qemu:///system) keeps guests' UEFI variable stores. */
export const NVRAM_DIR = "/var/lib/libvirt/qemu/nvram";

/**
 * A read-only pflash loader without a variable store path gets <NVRAM_DIR>/<name>_VARS.fd
 * (qemuDomainNVRAMPathGenerate), also when `<nvram>` names only a template.
 */
function nvramDefault(def: DomainDef): void {
  const loader = def.os.loader;
  if (!loader || attr(loader, "type") !== "pflash" || attr(loader, "readonly") !== "yes") return;
  const nv = def.os.nvram;
  const path = nv?.children
    .map((c) => (c.kind === "text" ? c.text : ""))
    .join("")
    .trim();
  if (nv && (path || nv.children.some((c) => c.kind === "element"))) return;
  const text = `${NVRAM_DIR}/${def.name}_VARS.fd`;
  if (nv) nv.children = [{ kind: "text", text }];
  else def.os.nvram = el("nvram", {}, text);
}

/** libvirtd's own directory for guests' sockets and state (qemu.conf's libDir for qemu:///system). */
const LIB_DIR = "/var/lib/libvirt/qemu";

/**
 * A display socket under libvirtd's own directory is taken for one it generated, and not kept in a
 * persistent definition (qemuDomainRecheckInternalPaths): the listen becomes a plain address one.
 */
function internalGraphicsSockets(def: DomainDef): void {
  for (const g of def.devices.graphics) {
    let changed = false;
    for (const l of g.children) {
      if (l.name !== "listen" || attr(l, "type") !== "socket") continue;
      if (!attr(l, "socket")?.startsWith(LIB_DIR)) continue;
      l.attrs = [["type", "address"]];
      changed = true;
    }
    if (!changed) continue;
    g.attrs = g.attrs.filter(([k]) => k !== "socket");
    if (g.type === "vnc" && !g.attrs.some(([k]) => k === "port")) {
      g.attrs.unshift(["port", "-1"], ["autoport", "yes"]);
    }
  }
}

/** No domain, bus or slot is no PCI address at all (virPCIDeviceAddressIsEmpty): placed as if none. */
function clearEmptyPciAddresses(def: DomainDef): void {
  const zero = (attrs: [string, string][]) =>
    attrs.every(([k, v]) => !["domain", "bus", "slot"].includes(k) || /^(0x)?0+$/i.test(v.trim()));
  const d = def.devices;
  for (const x of [...d.disks, ...d.controllers, ...d.interfaces, ...d.videos, ...d.inputs, ...d.serials]) {
    if (x.address?.type === "pci" && zero(x.address.attrs) && !x.address.children?.length) delete x.address;
  }
  if (d.memballoon?.address?.type === "pci" && zero(d.memballoon.address.attrs)) delete d.memballoon.address;
  // a virtio channel or console lives on a virtio-serial port whatever other address it was given
  for (const c of [...d.channels, ...d.consoles]) {
    if (c.address && c.address.type !== "virtio-serial" && targetAttr(c, "type") === "virtio")
      delete c.address;
  }
  for (const o of d.other) {
    o.xml.children = o.xml.children.filter(
      (k) => !(k.kind === "element" && k.name === "address" && attr(k, "type") === "pci" && zero(k.attrs)),
    );
  }
}

/** resolveMachine's answers per machine list (a binary's list does not change once probed). */
const machineMemo = new WeakMap<QemuMachine[], Map<string, QemuMachine | undefined>>();

/** resolveMachine(caps, name), remembered: every define looks its machine up (an alias: twice over the list). */
function machineOf(caps: QemuCaps, name: string): QemuMachine | undefined {
  let memo = machineMemo.get(caps.machines);
  if (!memo) machineMemo.set(caps.machines, (memo = new Map()));
  if (memo.has(name)) return memo.get(name);
  const m = resolveMachine(caps, name);
  memo.set(name, m);
  return m;
}

export function qemuPostParse(def: DomainDef, caps: QemuCaps, archGiven: boolean): void {
  if (!archGiven) def.os.arch = caps.arch === "i386" ? "i686" : caps.arch;
  if (def.type === "hvf") {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.QEMU,
      `could not get preferred machine for ${caps.binary} type=${def.type}`,
    );
  }
  if (def.extra.bootloader?.length) throw unsupported("bootloader is not supported by QEMU");
  if (def.type !== "qemu" && def.type !== "kvm") {
    throw unsupported(`Emulator '${caps.binary}' does not support virt type '${def.type}'`);
  }
  if (def.os.type !== "hvm") {
    throw unsupported(`Emulator '${caps.binary}' does not support os type '${def.os.type}'`);
  }
  const wanted = def.os.machine ?? "pc";
  const m = machineOf(caps, wanted);
  if (!m) throw unsupported(`Emulator '${caps.binary}' does not support machine type '${wanted}'`);
  def.os.machine = m.name;
  def.devices.emulator ??= caps.binary;
  if (def.onReboot === "destroy" && def.onPoweroff === "restart") {
    throw unsupported(
      "qemu driver doesn't support 'onReboot' set to 'destroy and 'onPoweroff' set to 'reboot'",
    );
  }
  if (def.onReboot === "preserve" || def.onPoweroff === "preserve") {
    throw unsupported("qemu driver doesn't support the 'preserve' action for 'on_reboot'/'on_poweroff'");
  }
  const q35 = m.name.startsWith("pc-q35");
  const pc = m.name.startsWith("pc-i440fx");
  const x86 = isX86(def.os.arch);
  const d = def.devices;
  // libvirt adds its machine defaults before the generic implicit controllers (for disks,
  // channels...), so those are taken out and put back after the defaults.
  const implicit = d.controllers.filter((c) => c.implicit);
  d.controllers = d.controllers.filter((c) => !c.implicit);
  if ((q35 || pc) && !hasController(def, "usb", 0)) {
    d.controllers.push(ctrl("usb", 0, q35 ? "qemu-xhci" : "piix3-uhci"));
  }
  // appended, as virDomainDefAddController does (a reload sorts them by index)
  if (q35 && !hasController(def, "sata", 0)) d.controllers.push(ctrl("sata", 0));
  if ((q35 || pc) && !hasController(def, "pci", 0)) {
    d.controllers.push(ctrl("pci", 0, q35 ? "pcie-root" : "pci-root"));
  }
  for (const c of implicit) {
    delete c.implicit;
    if (!hasController(def, c.type, c.index)) d.controllers.push(c);
  }
  for (const c of d.controllers) {
    if (c.type === "pci" && c.index === 0 && c.model === undefined) c.model = q35 ? "pcie-root" : "pci-root";
    const root = q35 ? "pcie-root" : "pci-root";
    if ((q35 || pc) && c.type === "pci" && c.index === 0 && c.model !== root) {
      throw xmlErr(
        `The PCI controller with index='0' must be model='${root}' for this machine type, but model='${c.model}' was found instead`,
      );
    }
    if (c.type === "scsi" && (c.model === undefined || c.model === "auto")) c.model = "lsilogic";
    if (c.type === "usb" && c.model === undefined && (q35 || pc)) c.model = q35 ? "qemu-xhci" : "piix3-uhci";
  }
  if ((q35 || pc) && !d.memballoon) d.memballoon = { model: "virtio", attrs: [], children: [] };
  if (x86 && (q35 || pc)) {
    for (const type of ["mouse", "keyboard"]) {
      if (!d.inputs.some((i) => i.type === type && i.bus === "ps2")) {
        d.inputs.push({ type, bus: "ps2", attrs: [], children: [] });
      }
    }
  }
  checkRedirdevUsb(def);
  // no security driver: a seclabel without a model is the 'none' model's, and nothing is dynamic
  for (const sl of def.extra.seclabel ?? []) {
    const model = attr(sl, "model");
    if ((model === undefined || model === "none") && attr(sl, "type") === "dynamic") {
      sl.attrs = sl.attrs.filter(([k]) => k !== "relabel").map(([k, v]) => [k, k === "type" ? "none" : v]);
    }
    if (model === undefined) {
      const at = sl.attrs.findIndex(([k]) => k === "type") + 1;
      sl.attrs.splice(at, 0, ["model", "none"]);
    }
  }
  nvramDefault(def);
  internalGraphicsSockets(def);
  cpuDefaults(def, x86);
  serialDefaults(def, x86);
  chrSourceDefaults(def);
  videoDefaults(def);
  diskDefaults(def);
  for (const n of d.interfaces) {
    if (n.model === undefined && x86 && !["hostdev", "vdpa", "vhostuser"].includes(n.type))
      n.model = "rtl8139";
  }
  audioDefault(def);
  dimmDefaults(def);
  for (const o of d.other) {
    // a vfio-pci mediated device shows no display unless asked for
    if (o.kind === "hostdev" && attr(o.xml, "type") === "mdev" && attr(o.xml, "model") === "vfio-pci") {
      if (attr(o.xml, "display") === undefined) o.xml.attrs.push(["display", "off"]);
    }
  }
  qemuValidate(def, m.name, x86, q35);
  qemuValidateMore(def, m, q35);
  if (q35 || pc) {
    clearEmptyPciAddresses(def);
    assignQemuAddresses(def, q35);
  }
}
