// Address arithmetic the network driver needs on `<ip>` elements: family, prefix, the network
// address in CIDR form, the dotted netmask, and the size of DHCP ranges. Pure.
import { formatIp, type IpAddr, type NetworkIp } from "../../conf/network/index.js";
import { ipPrefix } from "../../conf/network/parse-ip.js";
import { prefixMask } from "../../conf/network/ip-addr.js";

export function ipFamily(ip: NetworkIp): 4 | 6 {
  return ip.address.family;
}

export function prefixOf(ip: NetworkIp): number {
  return ipPrefix(ip);
}

/** "192.168.122.0/24" for 192.168.122.1 with netmask 255.255.255.0. */
export function networkCidr(ip: NetworkIp): string {
  const p = prefixOf(ip);
  const fam = ipFamily(ip);
  const value = ip.address.value & prefixMask(p, fam);
  return `${formatIp({ family: fam, value })}/${p}`;
}

/** Dotted IPv4 netmask for the ip's prefix. */
export function netmaskString(ip: NetworkIp): string {
  return formatIp({ family: 4, value: prefixMask(prefixOf(ip), 4) });
}

/** Number of addresses in an inclusive range. */
export function rangeSize(start: IpAddr, end: IpAddr): number {
  return Number(end.value - start.value) + 1;
}

/** True when the address lies within `cidr`'s network (same family). */
export function inSubnet(addr: IpAddr, net: IpAddr, prefix: number): boolean {
  if (addr.family !== net.family) return false;
  const m = prefixMask(prefix, addr.family);
  return (addr.value & m) === (net.value & m);
}

/** True when two networks overlap (either contains the other's base). */
export function subnetsOverlap(a: IpAddr, ap: number, b: IpAddr, bp: number): boolean {
  const p = Math.min(ap, bp);
  return inSubnet(a, b, p);
}
