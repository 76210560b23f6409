// Loading of host objects persisted as libvirt does for networks and storage pools: config files
// `<etc>/KIND/NAME.xml` (+ `autostart/` links) and live records `<run>/KIND/NAME.xml`, the live
// definition taking over while the config waits as the pending one (virNetworkObjLoadAllState,
// virStoragePoolObjLoadAllState). The driver supplies parsing, object creation and re-attachment.
import type { ListedObject, ObjectList } from "./object-list.js";
import type { XmlStore } from "./xml-store.js";

/** A persisted host object: its definition, the one pending for its next start, and its flags. */
export interface HostObject<D> extends ListedObject {
  def: D;
  /** The persistent definition to take over at the next stop (set while running). */
  newDef?: D;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

/** A pending definition takes over (at stop, or at start when it was redefined while inactive). */
export function applyNewDef<D>(o: HostObject<D>): void {
  if (o.newDef) {
    o.def = o.newDef;
    o.newDef = undefined;
  }
}

export interface LoadHostObjectsOptions<D extends { name: string; uuid: string }, T extends HostObject<D>> {
  list: ObjectList<T>;
  /** Persistent configs. */
  store: XmlStore;
  /** Live records. */
  runStore: XmlStore;
  parse: (xml: string) => D;
  /** Adds a new, inactive object to the list. */
  add: (def: D, persistent: boolean) => T;
  /** Brings an object recorded live back to active; throws when it is no longer running. */
  reattach: (o: T, live: D) => Promise<void>;
  /** Undoes what is left on the host of an object that failed to re-attach. */
  cleanup?: (o: T) => Promise<void>;
  /** Noun in the name-mismatch message ("network", "pool"). */
  noun: string;
  /** Noun in the warnings ("network", "storage pool"). */
  label: string;
  warn: (msg: string) => void;
}

/** Loads every config, then re-attaches every live record; unreadable entries are warned about and skipped. */
export async function loadHostObjects<D extends { name: string; uuid: string }, T extends HostObject<D>>(
  o: LoadHostObjectsOptions<D, T>,
): Promise<void> {
  for (const name of await o.store.list()) {
    try {
      const def = o.parse((await o.store.load(name))!);
      if (def.name !== name) throw new Error(`config file name does not match ${o.noun} name '${def.name}'`);
      const obj = o.add(def, true);
      obj.autostart = await o.store.isAutostart(name);
    } catch (e) {
      o.warn(`cannot load ${o.label} config '${name}': ${(e as Error).message}`);
    }
  }
  for (const name of await o.runStore.list()) {
    try {
      const live = o.parse((await o.runStore.load(name))!);
      let obj = o.list.byName(name);
      if (obj && obj.uuid !== live.uuid) throw new Error("live record does not match the config");
      if (obj) {
        obj.newDef = obj.def;
        obj.def = live;
      } else obj = o.add(live, false);
      await o.reattach(obj, live);
    } catch (e) {
      o.warn(`${o.label} '${name}' is no longer active: ${(e as Error).message}`);
      const obj = o.list.byName(name);
      if (obj) {
        await o.cleanup?.(obj);
        applyNewDef(obj);
        if (!obj.persistent) o.list.remove(obj);
      }
      await o.runStore.remove(name);
    }
  }
}
