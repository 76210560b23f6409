// Parses dnsmasq's lease file (dhcp-leasefile=): one lease per line, "EXPIRY MAC IP HOSTNAME
// CLIENTID" for DHCPv4; after a "duid SERVER-DUID" line, "EXPIRY IAID IP HOSTNAME CLIENTID" for
// DHCPv6 (dnsmasq lease.c, lease_update_file). "*" means absent. Untrusted text: bounded.
import type { NetworkDHCPLease } from "../../driver/index.js";

/** Leases files beyond this are not read (dnsmasq's lease-max keeps real ones far smaller). */
export const MAX_LEASES_FILE = 4 * 1024 * 1024;

export interface LeaseContext {
  iface: string;
  /** Prefix of the subnet an address is in (from the network's `<ip>`s), -1 when none matches. */
  prefixOf: (ip: string) => number;
}

const opt = (s: string | undefined) => (s === undefined || s === "*" ? null : s);

export function parseDnsmasqLeases(text: string, ctx: LeaseContext): NetworkDHCPLease[] {
  if (text.length > MAX_LEASES_FILE) text = text.slice(0, MAX_LEASES_FILE);
  const out: NetworkDHCPLease[] = [];
  let v6 = false;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    if (f[0] === "duid") {
      v6 = true;
      continue;
    }
    const expiry = Number(f[0]);
    if (!Number.isSafeInteger(expiry) || expiry < 0) continue;
    const ip = f[2]!;
    const isV6 = v6 || ip.includes(":");
    if (!/^[0-9a-fA-F:.]{2,45}$/.test(ip)) continue;
    out.push({
      iface: ctx.iface,
      expirytime: expiry,
      type: isV6 ? 1 : 0,
      mac: isV6 ? null : opt(f[1]),
      iaid: isV6 ? opt(f[1]) : null,
      ipaddr: ip,
      prefix: ctx.prefixOf(ip),
      hostname: opt(f[3]),
      clientid: opt(f[4]),
    });
  }
  return out;
}
