// The host network driver's state, one per daemon (libvirt's virNetworkDriverState): networks
// persisted as `<etc>/network/NAME.xml` with `autostart/` links, live definitions (with bridge
// name and MAC) under `<run>/network/`, re-attached at load; autostart networks started; a
// `default` NAT network (virbr0, 192.168.122.0/24) defined and marked autostart on first start.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import {
  assignBridgeMac,
  assignBridgeName,
  formatNetworkXML,
  type NetworkDef,
  parseNetworkXML,
} from "../../conf/network/index.js";
import type { NetworkEvent, NetworkRef } from "../../driver/index.js";
import { VIR_NETWORK_EVENT, VIR_NETWORK_EVENT_ID } from "../../driver/index.js";
import { readFileSync } from "node:fs";
import { isZombie, pidAlive, readPidfile } from "../../host/index.js";
import { linkExists, linkNames as nsLinkNames } from "../../host/net/index.js";
import {
  applyNewDef,
  EventQueue,
  JobLocks,
  loadHostObjects,
  ObjectList,
  XmlStore,
} from "../../state/index.js";
import { internal, opFailed, opInvalid, unsupportedConfig } from "./errors.js";
import type { HostNetwork } from "./network-obj.js";
import { needsDnsmasq } from "./dnsmasq-conf.js";
import {
  applyFirewall,
  dnsmasqPaths,
  type HostNetContext,
  refreshDnsmasq,
  startNetworkOnHost,
  stopNetworkOnHost,
} from "./network-start.js";
import type { FirewallNet } from "./nft-ruleset.js";

export interface NetworkDriverOptions {
  /** Persistent configs: `<etc>/network`. */
  configDir: string;
  /** Live records and dnsmasq files: `<run>/network`. */
  runDir: string;
  /** Run every host command in this named network namespace (tests). */
  netns?: string;
  /** Define the `default` NAT network on first start (default true). */
  defaultNetwork?: boolean;
  /** Start autostart networks at load (default true). */
  autostart?: boolean;
  dnsmasqBinary?: string;
  warn?: (msg: string) => void;
}

/** libvirt's packaged default.xml (network/default.xml.in). */
export const DEFAULT_NETWORK_XML = `<network>
  <name>default</name>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`;

export class NetworkDriverState {
  readonly nets = new ObjectList<HostNetwork>();
  readonly events = new EventQueue<NetworkEvent>((e) => e.net.uuid);
  readonly locks = new JobLocks();
  readonly store: XmlStore;
  readonly runStore: XmlStore;
  readonly ctx: HostNetContext;

  constructor(readonly opts: NetworkDriverOptions) {
    this.store = new XmlStore(opts.configDir);
    this.runStore = new XmlStore(opts.runDir);
    this.ctx = { runDir: opts.runDir, netns: opts.netns, dnsmasqBinary: opts.dnsmasqBinary };
  }

  ref(n: HostNetwork): NetworkRef {
    return { name: n.name, uuid: n.uuid };
  }

  emit(n: HostNetwork, event: number): void {
    this.events.emit({ eventId: VIR_NETWORK_EVENT_ID.LIFECYCLE, net: this.ref(n), event, detail: 0 });
  }

  warn(msg: string): void {
    this.opts.warn?.(msg);
  }

  /** Bridge driver define-time defaults: a free virbrN and a MAC (networkValidate/SetBridge*). */
  async assignDefaults(def: NetworkDef): Promise<void> {
    // networkValidate: dnsmasq serves DHCP on one subnet per family.
    for (const [fam, label] of [
      [4, "IPv4"],
      [6, "IPv6"],
    ] as const) {
      const n = def.ips.filter(
        (ip) => ip.address.family === fam && (ip.dhcpRanges.length || ip.dhcpHosts.length),
      );
      if (n.length > 1)
        throw unsupportedConfig(
          `Multiple ${label} dhcp sections found -- dhcp is supported only for a single ${label} address on each network`,
        );
    }
    const inUse = new Set<string>();
    for (const n of this.nets.values()) {
      if (n.uuid === def.uuid) continue;
      for (const d of [n.def, n.newDef]) if (d?.bridge.name) inUse.add(d.bridge.name);
    }
    const given = def.bridge.name;
    if (given && !given.includes("%d")) {
      if (inUse.has(given)) throw internal(`bridge name '${given}' already in use.`);
    } else {
      for (const l of await nsLinkNames({ netns: this.opts.netns }).catch(() => new Set<string>()))
        inUse.add(l);
      if (!assignBridgeName(def, inUse)) throw internal("Bridge generation exceeded max id 256");
    }
    const prev = this.nets.byUuid(def.uuid);
    if (!def.mac && prev?.def.mac && prev.def.bridge.name === def.bridge.name) def.mac = prev.def.mac;
    assignBridgeMac(def);
  }

  /** Firewall view of the active networks other than `except`. */
  activeFirewall(except?: HostNetwork): FirewallNet[] {
    return this.nets
      .filter((n) => n.active && n !== except && !!n.def.bridge.name)
      .map((n) => ({ def: n.def, bridge: n.def.bridge.name! }));
  }

  /** Starts an inactive network on the host and records it live. */
  async start(n: HostNetwork): Promise<void> {
    if (n.active) throw opInvalid("network is already active");
    applyNewDef(n);
    n.dnsmasqPid = await startNetworkOnHost(n.def, this.activeFirewall(n), this.ctx);
    n.active = true;
    try {
      await this.runStore.save(n.name, formatNetworkXML(n.def));
    } catch (e) {
      await this.stop(n).catch(() => {});
      throw e;
    }
  }

  /** The live dnsmasq started on this network's conf file, by its pidfile (pids get reused). */
  ourDnsmasq(name: string): number | undefined {
    const p = dnsmasqPaths(this.opts.runDir, name);
    const pid = readPidfile(p.pidFile);
    if (pid === undefined || !pidAlive(pid) || isZombie(pid)) return undefined;
    return cmdline(pid).includes(p.confFile) ? pid : undefined;
  }

  /** Stops an active network (networkShutdownNetwork's work, without checks or events). */
  async stop(n: HostNetwork): Promise<void> {
    n.active = false;
    const pid = n.dnsmasqPid ?? this.ourDnsmasq(n.name);
    await stopNetworkOnHost(n.def, pid, this.activeFirewall(n), this.ctx);
    n.dnsmasqPid = undefined;
    await this.runStore.remove(n.name);
    applyNewDef(n);
    if (!n.persistent) this.nets.remove(n);
  }

  /** Stops every active network (daemon shutdown in tests; libvirt leaves them running). */
  async stopAll(): Promise<void> {
    for (const n of this.nets.filter((x) => x.active)) await this.stop(n).catch(() => {});
  }

  addNew(def: NetworkDef, persistent: boolean): HostNetwork {
    return this.nets.add({
      name: def.name,
      uuid: def.uuid,
      def,
      active: false,
      persistent,
      autostart: false,
    });
  }

  /** Loads configs, re-attaches live networks, defines the default network, runs autostart. */
  async load(): Promise<void> {
    const firstStart = !existsSync(this.opts.configDir);
    await this.store.init();
    await mkdir(this.opts.runDir, { recursive: true, mode: 0o755 });
    await loadHostObjects({
      list: this.nets,
      store: this.store,
      runStore: this.runStore,
      parse: parseNetworkXML,
      add: (def, persistent) => this.addNew(def, persistent),
      reattach: (n) => this.reattach(n),
      cleanup: (n) => stopNetworkOnHost(n.def, undefined, [], this.ctx).catch(() => {}),
      noun: "network",
      label: "network",
      warn: (m) => this.warn(m),
    });
    // Our table is rebuilt from what is really running now. With nothing running it is left
    // alone: another daemon (tests run several side by side) may own rules in it.
    const running = this.activeFirewall();
    if (running.length > 0) {
      await applyFirewall(running, this.ctx).catch((e) =>
        this.warn(`cannot load firewall rules: ${(e as Error).message}`),
      );
    }
    if (firstStart && this.opts.defaultNetwork !== false && !this.nets.byName("default")) {
      await this.createDefaultNetwork();
    }
    if (this.opts.autostart === false) return;
    for (const n of this.nets.values()) {
      if (!n.autostart || n.active) continue;
      try {
        await this.start(n);
        this.emit(n, VIR_NETWORK_EVENT.STARTED);
      } catch (e) {
        this.warn(`failed to autostart network '${n.name}': ${(e as Error).message}`);
      }
    }
  }

  /** A network recorded live is still up when its bridge exists and its dnsmasq still runs. */
  private async reattach(n: HostNetwork): Promise<void> {
    const br = n.def.bridge.name;
    const mode = n.def.forward.mode;
    const owns = mode === "nat" || mode === "route" || mode === "open" || mode === "none";
    if (owns && br && !(await linkExists(br, { netns: this.opts.netns })))
      throw opFailed(`bridge '${br}' is gone`);
    n.dnsmasqPid = this.ourDnsmasq(n.name);
    n.active = true;
    // dnsmasq died while we were away: start it again (libvirt's networkRefreshDaemons).
    if (owns && n.dnsmasqPid === undefined && needsDnsmasq(n.def)) {
      n.dnsmasqPid = await refreshDnsmasq(n.def, undefined, this.ctx, true).catch((e) => {
        this.warn(`cannot restart dnsmasq for network '${n.name}': ${(e as Error).message}`);
        return undefined;
      });
    }
  }

  private async createDefaultNetwork(): Promise<void> {
    try {
      const def = parseNetworkXML(DEFAULT_NETWORK_XML);
      await this.assignDefaults(def);
      await this.store.save(def.name, formatNetworkXML(def));
      await this.store.setAutostart(def.name, true);
      this.addNew(def, true).autostart = true;
    } catch (e) {
      this.warn(`cannot define the default network: ${(e as Error).message}`);
    }
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

export async function createNetworkDriverState(opts: NetworkDriverOptions): Promise<NetworkDriverState> {
  const st = new NetworkDriverState(opts);
  await st.load();
  return st;
}
