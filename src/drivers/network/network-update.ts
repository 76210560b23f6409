// virNetworkUpdate sections the bridge driver applies to a definition: DHCP hosts and ranges and
// DNS hosts, with the checks and messages of libvirt's virNetworkDefUpdateSection. Pure: the
// driver then rewrites dnsmasq's files and signals it.
import { formatIp, type NetworkDef, parseNetworkXML } from "../../conf/network/index.js";
import { VIR_NETWORK_SECTION as SEC, VIR_NETWORK_UPDATE_COMMAND as CMD } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { escapeXml, parseXml } from "../../xml/index.js";

const N = ErrorDomain.NETWORK;
const invalid = (msg: string) => virError(ErrorCode.OPERATION_INVALID, N, msg);
const unsupported = (msg: string) => virError(ErrorCode.OPERATION_UNSUPPORTED, N, msg);
const SECTIONS = ["none", "bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range", "forward"];

function expect(xml: string, want: string, net: string): void {
  const root = parseXml(xml, { context: "(network_update)", domain: N });
  if (root.name !== want) {
    throw virError(
      ErrorCode.XML_ERROR,
      N,
      `unexpected element <${root.name}>, expecting <${want}>, while updating network '${net}'`,
    );
  }
}

/** The `<ip>` an entry goes to: the given index, else the first IPv4 one. */
function ipIndex(def: NetworkDef, parentIndex: number, what: string): number {
  if (parentIndex >= 0) {
    if (!def.ips[parentIndex]) {
      throw invalid(
        `couldn't update ${what} entry - no <ip> element found at index ${parentIndex} in network '${def.name}'`,
      );
    }
    return parentIndex;
  }
  const i = def.ips.findIndex((x) => x.address.family === 4);
  if (i < 0) throw invalid(`couldn't update ${what} entry - no <ip> element found in network '${def.name}'`);
  return i;
}

/** Parses a `<host>`/`<range>` inside a copy of the target `<ip>` (so ranges are checked against it). */
function parseInIp(def: NetworkDef, i: number, xml: string) {
  const ip = def.ips[i]!;
  const mask = ip.netmask
    ? ` netmask='${formatIp(ip.netmask)}'`
    : ip.prefix !== undefined
      ? ` prefix='${ip.prefix}'`
      : "";
  const fam = ip.family ? ` family='${ip.family}'` : "";
  const doc = `<network><name>${escapeXml(def.name)}</name><ip${fam} address='${formatIp(ip.address)}'${mask}><dhcp>${xml}</dhcp></ip></network>`;
  return parseNetworkXML(doc).ips[0]!;
}

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
    expect(xml, "host", net);
    const i = ipIndex(def, parentIndex, "dhcp host");
    const host = parseInIp(def, i, xml).dhcpHosts[0]!;
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
    expect(xml, "range", net);
    if (command === CMD.MODIFY) throw unsupported("dhcp ranges cannot be modified, only added or deleted");
    const i = ipIndex(def, parentIndex, "dhcp range");
    const range = parseInIp(def, i, xml).dhcpRanges[0]!;
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
