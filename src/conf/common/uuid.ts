// UUIDs as libvirt reads and writes them (virUUIDParse / virUUIDFormat): 32 hex digits,
// dashes allowed between bytes, printed lowercase 8-4-4-4-12.

import { fillRandom } from "../../util/random-bytes.js";
import { scopedRandom } from "./random.js";

/** Canonical lowercase form, or undefined when `s` is not a UUID libvirt would accept. */
export function parseUuid(s: string): string | undefined {
  let i = 0;
  while (i < s.length && /\s/.test(s[i]!)) i++;
  let hex = "";
  while (hex.length < 32 && i < s.length) {
    const c = s[i]!;
    if (c === "-") {
      i++;
      continue;
    }
    if (!/[0-9a-fA-F]/.test(c) || !/[0-9a-fA-F]/.test(s[i + 1] ?? "")) return undefined;
    hex += (c + s[i + 1]!).toLowerCase();
    i += 2;
  }
  if (hex.length < 32) return undefined;
  while (i < s.length) {
    if (!/\s/.test(s[i]!)) return undefined;
    i++;
  }
  return formatUuidHex(hex);
}

function formatUuidHex(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Random bytes are drawn 4 KiB at a time (one getrandom call per 256 UUIDs): a call per UUID
// cost a sixth of a define. Each UUID consumes its own 16 bytes; none is handed out twice.
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A random version-4 UUID, as virUUIDGenerate makes. */
export function generateUuid(): string {
  let b: Uint8Array | undefined = scopedRandom(16);
  let at = 0;
  if (b === undefined) {
    if (poolAt + 16 > POOL.length) {
      fillRandom(POOL);
      poolAt = 0;
    }
    b = POOL;
    at = poolAt;
    poolAt += 16;
  }
  b[at + 6] = (b[at + 6]! & 0x0f) | 0x40;
  b[at + 8] = (b[at + 8]! & 0x3f) | 0x80;
  let u = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) u += "-";
    u += HEX_BYTE[b[at + i]!];
  }
  return u;
}

/** Raw 16 bytes of a canonical UUID string (for the RPC wire). */
export function uuidToBytes(uuid: string): Uint8Array {
  return Uint8Array.from(Buffer.from(uuid.replace(/-/g, ""), "hex"));
}

/** Canonical string of 16 raw bytes. */
export function uuidFromBytes(b: Uint8Array): string {
  return formatUuidHex(Buffer.from(b).toString("hex"));
}
