// NetworkDef → XML exactly as libvirt 9.0's virNetworkDefFormatBuf prints it (element order,
// attribute order, `<ip ...>` always opened and closed, `<bridge stp= delay=>` for L3 modes).

import { a, esc, formatMetadata, XmlBuf } from "./conf-xml.js";
import { formatIp } from "./ip-addr.js";
import { formatBandwidth, formatVirtualPort, formatVlan } from "./netdev-xml.js";
import type { DhcpLease, DnsDef, NetworkDef, NetworkFormatOptions, NetworkIp, PciAddress } from "./types.js";

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;

export function formatPciAddress(p: PciAddress): string {
  return `<address type='pci' domain='${hex(p.domain, 4)}' bus='${hex(p.bus, 2)}' slot='${hex(p.slot, 2)}' function='${hex(p.function, 1)}'/>`;
}

function formatForward(buf: XmlBuf, def: NetworkDef, opts: NetworkFormatOptions): void {
  const f = def.forward;
  if (f.mode === "none") return;
  const first = f.ifs[0];
  const dev = f.pfs.length === 0 && first && "dev" in first ? first.dev : undefined;
  let open = `<forward${a("dev", dev)}${a("mode", f.mode)}`;
  if (f.mode === "hostdev") open += ` managed='${f.managed ? "yes" : "no"}'`;
  const nat = f.nat;
  const natShown = nat && (nat.addrStart || nat.portStart !== undefined || nat.ipv6);
  const short = !(f.ifs.length || f.pfs.length || natShown || f.driverName);
  if (short) {
    buf.line(`${open}/>`);
    return;
  }
  buf.line(`${open}>`);
  buf.indent();
  if (f.driverName) buf.line(`<driver${a("name", f.driverName)}/>`);
  if (f.mode === "nat" && nat && natShown) {
    const inner = nat.addrStart || nat.portStart !== undefined;
    const natOpen = `<nat${nat.ipv6 ? " ipv6='yes'" : ""}`;
    if (!inner) buf.line(`${natOpen}/>`);
    else {
      buf.line(`${natOpen}>`);
      buf.indent();
      if (nat.addrStart) {
        buf.line(
          `<address start='${formatIp(nat.addrStart)}'${nat.addrEnd ? ` end='${formatIp(nat.addrEnd)}'` : ""}/>`,
        );
      }
      if (nat.portStart !== undefined) buf.line(`<port start='${nat.portStart}' end='${nat.portEnd ?? 0}'/>`);
      buf.dedent();
      buf.line("</nat>");
    }
  }
  for (const pf of f.pfs.slice(0, 1)) buf.line(`<pf${a("dev", pf)}/>`);
  if (f.ifs.length && (!f.pfs.length || !opts.inactive)) {
    for (const i of f.ifs) {
      if ("dev" in i) buf.line(`<interface${a("dev", i.dev)}/>`);
      else buf.line(formatPciAddress(i.pci));
    }
  }
  buf.dedent();
  buf.line("</forward>");
}

function formatDns(buf: XmlBuf, d: DnsDef | undefined): void {
  if (!d) return;
  const attrs =
    (d.enable === undefined ? "" : ` enable='${d.enable ? "yes" : "no"}'`) +
    (d.forwardPlainNames === undefined ? "" : ` forwardPlainNames='${d.forwardPlainNames ? "yes" : "no"}'`);
  const empty = !d.forwarders.length && !d.txts.length && !d.srvs.length && !d.hosts.length;
  if (empty) {
    if (attrs !== "") buf.line(`<dns${attrs}/>`);
    return;
  }
  buf.line(`<dns${attrs}>`);
  buf.indent();
  for (const f of d.forwarders)
    buf.line(`<forwarder${a("domain", f.domain)}${a("addr", f.addr && formatIp(f.addr))}/>`);
  for (const t of d.txts) buf.line(`<txt${a("name", t.name)}${a("value", t.value)}/>`);
  for (const s of d.srvs) {
    buf.line(
      `<srv${a("service", s.service)}${a("protocol", s.protocol)}${a("domain", s.domain)}${a("target", s.target)}` +
        `${a("port", s.port || undefined)}${a("priority", s.priority || undefined)}${a("weight", s.weight || undefined)}/>`,
    );
  }
  for (const h of d.hosts) {
    buf.line(`<host ip='${formatIp(h.ip)}'>`);
    buf.indent();
    for (const n of h.hostnames) buf.line(`<hostname>${esc(n)}</hostname>`);
    buf.dedent();
    buf.line("</host>");
  }
  buf.dedent();
  buf.line("</dns>");
}

function leaseLine(l: DhcpLease): string {
  return `<lease expiry='${l.expiry}'${l.expiry > 0n ? ` unit='${l.unit ?? "minutes"}'` : ""}/>`;
}

function formatIpDef(buf: XmlBuf, ip: NetworkIp): void {
  buf.line(
    `<ip${a("family", ip.family)}${a("address", formatIp(ip.address))}${a("netmask", ip.netmask && formatIp(ip.netmask))}` +
      `${a("prefix", ip.prefix)}${ip.localPtr === undefined ? "" : ` localPtr='${ip.localPtr ? "yes" : "no"}'`}>`,
  );
  buf.indent();
  if (ip.tftpRoot !== undefined) buf.line(`<tftp${a("root", ip.tftpRoot)}/>`);
  if (ip.dhcpRanges.length || ip.dhcpHosts.length) {
    buf.line("<dhcp>");
    buf.indent();
    for (const r of ip.dhcpRanges) {
      const open = `<range start='${formatIp(r.start)}' end='${formatIp(r.end)}'`;
      if (!r.lease) buf.line(`${open}/>`);
      else {
        buf.line(`${open}>`);
        buf.indent();
        buf.line(leaseLine(r.lease));
        buf.dedent();
        buf.line("</range>");
      }
    }
    for (const h of ip.dhcpHosts) {
      const open = `<host${a("mac", h.mac)}${a("id", h.id)}${a("name", h.name)}${a("ip", h.ip && formatIp(h.ip))}`;
      if (!h.lease) buf.line(`${open}/>`);
      else {
        buf.line(`${open}>`);
        buf.indent();
        buf.line(leaseLine(h.lease));
        buf.dedent();
        buf.line("</host>");
      }
    }
    if (ip.bootp)
      buf.line(
        `<bootp${a("file", ip.bootp.file)}${a("server", ip.bootp.server && formatIp(ip.bootp.server))}/>`,
      );
    buf.dedent();
    buf.line("</dhcp>");
  }
  buf.dedent();
  buf.line("</ip>");
}

/** Formats a network definition as `virsh net-dumpxml` shows it. */
export function formatNetworkXML(def: NetworkDef, opts: NetworkFormatOptions = {}): string {
  const buf = new XmlBuf();
  let open = "<network";
  if (!opts.inactive && def.connections) open += ` connections='${def.connections}'`;
  if (def.ipv6) open += " ipv6='yes'";
  if (def.trustGuestRxFilters !== undefined)
    open += ` trustGuestRxFilters='${def.trustGuestRxFilters ? "yes" : "no"}'`;
  buf.line(`${open}>`);
  buf.indent();
  buf.line(`<name>${esc(def.name)}</name>`);
  buf.line(`<uuid>${def.uuid}</uuid>`);
  formatMetadata(buf, def.metadata);
  formatForward(buf, def, opts);
  const m = def.forward.mode;
  const br = def.bridge;
  if (m === "none" || m === "nat" || m === "route" || m === "open") {
    buf.line(
      `<bridge${a("name", br.name)}${a("zone", br.zone)} stp='${br.stp ? "on" : "off"}' delay='${br.delay}'` +
        `${a("macTableManager", br.macTableManager)}/>`,
    );
  } else if (m === "bridge" && br.name !== undefined) {
    buf.line(`<bridge${a("name", br.name)}${a("macTableManager", br.macTableManager)}/>`);
  }
  if (def.mtu) buf.line(`<mtu size='${def.mtu}'/>`);
  if (def.mac) buf.line(`<mac address='${def.mac}'/>`);
  if (def.domain) {
    const lo = def.domain.localOnly;
    buf.line(
      `<domain${a("name", def.domain.name)}${lo === undefined ? "" : ` localOnly='${lo ? "yes" : "no"}'`}/>`,
    );
  }
  formatDns(buf, def.dns);
  formatVlan(buf, def.vlan);
  formatBandwidth(buf, def.bandwidth);
  if (def.portIsolated !== undefined) buf.line(`<port isolated='${def.portIsolated ? "yes" : "no"}'/>`);
  for (const ip of def.ips) formatIpDef(buf, ip);
  for (const r of def.routes) {
    buf.line(
      `<route${a("family", r.family)}${a("address", formatIp(r.address))}${a("netmask", r.netmask && formatIp(r.netmask))}` +
        `${a("prefix", r.prefix)}${a("gateway", formatIp(r.gateway))}${a("metric", r.metric)}/>`,
    );
  }
  formatVirtualPort(buf, def.virtualport);
  for (const pg of def.portgroups) {
    let o = `<portgroup${a("name", pg.name)}`;
    if (pg.isDefault) o += " default='yes'";
    if (pg.trustGuestRxFilters !== undefined)
      o += ` trustGuestRxFilters='${pg.trustGuestRxFilters ? "yes" : "no"}'`;
    buf.line(`${o}>`);
    buf.indent();
    formatVlan(buf, pg.vlan);
    formatVirtualPort(buf, pg.virtualport);
    formatBandwidth(buf, pg.bandwidth);
    buf.dedent();
    buf.line("</portgroup>");
  }
  buf.dedent();
  buf.line("</network>");
  return buf.toString();
}
