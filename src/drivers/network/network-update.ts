// virNetworkUpdate sections the bridge driver applies to a definition: DHCP hosts and ranges and
// DNS hosts, with the checks and messages of libvirt's virNetworkDefUpdateSection. Pure: the
// driver then rewrites dnsmasq's files and signals it.
import {
  checkUpdateElement,
  formatIp,
  type NetworkDef,
  type NetworkIp,
  parseInDhcpIp,
  updateIpIndex,
} from "../../conf/network/index.js";
import { VIR_NETWORK_SECTION as SEC, VIR_NETWORK_UPDATE_COMMAND as CMD } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";

const N = ErrorDomain.NETWORK;
const invalid = (msg: string) => virError(ErrorCode.OPERATION_INVALID, N, msg);
const unsupported = (msg: string) => virError(ErrorCode.OPERATION_UNSUPPORTED, N, msg);
const SECTIONS = ["none", "bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range", "forward"];
/** The bridge driver takes the first `<ip>` whose address is IPv4. */
const isIPv4 = (ip: NetworkIp) => ip.address.family === 4;

function apply<T>(
  list: T[],
  item: T,
  command: number,
  idx: number,
  what: string,
  net: string,
  describe: () => string,
): void {
  if (command === CMD.ADD_FIRST || command === CMD.ADD_LAST) {
    if (idx >= 0)
      throw invalid(`there is an existing ${what} entry in network '${net}' that matches "${describe()}"`);
    if (command === CMD.ADD_FIRST) list.unshift(item);
    else list.push(item);
    return;
  }
  if (idx < 0) throw invalid(`couldn't locate a matching ${what} entry in network '${net}'`);
  if (command === CMD.DELETE) list.splice(idx, 1);
  else list[idx] = item;
}

/** Applies one update to `def` in place. */
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
  const add = command === CMD.ADD_FIRST || command === CMD.ADD_LAST;
  if (section === SEC.IP_DHCP_HOST) {
    checkUpdateElement(xml, "host", net);
    const i = updateIpIndex(def, parentIndex, "dhcp host", isIPv4);
    const host = parseInDhcpIp(def, i, xml).dhcpHosts[0]!;
    const hosts = def.ips[i]!.dhcpHosts;
    const sameMac = (x: typeof host) => !!host.mac && x.mac?.toLowerCase() === host.mac.toLowerCase();
    const idx = hosts.findIndex((x) =>
      add
        ? sameMac(x) ||
          (!!host.name && x.name === host.name) ||
          (!!host.ip && !!x.ip && formatIp(x.ip) === formatIp(host.ip))
        : sameMac(x) || (!host.mac && !!host.ip && !!x.ip && formatIp(x.ip) === formatIp(host.ip)),
    );
    const describe = () =>
      `<host mac='${host.mac ?? "(null)"}' name='${host.name ?? "(null)"}' ip='${host.ip ? formatIp(host.ip) : "(null)"}'/>`;
    apply(hosts, host, command, idx, "dhcp host", net, describe);
    def.ips[i]!.dhcp = true;
    return;
  }
  if (section === SEC.IP_DHCP_RANGE) {
    checkUpdateElement(xml, "range", net);
    if (command === CMD.MODIFY) throw unsupported("dhcp ranges cannot be modified, only added or deleted");
    const i = updateIpIndex(def, parentIndex, "dhcp range", isIPv4);
    const range = parseInDhcpIp(def, i, xml).dhcpRanges[0]!;
    const ranges = def.ips[i]!.dhcpRanges;
    const idx = ranges.findIndex(
      (x) => formatIp(x.start) === formatIp(range.start) && formatIp(x.end) === formatIp(range.end),
    );
    const describe = () => `<range start='${formatIp(range.start)}' end='${formatIp(range.end)}'/>`;
    apply(ranges, range, command, idx, "dhcp range", net, describe);
    def.ips[i]!.dhcp = true;
    return;
  }
  throw unsupported(`can't update '${SECTIONS[section] ?? section}' section of network '${net}'`);
}
