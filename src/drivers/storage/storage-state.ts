// The host storage driver's state, one per daemon (libvirt's virStorageDriverState): pools
// persisted as `<etc>/storage/NAME.xml` with `autostart/` links, live pools recorded under
// `<run>/storage/`, all loaded at start; autostart pools started (once per run dir); a `default` dir pool made on
// the first start (what libvirt's packaging does).
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseStoragePoolXML, type StoragePoolDef } from "../../conf/storage/index.js";
import type { StoragePoolEvent, StoragePoolRef } from "../../driver/index.js";
import { VIR_STORAGE_POOL_EVENT, VIR_STORAGE_POOL_EVENT_ID } from "../../driver/index.js";
import {
  applyNewDef,
  EventQueue,
  JobLocks,
  loadHostObjects,
  ObjectList,
  XmlStore,
} from "../../state/index.js";
import { opInvalid } from "./errors.js";
import { parsePoolFile, poolConfigText, poolStatusText } from "./pool-files.js";
import { buildPool, startPool, stopPool, targetExists } from "./pool-backend.js";
import type { HostPool } from "./pool-obj.js";
import { dirFacts, fsSizes, scanPoolDir } from "./vol-scan.js";

export interface StorageDriverOptions {
  /** Persistent pool configs: `<etc>/storage`. */
  configDir: string;
  /** Live pool records: `<run>/storage`. */
  runDir: string;
  /** Where the `default` dir pool lives (`<lib>/images`); none is made when absent. */
  defaultPoolPath?: string;
  /** Told about pools that fail to load or autostart. */
  warn?: (msg: string) => void;
}

export class StorageDriverState {
  readonly pools = new ObjectList<HostPool>();
  readonly events = new EventQueue<StoragePoolEvent>((e) => e.pool.uuid);
  readonly locks = new JobLocks();
  readonly store: XmlStore;
  readonly runStore: XmlStore;

  constructor(readonly opts: StorageDriverOptions) {
    this.store = new XmlStore(opts.configDir);
    this.runStore = new XmlStore(opts.runDir);
  }

  ref(p: HostPool): StoragePoolRef {
    return { name: p.name, uuid: p.uuid };
  }

  emit(p: HostPool, event: number): void {
    this.events.emit({ eventId: VIR_STORAGE_POOL_EVENT_ID.LIFECYCLE, pool: this.ref(p), event, detail: 0 });
  }

  /** The config file text: the definition without live sizes. */
  configXML(def: StoragePoolDef): string {
    return poolConfigText(def);
  }

  /** Scans the pool's target (refreshPool) and fills sizes; throws when the target is unreadable. */
  async refresh(p: HostPool): Promise<void> {
    const dir = p.def.target.path!;
    p.volumes = await scanPoolDir(dir);
    const s = await fsSizes(dir);
    p.def.capacity = s.capacity;
    p.def.allocation = s.allocation;
    p.def.available = s.available;
    p.targetFacts = await dirFacts(dir);
  }

  /** Re-reads only the filesystem sizes (after a volume changed). */
  async updateSizes(p: HostPool): Promise<void> {
    const s = await fsSizes(p.def.target.path!).catch(() => undefined);
    if (!s) return;
    p.def.capacity = s.capacity;
    p.def.allocation = s.allocation;
    p.def.available = s.available;
  }

  /** Starts an inactive pool: backend start, scan, live record (storagePoolCreate); a pending
   * redefinition takes effect unless `applyNewDef` is false. */
  async start(p: HostPool, applyNewDef = true): Promise<void> {
    if (p.active) throw opInvalid(`storage pool '${p.name}' is already active`);
    if (applyNewDef && p.newDef) {
      p.def = p.newDef;
      p.newDef = undefined;
    }
    await startPool(p.def);
    try {
      await this.refresh(p);
      await this.runStore.save(p.name, poolStatusText(p.def));
    } catch (e) {
      // nothing half-done: the pool stays inactive, unmounted, without volumes
      await stopPool(p.def).catch(() => {});
      p.volumes = new Map();
      p.targetFacts = undefined;
      p.def.capacity = p.def.allocation = p.def.available = 0n;
      throw e;
    }
    p.active = true;
  }

  /** Stops an active pool (storagePoolDestroy's work, without checks or events). */
  async stop(p: HostPool): Promise<void> {
    await stopPool(p.def);
    p.active = false;
    p.volumes = new Map();
    p.targetFacts = undefined;
    p.def.capacity = p.def.allocation = p.def.available = 0n;
    applyNewDef(p);
    await this.runStore.remove(p.name);
    if (!p.persistent) this.pools.remove(p);
  }

  private warn(msg: string): void {
    this.opts.warn?.(msg);
  }

  private addLoaded(def: StoragePoolDef, persistent: boolean): HostPool {
    const p: HostPool = {
      name: def.name,
      uuid: def.uuid,
      def,
      active: false,
      persistent,
      autostart: false,
      volumes: new Map(),
    };
    return this.pools.add(p);
  }

  /** Loads configs, re-attaches live pools, creates the default pool, runs autostart. */
  async load(): Promise<void> {
    const firstStart = !existsSync(this.opts.configDir);
    await this.store.init();
    await mkdir(this.opts.runDir, { recursive: true, mode: 0o755 });
    await loadHostObjects({
      list: this.pools,
      store: this.store,
      runStore: this.runStore,
      parse: parsePoolFile,
      add: (def, persistent) => this.addLoaded(def, persistent),
      reattach: async (p, live) => {
        if (!(await targetExists(live))) throw new Error("target directory is gone");
        await this.refresh(p);
        p.active = true;
      },
      noun: "pool",
      label: "storage pool",
      warn: (m) => this.warn(m),
    });
    if (firstStart && this.opts.defaultPoolPath && !this.pools.byName("default")) {
      await this.createDefaultPool(this.opts.defaultPoolPath);
    }
    // virDriverShouldAutostart: autostart runs once per boot of the run directory, so pools
    // stopped by hand stay stopped across daemon restarts.
    const marker = join(this.opts.runDir, "autostarted");
    if (existsSync(marker)) return;
    await writeFile(marker, "");
    for (const p of this.pools.values()) {
      if (!p.autostart || p.active) continue;
      try {
        await this.start(p);
        this.emit(p, VIR_STORAGE_POOL_EVENT.STARTED);
      } catch (e) {
        this.warn(`failed to autostart storage pool '${p.name}': ${(e as Error).message}`);
      }
    }
  }

  private async createDefaultPool(path: string): Promise<void> {
    const def = parseStoragePoolXML(
      `<pool type='dir'><name>default</name><target><path>${xmlEscape(path)}</path></target></pool>`,
    );
    try {
      await buildPool(def, 0);
      await this.store.save("default", this.configXML(def));
      await this.store.setAutostart("default", true);
      const p = this.addLoaded(def, true);
      p.autostart = true;
    } catch (e) {
      this.warn(`cannot create the default storage pool at ${path}: ${(e as Error).message}`);
    }
  }
}

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export async function createStorageDriverState(opts: StorageDriverOptions): Promise<StorageDriverState> {
  const st = new StorageDriverState(opts);
  await st.load();
  return st;
}
