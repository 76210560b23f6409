// Starting and stopping one network on the host, as libvirt's networkStartNetworkVirtual /
// networkShutdownNetworkVirtual: route-collision check, bridge, forwarding, firewall, dnsmasq,
// with every step undone in reverse order when a later one fails.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatIp, type NetworkDef, ownsBridge } from "../../conf/network/index.js";
import {
  createBridge,
  deleteBridge,
  enableForwarding,
  linkExists,
  listRoutes,
  type NetHostOptions,
  nftLoad,
  reloadDnsmasq,
  startDnsmasq,
  stopDnsmasq,
} from "../../host/net/index.js";
import { type DnsmasqPaths, dnsmasqFiles, needsDnsmasq } from "./dnsmasq-conf.js";
import { internal, opFailed, unsupportedConfig } from "./errors.js";
import { ipFamily, networkCidr, prefixOf, subnetsOverlap } from "./net-addr.js";
import { type FirewallNet, nftApplyScript, nftRuleset } from "./nft-ruleset.js";
import { parseIp } from "../../conf/network/index.js";

export interface HostNetContext extends NetHostOptions {
  /** `<run>/network`: pid, conf, hosts and leases files. */
  runDir: string;
  dnsmasqBinary?: string;
}

export function dnsmasqPaths(runDir: string, name: string): DnsmasqPaths & { confFile: string } {
  return {
    confFile: join(runDir, `${name}.conf`),
    pidFile: join(runDir, `${name}.pid`),
    leaseFile: join(runDir, `${name}.leases`),
    hostsFile: join(runDir, `${name}.hostsfile`),
    addnHostsFile: join(runDir, `${name}.addnhosts`),
  };
}

/** networkCheckRouteCollision: refuse a subnet some existing route already covers. */
export async function checkRouteCollision(def: NetworkDef, ctx: HostNetContext): Promise<void> {
  for (const fam of [4, 6] as const) {
    const ips = def.ips.filter((ip) => ipFamily(ip) === fam);
    if (ips.length === 0) continue;
    const routes = await listRoutes(fam, ctx);
    for (const r of routes) {
      if (r.dst === "default" || !r.dev) continue;
      const [a, p] = r.dst.split("/");
      const addr = parseIp(a!);
      if (!addr) continue;
      const rp = p === undefined ? (fam === 4 ? 32 : 128) : Number(p);
      if (fam === 6 && addr.value >> 118n === 0x3fan) continue; // fe80::/10 is on every link
      for (const ip of ips) {
        if (rp === prefixOf(ip) && subnetsOverlap(addr, rp, ip.address, prefixOf(ip))) {
          throw unsupportedConfig(`Network is already in use by interface ${r.dev}`);
        }
      }
    }
  }
}

/** Addresses for the bridge: "a.b.c.d/prefix" per `<ip>`. */
export function bridgeAddresses(def: NetworkDef): string[] {
  return def.ips.map((ip) => `${formatIp(ip.address)}/${prefixOf(ip)}`);
}

/** Replaces our nft table with the rules for `nets` (or removes it when none need rules). */
export async function applyFirewall(nets: FirewallNet[], ctx: HostNetContext): Promise<void> {
  await nftLoad(nftApplyScript(nftRuleset(nets)), ctx);
}

/** Writes dnsmasq's conf and host files for a network. */
export async function writeDnsmasqFiles(def: NetworkDef, ctx: HostNetContext): Promise<void> {
  const p = dnsmasqPaths(ctx.runDir, def.name);
  const f = dnsmasqFiles(def, def.bridge.name!, p);
  await writeFile(p.confFile, f.conf, { mode: 0o600 });
  await writeFile(p.hostsFile, f.hosts, { mode: 0o644 });
  await writeFile(p.addnHostsFile, f.addnHosts, { mode: 0o644 });
}

/**
 * Brings a network up. `others` are the other active networks (for the shared firewall table).
 * Returns the dnsmasq pid (if one was started). On failure nothing of it is left behind.
 */
export async function startNetworkOnHost(
  def: NetworkDef,
  others: FirewallNet[],
  ctx: HostNetContext,
): Promise<number | undefined> {
  const mode = def.forward.mode;
  if (mode === "bridge") {
    const br = def.bridge.name;
    if (br && !(await linkExists(br, ctx))) throw opFailed(`bridge '${br}' does not exist`);
    return undefined;
  }
  if (!ownsBridge(def)) return undefined;
  const br = def.bridge.name;
  if (!br) throw internal(`network '${def.name}' does not have a bridge name.`);
  await checkRouteCollision(def, ctx);
  const undo: (() => Promise<unknown>)[] = [];
  try {
    await createBridge(
      {
        name: br,
        mac: def.mac,
        mtu: def.mtu,
        stp: def.bridge.stp,
        delay: def.bridge.delay,
        addresses: bridgeAddresses(def),
      },
      ctx,
    );
    undo.push(() => deleteBridge(br, ctx));
    if (mode === "nat" || mode === "route") {
      if (def.ips.some((ip) => ipFamily(ip) === 4)) await enableForwarding(4, ctx);
      if (def.ips.some((ip) => ipFamily(ip) === 6)) await enableForwarding(6, ctx);
    }
    const fw = nftRuleset([...others, { def, bridge: br }]);
    if (fw !== "") {
      await applyFirewall([...others, { def, bridge: br }], ctx);
      undo.push(() => applyFirewall(others, ctx));
    }
    let pid: number | undefined;
    if (needsDnsmasq(def)) {
      const p = dnsmasqPaths(ctx.runDir, def.name);
      await writeDnsmasqFiles(def, ctx);
      undo.push(() => removeDnsmasqFiles(def.name, ctx, false));
      pid = await startDnsmasq(p.confFile, p.pidFile, { netns: ctx.netns, binary: ctx.dnsmasqBinary });
    }
    return pid;
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => {});
    throw e instanceof Error && !("code" in e && typeof (e as { code: unknown }).code === "number")
      ? internal(`failed to start network '${def.name}': ${e.message}`)
      : e;
  }
}

export async function removeDnsmasqFiles(name: string, ctx: HostNetContext, leases: boolean): Promise<void> {
  const p = dnsmasqPaths(ctx.runDir, name);
  const files = [p.confFile, p.pidFile, p.hostsFile, p.addnHostsFile];
  if (leases) files.push(p.leaseFile);
  await Promise.all(files.map((f) => rm(f, { force: true })));
}

/** Tears a network down: dnsmasq, firewall (re-applied for `others`), bridge. Best effort. */
export async function stopNetworkOnHost(
  def: NetworkDef,
  pid: number | undefined,
  others: FirewallNet[],
  ctx: HostNetContext,
): Promise<void> {
  if (!ownsBridge(def)) return;
  if (pid !== undefined) await stopDnsmasq(pid).catch(() => {});
  await removeDnsmasqFiles(def.name, ctx, false);
  await applyFirewall(others, ctx).catch(() => {});
  if (def.bridge.name) await deleteBridge(def.bridge.name, ctx).catch(() => {});
}

/**
 * After an update: rewrite the files, then SIGHUP dnsmasq (host files) or restart it (conf
 * changes: it cannot re-read a root-only conf after dropping privileges). Returns the pid.
 */
export async function refreshDnsmasq(
  def: NetworkDef,
  pid: number | undefined,
  ctx: HostNetContext,
  restart: boolean,
): Promise<number | undefined> {
  if (!needsDnsmasq(def)) return pid;
  await writeDnsmasqFiles(def, ctx);
  if (pid !== undefined && !restart) {
    reloadDnsmasq(pid);
    return pid;
  }
  if (pid !== undefined) await stopDnsmasq(pid);
  const p = dnsmasqPaths(ctx.runDir, def.name);
  return startDnsmasq(p.confFile, p.pidFile, { netns: ctx.netns, binary: ctx.dnsmasqBinary });
}

export { networkCidr };
