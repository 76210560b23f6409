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
import { parseXml } from "../../xml/index.js";

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
  "forward pf",
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

/** The texts of one section's refusals (libvirt words each section's differently). */
interface Texts {
  exists: string;
  /** Nothing matches for DELETE (and MODIFY unless `missingModify`). */
  missing: string;
  missingModify?: string;
  /** The refusal of VIR_NETWORK_UPDATE_COMMAND_MODIFY where entries cannot be modified. */
  unmodifiable?: string;
}

/** The usual texts: `what` entry of network `net`, matched by `describe`. */
const plainTexts = (what: string, net: string, describe: string): Texts => ({
  exists: `there is an existing ${what} entry in network '${net}' that matches "${describe}"`,
  missing: `couldn't locate a matching ${what} entry in network '${net}'`,
});

function addOrDelete<T>(list: T[], item: T, command: number, matches: (x: T) => boolean, t: Texts): void {
  const idx = list.findIndex(matches);
  switch (command) {
    case CMD.ADD_FIRST:
    case CMD.ADD_LAST:
      if (idx >= 0) throw invalid(t.exists);
      if (command === CMD.ADD_FIRST) list.unshift(item);
      else list.push(item);
      return;
    case CMD.MODIFY:
      if (t.unmodifiable) throw unsupported(`${t.unmodifiable} cannot be modified, only added or deleted`);
      if (idx < 0) throw invalid(t.missingModify ?? t.missing);
      list[idx] = item;
      return;
    case CMD.DELETE:
      if (idx < 0) throw invalid(t.missing);
      list.splice(idx, 1);
      return;
    default:
      throw unsupported(`unrecognized network update command code ${command}`);
  }
}

/** MODIFY refused before anything else is looked at (libvirt's DNS record handlers). */
function refuseModify(command: number, what: string): void {
  if (command === CMD.MODIFY) throw unsupported(`${what} cannot be modified, only added or deleted`);
}

export function updateNetworkDef(
  def: NetworkDef,
  command: number,
  section: number,
  parentIndex: number,
  xml: string,
): void {
  // virNetworkDefUpdateSection parses the fragment before it looks at the section or command
  parseXml(xml, { context: "network_update_xml", domain: N });
  const net = def.name;
  switch (section) {
    case SEC.BRIDGE:
    case SEC.DOMAIN:
    case SEC.IP:
    case SEC.FORWARD:
    case SEC.FORWARD_PF:
      throw unsupported(`can't update '${SECTION_NAMES[section]}' section of network '${net}'`);
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
      const mac = host.mac ?? "(null)";
      const name = host.name ?? "(null)";
      const ip = host.ip ? formatIp(host.ip) : "(null)";
      addOrDelete(def.ips[i]!.dhcpHosts, host, command, same, {
        ...plainTexts("dhcp host", net, `<host mac='${mac}' name='${name}' ip='${ip}'/>`),
        missingModify: `couldn't locate an existing dhcp host entry with "mac='${mac}'" "name='${name}'" "ip='${ip}'" in network '${net}'`,
      });
      def.ips[i]!.dhcp = true;
      return;
    }
    case SEC.IP_DHCP_RANGE: {
      checkUpdateElement(xml, "range", net);
      // libvirt's shared <ip> lookup words its refusal for "dhcp host" here too
      const i = updateIpIndex(def, parentIndex, "dhcp host", isIPv4);
      // ranges cannot be modified: refused before the range is parsed (and checked)
      if (command === CMD.MODIFY) throw unsupported("dhcp ranges cannot be modified, only added or deleted");
      const [b, a] = dhcpIpWrap(def, i);
      const range = parseUpdateFragment(def, b, xml, a).ips[0]!.dhcpRanges[0]!;
      const same = (x: typeof range) =>
        formatIp(x.start) === formatIp(range.start) && formatIp(x.end) === formatIp(range.end);
      const describe = `<range start='${formatIp(range.start)}' end='${formatIp(range.end)}'/>`;
      addOrDelete(def.ips[i]!.dhcpRanges, range, command, same, {
        ...plainTexts("dhcp range", net, describe),
        unmodifiable: "dhcp ranges",
      });
      def.ips[i]!.dhcp = true;
      return;
    }
    case SEC.DNS_HOST:
    case SEC.DNS_TXT:
    case SEC.DNS_SRV: {
      const elem = section === SEC.DNS_HOST ? "host" : section === SEC.DNS_TXT ? "txt" : "srv";
      const records = `DNS ${elem.toUpperCase()} records`;
      refuseModify(command, records);
      checkUpdateElement(xml, elem, net);
      const dns = parseUpdateFragment(def, "<dns>", xml, "</dns>").dns!;
      def.dns ??= { forwarders: [], txts: [], srvs: [], hosts: [] };
      const what = `DNS ${elem.toUpperCase()} record`;
      const missing = `couldn't locate a matching ${what} in network ${net}`;
      if (section === SEC.DNS_HOST) {
        const h = dns.hosts[0]!;
        const same = (x: typeof h) => formatIp(x.ip) === formatIp(h.ip);
        addOrDelete(def.dns.hosts, h, command, same, {
          exists: `there is already at least one ${what} with a matching field in network ${net}`,
          missing,
        });
      } else if (section === SEC.DNS_TXT) {
        const t = dns.txts[0]!;
        addOrDelete(def.dns.txts, t, command, (x) => x.name === t.name, {
          exists: `there is already a ${what} with name '${t.name}' in network ${net}`,
          missing,
        });
      } else {
        const srv = dns.srvs[0]!;
        addOrDelete(def.dns.srvs, srv, command, (x) => key(x) === key(srv), {
          exists: `there is already at least one ${what} matching all specified fields in network ${net}`,
          missing,
        });
      }
      return;
    }
    case SEC.PORTGROUP: {
      checkUpdateElement(xml, "portgroup", net);
      const pg = parseUpdateFragment(def, "", xml, "").portgroups[0]!;
      const describe = `<portgroup name='${pg.name}'>`;
      addOrDelete(def.portgroups, pg, command, (x) => x.name === pg.name, {
        ...plainTexts("portgroup", net, describe),
        missing: `couldn't find a portgroup entry in network '${net}' matching ${describe}`,
      });
      return;
    }
    case SEC.FORWARD_INTERFACE: {
      checkUpdateElement(xml, "interface", net);
      // Parsed under a mode that takes interfaces without needing the network's IP addresses.
      const f = parseUpdateFragment(def, "<forward mode='passthrough'>", xml, "</forward>");
      const itf = f.forward.ifs[0]!;
      const describe = `<interface dev='${"dev" in itf ? itf.dev : "(null)"}'>`;
      addOrDelete(def.forward.ifs, itf, command, (x) => key(x) === key(itf), {
        ...plainTexts("interface", net, describe),
        missing: `couldn't find an interface entry in network '${net}' matching ${describe}`,
        unmodifiable: "forward interface entries",
      });
      return;
    }
    default:
      throw unsupported("can't update unrecognized section of network");
  }
}
