// MAC addresses as libvirt reads and writes them (virMacAddrParse / virMacAddrFormat):
// six hex octets separated by ':' (one or two digits each), printed lowercase two-digit.

import { randomFillSync } from "node:crypto";

/** Canonical "xx:xx:xx:xx:xx:xx", or undefined when libvirt would reject it. */
export function parseMac(s: string): string | undefined {
  const parts = s.split(":");
  if (parts.length !== 6) return undefined;
  const out: string[] = [];
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return undefined;
    out.push(p.toLowerCase().padStart(2, "0"));
  }
  return out.join(":");
}

/** True for a multicast address (lowest bit of the first octet), which libvirt refuses for NICs. */
export function isMulticastMac(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** A random address under `prefix` (libvirt's QEMU/test prefix is 52:54:00). */
export function generateMac(prefix = "52:54:00"): string {
  if (poolAt + 3 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const b = POOL.subarray(poolAt, (poolAt += 3));
  return `${prefix}:${hex2(b[0]!)}:${hex2(b[1]!)}:${hex2(b[2]!)}`;
}

// Random bytes drawn 3 KiB at a time rather than one getrandom call per address; each address
// consumes its own 3 bytes.
const POOL = Buffer.alloc(3072);
let poolAt = POOL.length;

function hex2(x: number): string {
  return x.toString(16).padStart(2, "0");
}
