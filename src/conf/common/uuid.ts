// UUIDs as libvirt reads and writes them (virUUIDParse / virUUIDFormat): 32 hex digits,
// dashes allowed between bytes, printed lowercase 8-4-4-4-12.

import { identifierBytes } from "./random.js";

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

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A random version-4 UUID, as virUUIDGenerate makes. */
export function generateUuid(): string {
  const b = identifierBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let u = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) u += "-";
    u += HEX_BYTE[b[i]!];
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
