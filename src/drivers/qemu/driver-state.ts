// Shared state of the QEMU driver for one daemon: domain list, persistent config store,
// capability cache, job locks, event queue, and the directory layout it runs in.
import { join } from "node:path";
import {
  compactDomainDef,
  formatDomainXML,
  type parseDomainXML,
  parseDomainXMLWith,
} from "../../conf/domain/index.js";
import type { DomainEvent, NetworkDHCPLease } from "../../driver/index.js";
import { VIR_DOMAIN_EVENT_ID } from "../../driver/index.js";
import { type RandomSource, withRandomSource } from "../../conf/common/random.js";
import { EventQueue, JobLocks, ObjectList, type StoreIntent, XmlStore } from "../../state/index.js";
import { archOfBinary, findQemuBinaries, type QemuCaps, QemuCapsCache } from "./capabilities.js";
import { unsupported } from "./command-util.js";
import {
  domRef,
  newQemuDomain,
  noDomainById,
  noDomainByName,
  noDomainByUuid,
  type QemuDomain,
} from "./domain-obj.js";
import { attr, child } from "../../xml/index.js";
import { qemuPostParse } from "./domain-post-parse.js";

export interface QemuDriverOptions {
  /** URI this driver answers to (qemu:///system or qemu:///session). */
  uri: string;
  /** Persistent domain XML (<etc>/qemu). */
  configDir: string;
  /** State: logs under <lib>/qemu/log, channel sockets, capability cache. */
  libDir: string;
  /** Runtime: pidfiles and monitor sockets under <run>/qemu. */
  runDir: string;
  /** QEMU binaries to offer; default every qemu-system-* in /usr/bin and /usr/local/bin. */
  emulators?: string[];
  /** Start persistent domains marked autostart when the state is created (default true). */
  autostart?: boolean;
  /** Names the host bridge of a virtual network (asked of the network driver) for type='network' NICs. */
  networkBridge?: (network: string) => Promise<string>;
  /** A virtual network's DHCP leases of one MAC (virDomainInterfaceAddresses, source "lease"). */
  networkLeases?: (network: string, mac: string) => Promise<NetworkDHCPLease[]>;
}

export class QemuDriverState {
  readonly domains = new ObjectList<QemuDomain>();
  readonly store: XmlStore;
  readonly caps: QemuCapsCache;
  readonly jobs = new JobLocks();
  readonly events = new EventQueue<DomainEvent>((ev) => ev.dom.uuid);
  readonly emulators: string[];
  /** Why autostart failed for some domains, for the daemon's log. */
  readonly autostartErrors: string[] = [];
  /** Why replaying a define a crash cut off failed (domain-define.ts), for the daemon's log. */
  readonly replayErrors: string[] = [];
  private nextId = 1;

  constructor(readonly opts: QemuDriverOptions) {
    // Journaled (state/xml-journal-store.ts): a define waits for one fdatasync of a preallocated
    // journal, the config files are fsynced in batches afterwards. 4 MiB holds ~2000 defines.
    this.store = new XmlStore(opts.configDir, { journal: { capacity: 4 << 20 } });
    this.caps = new QemuCapsCache(join(opts.libDir, "qemu", "capabilities"));
    this.emulators = opts.emulators ?? findQemuBinaries();
  }

  allocId(): number {
    return this.nextId++;
  }

  /** Keeps ids of guests found again after a restart from being handed out twice. */
  reserveId(id: number): void {
    if (id >= this.nextId) this.nextId = id + 1;
  }

  /** arch → binary, filled on first use (every define looks its arch up). */
  private byArch: Map<string, string> | undefined;

  /** The binary for an arch (or the domain's own <emulator>). */
  emulatorFor(arch: string, emulator?: string): string {
    if (emulator !== undefined) return emulator;
    if (!this.byArch) {
      this.byArch = new Map();
      for (const b of this.emulators) {
        const a = archOfBinary(b);
        if (!this.byArch.has(a)) this.byArch.set(a, b);
        // Domain XML names the 32-bit x86 arch i686; its binary is qemu-system-i386.
        if (a === "i386" && !this.byArch.has("i686")) this.byArch.set("i686", b);
      }
    }
    const bin = this.byArch.get(arch);
    if (!bin) throw unsupported(`No emulator found for arch '${arch}'`);
    return bin;
  }

  defaultArch(): string {
    return process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch;
  }

  /**
   * Parses domain XML the QEMU way: generic parse, then QEMU post-parse against the binary's caps.
   * `random`: where generated UUIDs and MACs come from (default the CSPRNG; a define passes its
   * recorded seed's stream, see domain-define.ts).
   */
  async parse(
    xml: string,
    random?: RandomSource,
  ): Promise<{ def: ReturnType<typeof parseDomainXML>; caps: QemuCaps }> {
    // Whether <os><type arch=...> is given (xmlNamesArch), read off the one parse of the text.
    let archGiven = false;
    const def = withRandomSource(random, () =>
      parseDomainXMLWith(xml, { noIfnames: true }, (root) => {
        const os = child(root, "os");
        const type = os ? child(os, "type") : undefined;
        archGiven = type !== undefined && attr(type, "arch") !== undefined;
      }),
    );
    const arch = archGiven ? def.os.arch : this.defaultArch();
    const caps = await this.caps.get(this.emulatorFor(arch, def.devices.emulator));
    qemuPostParse(def, caps, archGiven);
    compactDomainDef(def); // kept for the domain's lifetime: no slack (see compact.ts)
    return { def, caps };
  }

  /** Loads persistent definitions from the config dir (at daemon start). Bad files are skipped. */
  async load(): Promise<string[]> {
    await this.store.init();
    const problems: string[] = [];
    for (const name of await this.store.list()) {
      const xml = await this.store.load(name);
      if (xml === undefined) continue;
      try {
        const { def } = await this.parse(xml);
        const d = newQemuDomain(def);
        d.persistent = true;
        d.autostart = await this.store.isAutostart(name);
        this.domains.add(d);
      } catch (e) {
        problems.push(`${name}: ${(e as Error).message}`);
      }
    }
    return problems;
  }

  /**
   * Saves the persistent config; `intent`: as that define intent's commit (domain-define.ts),
   * whose file the store may write later (a deferred save: the intent is what makes the define
   * durable, see state/xml-journal-store.ts), formatting this definition then.
   */
  async saveConfig(d: QemuDomain, intent?: StoreIntent): Promise<void> {
    const def = d.newDef ?? d.def;
    // with graphics passwords, as libvirt saves configs (VIR_DOMAIN_DEF_FORMAT_SECURE)
    const xml = () => formatDomainXML(def, { inactive: true, securityInfo: true });
    await this.store.save(d.name, intent ? xml : xml(), intent);
  }

  lifecycle(d: QemuDomain, event: number, detail: number): void {
    this.events.emit({ eventId: VIR_DOMAIN_EVENT_ID.LIFECYCLE, dom: domRef(d), event, detail });
  }

  byRef(ref: { uuid: string; name: string }): QemuDomain {
    const d = this.domains.byUuid(ref.uuid);
    if (!d) throw noDomainByUuid(ref.uuid, ref.name);
    return d;
  }

  byName(name: string): QemuDomain {
    const d = this.domains.byName(name);
    if (!d) throw noDomainByName(name);
    return d;
  }

  byId(id: number): QemuDomain {
    const d = this.domains.byId(id);
    if (!d) throw noDomainById(id);
    return d;
  }
}
