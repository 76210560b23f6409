// IPv4/IPv6 addresses as libvirt's virSocketAddr parses (inet_pton) and prints (inet_ntop,
// RFC 5952 compression), kept as BigInt for range and netmask arithmetic.

export interface IpAddr {
  family: 4 | 6;
  /** The address as an unsigned 32- or 128-bit integer. */
  value: bigint;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let tail4: bigint | undefined;
  let str = s;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    str = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = str.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...Array(8 - total).fill("0"), ...tail];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tail4 !== undefined) v = (v & ~0xffffffffn) | tail4;
  return v;
}

/** Parses a numeric address; `family` restricts it (virSocketAddrParse with AF_INET/AF_INET6). */
export function parseIp(s: string, family?: 4 | 6): IpAddr | undefined {
  if (family !== 6) {
    const v4 = parseV4(s);
    if (v4 !== undefined) return { family: 4, value: v4 };
  }
  if (family !== 4) {
    const v6 = parseV6(s);
    if (v6 !== undefined) return { family: 6, value: v6 };
  }
  return undefined;
}

/** inet_ntop text: dotted quad, or RFC 5952 lowercase with the longest zero run compressed. */
export function formatIp(ip: IpAddr): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => String((ip.value >> sh) & 0xffn)).join(".");
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // IPv4-mapped (::ffff:a.b.c.d) and compatible forms print the tail as a dotted quad, as glibc does.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || (g[5] === 0 && (g[6]! > 0 || g[7]! > 1)))) {
    const v4 = formatIp({ family: 4, value: ip.value & 0xffffffffn });
    return g[5] === 0xffff ? `::ffff:${v4}` : `::${v4}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** Number of leading one bits of a netmask, or undefined when the mask is not contiguous. */
export function netmaskPrefix(mask: IpAddr): number | undefined {
  const bits = mask.family === 4 ? 32 : 128;
  let n = 0;
  while (n < bits && ((mask.value >> BigInt(bits - 1 - n)) & 1n) === 1n) n++;
  const rest = mask.value & ((1n << BigInt(bits - n)) - 1n);
  return rest === 0n ? n : undefined;
}

/** Mask value for a prefix length. */
export function prefixMask(prefix: number, family: 4 | 6): bigint {
  const bits = family === 4 ? 32 : 128;
  return ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
}
