// Host interface XML (libvirt's virInterfaceDef, interface.rng) ⇄ InterfaceDef, as libvirt 9.0's
// interface_conf.c reads and prints it: start/mtu/protocols only at top level, members nested.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, elements, type XmlElement } from "../../xml/index.js";
import { a, enumAttr, parseRoot, XmlBuf } from "../network/conf-xml.js";

const I = ErrorDomain.INTERFACE;
const xmlErr = (msg: string) => virError(ErrorCode.XML_ERROR, I, msg);

export const INTERFACE_TYPES = ["ethernet", "bridge", "bond", "vlan"] as const;
export type InterfaceType = (typeof INTERFACE_TYPES)[number];
export const BOND_MODES = [
  "balance-rr",
  "active-backup",
  "balance-xor",
  "broadcast",
  "802.3ad",
  "balance-tlb",
  "balance-alb",
];

export interface InterfaceProtocol {
  family: "ipv4" | "ipv6";
  autoconf?: boolean;
  dhcp?: { peerdns?: string };
  ips: { address: string; prefix?: string }[];
  gateway?: string;
}

export interface InterfaceDef {
  type: InterfaceType;
  name?: string;
  startmode?: "none" | "onboot" | "hotplug";
  mtu?: number;
  protocols: InterfaceProtocol[];
  link?: { speed?: number; state?: string };
  /** MAC as written (libvirt keeps the spelling). */
  mac?: string;
  bridge?: { stp?: string; delay?: string; members: InterfaceDef[] };
  bond?: {
    mode?: string;
    miimon?: { freq?: string; downdelay?: string; updelay?: string; carrier?: string };
    arpmon?: { interval?: string; target?: string; validate?: string };
    members: InterfaceDef[];
  };
  vlan?: { tag: string; dev?: string };
}

function parseProtocol(e: XmlElement): InterfaceProtocol | undefined {
  const family = attr(e, "family");
  if (family !== "ipv4" && family !== "ipv6") return undefined;
  const p: InterfaceProtocol = { family, ips: [] };
  if (family === "ipv6" && child(e, "autoconf")) p.autoconf = true;
  const dhcp = child(e, "dhcp");
  if (dhcp) p.dhcp = { peerdns: attr(dhcp, "peerdns") };
  for (const ip of elements(e, "ip")) {
    const address = attr(ip, "address");
    if (address === undefined) continue;
    p.ips.push({ address, prefix: attr(ip, "prefix") });
  }
  const r = child(e, "route");
  if (r) p.gateway = attr(r, "gateway");
  return p;
}

function parseMembers(e: XmlElement, parent: InterfaceType): InterfaceDef[] {
  return elements(e, "interface").map((m) => parseIface(m, parent));
}

function parseIface(e: XmlElement, parent?: InterfaceType): InterfaceDef {
  const type = enumAttr(e, "type", INTERFACE_TYPES, true)!;
  const def: InterfaceDef = { type, protocols: [] };
  def.name = attr(e, "name");
  if (def.name === undefined) throw xmlErr("interface has no name");
  if (parent === undefined) {
    const st = child(e, "start");
    const mode = st ? attr(st, "mode") : undefined;
    if (mode !== undefined) {
      if (mode !== "none" && mode !== "onboot" && mode !== "hotplug")
        throw xmlErr(`unknown interface startmode ${mode}`);
      def.startmode = mode;
    }
    const mtu = child(e, "mtu");
    const size = mtu ? attr(mtu, "size") : undefined;
    if (size !== undefined) {
      if (!/^[0-9]+$/.test(size)) throw xmlErr("interface mtu value is improper");
      def.mtu = Number(size);
    }
    for (const p of elements(e, "protocol")) {
      const pr = parseProtocol(p);
      if (pr) def.protocols.push(pr);
    }
  }
  const link = child(e, "link");
  if (link && type !== "bridge") {
    const sp = attr(link, "speed");
    def.link = {
      speed: sp !== undefined && /^[0-9]+$/.test(sp) ? Number(sp) : undefined,
      state: attr(link, "state"),
    };
  }
  if (type === "ethernet") {
    const mac = child(e, "mac");
    if (mac) def.mac = attr(mac, "address");
  } else if (type === "bridge") {
    const br = child(e, "bridge");
    if (!br) throw xmlErr("bridge interface misses the bridge element");
    def.bridge = { stp: attr(br, "stp"), delay: attr(br, "delay"), members: parseMembers(br, "bridge") };
  } else if (type === "bond") {
    const b = child(e, "bond");
    if (!b) throw xmlErr("bond interface misses the bond element");
    const mode = attr(b, "mode");
    if (mode !== undefined && !BOND_MODES.includes(mode)) throw xmlErr(`unknown bonding mode ${mode}`);
    const mii = child(b, "miimon");
    const arp = child(b, "arpmon");
    def.bond = { mode, members: parseMembers(b, "bond") };
    if (mii) {
      def.bond.miimon = {
        freq: attr(mii, "freq"),
        downdelay: attr(mii, "downdelay"),
        updelay: attr(mii, "updelay"),
        carrier: attr(mii, "carrier"),
      };
    } else if (arp) {
      def.bond.arpmon = {
        interval: attr(arp, "interval"),
        target: attr(arp, "target"),
        validate: attr(arp, "validate"),
      };
    }
  } else {
    const v = child(e, "vlan");
    if (!v) throw xmlErr("vlan interface misses the vlan element");
    const tag = attr(v, "tag");
    if (tag === undefined) throw xmlErr("vlan interface misses the tag attribute");
    const dev = child(v, "interface");
    const devName = dev ? attr(dev, "name") : undefined;
    if (devName === undefined) throw xmlErr("vlan interface misses name attribute");
    def.vlan = { tag, dev: devName };
  }
  return def;
}

/** Parses `<interface>` XML (virInterfaceDefParseString). */
export function parseInterfaceXML(xml: string): InterfaceDef {
  return parseIface(parseRoot(xml, "interface", "(interface_definition)", I));
}

function formatIface(buf: XmlBuf, d: InterfaceDef, top: boolean): void {
  buf.line(`<interface type='${d.type}'${a("name", d.name)}>`);
  buf.indent();
  if (top) {
    if (d.startmode) buf.line(`<start mode='${d.startmode}'/>`);
    if (d.mtu) buf.line(`<mtu size='${d.mtu}'/>`);
    for (const p of d.protocols) {
      buf.line(`<protocol family='${p.family}'>`);
      buf.indent();
      if (p.autoconf) buf.line("<autoconf/>");
      if (p.dhcp) buf.line(`<dhcp${a("peerdns", p.dhcp.peerdns)}/>`);
      for (const ip of p.ips) buf.line(`<ip${a("address", ip.address)}${a("prefix", ip.prefix)}/>`);
      if (p.gateway !== undefined) buf.line(`<route${a("gateway", p.gateway)}/>`);
      buf.dedent();
      buf.line("</protocol>");
    }
  }
  if (d.link && (d.link.speed || d.link.state))
    buf.line(`<link${a("speed", d.link.speed)}${a("state", d.link.state)}/>`);
  if (d.mac !== undefined) buf.line(`<mac${a("address", d.mac)}/>`);
  if (d.bridge) {
    buf.line(`<bridge${a("stp", d.bridge.stp)}${a("delay", d.bridge.delay)}>`);
    buf.indent();
    for (const m of d.bridge.members) formatIface(buf, m, false);
    buf.dedent();
    buf.line("</bridge>");
  }
  if (d.bond) {
    const b = d.bond;
    buf.line(`<bond${a("mode", b.mode)}>`);
    buf.indent();
    if (b.miimon) {
      const m = b.miimon;
      buf.line(
        `<miimon${a("freq", m.freq)}${a("downdelay", m.downdelay)}${a("updelay", m.updelay)}${a("carrier", m.carrier)}/>`,
      );
    } else if (b.arpmon) {
      const m = b.arpmon;
      buf.line(`<arpmon${a("interval", m.interval)}${a("target", m.target)}${a("validate", m.validate)}/>`);
    }
    for (const m of b.members) formatIface(buf, m, false);
    buf.dedent();
    buf.line("</bond>");
  }
  if (d.vlan) {
    buf.line(`<vlan${a("tag", d.vlan.tag)}>`);
    buf.indent();
    if (d.vlan.dev !== undefined) buf.line(`<interface${a("name", d.vlan.dev)}/>`);
    buf.dedent();
    buf.line("</vlan>");
  }
  buf.dedent();
  buf.line("</interface>");
}

/** Formats an interface as `virsh iface-dumpxml` shows it. */
export function formatInterfaceXML(def: InterfaceDef): string {
  const buf = new XmlBuf();
  formatIface(buf, def, true);
  return buf.toString();
}
