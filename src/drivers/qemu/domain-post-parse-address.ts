// Device addresses the QEMU driver assigns after define (libvirt 9.0's qemuDomainAssignAddresses,
// as observed with `virsh dumpxml`): PCI slots on i440fx's pci-root or on q35's pcie-root-ports
// (adding root ports and a pcie-to-pci-bridge as needed, plus one free root port for hotplug),
// USB ports and virtio-serial ports. Pure: works on the DomainDef only.
import type { ControllerDef, DeviceAddress, DomainDef, GenericDevice } from "../../conf/domain/index.js";
import { attr, el, type XmlElement } from "../../xml/index.js";
import { unsupported } from "./command-util.js";
import { insertCtrl } from "./domain-post-parse.js";

/**
 * What a device plugs into: a PCIe slot (a root port), a conventional hot-pluggable PCI slot, a
 * root port's place on pcie-root, a pci-bridge's (any PCI slot, the dmi-to-pci-bridge's too,
 * which takes no hot-pluggable device) or a dmi-to-pci-bridge's (a whole pcie-root slot).
 */
type Need = "pcie" | "pci" | "port" | "bridge" | "dmi";

interface Bus {
  model: string;
  /** slot → functions in use */
  used: Map<number, Set<number>>;
}

interface Slotted {
  get(): DeviceAddress | undefined;
  set(a: DeviceAddress): void;
  need: Need;
  /** The controller behind it (USB companions are placed as a group). */
  ctrl?: ControllerDef;
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;

function pciAddr(bus: number, slot: number, fn: number, multi = false): DeviceAddress {
  const attrs: [string, string][] = [
    ["domain", "0x0000"],
    ["bus", hex(bus, 2)],
    ["slot", hex(slot, 2)],
    ["function", hex(fn, 1)],
  ];
  if (multi) attrs.push(["multifunction", "on"]);
  return { type: "pci", attrs };
}

function num(a: DeviceAddress, k: string): number {
  const v = a.attrs.find(([n]) => n === k)?.[1];
  return v === undefined ? 0 : Number(v);
}

/** A generic device's `<address>` child, read and written as a DeviceAddress. */
function genericSlot(o: GenericDevice, need: Need): Slotted {
  return {
    need,
    get() {
      const a = o.xml.children.find((c): c is XmlElement => c.kind === "element" && c.name === "address");
      if (!a) return undefined;
      return { type: attr(a, "type") ?? "", attrs: a.attrs.filter(([k]) => k !== "type") };
    },
    set(a) {
      o.xml.children.push(el("address", [["type", a.type], ...a.attrs]));
    },
  };
}

function infoSlot(x: { address?: DeviceAddress }, need: Need, ctrl?: ControllerDef): Slotted {
  return {
    need,
    ctrl,
    get: () => x.address,
    set: (a) => {
      x.address = a;
    },
  };
}

/**
 * NIC models libvirt 9.0 plugs into conventional PCI: the models its enum knows but virtio,
 * virtio-non-transitional, e1000e, igb (PCIe), usb-net and spapr-vlan (no PCI); a model it does
 * not know (ne2k_pci, pcnet, i82551, ...) goes PCIe (checked one by one with its dumpxml on q35).
 */
const PCI_NETS = [
  "virtio-transitional",
  "rtl8139",
  "e1000",
  "vmxnet3",
  "netfront",
  "lan9118",
  "scm91c111",
  "vlance",
  "vmxnet",
  "vmxnet2",
  "Am79C970A",
  "Am79C973",
  "82540EM",
  "82545EM",
  "82543GC",
];

class PciSet {
  buses: Bus[] = [];
  /** Models of the buses added after the caller last cleared this (the dry run's additions). */
  added: string[] = [];
  /** bus:slot pairs whose functions hold root ports, one each (libvirt's aggregate slots). */
  aggregate = new Set<string>();
  constructor(
    readonly q35: boolean,
    readonly grow: boolean,
  ) {}

  free(bus: number, slot: number, fn: number): boolean {
    return !this.buses[bus]?.used.get(slot)?.has(fn);
  }

  reserve(bus: number, slot: number, fn: number): void {
    while (this.buses.length <= bus) this.addBus(this.q35 ? "pcie-root-port" : "pci-bridge");
    const b = this.buses[bus]!;
    if (!b.used.has(slot)) b.used.set(slot, new Set());
    b.used.get(slot)!.add(fn);
  }

  addBus(model: string): number {
    this.buses.push({ model, used: new Map() });
    if (this.buses.length > 1) this.added.push(model);
    return this.buses.length - 1;
  }

  /** Which buses accept a device of this kind, and their slot range. */
  private fits(b: Bus, need: Need): [number, number] | undefined {
    switch (b.model) {
      case "pci-root":
      case "pci-bridge":
        // (a PCIe device on q35 gets a root port, not a pci-bridge's slot)
        return need === "port" || need === "dmi" || (need === "pcie" && this.q35) ? undefined : [1, 31];
      case "pcie-to-pci-bridge":
        return need === "pci" || need === "bridge" ? [1, 31] : undefined;
      case "dmi-to-pci-bridge":
        return need === "bridge" ? [0, 31] : undefined;
      case "pcie-root-port":
        return need === "pcie" ? [0, 0] : undefined;
      case "pcie-root":
        return need === "port" || need === "dmi" ? [1, 31] : undefined;
      default:
        return undefined;
    }
  }

  /** First free slot for `need`; null when none (and growing is off). */
  next(need: Need): DeviceAddress | null {
    for (let bus = 0; bus < this.buses.length; bus++) {
      const r = this.fits(this.buses[bus]!, need);
      if (!r) continue;
      for (let slot = r[0]; slot <= r[1]; slot++) {
        const used = this.buses[bus]!.used.get(slot);
        if (need === "port") {
          // root ports share slots, one function each (libvirt's aggregate slots)
          if (used && !this.aggregate.has(`${bus}:${slot}`)) continue;
          for (let fn = 0; fn < 8; fn++) {
            if (used?.has(fn)) continue;
            this.reserve(bus, slot, fn);
            this.aggregate.add(`${bus}:${slot}`);
            return pciAddr(bus, slot, fn);
          }
          continue;
        }
        if (used && used.size > 0) continue;
        this.reserve(bus, slot, 0);
        return pciAddr(bus, slot, 0);
      }
    }
    if (!this.grow) return null;
    if (need === "pcie") {
      this.addBus("pcie-root-port");
      return this.next(need);
    }
    if (need === "pci" && (!this.q35 || this.buses.some((b) => this.fits(b, "bridge")))) {
      // a bus that takes a pci-bridge (pci-root, a dmi-to-pci-bridge's, a pci-bridge's): one
      // more pci-bridge (its own slot is found in the real pass, where controllers go first)
      this.addBus("pci-bridge");
      return this.next(need);
    }
    if ((need === "pci" || need === "bridge") && this.q35) {
      // a pcie-to-pci-bridge on a (new or free) root port
      this.next("pcie");
      this.addBus("pcie-to-pci-bridge");
      return this.next(need);
    }
    return null;
  }
}

function ctrlNeed(c: ControllerDef, q35: boolean): Need | undefined {
  switch (c.type) {
    case "usb":
      if (c.model === "none") return undefined;
      return c.model === "qemu-xhci" || c.model === "nec-xhci" ? (q35 ? "pcie" : "pci") : "pci";
    case "scsi":
      return c.model?.startsWith("virtio") ? (q35 ? "pcie" : "pci") : "pci";
    case "virtio-serial":
      return q35 ? "pcie" : "pci";
    case "sata":
      return "pci"; // an extra AHCI controller is conventional PCI (libvirt's pciFlags)
    default:
      return undefined;
  }
}

function otherModel(o: GenericDevice): string | undefined {
  return attr(o.xml, "model");
}

/** Where each PCI controller model plugs in. */
const PCI_CTRL_NEED: Record<string, Need> = {
  "pcie-root-port": "port",
  "pcie-to-pci-bridge": "pcie",
  "pci-bridge": "bridge",
  "dmi-to-pci-bridge": "dmi",
};

/** Devices in libvirt's PCI assignment order (qemuDomainAssignDevicePCISlots), non-primary. */
function pciDevices(def: DomainDef, q35: boolean, skipPrimaryVideo: boolean): Slotted[] {
  const d = def.devices;
  const e = (need: Need) => (q35 ? need : "pci");
  const out: Slotted[] = [];
  for (const c of d.controllers) {
    if (c.type !== "pci" || c.index === 0) continue;
    out.push(infoSlot(c, PCI_CTRL_NEED[c.model ?? ""] ?? "pci"));
  }
  for (const o of d.other) {
    if (o.kind === "filesystem" && (attr(o.xml, "type") ?? "mount") === "mount")
      out.push(genericSlot(o, e("pcie")));
  }
  for (const n of d.interfaces) {
    if (n.type === "hostdev" || n.model === "usb-net") continue;
    out.push(infoSlot(n, PCI_NETS.includes(n.model ?? "rtl8139") ? "pci" : e("pcie")));
  }
  for (const o of d.other) {
    if (o.kind !== "sound") continue;
    const m = otherModel(o);
    if (m === "pcspk" || m === "usb" || m === "sb16") continue; // not PCI devices
    out.push(genericSlot(o, m === "ich9" ? e("pcie") : "pci"));
  }
  for (const c of d.controllers) {
    const need = ctrlNeed(c, q35);
    if (need) out.push(infoSlot(c, need, c));
  }
  for (const disk of d.disks) {
    if (disk.target.bus !== "virtio") continue;
    const model = disk.attrs.find(([k]) => k === "model")?.[1];
    out.push(infoSlot(disk, model === "virtio-transitional" ? "pci" : e("pcie")));
  }
  for (const o of d.other) {
    const t = attr(o.xml, "type");
    const pciHostdev = t === "pci" || (t === "mdev" && attr(o.xml, "model") === "vfio-pci");
    if (o.kind === "hostdev" && pciHostdev) out.push(genericSlot(o, e("pcie")));
  }
  for (const n of d.interfaces) if (n.type === "hostdev") out.push(infoSlot(n, e("pcie")));
  // a transitional virtio device is conventional PCI
  const vio = (m: string | undefined) => (m === "virtio-transitional" ? "pci" : e("pcie"));
  if (d.memballoon?.model.startsWith("virtio")) out.push(infoSlot(d.memballoon, vio(d.memballoon.model)));
  for (const o of d.other)
    if (o.kind === "rng" && otherModel(o)?.startsWith("virtio")) out.push(genericSlot(o, vio(otherModel(o))));
  for (const o of d.other)
    if (o.kind === "watchdog" && otherModel(o) === "i6300esb") out.push(genericSlot(o, "pci"));
  d.videos.forEach((v, i) => {
    if (i === 0 && skipPrimaryVideo) return;
    if (v.model.type === "none" || v.model.type === "ramfb") return;
    out.push(infoSlot(v, v.model.type === "virtio" ? e("pcie") : "pci"));
  });
  for (const o of d.other) {
    const m = o.xml.children.find((c): c is XmlElement => c.kind === "element" && c.name === "model");
    if (o.kind === "shmem" && (!m || attr(m, "type")?.startsWith("ivshmem"))) out.push(genericSlot(o, "pci"));
  }
  for (const inp of d.inputs) if (inp.bus === "virtio") out.push(infoSlot(inp, e("pcie")));
  for (const o of d.other) if (o.kind === "vsock") out.push(genericSlot(o, e("pcie")));
  for (const c of d.serials) {
    if (c.target?.attrs.some(([k, v]) => k === "type" && v === "pci-serial")) out.push(infoSlot(c, "pci"));
  }
  return out;
}

/** The machine's fixed slots (qemuDomainValidateDevicePCISlotsPIIX3 / Q35); returns true when the primary video was placed. */
function machineSlots(def: DomainDef, set: PciSet, q35: boolean): boolean {
  const d = def.devices;
  const place = (x: Slotted, bus: number, slot: number, fn: number) => {
    if (x.get()) return;
    if (!set.free(bus, slot, fn)) return;
    set.reserve(bus, slot, fn);
    x.set(pciAddr(bus, slot, fn));
  };
  if (!q35) {
    for (const c of d.controllers) {
      if (c.type === "ide" && c.index === 0) place(infoSlot(c, "pci"), 0, 1, 1);
      if (c.type === "usb" && c.index === 0 && c.model === "piix3-uhci") place(infoSlot(c, "pci"), 0, 1, 2);
    }
    for (let fn = 0; fn < 4; fn++) set.reserve(0, 1, fn);
  } else {
    for (const c of d.controllers) {
      if (c.type === "sata" && c.index === 0) place(infoSlot(c, "pcie"), 0, 0x1f, 2);
      if (c.type === "usb" && c.index === 0) {
        const m = /^ich9-(ehci1|uhci([123]))$/.exec(c.model ?? "");
        if (m) place(infoSlot(c, "pci"), 0, 0x1d, m[2] ? Number(m[2]) - 1 : 7);
      }
    }
    // the ICH9 USB set at 00:1d: function 0 says multifunction='on' when it has company
    const ich9 = d.controllers.filter(
      (c) =>
        c.type === "usb" && c.index === 0 && c.address?.type === "pci" && num(c.address, "slot") === 0x1d,
    );
    const f0 = ich9.find((c) => num(c.address!, "function") === 0);
    if (ich9.length > 1 && f0 && !f0.address!.attrs.some(([k]) => k === "multifunction")) {
      f0.address!.attrs.push(["multifunction", "on"]);
    }
    // the first dmi-to-pci-bridge goes to 00:1e.0 (qemuDomainValidateDevicePCISlotsQ35)
    const dmi = d.controllers.find((c) => c.type === "pci" && c.model === "dmi-to-pci-bridge");
    if (dmi) place(infoSlot(dmi, "dmi"), 0, 0x1e, 0);
    const sound = d.other.find((o) => o.kind === "sound" && otherModel(o) === "ich9");
    if (sound) place(genericSlot(sound, "pcie"), 0, 0x1b, 0);
    for (let fn = 0; fn < 8; fn++) set.reserve(0, 0x1f, fn);
  }
  const v = d.videos[0];
  if (v && v.model.type !== "none" && v.model.type !== "ramfb" && !v.address) {
    const slot = q35 ? 1 : 2;
    if (set.free(0, slot, 0)) {
      set.reserve(0, slot, 0);
      v.address = pciAddr(0, slot, 0);
      return true;
    }
  }
  return v?.address !== undefined;
}

/** USB companion controllers share their EHCI master's slot: uhci1..3 on functions 0..2, ehci on 7. */
function usbGroup(def: DomainDef, set: PciSet, c: ControllerDef): boolean {
  const isIch9 = (k: ControllerDef) => k.type === "usb" && /^ich9-(ehci1|uhci[123])$/.test(k.model ?? "");
  if (!isIch9(c)) return false;
  const group = def.devices.controllers.filter((k) => isIch9(k) && k.index === c.index && !k.address);
  const a = set.next("pci");
  if (!a) return false;
  const bus = num(a, "bus");
  const slot = num(a, "slot");
  for (const k of group) {
    const m = /^ich9-uhci([123])$/.exec(k.model ?? "");
    const fn = m ? Number(m[1]) - 1 : 7;
    set.reserve(bus, slot, fn);
    k.address = pciAddr(bus, slot, fn, fn === 0 && group.length > 1);
  }
  return true;
}

function runPass(def: DomainDef, q35: boolean, grow: boolean, devices?: Slotted[]): PciSet {
  const set = new PciSet(q35, grow);
  set.addBus(q35 ? "pcie-root" : "pci-root");
  const pciCtrls = def.devices.controllers
    .filter((c) => c.type === "pci" && c.index > 0)
    .sort((a, b) => a.index - b.index);
  for (const c of pciCtrls) {
    while (set.buses.length < c.index) set.addBus(q35 ? "pcie-root-port" : "pci-bridge");
    if (set.buses.length === c.index) set.addBus(c.model ?? (q35 ? "pcie-root-port" : "pci-bridge"));
  }
  set.added = [];
  const all = devices ?? pciDevices(def, q35, false);
  const explicit = (x: Slotted) => {
    const a = x.get();
    if (a?.type !== "pci") return;
    set.reserve(num(a, "bus"), num(a, "slot"), num(a, "function"));
    // further root ports may take the other functions of a slot that already holds root ports
    if (x.need === "port") set.aggregate.add(`${num(a, "bus")}:${num(a, "slot")}`);
  };
  for (const x of all) explicit(x);
  machineSlots(def, set, q35);
  // what the machine's fixed slots did not take (the primary video included) goes in list order
  for (const x of all) {
    if (x.get() !== undefined) continue;
    if (x.ctrl && usbGroup(def, set, x.ctrl)) continue;
    const a = set.next(x.need);
    if (a) x.set(a);
  }
  return set;
}

/** Clears what a dry run wrote, so the real pass starts from the XML's own addresses. */
function snapshotAddresses(def: DomainDef): () => void {
  const d = def.devices;
  const infos: { x: { address?: DeviceAddress }; a?: DeviceAddress }[] = [];
  for (const x of [...d.controllers, ...d.interfaces, ...d.disks, ...d.videos, ...d.inputs, ...d.serials])
    infos.push({ x, a: x.address });
  if (d.memballoon) infos.push({ x: d.memballoon, a: d.memballoon.address });
  const others = d.other.map((o) => ({ o, kids: [...o.xml.children] }));
  return () => {
    for (const { x, a } of infos) {
      if (a === undefined) delete x.address;
      else x.address = a;
    }
    for (const { o, kids } of others) o.xml.children = kids;
  };
}

function nextIndex(def: DomainDef): number {
  let n = 0;
  for (const c of def.devices.controllers) if (c.type === "pci" && c.index >= n) n = c.index + 1;
  return n;
}

/** The QEMU device behind each PCI controller model (`<model name>`). */
const PCI_CTRL_MODEL_NAME: Record<string, string> = {
  "pcie-root-port": "pcie-root-port",
  "pcie-to-pci-bridge": "pcie-pci-bridge",
  "pci-bridge": "pci-bridge",
  "dmi-to-pci-bridge": "i82801b11-bridge",
};

function fillPciControllerChildren(def: DomainDef): void {
  for (const c of def.devices.controllers) {
    if (c.type !== "pci" || c.index === 0) continue;
    const name = PCI_CTRL_MODEL_NAME[c.model ?? ""];
    if (!name) continue;
    if (!c.children.some((k) => k.name === "model")) c.children.unshift(el("model", { name }));
    if (c.model === "pci-bridge") {
      // a pci-bridge's chassisNr is its index (qemuDomainPCIControllerSetDefaults)
      let t = c.children.find((k) => k.name === "target");
      if (!t) {
        t = el("target");
        c.children.splice(c.children.findIndex((k) => k.name === "model") + 1, 0, t);
      }
      if (attr(t, "chassisNr") === undefined) t.attrs.unshift(["chassisNr", String(c.index)]);
    }
    if (c.model !== "pcie-root-port") continue;
    const a = c.address;
    const port = a && a.type === "pci" ? (num(a, "slot") << 3) | num(a, "function") : undefined;
    let t = c.children.find((k) => k.name === "target");
    if (!t) {
      t = el("target");
      const at = c.children.findIndex((k) => k.name === "model") + 1;
      c.children.splice(at, 0, t);
    }
    if (attr(t, "chassis") === undefined) t.attrs.unshift(["chassis", String(c.index)]);
    if (attr(t, "port") === undefined && port !== undefined) {
      const at = t.attrs.findIndex(([k]) => k === "chassis") + 1;
      t.attrs.splice(at, 0, ["port", `0x${port.toString(16)}`]);
    }
  }
}

/** Root ports auto-placed on one slot: function 0 says multifunction='on' when it has company. */
function markMultifunction(def: DomainDef, before: Set<ControllerDef>): void {
  const bySlot = new Map<string, ControllerDef[]>();
  for (const c of def.devices.controllers) {
    if (c.type !== "pci" || c.model !== "pcie-root-port" || before.has(c) || c.address?.type !== "pci")
      continue;
    if (num(c.address, "bus") !== 0) continue;
    const k = String(num(c.address, "slot"));
    bySlot.set(k, [...(bySlot.get(k) ?? []), c]);
  }
  for (const list of bySlot.values()) {
    if (list.length < 2) continue;
    const f0 = list.find((c) => num(c.address!, "function") === 0);
    if (f0 && !f0.address!.attrs.some(([k]) => k === "multifunction"))
      f0.address!.attrs.push(["multifunction", "on"]);
  }
}

function assignPci(def: DomainDef, q35: boolean): void {
  // a saved definition (daemon restart, hotplug parse) has every address already: nothing to place
  const buses = new Set(def.devices.controllers.filter((c) => c.type === "pci").map((c) => c.index));
  const placed = (a: DeviceAddress | undefined) =>
    a !== undefined && (a.type !== "pci" || buses.has(num(a, "bus")));
  const devices = pciDevices(def, q35, false);
  if (devices.every((x) => placed(x.get()))) {
    fillPciControllerChildren(def);
    return;
  }
  const restore = snapshotAddresses(def);
  const addressed = new Set(def.devices.controllers.filter((c) => c.address !== undefined));
  const userPci = def.devices.controllers.some((c) => c.type === "pci" && c.index > 0);
  // (the same device list: nothing was added or removed since it was made)
  const dry = runPass(def, q35, true, devices);
  // A dry run that added no bus went exactly as the real pass would (growing only ever adds
  // buses): its addresses stand (an i440fx domain that fits on its buses, a q35 one whose
  // root ports are all in its XML).
  if (dry.added.length > 0) {
    // a q35 domain whose XML names no PCI controllers gets one free root port for hotplug
    if (q35 && !userPci) dry.next("pcie");
    restore();
    let idx = nextIndex(def);
    for (const model of dry.added) {
      const c: ControllerDef = { type: "pci", index: idx++, model, attrs: [], children: [] };
      insertCtrl(def.devices.controllers, c);
    }
    runPass(def, q35, false);
  }
  markMultifunction(def, addressed);
  fillPciControllerChildren(def);
  // a PCI controller sits on a bus of a lower index (a pci-bridge that had to go behind the buses
  // added for it cannot)
  for (const c of def.devices.controllers) {
    if (c.type !== "pci" || c.address?.type !== "pci") continue;
    const bus = num(c.address, "bus");
    if (bus >= c.index) {
      const h = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;
      throw unsupported(
        `PCI controller at index ${c.index} (${h(c.index)}) has bus='${h(bus)}', but index must be larger than bus`,
      );
    }
  }
}

const USB_PORTS: Record<string, number> = {
  "qemu-xhci": 4,
  "nec-xhci": 4,
  "piix3-uhci": 2,
  "piix4-uhci": 2,
  "ich9-ehci1": 6,
  ehci: 6,
};

/** Ports of a USB hub (QEMU's usb-hub). */
const HUB_PORTS = 8;

/**
 * USB ports (virDomainUSBAddressAssign): hubs first, then the other USB devices, each on the first
 * free port of the root hub, else of a hub ("1.1").
 */
function assignUsb(def: DomainDef): void {
  const d = def.devices;
  const hc = d.controllers.find((c) => c.type === "usb" && c.index === 0);
  if (!hc || hc.model === "none") return;
  const portsAttr = hc.attrs.find(([k]) => k === "ports")?.[1];
  const max = portsAttr !== undefined ? Number(portsAttr) : (USB_PORTS[hc.model ?? ""] ?? 2);
  const hubs: Slotted[] = [];
  const devs: Slotted[] = [];
  // libvirt's order: hubs, disks, CCID controllers, inputs, USB serials, sound, hostdevs, redirdevs
  // (the generic kinds sorted out in one pass over the list)
  const sounds: Slotted[] = [];
  const hostdevs: Slotted[] = [];
  const redirdevs: Slotted[] = [];
  for (const o of d.other) {
    if (o.kind === "hub") {
      if (attr(o.xml, "type") === "usb") hubs.push(genericSlot(o, "pci"));
    } else if (o.kind === "sound") {
      if (attr(o.xml, "model") === "usb") sounds.push(genericSlot(o, "pci"));
    } else if (o.kind === "hostdev") {
      if (attr(o.xml, "type") === "usb") hostdevs.push(genericSlot(o, "pci"));
    } else if (o.kind === "redirdev") {
      if (attr(o.xml, "bus") === "usb") redirdevs.push(genericSlot(o, "pci"));
    }
  }
  for (const k of d.disks) if (k.target.bus === "usb") devs.push(infoSlot(k, "pci"));
  for (const c of d.controllers) if (c.type === "ccid") devs.push(infoSlot(c, "pci"));
  for (const i of d.inputs) if (i.bus === "usb") devs.push(infoSlot(i, "pci"));
  for (const c of d.serials) {
    if (c.target?.attrs.some(([k, v]) => k === "type" && v === "usb-serial")) devs.push(infoSlot(c, "pci"));
  }
  devs.push(...sounds, ...hostdevs, ...redirdevs);
  if (hubs.length === 0 && devs.length === 0) return; // nothing to place (most domains)
  const used = new Set<string>();
  const portOf = (x: Slotted) => {
    const a = x.get();
    return a?.type === "usb" ? a.attrs.find(([k]) => k === "port")?.[1] : undefined;
  };
  for (const x of [...hubs, ...devs]) {
    const p = portOf(x);
    if (p !== undefined) used.add(p);
  }
  const hubPorts: string[] = [];
  const place = (x: Slotted, candidates: string[]): string | undefined => {
    const port = candidates.find((p) => !used.has(p));
    if (port === undefined) return undefined;
    used.add(port);
    x.set({
      type: "usb",
      attrs: [
        ["bus", "0"],
        ["port", port],
      ],
    });
    return port;
  };
  const root = Array.from({ length: max }, (_, i) => String(i + 1));
  for (const h of hubs) {
    const p = portOf(h) ?? place(h, root);
    if (p !== undefined) for (let i = 1; i <= HUB_PORTS; i++) hubPorts.push(`${p}.${i}`);
  }
  for (const x of devs) if (!x.get()) place(x, [...root, ...hubPorts]);
}

function assignVirtioSerial(def: DomainDef): void {
  const used = new Set<number>();
  const chans = def.devices.channels.filter(
    (c) => c.target?.attrs.some(([k, v]) => k === "type" && v === "virtio") ?? false,
  );
  for (const c of chans) if (c.address?.type === "virtio-serial") used.add(num(c.address, "port"));
  let port = 1;
  for (const c of chans) {
    if (c.address) continue;
    while (used.has(port)) port++;
    used.add(port);
    c.address = {
      type: "virtio-serial",
      attrs: [
        ["controller", "0"],
        ["bus", "0"],
        ["port", String(port)],
      ],
    };
  }
}

export function assignQemuAddresses(def: DomainDef, q35: boolean): void {
  assignVirtioSerial(def);
  assignPci(def, q35);
  assignUsb(def);
}
