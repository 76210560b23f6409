// `<interface>`: parse, MAC generation hook and format (virDomainNetDef). Source and the rarer
// children are kept as elements and emitted in libvirt's order.

import { attr, child, el, elements, type XmlElement } from "../../../xml/index.js";
import { isMulticastMac, parseMac } from "../../common/index.js";
import { canonAddresses, canonGeneric } from "../generic.js";
import { DEVICE_INFO_CHILDREN, formatDeviceInfo, parseDeviceInfo } from "../device-info.js";
import { missingAttr, xmlErr } from "../errors.js";
import type { InterfaceDef } from "../types.js";
import { enumAttr, extrasOf, hasKeys, orderAttrs, pushExtra } from "../xml-util.js";

export const NET_TYPES = [
  "user",
  "ethernet",
  "vhostuser",
  "server",
  "client",
  "mcast",
  "network",
  "bridge",
  "internal",
  "direct",
  "hostdev",
  "udp",
  "vdpa",
  "null",
  "vds",
];
const BEFORE_TARGET = [
  "vlan",
  "virtualport",
  "bandwidth",
  "port",
  "ip",
  "route",
  "script",
  "downscript",
  "backenddomain",
];
const AFTER_TARGET = ["guest"];
const AFTER_MODEL = ["driver", "backend", "filterref", "tune", "teaming", "link", "mtu", "coalesce"];
const AFTER_INFO = ["rom"];
const SOURCE_ORDER = [
  "network",
  "portgroup",
  "portid",
  "bridge",
  "dev",
  "type",
  "path",
  "mode",
  "address",
  "port",
  "managed",
];

/** A host device name libvirt generates (vnetN, macvtapN, macvlanN): the parser drops these. */
const generatedIfname = (dev: string) =>
  dev.startsWith("vnet") || dev.startsWith("macvtap") || dev.startsWith("macvlan");

/**
 * A `<bandwidth>` as virNetDevBandwidthParse keeps it: only its inbound/outbound children count
 * (without either it is dropped: false); a direction with neither average nor floor non-zero is
 * not printed, nor are zero peak/floor/burst values. With no direction left it prints as an open
 * and a close tag (six spaces deep, an interface's child), as libvirt's formatter does.
 */
function canonBandwidth(x: XmlElement): boolean {
  const dirs = elements(x).filter((d) => d.name === "inbound" || d.name === "outbound");
  if (dirs.length === 0) return false;
  const num = (d: XmlElement, k: string) => {
    const v = attr(d, k);
    return v !== undefined && /^\s*\+?[0-9]+$/.test(v) ? BigInt(v.trim()) : 0n;
  };
  const kept: XmlElement[] = [];
  for (const d of dirs) {
    if (num(d, "average") === 0n && num(d, "floor") === 0n) continue;
    const attrs: [string, string][] = [];
    for (const k of ["average", "peak", "floor", "burst"]) {
      const v = num(d, k);
      if (v !== 0n) attrs.push([k, v.toString()]);
    }
    kept.push({ ...d, attrs, children: [] });
  }
  x.children = kept.length > 0 ? kept : [{ kind: "text", text: `\n${" ".repeat(6)}` }];
  return true;
}

// The value lists parseInterface checks, made once rather than as literals in every call.
const YES_NO = ["yes", "no"];
const MAC_TYPES = ["generated", "static"];
/** Children parseInterface models itself (the others are kept in `extra`). */
const MODELLED = new Set(["mac", "source", "target", "model", ...DEVICE_INFO_CHILDREN]);

function notBridgeOrPortid(a: [string, string]): boolean {
  return a[0] !== "bridge" && a[0] !== "portid";
}

export function parseInterface(e: XmlElement): InterfaceDef {
  const type = enumAttr(e, "type", NET_TYPES) ?? "user";
  const attrs: InterfaceDef["attrs"] = [];
  const extra: InterfaceDef["extra"] = {};
  const n: InterfaceDef = { type, attrs, mac: "", extra };
  const managed = enumAttr(e, "managed", YES_NO);
  if (managed) n.attrs.push(["managed", managed]);
  const trust = enumAttr(e, "trustGuestRxFilters", YES_NO);
  if (trust) n.attrs.push(["trustGuestRxFilters", trust]);
  const m = child(e, "mac");
  const addr = m ? attr(m, "address") : undefined;
  if (m && addr !== undefined) {
    const mac = parseMac(addr);
    if (mac === undefined) throw xmlErr(`unable to parse mac address '${addr}'`);
    if (isMulticastMac(mac)) throw xmlErr(`expected unicast mac address, found multicast '${addr}'`);
    n.mac = mac;
    const t = enumAttr(m, "type", MAC_TYPES);
    if (t) n.macType = t;
    const ck = enumAttr(m, "check", YES_NO);
    if (ck) n.macCheck = ck;
  }
  const src = child(e, "source");
  if (src) {
    const s = canonGeneric(src, "interface");
    s.attrs = orderAttrs(s.attrs, SOURCE_ORDER);
    // For type='network' the bridge and port id are the running connection, not configuration.
    if (type === "network") s.attrs = s.attrs.filter(notBridgeOrPortid);
    canonAddresses(s, type === "hostdev");
    n.source = s;
  }
  // the source attribute these types require
  const needed =
    type === "network" ? "network" : type === "bridge" ? "bridge" : type === "direct" ? "dev" : "";
  if (needed !== "") {
    if (!src) throw xmlErr(`interface type='${type}' requires a 'source' element`);
    if (attr(src, needed) === undefined) throw missingAttr(needed, "source");
  }
  const tgt = child(e, "target");
  if (tgt) {
    const dev = attr(tgt, "dev");
    if (dev !== undefined && !generatedIfname(dev)) {
      n.target = dev;
    }
    const man = enumAttr(tgt, "managed", YES_NO);
    if (man) n.targetManaged = man;
  }
  const model = child(e, "model");
  if (model) {
    const t = attr(model, "type");
    if (t !== undefined) n.model = t;
  }
  const kids = e.children;
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i]!;
    if (c.kind !== "element" || MODELLED.has(c.name)) continue;
    const x = canonGeneric(c, "interface");
    if (x.name === "bandwidth" && !canonBandwidth(x)) continue;
    if (x.name === "ip" && !x.attrs.some(([k]) => k === "family")) {
      x.attrs = orderAttrs(
        [...x.attrs, ["family", (attr(x, "address") ?? "").includes(":") ? "ipv6" : "ipv4"]],
        ["address", "family", "prefix", "peer"],
      );
    }
    pushExtra(n.extra, c.name, x);
  }
  parseDeviceInfo(e, n);
  return n;
}

const KNOWN_EXTRA = [...BEFORE_TARGET, ...AFTER_TARGET, ...AFTER_MODEL, ...AFTER_INFO];

/**
 * `inactive` (VIR_DOMAIN_XML_INACTIVE): a generated target dev a start gave (vnetN...) is left out,
 * unless the tap is not managed (managed='no': the name is the user's), as libvirt does.
 */
export function formatInterface(n: InterfaceDef, inactive = false): XmlElement {
  const ex = n.extra;
  const dev =
    inactive && n.target !== undefined && n.targetManaged !== "no" && generatedIfname(n.target)
      ? undefined
      : n.target;
  const info = formatDeviceInfo(n);
  const noExtra = !hasKeys(ex);
  return el(
    "interface",
    [["type", n.type], ...n.attrs],
    el("mac", { address: n.mac, type: n.macType, check: n.macCheck }),
    n.source,
    noExtra ? undefined : extrasOf(ex, BEFORE_TARGET),
    (dev !== undefined || n.targetManaged !== undefined) && el("target", { dev, managed: n.targetManaged }),
    noExtra ? undefined : extrasOf(ex, AFTER_TARGET),
    n.model !== undefined && el("model", { type: n.model }),
    noExtra ? undefined : extrasOf(ex, AFTER_MODEL),
    // boot and alias, then <rom>, then acpi and address (virDomainDeviceInfoFormat)
    info.filter((x) => x.name === "boot" || x.name === "alias"),
    noExtra ? undefined : extrasOf(ex, AFTER_INFO),
    info.filter((x) => x.name === "acpi" || x.name === "address"),
    noExtra
      ? undefined
      : Object.keys(ex)
          .filter((k) => !KNOWN_EXTRA.includes(k))
          .flatMap((k) => ex[k] ?? []),
  );
}
