// Network XML → NetworkDef: parse, post-parse (defaults libvirt fills) and validate, with
// libvirt 9.0's error codes and messages (network_conf.c virNetworkDefParseXML).

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, elements, type XmlElement } from "../../xml/index.js";
import { isMulticastMac, parseMac } from "../common/mac.js";
import { generateUuid, parseUuid } from "../common/uuid.js";
import { checkName, parseRoot } from "./conf-xml.js";
import { parseIp } from "./ip-addr.js";
import { parseBandwidth, parseVirtualPort, parseVlan } from "./netdev-xml.js";
import { parseDns, parseIpDef, parseRouteDef } from "./parse-ip.js";
import {
  FORWARD_MODES,
  type ForwardMode,
  type NetworkDef,
  type NetworkForward,
  type PciAddress,
  type PortGroup,
} from "./types.js";

const N = ErrorDomain.NETWORK;
const xmlErr = (msg: string) => virError(ErrorCode.XML_ERROR, N, msg);
const detailErr = (msg: string) => virError(ErrorCode.XML_DETAIL, N, msg);

function yesNo(e: XmlElement, name: string, msg: (v: string) => string): boolean | undefined {
  const v = attr(e, name);
  if (v === undefined) return undefined;
  if (v !== "yes" && v !== "no") throw xmlErr(msg(v));
  return v === "yes";
}

function pciNum(s: string | undefined, max: number, what: string): number {
  if (s === undefined) return 0;
  const v = /^0[xX][0-9a-fA-F]+$/.test(s)
    ? Number.parseInt(s, 16)
    : /^[0-9]+$/.test(s)
      ? Number(s)
      : Number.NaN;
  if (Number.isNaN(v) || v > max)
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `Cannot parse <address> '${what}' attribute`);
  return v;
}

function parsePci(e: XmlElement): PciAddress {
  return {
    domain: pciNum(attr(e, "domain"), 0xffff, "domain"),
    bus: pciNum(attr(e, "bus"), 0xff, "bus"),
    slot: pciNum(attr(e, "slot"), 0x1f, "slot"),
    function: pciNum(attr(e, "function"), 7, "function"),
  };
}

function parseForward(e: XmlElement | undefined, net: string): NetworkForward {
  const fwd: NetworkForward = { mode: "none", pfs: [], ifs: [] };
  if (!e) return fwd;
  const mode = attr(e, "mode");
  if (mode === undefined) fwd.mode = "nat";
  else if ((FORWARD_MODES as readonly string[]).includes(mode) && mode !== "none")
    fwd.mode = mode as ForwardMode;
  else throw virError(ErrorCode.CONFIG_UNSUPPORTED, N, `unknown forwarding type '${mode}'`);
  const managed = attr(e, "managed");
  if (managed === "yes") fwd.managed = true;
  const drv = child(e, "driver");
  if (drv) fwd.driverName = attr(drv, "name");
  const nat = child(e, "nat");
  if (nat) {
    if (fwd.mode !== "nat")
      throw xmlErr(`The <nat> element can only be used when <forward> 'mode' is 'nat' in network ${net}`);
    fwd.nat = {};
    const ipv6 = attr(nat, "ipv6");
    if (ipv6 !== undefined) {
      if (ipv6 !== "yes" && ipv6 !== "no") throw xmlErr(`Invalid ipv6 setting '${ipv6}' in network '${net}'`);
      fwd.nat.ipv6 = ipv6 === "yes";
    }
    const addrs = elements(nat, "address");
    if (addrs.length > 1)
      throw xmlErr("Only one <address> element is allowed in <nat> in <forward> in network " + net);
    if (addrs[0]) {
      const s = attr(addrs[0], "start");
      const en = attr(addrs[0], "end");
      if (s === undefined)
        throw xmlErr(
          `Missing 'start' attribute in <address> element in <nat> in <forward> in network ${net}`,
        );
      const start = parseIp(s, 4);
      if (!start) throw xmlErr(`Bad ipv4 start address '${s}' in <nat> in <forward> in network '${net}'`);
      if (en === undefined)
        throw xmlErr(`missing 'end' attribute in <address> element in <nat> in <forward> in network ${net}`);
      const end = parseIp(en, 4);
      if (!end) throw xmlErr(`Bad ipv4 end address '${en}' in <nat> in <forward> in network '${net}'`);
      if (end.value < start.value)
        throw xmlErr(`Bad ipv4 end address '${en}' in <nat> in <forward> in network '${net}'`);
      fwd.nat.addrStart = start;
      fwd.nat.addrEnd = end;
    }
    const ports = elements(nat, "port");
    if (ports.length > 1)
      throw xmlErr("Only one <port> element is allowed in <nat> in <forward> in network " + net);
    if (ports[0]) {
      const num = (n: string) => {
        const s = attr(ports[0]!, n);
        if (s === undefined || !/^[0-9]+$/.test(s) || Number(s) > 65535) {
          throw detailErr(
            `Missing or invalid '${n}' attribute in <port> in <nat> in <forward> in network ${net}`,
          );
        }
        return Number(s);
      };
      fwd.nat.portStart = num("start");
      fwd.nat.portEnd = num("end");
      if (fwd.nat.portStart > fwd.nat.portEnd)
        throw detailErr(
          `Missing or invalid 'end' attribute in <port> in <nat> in <forward> in network ${net}`,
        );
    }
  }
  const pfs = elements(e, "pf");
  if (pfs.length > 1) throw xmlErr(`Only one <pf> element is allowed in <forward> of network ${net}`);
  for (const pf of pfs) {
    const dev = attr(pf, "dev");
    if (dev === undefined) throw xmlErr(`Missing required dev attribute in <pf> element of network ${net}`);
    fwd.pfs.push(dev);
  }
  const ifaces = elements(e, "interface");
  const addrs = elements(e, "address");
  if (ifaces.length && addrs.length) {
    throw xmlErr(
      `<address>, <interface>, and <pf> elements in <forward> of network ${net} are mutually exclusive`,
    );
  }
  if (pfs.length && (ifaces.length || addrs.length)) {
    throw xmlErr(
      `<address>, <interface>, and <pf> elements in <forward> of network ${net} are mutually exclusive`,
    );
  }
  const dev = attr(e, "dev");
  for (const [i, f] of ifaces.entries()) {
    const d = attr(f, "dev");
    if (d === undefined)
      throw xmlErr(`Missing required dev attribute in <forward> <interface> element of network ${net}`);
    if (i === 0 && dev !== undefined && dev !== d) {
      throw xmlErr(`<forward dev='${dev}'> must match first <interface dev='${d}'/> in network ${net}`);
    }
    fwd.ifs.push({ dev: d });
  }
  for (const ad of addrs) {
    const t = attr(ad, "type");
    if (t !== "pci") throw xmlErr(`unsupported address type '${t ?? ""}' in network '${net}'`);
    fwd.ifs.push({ pci: parsePci(ad) });
  }
  if (ifaces.length === 0 && addrs.length === 0 && dev !== undefined) fwd.ifs.push({ dev });
  return fwd;
}

function parsePortGroup(e: XmlElement): PortGroup {
  const name = attr(e, "name");
  if (name === undefined) throw xmlErr("Missing required name attribute in portgroup");
  const pg: PortGroup = { name };
  const def = attr(e, "default");
  if (def === "yes") pg.isDefault = true;
  const trust = attr(e, "trustGuestRxFilters");
  if (trust !== undefined) {
    if (trust !== "yes" && trust !== "no")
      throw xmlErr(`Invalid trustGuestRxFilters setting '${trust}' in portgroup`);
    pg.trustGuestRxFilters = trust === "yes";
  }
  const vp = child(e, "virtualport");
  if (vp) pg.virtualport = parseVirtualPort(vp);
  const bw = child(e, "bandwidth");
  if (bw) pg.bandwidth = parseBandwidth(bw, false);
  const vl = child(e, "vlan");
  if (vl) pg.vlan = parseVlan(vl);
  return pg;
}

/** Parses network XML as virNetworkDefParseString does, then fills defaults and validates. */
export function parseNetworkXML(xml: string): NetworkDef {
  const root = parseRoot(xml, "network", "(network_definition)", N);
  return parseNetworkElement(root);
}

export function parseNetworkElement(root: XmlElement): NetworkDef {
  const name = childText(root, "name");
  if (!name) throw virError(ErrorCode.NO_NAME, N);
  checkName(name);
  const uuidS = childText(root, "uuid");
  let uuid: string;
  if (!uuidS) uuid = generateUuid();
  else {
    const u = parseUuid(uuidS);
    if (!u) throw virError(ErrorCode.INTERNAL_ERROR, N, "malformed uuid element");
    uuid = u;
  }
  const def: NetworkDef = {
    name,
    uuid,
    forward: { mode: "none", pfs: [], ifs: [] },
    bridge: { stp: true, delay: 0 },
    ips: [],
    routes: [],
    portgroups: [],
  };
  def.ipv6 = yesNo(root, "ipv6", (v) => `Invalid ipv6 setting '${v}' in network '${name}'`) || undefined;
  def.trustGuestRxFilters = yesNo(
    root,
    "trustGuestRxFilters",
    (v) => `Invalid trustGuestRxFilters setting '${v}' in network '${name}'`,
  );
  def.metadata = child(root, "metadata");

  const br = child(root, "bridge");
  if (br) {
    def.bridge.name = attr(br, "name");
    def.bridge.zone = attr(br, "zone");
    const stp = attr(br, "stp");
    def.bridge.stpGiven = stp !== undefined;
    def.bridge.stp = stp !== "off";
    const delay = attr(br, "delay");
    if (delay !== undefined) {
      if (!/^[0-9]+$/.test(delay.trim())) throw xmlErr(`Invalid delay value in network '${name}'`);
      def.bridge.delay = Number(delay);
      def.bridge.delayGiven = true;
    }
    const mtm = attr(br, "macTableManager");
    if (mtm !== undefined) {
      if (mtm !== "kernel" && mtm !== "libvirt")
        throw xmlErr(`Invalid macTableManager setting '${mtm}' in network '${name}'`);
      def.bridge.macTableManager = mtm;
    }
  }
  const mtu = child(root, "mtu");
  if (mtu && attr(mtu, "size") !== undefined) {
    const s = attr(mtu, "size")!;
    if (!/^[0-9]+$/.test(s) || Number(s) > 0xffffffff)
      throw xmlErr(`Invalid mtu size '${s}' in network '${name}'`);
    def.mtu = Number(s);
  }
  const mac = child(root, "mac");
  const macS = mac ? attr(mac, "address") : undefined;
  if (macS !== undefined) {
    const m = parseMac(macS);
    if (!m) throw xmlErr(`Invalid bridge mac address '${macS}' in network '${name}'`);
    if (isMulticastMac(m))
      throw xmlErr(`Invalid multicast bridge mac address '${macS}' in network '${name}'`);
    def.mac = m;
  }
  const dom = child(root, "domain");
  if (dom && attr(dom, "name") !== undefined) {
    def.domain = {
      name: attr(dom, "name")!,
      localOnly: yesNo(dom, "localOnly", (v) => `Invalid localOnly setting '${v}' in network '${name}'`),
    };
  }
  const dns = child(root, "dns");
  if (dns) def.dns = parseDns(dns, name);
  const vp = child(root, "virtualport");
  if (vp) def.virtualport = parseVirtualPort(vp);
  const bw = child(root, "bandwidth");
  if (bw) def.bandwidth = parseBandwidth(bw, false);
  const vlan = child(root, "vlan");
  if (vlan) def.vlan = parseVlan(vlan);
  const port = child(root, "port");
  if (port)
    def.portIsolated = yesNo(
      port,
      "isolated",
      (v) => `Invalid port isolated value '${v}' in network '${name}'`,
    );
  for (const pg of elements(root, "portgroup")) def.portgroups.push(parsePortGroup(pg));
  for (const ip of elements(root, "ip")) def.ips.push(parseIpDef(ip, name));
  for (const r of elements(root, "route")) def.routes.push(parseRouteDef(r, name));
  def.forward = parseForward(child(root, "forward"), name);
  validateNetwork(def);
  return def;
}

/** The cross-element checks virNetworkDefParseXML runs once everything is read. */
function validateNetwork(def: NetworkDef): void {
  const f = def.forward;
  const name = def.name;
  switch (f.mode) {
    case "route":
    case "nat":
    case "open":
      if (def.ips.length === 0 && f.mode !== "open") {
        throw xmlErr(`${f.mode} forwarding requested, but no IP address provided for network '${name}'`);
      }
      if (f.ifs.length > 1) {
        throw xmlErr(`multiple forwarding interfaces specified for network '${name}', only one is supported`);
      }
      break;
    case "private":
    case "vepa":
    case "passthrough":
    case "hostdev":
    case "bridge":
      if (f.mode !== "bridge") {
        if (def.bridge.name !== undefined)
          throw xmlErr(`bridge name not allowed in ${f.mode} mode (network '${name}')`);
        if (def.bridge.macTableManager) {
          throw xmlErr(`bridge macTableManager setting not allowed in ${f.mode} mode (network '${name}')`);
        }
      }
      if (def.mtu) {
        throw xmlErr(
          `mtu size only allowed in open, route, nat, and isolated mode, not in ${f.mode} (network '${name}')`,
        );
      }
      if (def.bridge.delayGiven || def.bridge.stpGiven || def.bridge.zone !== undefined) {
        throw xmlErr(
          `bridge delay/stp options only allowed in route, nat, and isolated mode, not in ${f.mode} (network '${name}')`,
        );
      }
      if (def.bridge.name !== undefined && (f.ifs.length || f.pfs.length)) {
        throw xmlErr(
          `A network with forward mode='${f.mode}' can specify a bridge name or a forward dev, but not both (network '${name}')`,
        );
      }
      break;
    default:
      break;
  }
  if (f.mode === "hostdev" && f.managed === undefined) f.managed = false;
}
