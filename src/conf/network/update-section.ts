// Pure pieces of virNetworkDefUpdateSection (libvirt src/conf/network_conf.c) that every network
// driver's virNetworkUpdate uses: the element check, locating the target <ip>, and parsing an
// entry in the context of its parent so it gets the parent's checks.
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { escapeXml, parseXml } from "../../xml/index.js";
import { formatIp } from "./ip-addr.js";
import { parseNetworkXML } from "./parse.js";
import type { NetworkDef, NetworkIp } from "./types.js";

const N = ErrorDomain.NETWORK;

/** The update's XML must be one element named `want`. */
export function checkUpdateElement(xml: string, want: string, net: string): void {
  const root = parseXml(xml, { context: "(network_update)", domain: N });
  if (root.name !== want) {
    throw virError(
      ErrorCode.XML_ERROR,
      N,
      `unexpected element <${root.name}>, expecting <${want}>, while updating network '${net}'`,
    );
  }
}

/** The `<ip>` a DHCP entry goes to: the given index, else the first IPv4 one (as `isIPv4` judges). */
export function updateIpIndex(
  def: NetworkDef,
  parentIndex: number,
  what: string,
  isIPv4: (ip: NetworkIp) => boolean,
): number {
  if (parentIndex >= 0) {
    if (!def.ips[parentIndex]) {
      throw virError(
        ErrorCode.OPERATION_INVALID,
        N,
        `couldn't update ${what} entry - no <ip> element found at index ${parentIndex} in network '${def.name}'`,
      );
    }
    return parentIndex;
  }
  const i = def.ips.findIndex(isIPv4);
  if (i < 0)
    throw virError(
      ErrorCode.OPERATION_INVALID,
      N,
      `couldn't update ${what} entry - no <ip> element found in network '${def.name}'`,
    );
  return i;
}

/** Parses a fragment by wrapping it into a network document of the same name. */
export function parseUpdateFragment(def: NetworkDef, before: string, xml: string, after: string): NetworkDef {
  return parseNetworkXML(`<network><name>${escapeXml(def.name)}</name>${before}${xml}${after}</network>`);
}

/** Opening and closing text of a copy of `<ip>` number i with its `<dhcp>`, to parse hosts and ranges in. */
export function dhcpIpWrap(def: NetworkDef, i: number): [string, string] {
  const ip = def.ips[i]!;
  const mask = ip.netmask
    ? ` netmask='${formatIp(ip.netmask)}'`
    : ip.prefix !== undefined
      ? ` prefix='${ip.prefix}'`
      : "";
  const fam = ip.family ? ` family='${ip.family}'` : "";
  return [`<ip${fam} address='${formatIp(ip.address)}'${mask}><dhcp>`, "</dhcp></ip>"];
}

/** A `<host>`/`<range>` parsed inside a copy of `<ip>` number i (so ranges are checked against it). */
export function parseInDhcpIp(def: NetworkDef, i: number, xml: string): NetworkIp {
  const [before, after] = dhcpIpWrap(def, i);
  return parseUpdateFragment(def, before, xml, after).ips[0]!;
}
