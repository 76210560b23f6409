// Device aliases of a running domain (libvirt 9.0's qemuAssignDeviceAliases, qemu_alias.c): every
// device of the live definition gets the name QEMU knows it by, shown as `<alias name=…/>` in the
// live XML only. Assigned once at start; kept in the status file (the conf parser keeps only ua-*
// aliases, so `collectAliases`/`applyAliases` carry the others); hot-plugged devices get the next
// free one. User aliases (ua-*) are kept as they are. Pure.
import {
  type ControllerDef,
  type DiskDef,
  type DomainDef,
  diskNameToIndex,
  type GenericDevice,
} from "../../conf/domain/index.js";
import { attr, el, elements, type XmlElement } from "../../xml/index.js";

/** qemuDomainDeviceAliasIndex: the number after `prefix` in `alias`, or -1. */
export function aliasIndex(alias: string | undefined, prefix: string): number {
  if (alias === undefined || !alias.startsWith(prefix)) return -1;
  const rest = alias.slice(prefix.length);
  // virStrToLong_i without an end pointer: the whole rest must be a number.
  return /^-?[0-9]+$/.test(rest) ? Number(rest) : -1;
}

/** One past the highest `prefix<N>` alias among `aliases` (0 when none). */
export function nextAliasIndex(aliases: (string | undefined)[], prefix: string): number {
  let next = 0;
  for (const a of aliases) {
    const i = aliasIndex(a, prefix);
    if (i >= next) next = i + 1;
  }
  return next;
}

function addrNum(d: DiskDef, k: string): number {
  return Number(d.address?.attrs.find(([n]) => n === k)?.[1] ?? 0);
}

/** Buses whose disks sit on a drive address (libvirt gives them one in post-parse). */
const DRIVE_BUSES = new Set(["ide", "sata", "scsi", "fdc"]);

/** qemuAssignDeviceDiskAlias: `<bus><ctrl>-<bus>-<unit>` (4 numbers on non-lsilogic SCSI), else `<bus>-disk<N>`. */
export function diskAlias(def: DomainDef, d: DiskDef): string {
  const bus = d.target.bus;
  if (DRIVE_BUSES.has(bus) && (d.address === undefined || d.address.type === "drive")) {
    const ctrl = addrNum(d, "controller");
    if (bus === "scsi") {
      const c = def.devices.controllers.find((x) => x.type === "scsi" && x.index === ctrl);
      if (c?.model !== "lsilogic") {
        return `${bus}${ctrl}-${addrNum(d, "bus")}-${addrNum(d, "target")}-${addrNum(d, "unit")}`;
      }
    }
    return `${bus}${ctrl}-${addrNum(d, "bus")}-${addrNum(d, "unit")}`;
  }
  return `${bus}-disk${diskNameToIndex(d.target.dev)}`;
}

function isQ35(def: DomainDef): boolean {
  const m = def.os.machine ?? "";
  return m === "q35" || m.startsWith("pc-q35");
}

/** qemuAssignDeviceControllerAlias for an x86 pc / q35 machine (both have multiple PCI buses). */
export function controllerAlias(def: DomainDef, c: ControllerDef): string {
  const q35 = isQ35(def);
  if (c.type === "pci") return c.model === "pcie-root" ? `pcie.${c.index}` : `pci.${c.index}`;
  if (c.index === 0) {
    if (c.type === "ide" && !q35) return "ide"; // PIIX3's built-in IDE
    if (c.type === "sata" && q35) return "ide"; // ICH9's built-in AHCI
    if (c.type === "usb") return "usb";
    if (c.type === "scsi" && c.model === "ncr53c90") return "scsi";
  }
  return `${c.type}${c.index}`;
}

/** Generic device kinds with a fixed or positional alias, as qemuAssignDeviceAliases names them. */
const GENERIC_POSITIONAL: Record<string, string> = {
  sound: "sound",
  redirdev: "redir",
  hub: "hub",
  smartcard: "smartcard",
  tpm: "tpm",
};
/** Kinds named one past the highest existing alias of their prefix. */
const GENERIC_NEXT_FREE: Record<string, string> = {
  hostdev: "hostdev",
  filesystem: "fs",
  rng: "rng",
  shmem: "shmem",
};
const GENERIC_SINGLE: Record<string, string> = { watchdog: "watchdog0", vsock: "vsock0", iommu: "iommu0" };

/** Where `<alias>` goes among a device's children: before master, rom, acpi and address. */
const AFTER_ALIAS = new Set(["master", "rom", "acpi", "address"]);

export function genericAlias(g: GenericDevice): string | undefined {
  const a = elements(g.xml).find((c) => c.name === "alias");
  return a ? attr(a, "name") : undefined;
}

/** Sets (replaces) the `<alias>` child of a device kept as verbatim XML. */
export function setGenericAlias(g: GenericDevice, name: string): void {
  const kids = g.xml.children.filter((c) => !(c.kind === "element" && c.name === "alias"));
  const at = kids.findIndex((c) => c.kind === "element" && AFTER_ALIAS.has(c.name));
  const alias: XmlElement = el("alias", { name });
  if (at < 0) kids.push(alias);
  else kids.splice(at, 0, alias);
  g.xml.children = kids;
}

function genericsOf(def: DomainDef, kind: string): GenericDevice[] {
  return def.devices.other.filter((o) => o.kind === kind);
}

/** The alias a hot-plugged interface gets: one past the highest netN of the live definition. */
export function nextNetAlias(def: DomainDef): string {
  return `net${nextAliasIndex(
    def.devices.interfaces.map((n) => n.alias),
    "net",
  )}`;
}

/**
 * qemuAssignDeviceAliases: gives every device of `def` that has none its libvirt alias, in
 * libvirt's order (disks, nets, filesystems, sounds, hostdevs, redirdevs, videos, controllers,
 * inputs, parallels, serials, channels, consoles, hubs, shmems, smartcards, watchdog, balloon,
 * rngs, tpms, vsock, iommu). Aliases already present (ua-*, or from a previous assignment) stay.
 */
export function assignDeviceAliases(def: DomainDef): void {
  const dev = def.devices;
  for (const d of dev.disks) d.alias ??= diskAlias(def, d);
  for (const n of dev.interfaces) {
    // type='hostdev' NICs would be hostdevN; the QEMU driver does not start those.
    n.alias ??= nextNetAlias(def);
  }
  const positional = (kind: string) => {
    genericsOf(def, kind).forEach((g, i) => {
      if (genericAlias(g) === undefined) setGenericAlias(g, `${GENERIC_POSITIONAL[kind]}${i}`);
    });
  };
  const nextFree = (kind: string) => {
    const prefix = GENERIC_NEXT_FREE[kind]!;
    for (const g of genericsOf(def, kind)) {
      if (genericAlias(g) !== undefined) continue;
      const all = genericsOf(def, kind).map(genericAlias);
      // Interfaces of type hostdev share the hostdevN names.
      if (kind === "hostdev") all.push(...dev.interfaces.map((n) => n.alias));
      setGenericAlias(g, `${prefix}${nextAliasIndex(all, prefix)}`);
    }
  };
  nextFree("filesystem");
  positional("sound");
  nextFree("hostdev");
  positional("redirdev");
  dev.videos.forEach((v, i) => {
    v.alias ??= `video${i}`;
  });
  for (const c of dev.controllers) c.alias ??= controllerAlias(def, c);
  dev.inputs.forEach((x, i) => {
    x.alias ??= `input${i}`;
  });
  dev.parallels.forEach((x, i) => {
    x.alias ??= `parallel${i}`;
  });
  dev.serials.forEach((x, i) => {
    x.alias ??= `serial${i}`;
  });
  dev.channels.forEach((x, i) => {
    x.alias ??= `channel${i}`;
  });
  dev.consoles.forEach((x, i) => {
    x.alias ??= `console${i}`;
  });
  // A serial-type first console is serial 0 itself: libvirt shows the serial's alias on it.
  const first = dev.consoles[0];
  const firstType = first?.target?.attrs.find(([k]) => k === "type")?.[1] ?? "serial";
  if (first && firstType === "serial" && dev.serials[0]?.alias !== undefined) {
    first.alias = dev.serials[0].alias;
  }
  positional("hub");
  nextFree("shmem");
  positional("smartcard");
  for (const kind of ["watchdog", "vsock", "iommu"]) {
    for (const g of genericsOf(def, kind)) {
      if (genericAlias(g) === undefined) setGenericAlias(g, GENERIC_SINGLE[kind]!);
    }
  }
  if (dev.memballoon && dev.memballoon.model !== "none") dev.memballoon.alias ??= "balloon0";
  nextFree("rng");
  positional("tpm");
}

/** Every device alias of `def`, keyed so `applyAliases` finds the device again after a re-parse. */
export function collectAliases(def: DomainDef): [string, string][] {
  const out: [string, string][] = [];
  const dev = def.devices;
  const put = (key: string, alias: string | undefined) => {
    if (alias !== undefined) out.push([key, alias]);
  };
  for (const d of dev.disks) put(`disk:${d.target.dev}`, d.alias);
  for (const n of dev.interfaces) put(`net:${n.mac}`, n.alias);
  for (const c of dev.controllers) put(`controller:${c.type}:${c.index}`, c.alias);
  const lists = {
    video: dev.videos,
    input: dev.inputs,
    parallel: dev.parallels,
    serial: dev.serials,
    channel: dev.channels,
    console: dev.consoles,
  };
  for (const [k, list] of Object.entries(lists)) {
    for (const [i, x] of list.entries()) put(`${k}:${i}`, x.alias);
  }
  put("memballoon", dev.memballoon?.alias);
  const seen = new Map<string, number>();
  for (const g of dev.other) {
    const i = seen.get(g.kind) ?? 0;
    seen.set(g.kind, i + 1);
    put(`other:${g.kind}:${i}`, genericAlias(g));
  }
  return out;
}

/** Puts aliases from `collectAliases` back on a re-parsed definition (unknown keys are ignored). */
export function applyAliases(def: DomainDef, aliases: [string, string][]): void {
  const m = new Map(aliases);
  const dev = def.devices;
  const get = (key: string, cur: string | undefined) => m.get(key) ?? cur;
  for (const d of dev.disks) d.alias = get(`disk:${d.target.dev}`, d.alias);
  for (const n of dev.interfaces) n.alias = get(`net:${n.mac}`, n.alias);
  for (const c of dev.controllers) c.alias = get(`controller:${c.type}:${c.index}`, c.alias);
  const lists = {
    video: dev.videos,
    input: dev.inputs,
    parallel: dev.parallels,
    serial: dev.serials,
    channel: dev.channels,
    console: dev.consoles,
  };
  for (const [k, list] of Object.entries(lists)) {
    list.forEach((x, i) => {
      x.alias = get(`${k}:${i}`, x.alias);
    });
  }
  if (dev.memballoon) dev.memballoon.alias = get("memballoon", dev.memballoon.alias);
  const seen = new Map<string, number>();
  for (const g of dev.other) {
    const i = seen.get(g.kind) ?? 0;
    seen.set(g.kind, i + 1);
    const a = m.get(`other:${g.kind}:${i}`);
    if (a !== undefined) setGenericAlias(g, a);
  }
}
