// MAC addresses as libvirt reads and writes them (virMacAddrParse / virMacAddrFormat):
// six hex octets separated by ':' (one or two digits each), printed lowercase two-digit.

import { fillRandom } from "../../util/random-bytes.js";
import { scopedRandom } from "./random.js";

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
  let b = scopedRandom(3);
  if (b === undefined) {
    if (poolAt + 3 > POOL.length) {
      fillRandom(POOL);
      poolAt = 0;
    }
    b = POOL.subarray(poolAt, (poolAt += 3));
  }
  return `${prefix}:${hex2(b[0]!)}:${hex2(b[1]!)}:${hex2(b[2]!)}`;
}

// Random bytes drawn 3 KiB at a time rather than one getrandom call per address; each address
// consumes its own 3 bytes.
const POOL = Buffer.alloc(3072);
let poolAt = POOL.length;

function hex2(x: number): string {
  return x.toString(16).padStart(2, "0");
}
