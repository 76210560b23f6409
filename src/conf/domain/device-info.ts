// Per-device common info (virDomainDeviceInfo): `<boot>`, `<alias>`, `<acpi>` and `<address>`.
// Parse reads them from a device element; format emits them in libvirt's order.

import { attr, el, elements, type XmlElement } from "../../xml/index.js";
import { invalidAttr, unsupported, xmlErr, xmlPropErr } from "./errors.js";
import type { DeviceAddress, DeviceCommon } from "./types.js";
import { cloneElement } from "./xml-util.js";

const ADDRESS_TYPES = [
  "pci",
  "drive",
  "virtio-serial",
  "ccid",
  "usb",
  "spapr-vio",
  "virtio-s390",
  "ccw",
  "virtio-mmio",
  "isa",
  "dimm",
  "unassigned",
];

/** Attribute order and numeric rendering per address type (virDomainDeviceInfoFormat). */
const ADDRESS_FIELDS: Record<string, [string, ((n: number) => string) | null][]> = {
  pci: [
    ["domain", (n) => `0x${n.toString(16).padStart(4, "0")}`],
    ["bus", (n) => `0x${n.toString(16).padStart(2, "0")}`],
    ["slot", (n) => `0x${n.toString(16).padStart(2, "0")}`],
    ["function", (n) => `0x${n.toString(16)}`],
    ["multifunction", null],
  ],
  drive: [
    ["controller", String],
    ["bus", String],
    ["target", String],
    ["unit", String],
  ],
  "virtio-serial": [
    ["controller", String],
    ["bus", String],
    ["port", String],
  ],
  ccid: [
    ["controller", String],
    ["slot", String],
  ],
  usb: [
    ["bus", String],
    ["port", null],
  ],
  "spapr-vio": [["reg", (n) => `0x${n.toString(16).padStart(8, "0")}`]],
  ccw: [
    ["cssid", (n) => `0x${n.toString(16)}`],
    ["ssid", (n) => `0x${n.toString(16)}`],
    ["devno", (n) => `0x${n.toString(16).padStart(4, "0")}`],
  ],
  isa: [
    ["iobase", (n) => `0x${n.toString(16)}`],
    ["irq", (n) => `0x${n.toString(16)}`],
  ],
  dimm: [
    ["slot", String],
    ["base", (n) => `0x${n.toString(16)}`],
  ],
};

/** Parses an integer as strtol with base 0 would (0x.. hex, 0.. octal, decimal). */
export function parseIntBase0(s: string): number | undefined {
  const t = s.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return Number.parseInt(t.slice(2), 16);
  if (/^0[0-7]+$/.test(t)) return Number.parseInt(t.slice(1), 8);
  if (/^[0-9]+$/.test(t)) return Number.parseInt(t, 10);
  return undefined;
}

export function parseAddress(a: XmlElement): DeviceAddress {
  const type = attr(a, "type");
  if (type === undefined) throw xmlErr("No type specified for device address");
  if (!ADDRESS_TYPES.includes(type)) throw unknownAddress(type);
  const fields = ADDRESS_FIELDS[type];
  const out: [string, string][] = [];
  if (fields) {
    for (const [name, fmt] of fields) {
      // a CCID or CCW address is printed whole, its unset parts as 0
      const v = attr(a, name) ?? (type === "ccid" || type === "ccw" ? "0" : undefined);
      if (v === undefined) continue;
      if (fmt === null) {
        if (name === "multifunction" && v !== "on" && v !== "off") throw invalidAttr(name, "address", v);
        out.push([name, v]);
        continue;
      }
      const n = parseIntBase0(v);
      if (n === undefined) throw invalidAttr(name, "address", v);
      out.push([name, fmt(n)]);
    }
  } else {
    for (const [k, v] of a.attrs) if (k !== "type") out.push([k, v]);
  }
  if (type === "pci") {
    // no domain, bus or slot: an empty address (virPCIDeviceAddressIsEmpty), printed bare
    const z = (k: string) => (out.find(([n]) => n === k)?.[1] ?? "0x0").replace(/^0x0*$/, "") === "";
    if (z("domain") && z("bus") && z("slot")) {
      const keep = out.filter(([k]) => k === "multifunction");
      out.length = 0;
      out.push(...keep);
    } else if (out.length < 4 || out[3]![0] !== "function") {
      // a partial address is printed whole, what it leaves out as 0 (virPCIDeviceAddressFormat)
      const given = new Map(out);
      const whole: [string, string][] = [];
      for (const [name, fmt] of fields!) {
        const v = given.get(name);
        if (v !== undefined) whole.push([name, v]);
        else if (fmt !== null) whole.push([name, fmt(0)]);
      }
      out.length = 0;
      out.push(...whole);
    }
  }
  const kids = elements(a).map(cloneElement);
  return kids.length ? { type, attrs: out, children: kids } : { type, attrs: out };
}

function unknownAddress(type: string) {
  return unsupported(`unknown address type '${type}'`);
}

export function formatAddress(a: DeviceAddress): XmlElement {
  const attrs: [string, unknown][] = [["type", a.type]];
  for (let i = 0; i < a.attrs.length; i++) attrs.push(a.attrs[i]!);
  return el("address", attrs, a.children);
}

/** Reads boot/alias/acpi/address children of a device element into `info`. */
export function parseDeviceInfo(e: XmlElement, info: DeviceCommon, allowBoot = true): void {
  const kids = e.children;
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i]!;
    if (c.kind !== "element") continue;
    if (c.name === "alias") {
      // Only user aliases (ua-*) survive in a persistent definition; others are runtime state.
      const n = attr(c, "name");
      if (n?.startsWith("ua-")) info.alias = n;
    } else if (c.name === "boot" && allowBoot) {
      const o = attr(c, "order");
      if (o === undefined) throw xmlErr("missing boot order attribute");
      const n = /^[0-9]+$/.test(o.trim()) ? Number(o) : Number.NaN;
      if (n === 0)
        throw xmlPropErr("Invalid value for attribute 'order' in element 'boot': Zero is not permitted");
      if (!Number.isFinite(n)) {
        throw xmlPropErr(
          `Invalid value for attribute 'order' in element 'boot': '${o}'. Expected non-negative integer value`,
        );
      }
      info.boot = { order: n };
      const lp = attr(c, "loadparm");
      if (lp !== undefined) info.boot.loadparm = lp.toUpperCase();
    } else if (c.name === "address") {
      info.address = parseAddress(c);
    } else if (c.name === "acpi") {
      const i = attr(c, "index");
      if (i !== undefined) info.acpiIndex = Number(i);
    }
  }
}

/** Formats boot, alias, acpi, address in libvirt's order. */
export function formatDeviceInfo(info: DeviceCommon): XmlElement[] {
  const out: XmlElement[] = [];
  if (info.boot) out.push(el("boot", { order: info.boot.order, loadparm: info.boot.loadparm }));
  if (info.alias !== undefined) out.push(el("alias", { name: info.alias }));
  if (info.acpiIndex !== undefined) out.push(el("acpi", { index: info.acpiIndex }));
  if (info.address && info.address.type !== "none") out.push(formatAddress(info.address));
  return out;
}

export const DEVICE_INFO_CHILDREN = ["alias", "boot", "address", "acpi"];
