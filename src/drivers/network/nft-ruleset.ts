// Pure generator of the nftables ruleset for all active bridge networks: one table of our own
// (`table inet tsvirt_net`), the nftables equivalent of libvirt 9.0's iptables rules
// (network_iptables.c / networkAddFirewallRules): DHCP/DNS accepts on the bridge, the LIBVIRT_FWX
// / FWI / FWO forward chains in that order, and masquerade for forward mode nat with source
// ports 1024-65535 for tcp and udp. Forward mode open and bridge get no rules at all.
import { formatIp, type NetworkDef, type NetworkIp } from "../../conf/network/index.js";
import { ipFamily, networkCidr } from "./net-addr.js";

export const NFT_TABLE = "tsvirt_net";
export const NFT_FAMILY = "inet";

/** A network as the firewall sees it: definition and its bridge device. */
export interface FirewallNet {
  def: NetworkDef;
  bridge: string;
}

const q = (s: string) => JSON.stringify(s);

function needsRules(n: FirewallNet): boolean {
  const m = n.def.forward.mode;
  return m === "nat" || m === "route" || m === "none";
}

/** The `ip`/`ip6` match keyword of an `<ip>`. */
const fam = (ip: NetworkIp) => (ipFamily(ip) === 4 ? "ip" : "ip6");

/** The forward device (`<forward dev=>`), if the network names one. */
function forwardDev(def: NetworkDef): string | undefined {
  const d = def.forward.ifs[0];
  return d && "dev" in d ? d.dev : undefined;
}

/** Addresses that get NAT: IPv4 always, IPv6 only with `<nat ipv6='yes'>`. */
function natIps(def: NetworkDef): NetworkIp[] {
  return def.ips.filter((ip) => ipFamily(ip) === 4 || def.forward.nat?.ipv6 === true);
}

function inputRules(n: FirewallNet): string[] {
  const br = q(n.bridge);
  // LIBVIRT_INP / LIBVIRT_OUT: DNS (53) and DHCP server (67) in, DNS and DHCP client (68) out.
  const r = [`iifname ${br} udp dport { 53, 67 } accept`, `iifname ${br} tcp dport { 53, 67 } accept`];
  if (n.def.ips.some((ip) => ipFamily(ip) === 6)) r.push(`iifname ${br} udp dport 547 accept`);
  return r;
}

function outputRules(n: FirewallNet): string[] {
  const br = q(n.bridge);
  const r = [`oifname ${br} udp dport { 53, 68 } accept`, `oifname ${br} tcp dport { 53, 68 } accept`];
  if (n.def.ips.some((ip) => ipFamily(ip) === 6)) r.push(`oifname ${br} udp dport 546 accept`);
  return r;
}

/** LIBVIRT_FWX: guests on the same bridge talk to each other. */
function fwxRules(n: FirewallNet): string[] {
  return [`iifname ${q(n.bridge)} oifname ${q(n.bridge)} accept`];
}

/** LIBVIRT_FWI: traffic into the network (related/established only for nat), then reject. */
function fwiRules(n: FirewallNet): string[] {
  const br = q(n.bridge);
  const r: string[] = [];
  const dev = forwardDev(n.def);
  const inDev = dev ? `iifname ${q(dev)} ` : "";
  const m = n.def.forward.mode;
  if (m === "nat" || m === "route") {
    const nated = natIps(n.def);
    for (const ip of n.def.ips) {
      // NATed subnets take only replies; routed ones (and IPv6 without <nat ipv6='yes'>) anything.
      const ct = m === "nat" && nated.includes(ip) ? " ct state related,established" : "";
      r.push(`${inDev}oifname ${br} ${fam(ip)} daddr ${networkCidr(ip)}${ct} accept`);
    }
  }
  r.push(`oifname ${br} reject`);
  return r;
}

/** LIBVIRT_FWO: traffic out of the network from its own subnets, then reject. */
function fwoRules(n: FirewallNet): string[] {
  const br = q(n.bridge);
  const r: string[] = [];
  const dev = forwardDev(n.def);
  const outDev = dev ? ` oifname ${q(dev)}` : "";
  const m = n.def.forward.mode;
  if (m === "nat" || m === "route") {
    for (const ip of n.def.ips) {
      r.push(`iifname ${br}${outDev} ${fam(ip)} saddr ${networkCidr(ip)} accept`);
    }
  }
  r.push(`iifname ${br} reject`);
  return r;
}

/** LIBVIRT_PRT: masquerade what leaves the subnet, never multicast or broadcast. */
function natRules(n: FirewallNet): string[] {
  if (n.def.forward.mode !== "nat") return [];
  const nat = n.def.forward.nat;
  const dev = forwardDev(n.def);
  const outDev = dev ? ` oifname ${q(dev)}` : "";
  const ports = `${nat?.portStart ?? 1024}-${nat?.portEnd ?? 65535}`;
  const r: string[] = [];
  for (const ip of natIps(n.def)) {
    const f = fam(ip);
    const net = networkCidr(ip);
    const src = `${f} saddr ${net}`;
    if (f === "ip") {
      r.push(`${src} ip daddr 224.0.0.0/24${outDev} return`);
      r.push(`${src} ip daddr 255.255.255.255${outDev} return`);
    } else r.push(`${src} ip6 daddr ff02::/16${outDev} return`);
    let target = "masquerade";
    let targetPorts = `masquerade to :${ports}`;
    if (f === "ip" && nat?.addrStart) {
      const a = formatIp(nat.addrStart);
      const range = nat.addrEnd ? `${a}-${formatIp(nat.addrEnd)}` : a;
      target = `snat ip to ${range}`;
      targetPorts = `snat ip to ${range}:${ports}`;
    }
    r.push(`meta l4proto tcp ${src} ${f} daddr != ${net}${outDev} ${targetPorts}`);
    r.push(`meta l4proto udp ${src} ${f} daddr != ${net}${outDev} ${targetPorts}`);
    r.push(`${src} ${f} daddr != ${net}${outDev} ${target}`);
  }
  return r;
}

function chain(name: string, head: string | undefined, rules: string[]): string {
  const lines = [`\tchain ${name} {`];
  if (head) lines.push(`\t\t${head}`);
  for (const r of rules) lines.push(`\t\t${r}`);
  lines.push("\t}");
  return lines.join("\n");
}

/**
 * The whole table for the given networks (sorted by bridge so output is stable). Empty when no
 * network needs rules; the caller then deletes the table instead.
 */
export function nftRuleset(nets: FirewallNet[]): string {
  const ns = nets.filter(needsRules).sort((a, b) => (a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0));
  if (ns.length === 0) return "";
  const all = (f: (n: FirewallNet) => string[]) => ns.flatMap(f);
  const chains = [
    chain("input", "type filter hook input priority filter; policy accept;", all(inputRules)),
    chain("output", "type filter hook output priority filter; policy accept;", all(outputRules)),
    chain("forward", "type filter hook forward priority filter; policy accept;", [
      "jump fwx",
      "jump fwi",
      "jump fwo",
    ]),
    chain("fwx", undefined, all(fwxRules)),
    chain("fwi", undefined, all(fwiRules)),
    chain("fwo", undefined, all(fwoRules)),
    chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;", all(natRules)),
  ];
  return `table ${NFT_FAMILY} ${NFT_TABLE} {\n${chains.join("\n")}\n}\n`;
}

/** The script `nft -f` runs to replace our table atomically (or remove it when `ruleset` is empty). */
export function nftApplyScript(ruleset: string): string {
  // Declaring the table first makes the delete valid whether or not it existed.
  const reset = `table ${NFT_FAMILY} ${NFT_TABLE}\ndelete table ${NFT_FAMILY} ${NFT_TABLE}\n`;
  return reset + ruleset;
}
