// Parses a network's <ip>, <route> and <dns> elements with libvirt's checks and messages
// (network_conf.c: virNetworkIPDefParseXML, virNetworkRouteDefParseXML, virNetworkDNSDefParseXML).

import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { attr, child, elements, textContent, type XmlElement } from "../../xml/index.js";
import { parseMac, isMulticastMac } from "../common/mac.js";
import { formatIp, type IpAddr, netmaskPrefix, parseIp, prefixMask } from "./ip-addr.js";
import type { DhcpHost, DhcpLease, DhcpRange, DnsDef, NetworkIp, NetworkRoute } from "./types.js";

const N = ErrorDomain.NETWORK;
const xmlErr = (msg: string) => virError(ErrorCode.XML_ERROR, N, msg);

function uintAttr(e: XmlElement, name: string, msg: string): number | undefined {
  const s = attr(e, name);
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s.trim()) || Number(s) > 0xffffffff) throw xmlErr(msg);
  return Number(s);
}

function familyOf(e: XmlElement, net: string): "ipv4" | "ipv6" | undefined {
  const f = attr(e, "family");
  if (f === undefined) return undefined;
  if (f !== "ipv4" && f !== "ipv6") throw xmlErr(`Unrecognized family '${f}' in network '${net}'`);
  return f;
}

/** The effective prefix of an ip: explicit, from the netmask, or the class default (virNetworkIPDefPrefix). */
export function ipPrefix(ip: { address: IpAddr; netmask?: IpAddr; prefix?: number }): number {
  if (ip.prefix !== undefined && ip.prefix > 0) return ip.prefix;
  if (ip.netmask) return netmaskPrefix(ip.netmask) ?? -1;
  if (ip.address.family === 4) {
    const octet = Number(ip.address.value >> 24n);
    if ((octet & 0x80) === 0) return 8;
    if ((octet & 0xc0) === 0x80) return 16;
    if ((octet & 0xe0) === 0xc0) return 24;
    return -1;
  }
  return 64;
}

function parseLease(e: XmlElement | undefined): DhcpLease | undefined {
  if (!e) return undefined;
  const ex = attr(e, "expiry");
  if (ex === undefined || !/^[0-9]+$/.test(ex)) {
    throw virError(ErrorCode.XML_ERROR, N, `failed to parse value of 'expiry' attribute: '${ex ?? ""}'`);
  }
  const u = attr(e, "unit");
  if (u !== undefined && u !== "seconds" && u !== "minutes" && u !== "hours") {
    throw virError(ErrorCode.XML_ERROR, N, `Invalid value for attribute 'unit' in element 'lease': '${u}'.`);
  }
  return { expiry: BigInt(ex), unit: u as DhcpLease["unit"] };
}

function rangeOutside(s: string, e: string, ip: NetworkIp): VirError {
  return virError(
    ErrorCode.INTERNAL_ERROR,
    ErrorDomain.NONE,
    `range ${s} - ${e} is not entirely within network ${formatIp(ip.address)}/${ipPrefix(ip)}`,
  );
}

function parseDhcp(e: XmlElement, ip: NetworkIp, net: string): void {
  const fam = ip.address.family;
  ip.dhcp = true;
  for (const c of e.children) {
    if (c.kind !== "element") continue;
    if (c.name === "range") {
      const s = attr(c, "start");
      const en = attr(c, "end");
      if (s === undefined) throw xmlErr(`Missing 'start' attribute in dhcp range for network '${net}'`);
      if (en === undefined) throw xmlErr(`Missing 'end' attribute in dhcp range for network '${net}'`);
      const start = parseIp(s);
      const end = parseIp(en);
      if (!start) throw xmlErr(`Invalid dhcp range start address '${s}' in network '${net}'`);
      if (!end) throw xmlErr(`Invalid dhcp range end address '${en}' in network '${net}'`);
      const r: DhcpRange = { start, end, lease: parseLease(elements(c, "lease")[0]) };
      // virSocketAddrGetRange: same family, inside the network, not reversed.
      const pfx = ipPrefix(ip);
      const mask = prefixMask(pfx, fam);
      if (
        start.family !== fam ||
        end.family !== fam ||
        (start.value & mask) !== (ip.address.value & mask) ||
        (end.value & mask) !== (ip.address.value & mask)
      ) {
        throw rangeOutside(formatIp(start), formatIp(end), ip);
      }
      if (end.value < start.value) {
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          ErrorDomain.NONE,
          `range ${formatIp(start)} - ${formatIp(end)} is reversed `,
        );
      }
      ip.dhcpRanges.push(r);
    } else if (c.name === "host") {
      ip.dhcpHosts.push(parseHost(c, fam, net));
    } else if (c.name === "bootp" && fam === 4) {
      const file = attr(c, "file");
      if (file === undefined) continue;
      const srv = attr(c, "server");
      let server: IpAddr | undefined;
      if (srv !== undefined) {
        server = parseIp(srv, 4);
        if (!server) throw xmlErr(`Invalid bootp server address '${srv}' in network '${net}'`);
      }
      ip.bootp = { file, server };
    }
  }
}

function parseHost(c: XmlElement, fam: 4 | 6, net: string): DhcpHost {
  const h: DhcpHost = {};
  const mac = attr(c, "mac");
  if (mac !== undefined) {
    if (fam === 6)
      throw xmlErr(`Invalid to specify MAC address '${mac}' in network '${net}' IPv6 static host definition`);
    const m = parseMac(mac);
    if (!m) throw xmlErr(`Cannot parse MAC address '${mac}' in network '${net}'`);
    if (isMulticastMac(m))
      throw xmlErr(`expected unicast mac address, found multicast '${mac}' in network '${net}'`);
    h.mac = mac;
  }
  h.id = attr(c, "id");
  const name = attr(c, "name");
  if (name !== undefined && !/^[A-Za-z]/.test(name))
    throw xmlErr(`Cannot use host name '${name}' in network '${net}'`);
  h.name = name;
  if (fam === 4 && h.mac === undefined && h.name === undefined) {
    throw xmlErr(`Static host definition in IPv4 network '${net}' must have mac or name attribute`);
  }
  if (fam === 6 && h.id === undefined && h.name === undefined) {
    throw xmlErr(`Static host definition in IPv6 network '${net}' must have id or name attribute`);
  }
  const ipS = attr(c, "ip");
  if (ipS !== undefined) {
    h.ip = parseIp(ipS);
    if (!h.ip) throw xmlErr(`Invalid IP address in static host definition for network '${net}'`);
  } else if (fam === 4 || h.name === undefined) {
    throw xmlErr(`Missing IP address in static host definition for network '${net}'`);
  }
  h.lease = parseLease(elements(c, "lease")[0]);
  return h;
}

export function parseIpDef(e: XmlElement, net: string): NetworkIp {
  const family = familyOf(e, net);
  const addrS = attr(e, "address");
  if (addrS === undefined) throw xmlErr(`Missing required address attribute in network '${net}'`);
  const address = parseIp(addrS);
  if (!address) throw xmlErr(`Invalid address '${addrS}' in network '${net}'`);
  if (family === "ipv4" && address.family !== 4)
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      N,
      `Family 'ipv4' specified for non-IPv4 address '${addrS}' in network '${net}'`,
    );
  if (family === "ipv6" && address.family !== 6)
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      N,
      `Family 'ipv6' specified for non-IPv6 address '${addrS}' in network '${net}'`,
    );
  const ip: NetworkIp = { family, address, dhcpRanges: [], dhcpHosts: [] };
  const nm = attr(e, "netmask");
  ip.prefix = uintAttr(
    e,
    "prefix",
    `Invalid ip address prefix value '${attr(e, "prefix")}' in network '${net}'`,
  );
  if (nm !== undefined) {
    if (ip.prefix !== undefined)
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        N,
        `Network '${net}' IP address cannot have both a prefix and a netmask`,
      );
    if (address.family !== 4)
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        N,
        `netmask not supported for address '${addrS}' in network '${net}' (IPv4 only)`,
      );
    ip.netmask = parseIp(nm, 4);
    if (!ip.netmask) throw xmlErr(`Invalid netmask '${nm}' in network '${net}'`);
    if (netmaskPrefix(ip.netmask) === undefined) throw xmlErr(`Invalid netmask '${nm}' in network '${net}'`);
  }
  if (ip.prefix !== undefined) {
    if (address.family === 4 && ip.prefix > 32) {
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        N,
        `Invalid IPv4 prefix '${ip.prefix}' in network '${net}'`,
      );
    }
    if (address.family === 6 && ip.prefix > 128) {
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        N,
        `Invalid IPv6 prefix '${ip.prefix}' in network '${net}'`,
      );
    }
  }
  const lp = attr(e, "localPtr");
  if (lp !== undefined) {
    if (lp !== "yes" && lp !== "no") throw xmlErr(`Invalid localPtr value '${lp}' in network '${net}'`);
    ip.localPtr = lp === "yes";
  }
  const dhcp = child(e, "dhcp");
  if (dhcp) parseDhcp(dhcp, ip, net);
  const tftp = child(e, "tftp");
  if (tftp) {
    if (address.family !== 4)
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        N,
        `Unsupported <tftp> element in an IPv6 element in network '${net}'`,
      );
    const root = attr(tftp, "root");
    if (root !== undefined) ip.tftpRoot = root;
  }
  return ip;
}

export function parseRouteDef(e: XmlElement, net: string): NetworkRoute {
  const family = familyOf(e, net);
  const addrS = attr(e, "address");
  const gwS = attr(e, "gateway");
  if (addrS === undefined)
    throw xmlErr(`Missing required address attribute in route definition of network '${net}'`);
  if (gwS === undefined)
    throw xmlErr(`Missing required gateway attribute in route definition of network '${net}'`);
  const address = parseIp(addrS);
  if (!address) throw xmlErr(`Bad network address '${addrS}' in route definition of network '${net}'`);
  const gateway = parseIp(gwS);
  if (!gateway) throw xmlErr(`Bad gateway address '${gwS}' in route definition of network '${net}'`);
  const r: NetworkRoute = { family, address, gateway };
  const nm = attr(e, "netmask");
  if (nm !== undefined) {
    r.netmask = parseIp(nm, 4);
    if (!r.netmask) throw xmlErr(`Bad netmask address '${nm}' in route definition of network '${net}'`);
  }
  r.prefix = uintAttr(e, "prefix", `Invalid prefix specified in route definition of network '${net}'`);
  r.metric = uintAttr(e, "metric", `Invalid metric specified in route definition of network '${net}'`);
  return r;
}

export function parseDns(e: XmlElement, net: string): DnsDef {
  const yn = (n: string): boolean | undefined => {
    const v = attr(e, n);
    if (v === undefined) return undefined;
    if (v !== "yes" && v !== "no") throw xmlErr(`Invalid dns ${n} setting '${v}' in network '${net}'`);
    return v === "yes";
  };
  const dns: DnsDef = {
    enable: yn("enable"),
    forwardPlainNames: yn("forwardPlainNames"),
    forwarders: [],
    txts: [],
    srvs: [],
    hosts: [],
  };
  for (const f of elements(e, "forwarder")) {
    const addrS = attr(f, "addr");
    const domain = attr(f, "domain");
    let addr: IpAddr | undefined;
    if (addrS !== undefined) {
      addr = parseIp(addrS);
      if (!addr) throw xmlErr(`Invalid forwarder IP address '${addrS}' in network '${net}'`);
    }
    if (!addr && domain === undefined)
      throw xmlErr(`Invalid forwarder element, must contain at least one of addr or domain`);
    dns.forwarders.push({ domain, addr });
  }
  for (const h of elements(e, "host")) {
    const ipS = attr(h, "ip");
    const ip = ipS === undefined ? undefined : parseIp(ipS);
    if (!ip)
      throw virError(ErrorCode.XML_DETAIL, N, "Missing IP address in network '" + net + "' DNS HOST record");
    const hostnames = elements(h, "hostname")
      .map((n) => textContent(n))
      .filter((s) => s !== "");
    if (hostnames.length === 0)
      throw virError(ErrorCode.XML_DETAIL, N, `Missing ip and hostname in network '${net}' DNS HOST record`);
    dns.hosts.push({ ip, hostnames });
  }
  for (const s of elements(e, "srv")) {
    const service = attr(s, "service");
    const protocol = attr(s, "protocol");
    if (service === undefined)
      throw virError(
        ErrorCode.XML_DETAIL,
        N,
        `missing required service attribute in DNS SRV record of network '${net}'`,
      );
    if (protocol === undefined)
      throw virError(
        ErrorCode.XML_DETAIL,
        N,
        `missing required protocol attribute in DNS SRV record '${service}' of network '${net}'`,
      );
    const num = (n: string) => uintAttr(s, n, `invalid ${n} attribute in DNS SRV record of network '${net}'`);
    dns.srvs.push({
      service,
      protocol,
      domain: attr(s, "domain"),
      target: attr(s, "target"),
      port: num("port"),
      priority: num("priority"),
      weight: num("weight"),
    });
  }
  for (const t of elements(e, "txt")) {
    const name = attr(t, "name");
    if (name === undefined)
      throw virError(
        ErrorCode.XML_DETAIL,
        N,
        `missing required name attribute in DNS TXT record of network ${net}`,
      );
    if (/[ \n\t]/.test(name)) {
      throw virError(
        ErrorCode.XML_DETAIL,
        N,
        `prohibited character in DNS TXT record name '${name}' of network ${net}`,
      );
    }
    const value = attr(t, "value");
    if (value === undefined)
      throw virError(
        ErrorCode.XML_DETAIL,
        N,
        `missing required value attribute in DNS TXT record named '${name}' of network ${net}`,
      );
    dns.txts.push({ name, value });
  }
  if (
    dns.enable === false &&
    (dns.forwarders.length || dns.hosts.length || dns.srvs.length || dns.txts.length)
  ) {
    throw xmlErr(`Extra data in disabled network '${net}'`);
  }
  return dns;
}
