// MAC addresses as libvirt reads and writes them (virMacAddrParse / virMacAddrFormat):
// six hex octets separated by ':' (one or two digits each), printed lowercase two-digit.

import { identifierBytes } from "./random.js";

/** Canonical "xx:xx:xx:xx:xx:xx", or undefined when libvirt would reject it. */
export function parseMac(s: string): string | undefined {
  const m = MAC.exec(s);
  if (!m) return undefined;
  // The usual spelling (two lowercase digits an octet) is already canonical.
  if (s.length === 17 && !/[A-F]/.test(s)) return s;
  let out = "";
  for (let i = 1; i <= 6; i++) out += (i > 1 ? ":" : "") + m[i]!.toLowerCase().padStart(2, "0");
  return out;
}

const MAC =
  /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/;

/** True for a multicast address (lowest bit of the first octet), which libvirt refuses for NICs. */
export function isMulticastMac(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** A random address under `prefix` (libvirt's QEMU/test prefix is 52:54:00). */
export function generateMac(prefix = "52:54:00"): string {
  const b = identifierBytes(3);
  return `${prefix}:${hex2(b[0]!)}:${hex2(b[1]!)}:${hex2(b[2]!)}`;
}

function hex2(x: number): string {
  return x.toString(16).padStart(2, "0");
}
