// Bridge devices of virtual networks with iproute2: create (stp, forward delay, MAC, MTU), give
// addresses, bring up, delete; IPv4/IPv6 forwarding switched on when a network routes; the
// host's routes read to refuse subnets that are already reachable another way.
import { type NetHostOptions, runNet } from "./exec.js";

export interface BridgeSpec {
  name: string;
  mac?: string;
  mtu?: number;
  stp: boolean;
  /** STP forward delay in seconds. */
  delay: number;
  /** "192.168.122.1/24", "2001:db8::1/64". */
  addresses: string[];
}

/** Creates and brings up a bridge; on failure removes what it made and rethrows. */
export async function createBridge(b: BridgeSpec, o: NetHostOptions = {}): Promise<void> {
  const add = ["ip", "link", "add", "name", b.name];
  if (b.mac) add.push("address", b.mac);
  if (b.mtu) add.push("mtu", String(b.mtu));
  // forward_delay is in centiseconds (kernel br_sysfs / iproute2 ip-link(8)).
  add.push("type", "bridge", "stp_state", b.stp ? "1" : "0", "forward_delay", String(b.delay * 100));
  await runNet(add, o);
  try {
    for (const a of b.addresses) {
      const v6 = a.includes(":");
      const cmd = ["ip", ...(v6 ? ["-6"] : []), "addr", "add", a, "dev", b.name];
      if (!v6) cmd.splice(4, 0, "broadcast", "+");
      await runNet(cmd, o);
    }
    await runNet(["ip", "link", "set", "dev", b.name, "up"], o);
  } catch (e) {
    await deleteBridge(b.name, o).catch(() => {});
    throw e;
  }
}

export async function deleteBridge(name: string, o: NetHostOptions = {}): Promise<void> {
  await runNet(["ip", "link", "del", "dev", name], o);
}

/** True if a link of this name exists. */
export async function linkExists(name: string, o: NetHostOptions = {}): Promise<boolean> {
  try {
    await runNet(["ip", "-o", "link", "show", "dev", name], o);
    return true;
  } catch {
    return false;
  }
}

/** Names of every link (for picking free virbrN names). */
export async function linkNames(o: NetHostOptions = {}): Promise<Set<string>> {
  const out = await runNet(["ip", "-o", "link", "show"], o);
  const s = new Set<string>();
  for (const l of out.split("\n")) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(l);
    if (m) s.add(m[1]!);
  }
  return s;
}

/** Turns on forwarding for a family (per namespace: /proc/sys/net/ipv4/ip_forward). */
export async function enableForwarding(family: 4 | 6, o: NetHostOptions = {}): Promise<void> {
  const key = family === 4 ? "net.ipv4.ip_forward=1" : "net.ipv6.conf.all.forwarding=1";
  await runNet(["sysctl", "-q", "-w", key], o);
}

export interface HostRoute {
  /** "192.168.122.0/24", "default". */
  dst: string;
  dev?: string;
}

/** The main table's routes of one family (`ip -o route show`). */
export async function listRoutes(family: 4 | 6, o: NetHostOptions = {}): Promise<HostRoute[]> {
  const out = await runNet(["ip", `-${family}`, "-o", "route", "show"], o);
  const routes: HostRoute[] = [];
  for (const l of out.split("\n")) {
    const f = l.trim().split(/\s+/);
    if (!f[0]) continue;
    let dst = f[0];
    if (["unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit"].includes(dst))
      dst = f[1] ?? "";
    const di = f.indexOf("dev");
    routes.push({ dst, dev: di >= 0 ? f[di + 1] : undefined });
  }
  return routes;
}
