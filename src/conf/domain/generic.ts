// Canonical form for elements kept verbatim: whitespace-only text dropped and attributes put
// in libvirt's output order where we know it, so held elements format back as libvirt would.

import type { XmlElement } from "../../xml/index.js";
import { elementRules } from "./attr-rules.js";
import { ATTR_ORDER_BY_PATH } from "./attr-order.js";
import { CHILD_ORDER_BY_PATH } from "./child-order.js";
import { formatAddress, parseAddress, parseIntBase0 } from "./device-info.js";
import { scaledToKiB, sortChildren } from "./normalize.js";

/** Orders `<vcpu id=N>` children by id, as libvirt lists every vCPU in id order. */
function sortById(e: XmlElement): void {
  const id = (n: XmlElement["children"][number]) => (n.kind === "element" ? Number(attrOf(n, "id") ?? 0) : 0);
  e.children = [...e.children].sort((a, b) => id(a) - id(b));
}
import { cloneElement, orderAttrs } from "./xml-util.js";

/** Attribute order per element name (libvirt's formatters), applied recursively. */
const ATTR_ORDER: Record<string, string[]> = {
  hostdev: ["mode", "type", "managed", "model", "display", "ramfb"],
  timer: ["name", "present", "tickpolicy", "track", "frequency", "mode"],
  bootmenu: ["enable", "timeout"],
  bios: ["useserial", "rebootTimeout"],
  ip: ["address", "family", "prefix", "peer"],
  rng: ["model"],
  backend: ["model", "type", "version"],
  rate: ["bytes", "period"],
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

export function canonGeneric(e: XmlElement, parent = "devices"): XmlElement {
  const c = cloneElement(e);
  // Runtime aliases (not ua-*) are dropped from persistent definitions, as libvirt does.
  if (c.children.length > 0)
    c.children = c.children.filter(
      (k) => !(k.kind === "element" && k.name === "alias" && !(attrOf(k, "name") ?? "").startsWith("ua-")),
    );
  // a static label is not relabelled unless asked (virSecurityLabelDefParseXML)
  if (c.name === "seclabel" && parent === "domain" && attrOf(c, "type") === "static") {
    if (attrOf(c, "relabel") === undefined) c.attrs.push(["relabel", "no"]);
  }
  if (c.name === "seclabel" && attrOf(c, "type") === "dynamic") {
    // A dynamic label is generated at start-up; only the configuration is kept.
    c.children = c.children.filter(
      (k) => !(k.kind === "element" && (k.name === "label" || k.name === "imagelabel")),
    );
    // relabelling is the default (and the only choice) for a dynamic label
    if (attrOf(c, "relabel") === undefined) c.attrs.push(["relabel", "yes"]);
  }
  if (c.name === "memory" && parent === "devices") {
    // memory device sizes are kept in KiB (virDomainMemoryDefParseXML)
    for (const k of c.children) {
      if (k.kind !== "element" || (k.name !== "target" && k.name !== "source")) continue;
      for (const s of k.children) {
        if (s.kind !== "element") continue;
        if (["size", "requested", "current", "block", "pagesize", "alignsize"].includes(s.name))
          scaledToKiB(s, "unit");
      }
    }
  }
  if (c.name === "filesystem") {
    // only a virtiofs driver keeps a queue size (the handle, loop and nbd drivers drop it)
    for (const k of c.children) {
      if (k.kind !== "element" || k.name !== "driver") continue;
      if (["handle", "loop", "nbd", "ploop"].includes(attrOf(k, "type") ?? "")) {
        k.attrs = k.attrs.filter(([n]) => n !== "queue");
      }
    }
  }
  canonInPlace(c, parent);
  dropEmptyContainers(c);
  return c;
}

/** "0", or digits without a leading zero: a number canonNumbers leaves as it is. */
function isPlainDecimal(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  const c0 = v.charCodeAt(0);
  if (c0 === 0x30) return n === 1;
  if (c0 < 0x31 || c0 > 0x39) return false;
  for (let i = 1; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Integers libvirt parses are printed back in plain decimal ("007" → "7", " 5" → "5"). */
function canonNumbers(e: XmlElement, parent: string): void {
  const rules = elementRules(parent, e.name);
  if (!rules) return;
  let out: XmlElement["attrs"] | undefined;
  for (let i = 0; i < e.attrs.length; i++) {
    const [k, v] = e.attrs[i]!;
    const c = rules.attrs.get(k)?.check;
    if (!c || (c.kind !== "uint" && c.kind !== "int")) continue;
    if (isPlainDecimal(v)) continue; // already canonical (the usual case)
    // Hex stays as written: some of these (a root port's target port) are printed in hex.
    const m = /^([-+]?)([0-9]+)$/.exec(v.trim());
    if (!m) continue;
    const n = BigInt(m[2]!);
    const canon = (m[1] === "-" && n !== 0n ? "-" : "") + n.toString();
    if (canon === v) continue;
    // Copied on first change: the tuples may be shared with the tree the caller parsed.
    out ??= e.attrs.slice();
    out[i] = [k, canon];
  }
  if (out) e.attrs = out;
}

/** Containers libvirt does not print when nothing is left inside them. */
const DROP_WHEN_EMPTY = new Set([
  "bios",
  "system",
  "baseBoard",
  "chassis",
  "processor",
  "oemStrings",
  "coalesce",
  "rx",
  "tx",
]);

/** Removes empty containers below `e` (post-order, so a container of empties goes too). */
export function dropEmptyContainers(e: XmlElement): void {
  if (e.children.length === 0) return; // (most kept elements: nothing to walk or drop)
  for (const k of e.children) if (k.kind === "element") dropEmptyContainers(k);
  e.children = e.children.filter(
    (k) =>
      !(
        k.kind === "element" &&
        DROP_WHEN_EMPTY.has(k.name) &&
        k.attrs.length === 0 &&
        k.children.length === 0
      ),
  );
}

// The "parent/element" order tables as parent → element → orders, built once: canonicalising
// then costs two Map lookups per element instead of a key string and two dictionary lookups.
const CANON_BY_PATH = new Map<
  string,
  Map<string, { attrs?: readonly string[]; children?: readonly string[] }>
>();
function canonEntry(key: string): { attrs?: readonly string[]; children?: readonly string[] } {
  const slash = key.indexOf("/");
  const parent = key.slice(0, slash);
  const name = key.slice(slash + 1);
  let m = CANON_BY_PATH.get(parent);
  if (!m) CANON_BY_PATH.set(parent, (m = new Map()));
  let r = m.get(name);
  if (!r) m.set(name, (r = {}));
  return r;
}
for (const [k, v] of Object.entries(ATTR_ORDER_BY_PATH)) canonEntry(k).attrs = v;
for (const [k, v] of Object.entries(CHILD_ORDER_BY_PATH)) canonEntry(k).children = v;
const ATTR_ORDER_MAP = new Map(Object.entries(ATTR_ORDER));

/** Reorders attributes below `e` (whose parent is named `parent`) into libvirt's order. */
export function canonInPlace(e: XmlElement, parent = "devices"): void {
  if (e.name !== "address") canonNumbers(e, parent);
  const byPath = CANON_BY_PATH.get(parent)?.get(e.name);
  const order = byPath?.attrs ?? ATTR_ORDER_MAP.get(e.name);
  if (order) e.attrs = orderAttrs(e.attrs, order);
  const kids = byPath?.children;
  if (kids && !e.children.some((c) => c.kind === "text")) sortChildren(e, kids);
  if (parent === "domain" && e.name === "vcpus") sortById(e);
  for (const k of e.children) if (k.kind === "element") canonInPlace(k, e.name);
}

/** Defaults libvirt fills in kinds held verbatim (hostdev managed, watchdog action, PCI addresses). */
export function fillGenericDefaults(e: XmlElement): void {
  const has = (k: string) => e.attrs.some(([a]) => a === k);
  if (
    e.name === "hostdev" &&
    attrOf(e, "mode") !== "capabilities" &&
    ["pci", "usb", "scsi", "mdev"].includes(attrOf(e, "type") ?? "")
  ) {
    if (!has("managed")) e.attrs.push(["managed", "no"]);
    if (!has("mode")) e.attrs.unshift(["mode", "subsystem"]);
    e.attrs = orderAttrs(e.attrs, ATTR_ORDER.hostdev!);
  }
  if (e.name === "watchdog" && !has("action")) e.attrs.push(["action", "reset"]);
  if (e.name === "sound" && !["ich6", "ich7", "ich9"].includes(attrOf(e, "model") ?? "")) {
    e.children = e.children.filter((c) => !(c.kind === "element" && c.name === "codec"));
  }
  if (e.name === "rng") {
    for (const b of e.children) {
      if (b.kind === "element" && b.name === "backend" && attrOf(b, "model") === "builtin") b.children = [];
    }
  }
  if (e.name === "tpm") {
    for (const b of e.children) {
      if (b.kind === "element" && b.name === "backend" && attrOf(b, "type") !== "passthrough") {
        b.children = b.children.filter((c) => !(c.kind === "element" && c.name === "device"));
      }
    }
  }
  for (const b of e.children) if (b.kind === "element" && b.name === "backend") fillGenericDefaults(b);
  if (e.name === "filesystem") {
    if (
      !has("accessmode") &&
      ["mount", "ram", "bind", "file", "block"].includes(attrOf(e, "type") ?? "mount")
    ) {
      e.attrs.push(["accessmode", "passthrough"]);
      e.attrs = orderAttrs(e.attrs, ATTR_ORDER.filesystem!);
    }
    if (attrOf(e, "type") === "ram") {
      for (const s of e.children)
        if (s.kind === "element" && s.name === "source") scaledToKiB(s, "units", "usage");
    }
  }
  if (e.name === "hostdev" && attrOf(e, "type") === "usb") {
    for (const s of e.children) {
      if (s.kind !== "element" || s.name !== "source") continue;
      for (const v of s.children) {
        if (v.kind !== "element" || (v.name !== "vendor" && v.name !== "product")) continue;
        v.attrs = v.attrs.map(([k, x]) => {
          const n = k === "id" ? parseIntBase0(x) : undefined;
          return n === undefined ? [k, x] : [k, `0x${n.toString(16).padStart(4, "0")}`];
        });
      }
    }
  }
  if (e.name === "backend" && attrOf(e, "type") === "udp") {
    // A UDP backend's bind source is printed before its connect source.
    const isBind = (c: XmlElement["children"][number]) =>
      c.kind === "element" && c.name === "source" && attrOf(c, "mode") === "bind" ? 0 : 1;
    e.children.sort((a, b) => isBind(a) - isBind(b));
    // only the first source of each mode counts (virDomainChrSourceDefParseUDP; no mode is connect)
    const seen = new Set<string>();
    e.children = e.children.filter((c) => {
      if (c.kind !== "element" || c.name !== "source") return true;
      const mode = attrOf(c, "mode") ?? "connect";
      if (seen.has(mode)) return false;
      seen.add(mode);
      return true;
    });
  }
  if (e.name === "redirdev" && attrOf(e, "type") === "dbus") {
    // a D-Bus redirection without a channel uses QEMU's usbredir one
    if (!e.children.some((c) => c.kind === "element" && c.name === "source")) {
      e.children.unshift({
        kind: "element",
        name: "source",
        attrs: [["channel", "org.qemu.usbredir"]],
        children: [],
        line: 0,
      });
    }
  }
  if (["redirdev", "smartcard", "backend"].includes(e.name) && attrOf(e, "type") === "tcp") {
    const kids = e.children.filter((c) => c.kind === "element");
    if (!kids.some((c) => c.name === "protocol")) {
      const at = e.children.findIndex((c) => c.kind === "element" && c.name === "source");
      e.children.splice(at + 1, 0, {
        kind: "element",
        name: "protocol",
        attrs: [["type", "raw"]],
        children: [],
        line: 0,
      });
    }
  }
  if (e.name === "redirfilter") {
    for (const u of e.children) {
      if (u.kind !== "element" || u.name !== "usbdev") continue;
      u.attrs = u.attrs.map(([k, v]) => {
        const n = parseIntBase0(v);
        if (n === undefined || !["class", "vendor", "product"].includes(k)) return [k, v];
        return [
          k,
          `0x${n
            .toString(16)
            .toUpperCase()
            .padStart(k === "class" ? 2 : 4, "0")}`,
        ];
      });
    }
  }
  const pciHost =
    (e.name === "hostdev" && attrOf(e, "type") === "pci") ||
    (e.name === "interface" && attrOf(e, "type") === "hostdev");
  canonAddresses(e, pciHost);
}

function attrOf(e: XmlElement, k: string): string | undefined {
  return e.attrs.find(([a]) => a === k)?.[1];
}

/** Rewrites every `<address>` below `e` in libvirt's canonical form; `pciSource` marks a PCI hostdev. */
export function canonAddresses(e: XmlElement, pciSource = false): void {
  for (let i = 0; i < e.children.length; i++) {
    const k = e.children[i]!;
    if (k.kind !== "element") continue;
    if (k.name === "address") {
      if (attrOf(k, "type") !== undefined) {
        try {
          e.children[i] = formatAddress(parseAddress(k));
        } catch {
          // Leave an address we cannot read as written; validation reports it elsewhere.
        }
      } else if (pciSource && e.name === "source") e.children[i] = canonPciSource(k);
    } else canonAddresses(k, pciSource);
  }
}

const HEX = (w: number) => (n: number) => `0x${n.toString(16).padStart(w, "0")}`;
const PCI: [string, (n: number) => string][] = [
  ["domain", HEX(4)],
  ["bus", HEX(2)],
  ["slot", HEX(2)],
  ["function", HEX(0)],
];

/** A PCI host address inside `<source>` (no type attribute), in libvirt's hex form. */
function canonPciSource(a: XmlElement): XmlElement {
  const out: [string, string][] = [];
  for (const [k, f] of PCI) {
    const v = attrOf(a, k);
    if (v === undefined) continue;
    const n = parseIntBase0(v);
    out.push([k, n === undefined ? v : f(n)]);
  }
  for (const [k, v] of a.attrs) if (!PCI.some((p) => p[0] === k)) out.push([k, v]);
  return { ...a, attrs: out };
}
