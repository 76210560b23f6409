// Pure generators of what dnsmasq reads for one network, in the layout of libvirt's bridge driver
// (networkDnsmasqConfContents, networkxml2confdata/*.conf): the --conf-file text, the
// dhcp-hostsfile (one "mac,ip,name" line per static host) and the addn-hosts file (DNS hosts).
import { type DhcpLease, formatIp, type NetworkDef, type NetworkIp } from "../../conf/network/index.js";
import { ipFamily, netmaskString, prefixOf, rangeSize } from "./net-addr.js";

/** Where the files of one network live (all under `<run>/network/`). */
export interface DnsmasqPaths {
  pidFile: string;
  leaseFile: string;
  hostsFile: string;
  addnHostsFile: string;
}

export interface DnsmasqFiles {
  conf: string;
  hosts: string;
  addnHosts: string;
}

/** dnsmasq lease time: "infinite" for 0, else the number with its unit letter (seconds bare). */
function leaseTime(l: DhcpLease | undefined): string {
  if (!l) return "";
  if (l.expiry === 0n) return ",infinite";
  const suffix = l.unit === "hours" ? "h" : l.unit === "seconds" ? "" : "m";
  return `,${l.expiry}${suffix}`;
}

/** The network needs dnsmasq at all: DNS not disabled, or DHCP wanted on some `<ip>`. */
export function needsDnsmasq(def: NetworkDef): boolean {
  const mode = def.forward.mode;
  if (mode !== "nat" && mode !== "route" && mode !== "open" && mode !== "none") return false;
  if (def.ips.length === 0) return false;
  return def.dns?.enable !== false || def.ips.some(hasDhcp);
}

function hasDhcp(ip: NetworkIp): boolean {
  return ip.dhcpRanges.length > 0 || ip.dhcpHosts.length > 0;
}

/** The dnsmasq.conf text. `bridge` is the network's bridge device. */
export function dnsmasqConf(def: NetworkDef, bridge: string, paths: DnsmasqPaths): string {
  const out: string[] = [
    "##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE",
    "##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:",
    `##    virsh net-edit ${def.name}`,
    "## or other application using the libvirt API.",
    "##",
    "## dnsmasq conf file created by libvirt",
    "strict-order",
  ];
  const dns = def.dns;
  const wantDns = dns?.enable !== false;
  if (!wantDns) out.push("port=0");
  if (wantDns && dns && dns.forwarders.length > 0) {
    for (const f of dns.forwarders) {
      const dom = f.domain ? `/${f.domain}/` : "";
      out.push(`server=${dom}${f.addr ? formatIp(f.addr) : "#"}`);
    }
    // Forwarders with an address and no domain replace resolv.conf entirely.
    if (dns.forwarders.some((f) => f.addr && !f.domain)) out.push("no-resolv");
  }
  if (def.domain) {
    if (def.domain.localOnly) out.push(`local=/${def.domain.name}/`);
    out.push(`domain=${def.domain.name}`, "expand-hosts");
  }
  if (wantDns && dns?.forwardPlainNames === false) out.push("domain-needed", "local=//");
  out.push(`pid-file=${paths.pidFile}`, "except-interface=lo", "bind-dynamic", `interface=${bridge}`);
  if (def.forward.mode === "none") out.push("dhcp-option=3", "no-resolv", "ra-param=*,0,0");
  if (wantDns && dns) {
    for (const t of dns.txts) out.push(`txt-record=${t.name},${t.value}`);
    for (const s of dns.srvs) {
      let line = `srv-host=_${s.service}._${s.protocol}`;
      if (s.domain) line += `.${s.domain}`;
      if (s.target) {
        line += `,${s.target}`;
        if (s.port !== undefined) {
          line += `,${s.port}`;
          if (s.priority !== undefined) {
            line += `,${s.priority}`;
            if (s.weight !== undefined) line += `,${s.weight}`;
          }
        }
      }
      out.push(line);
    }
  }
  // Order as libvirt 9.0 writes it: IPv4 ranges, the IPv4 DHCP options, IPv6 ranges, then the
  // lease limit and files (observed from a private libvirtd, tests/network-driver-libvirt).
  let leases = 0;
  const dhcpIps = def.ips.filter(hasDhcp);
  const v4dhcp = dhcpIps.filter((ip) => ipFamily(ip) === 4);
  const v6dhcp = dhcpIps.filter((ip) => ipFamily(ip) === 6);
  const ranges = (ip: NetworkIp) => {
    for (const r of ip.dhcpRanges) {
      const third = ipFamily(ip) === 4 ? netmaskString(ip) : String(prefixOf(ip));
      out.push(`dhcp-range=${formatIp(r.start)},${formatIp(r.end)},${third}${leaseTime(r.lease)}`);
      leases += rangeSize(r.start, r.end);
    }
    if (ip.dhcpRanges.length === 0) {
      const third = ipFamily(ip) === 4 ? "" : `,${prefixOf(ip)}`;
      out.push(`dhcp-range=${formatIp(ip.address)},static${third}`);
    }
  };
  for (const ip of def.ips) {
    if (ipFamily(ip) === 4 && ip.tftpRoot) out.push("enable-tftp", `tftp-root=${ip.tftpRoot}`);
  }
  for (const ip of v4dhcp) ranges(ip);
  if (v4dhcp.length > 0) {
    out.push("dhcp-no-override");
    // One IPv4 DHCP subnet (all libvirt allows): dnsmasq answers clients it has no record of.
    if (v4dhcp.length === 1) out.push("dhcp-authoritative");
  }
  for (const ip of v4dhcp) {
    if (ip.bootp)
      out.push(`dhcp-boot=${ip.bootp.file}${ip.bootp.server ? `,,${formatIp(ip.bootp.server)}` : ""}`);
  }
  for (const ip of v6dhcp) ranges(ip);
  if (dhcpIps.length > 0) {
    // libvirt 9.0 records leases through its helper script; without one dnsmasq keeps this file.
    out.push(`dhcp-leasefile=${paths.leaseFile}`);
    if (leases > 0) out.push(`dhcp-lease-max=${leases}`);
    out.push(`dhcp-hostsfile=${paths.hostsFile}`);
  }
  if (wantDns) out.push(`addn-hosts=${paths.addnHostsFile}`);
  const v6 = def.ips.filter((ip) => ipFamily(ip) === 6);
  // Router advertisements: full RA with DHCPv6, RA-only for IPv6 subnets without DHCP.
  if (v6.some(hasDhcp)) out.push("enable-ra");
  for (const ip of v6) if (!hasDhcp(ip)) out.push(`dhcp-range=${formatIp(ip.address)},ra-only`);
  return `${out.join("\n")}\n`;
}

/** dhcp-hostsfile lines: "mac,ip,name[,lease]" (IPv4) or "id:ID,[ip],name" (IPv6). */
export function dnsmasqHostsFile(def: NetworkDef): string {
  const lines: string[] = [];
  for (const ip of def.ips) {
    for (const h of ip.dhcpHosts) {
      const parts: string[] = [];
      if (ipFamily(ip) === 6) {
        if (h.id) parts.push(`id:${h.id}`);
        if (h.name) parts.push(h.name);
        if (h.ip) parts.push(`[${formatIp(h.ip)}]`);
      } else {
        if (h.mac) parts.push(h.mac);
        if (h.ip) parts.push(formatIp(h.ip));
        if (h.name) parts.push(h.name);
      }
      const lease = leaseTime(h.lease);
      if (parts.length > 0) lines.push(parts.join(",") + lease);
    }
  }
  return lines.map((l) => `${l}\n`).join("");
}

/** addn-hosts: "ip\tname\t" per `<dns><host>`, every hostname followed by a tab (as libvirt). */
export function dnsmasqAddnHosts(def: NetworkDef): string {
  return (def.dns?.hosts ?? [])
    .map((h) => `${formatIp(h.ip)}\t${h.hostnames.map((n) => `${n}\t`).join("")}\n`)
    .join("");
}

export function dnsmasqFiles(def: NetworkDef, bridge: string, paths: DnsmasqPaths): DnsmasqFiles {
  return {
    conf: dnsmasqConf(def, bridge, paths),
    hosts: dnsmasqHostsFile(def),
    addnHosts: dnsmasqAddnHosts(def),
  };
}
