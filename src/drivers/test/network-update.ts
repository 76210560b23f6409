// virNetworkUpdate for the test driver: add, delete or modify one element of a network
// definition by section (DHCP hosts and ranges, DNS hosts/TXT/SRV, port groups, forward
// interfaces), with the checks and messages of libvirt's virNetworkDefUpdateSection.

import {
  checkUpdateElement,
  dhcpIpWrap,
  formatIp,
  type NetworkDef,
  type NetworkIp,
  parseUpdateFragment,
  updateIpIndex,
} from "../../conf/network/index.js";
import { VIR_NETWORK_SECTION as SEC, VIR_NETWORK_UPDATE_COMMAND as CMD } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";

const N = ErrorDomain.NETWORK;
const SECTION_NAMES = [
  "none",
  "bridge",
  "domain",
  "ip",
  "ip-dhcp-host",
  "ip-dhcp-range",
  "forward",
  "forward-interface",
  "forward-pf",
  "portgroup",
  "dns-host",
  "dns-txt",
  "dns-srv",
];

const invalid = (msg: string) => virError(ErrorCode.OPERATION_INVALID, N, msg);
const unsupported = (msg: string) => virError(ErrorCode.OPERATION_UNSUPPORTED, N, msg);

/** The test driver takes the first `<ip>` that is not IPv6 by family or by address. */
const isIPv4 = (x: NetworkIp) => x.family !== "ipv6" && !formatIp(x.address).includes(":");

const key = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? String(v) : v));

function addOrDelete<T>(
  list: T[],
  item: T,
  command: number,
  matches: (x: T) => boolean,
  what: string,
  net: string,
  describe: () => string,
  modifiable = true,
): void {
  const idx = list.findIndex(matches);
  switch (command) {
    case CMD.ADD_FIRST:
    case CMD.ADD_LAST:
      if (idx >= 0) {
        throw invalid(`there is an existing ${what} entry in network '${net}' that matches "${describe()}"`);
      }
      if (command === CMD.ADD_FIRST) list.unshift(item);
      else list.push(item);
      return;
    case CMD.MODIFY:
      if (!modifiable)
        throw unsupported(
          `${what.replace(/^dhcp range$/, "dhcp ranges")} cannot be modified, only added or deleted`,
        );
      if (idx < 0) throw invalid(`couldn't locate a matching ${what} entry in network '${net}'`);
      list[idx] = item;
      return;
    case CMD.DELETE:
      if (idx < 0) throw invalid(`couldn't locate a matching ${what} entry in network '${net}'`);
      list.splice(idx, 1);
      return;
  }
}

export function updateNetworkDef(
  def: NetworkDef,
  command: number,
  section: number,
  parentIndex: number,
  xml: string,
): void {
  if (command < CMD.MODIFY || command > CMD.ADD_FIRST) {
    throw unsupported(`unrecognized network update command code ${command}`);
  }
  const net = def.name;
  switch (section) {
    case SEC.IP_DHCP_HOST: {
      checkUpdateElement(xml, "host", net);
      const i = updateIpIndex(def, parentIndex, "dhcp host", isIPv4);
      const [b, a] = dhcpIpWrap(def, i);
      const host = parseUpdateFragment(def, b, xml, a).ips[0]!.dhcpHosts[0]!;
      const same = (x: typeof host) =>
        command === CMD.ADD_FIRST || command === CMD.ADD_LAST
          ? (!!host.mac && x.mac?.toLowerCase() === host.mac.toLowerCase()) ||
            (!!host.name && x.name === host.name) ||
            (!!host.ip && !!x.ip && formatIp(x.ip) === formatIp(host.ip))
          : !!host.mac && x.mac?.toLowerCase() === host.mac.toLowerCase();
      const describe = () =>
        `<host mac='${host.mac ?? "(null)"}' name='${host.name ?? "(null)"}' ip='${host.ip ? formatIp(host.ip) : "(null)"}'/>`;
      addOrDelete(def.ips[i]!.dhcpHosts, host, command, same, "dhcp host", net, describe);
      def.ips[i]!.dhcp = true;
      return;
    }
    case SEC.IP_DHCP_RANGE: {
      checkUpdateElement(xml, "range", net);
      const i = updateIpIndex(def, parentIndex, "dhcp range", isIPv4);
      const [b, a] = dhcpIpWrap(def, i);
      const range = parseUpdateFragment(def, b, xml, a).ips[0]!.dhcpRanges[0]!;
      const same = (x: typeof range) =>
        formatIp(x.start) === formatIp(range.start) && formatIp(x.end) === formatIp(range.end);
      const describe = () => `<range start='${formatIp(range.start)}' end='${formatIp(range.end)}'/>`;
      addOrDelete(def.ips[i]!.dhcpRanges, range, command, same, "dhcp range", net, describe, false);
      def.ips[i]!.dhcp = true;
      return;
    }
    case SEC.DNS_HOST:
    case SEC.DNS_TXT:
    case SEC.DNS_SRV: {
      const elem = section === SEC.DNS_HOST ? "host" : section === SEC.DNS_TXT ? "txt" : "srv";
      checkUpdateElement(xml, elem, net);
      const dns = parseUpdateFragment(def, "<dns>", xml, "</dns>").dns!;
      def.dns ??= { forwarders: [], txts: [], srvs: [], hosts: [] };
      const what = `DNS ${elem === "host" ? "HOST" : elem === "txt" ? "TXT" : "SRV"} record`;
      if (section === SEC.DNS_HOST) {
        const h = dns.hosts[0]!;
        const same = (x: typeof h) => formatIp(x.ip) === formatIp(h.ip);
        addOrDelete(def.dns.hosts, h, command, same, what, net, () => formatIp(h.ip));
      } else if (section === SEC.DNS_TXT) {
        const t = dns.txts[0]!;
        addOrDelete(
          def.dns.txts,
          t,
          command,
          (x) => x.name === t.name,
          what,
          net,
          () => t.name,
        );
      } else {
        const s = dns.srvs[0]!;
        addOrDelete(
          def.dns.srvs,
          s,
          command,
          (x) => key(x) === key(s),
          what,
          net,
          () => s.service,
        );
      }
      return;
    }
    case SEC.PORTGROUP: {
      checkUpdateElement(xml, "portgroup", net);
      const pg = parseUpdateFragment(def, "", xml, "").portgroups[0]!;
      const describe = () => `<portgroup name='${pg.name}'>`;
      addOrDelete(def.portgroups, pg, command, (x) => x.name === pg.name, "portgroup", net, describe);
      return;
    }
    case SEC.FORWARD_INTERFACE: {
      checkUpdateElement(xml, "interface", net);
      // Parsed under a mode that takes interfaces without needing the network's IP addresses.
      const f = parseUpdateFragment(def, "<forward mode='passthrough'>", xml, "</forward>");
      const itf = f.forward.ifs[0]!;
      addOrDelete(
        def.forward.ifs,
        itf,
        command,
        (x) => key(x) === key(itf),
        "forward interface",
        net,
        () => key(itf),
      );
      return;
    }
    default:
      throw unsupported(`can't update '${SECTION_NAMES[section] ?? section}' section of network '${net}'`);
  }
}
