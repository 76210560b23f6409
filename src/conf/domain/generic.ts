// Canonical form for elements kept verbatim: whitespace-only text dropped and attributes put
// in libvirt's output order where we know it, so held elements format back as libvirt would.

import type { XmlElement } from "../../xml/index.js";
import { cloneElement, orderAttrs } from "./xml-util.js";

/** Attribute order per element name (libvirt's formatters), applied recursively. */
const ATTR_ORDER: Record<string, string[]> = {
  hostdev: ["mode", "type", "managed", "model", "display", "ramfb"],
  timer: ["name", "present", "tickpolicy", "track", "frequency", "mode"],
  rng: ["model"],
  backend: ["model", "type", "version"],
  rate: ["period", "bytes"],
  watchdog: ["model", "action"],
  sound: ["model"],
  tpm: ["model"],
  panic: ["model"],
  shmem: ["name", "role"],
  filesystem: ["type", "accessmode", "model", "multidevs", "fmode", "dmode"],
  redirdev: ["bus", "type"],
  smartcard: ["mode", "type"],
  topology: ["sockets", "dies", "clusters", "cores", "threads"],
  feature: ["policy", "name"],
  cell: ["id", "cpus", "memory", "unit", "discard", "memAccess"],
  model: ["type", "fallback", "vendor_id"],
  vcpupin: ["vcpu", "cpuset"],
  emulatorpin: ["cpuset"],
  memnode: ["cellid", "mode", "nodeset"],
  hugepages: [],
  page: ["size", "unit", "nodeset"],
  source: ["mode", "type", "file", "dev", "dir", "name", "path", "host", "service", "usage"],
};

export function canonGeneric(e: XmlElement): XmlElement {
  const c = cloneElement(e);
  canonInPlace(c);
  return c;
}

function canonInPlace(e: XmlElement): void {
  const order = ATTR_ORDER[e.name];
  if (order) e.attrs = orderAttrs(e.attrs, order);
  for (const k of e.children) if (k.kind === "element") canonInPlace(k);
}

/** Defaults libvirt fills in kinds held verbatim (hostdev managed, watchdog action, PCI addresses). */
export function fillGenericDefaults(e: XmlElement): void {
  const has = (k: string) => e.attrs.some(([a]) => a === k);
  if (
    e.name === "hostdev" &&
    attrOf(e, "mode") !== "capabilities" &&
    ["pci", "usb", "scsi_host"].includes(attrOf(e, "type") ?? "")
  ) {
    if (!has("managed") && attrOf(e, "type") !== "scsi_host") e.attrs.push(["managed", "no"]);
    if (!has("mode")) e.attrs.unshift(["mode", "subsystem"]);
    e.attrs = orderAttrs(e.attrs, ATTR_ORDER.hostdev!);
  }
  if (e.name === "watchdog" && !has("action")) e.attrs.push(["action", "reset"]);
  canonAddresses(e);
}

function attrOf(e: XmlElement, k: string): string | undefined {
  return e.attrs.find(([a]) => a === k)?.[1];
}

/** Rewrites every `<address>` below `e` in libvirt's canonical numeric form. */
function canonAddresses(e: XmlElement): void {
  for (let i = 0; i < e.children.length; i++) {
    const k = e.children[i]!;
    if (k.kind !== "element") continue;
    if (k.name === "address") {
      const fixed = canonAddress(k, e.name === "source" ? (attrOf(k, "type") ?? "pci") : attrOf(k, "type"));
      if (fixed) e.children[i] = fixed;
    } else canonAddresses(k);
  }
}

const HEX = (w: number) => (n: number) => `0x${n.toString(16).padStart(w, "0")}`;
const PCI: [string, (n: number) => string][] = [
  ["domain", HEX(4)],
  ["bus", HEX(2)],
  ["slot", HEX(2)],
  ["function", HEX(0)],
];

function canonAddress(a: XmlElement, type: string | undefined): XmlElement | undefined {
  if (type !== "pci" || (attrOf(a, "type") === undefined && attrOf(a, "bus") === undefined)) return undefined;
  const out: [string, string][] = [];
  if (attrOf(a, "type") !== undefined) out.push(["type", "pci"]);
  for (const [k, f] of PCI) {
    const v = attrOf(a, k);
    if (v === undefined) continue;
    const n =
      v.startsWith("0x") || v.startsWith("0X") ? Number.parseInt(v.slice(2), 16) : Number.parseInt(v, 10);
    out.push([k, Number.isNaN(n) ? v : f(n)]);
  }
  for (const [k, v] of a.attrs) if (!["type", ...PCI.map((p) => p[0])].includes(k)) out.push([k, v]);
  return { ...a, attrs: out };
}
