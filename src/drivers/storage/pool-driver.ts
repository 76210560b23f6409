// Pool slots of the host storage driver (storage_driver.c storagePool*): define, create, build,
// start, refresh, destroy, delete, undefine, autostart, info, XML, listing and lookups, with
// lifecycle events, each change serialized per pool.
import { POOL_TYPES, type StoragePoolDef, parseStoragePoolXML } from "../../conf/storage/index.js";
import type { StorageDriver } from "../../driver/index.js";
import {
  POOL_TYPE_LIST_BITS,
  VIR_CONNECT_LIST_STORAGE_POOLS as LP,
  VIR_STORAGE_POOL_BUILD,
  VIR_STORAGE_POOL_CREATE,
  VIR_STORAGE_POOL_EVENT as EV,
  VIR_STORAGE_POOL_EVENT_ID,
  VIR_STORAGE_POOL_STATE,
  VIR_STORAGE_XML_INACTIVE,
} from "../../driver/index.js";
import { ErrorCode } from "../../errors/index.js";
import { sanitizePath } from "../../conf/storage/common.js";
import { activeListSlots, matchesStateFilter } from "../../state/index.js";
import { checkFlags, internal, noPool, noPoolUuid, opFailed, opInvalid, storageErr } from "./errors.js";
import { buildPool, deletePool } from "./pool-backend.js";
import { storagePoolCapabilities } from "./pool-caps.js";
import type { HostPool } from "./pool-obj.js";
import type { StorageDriverState } from "./storage-state.js";
import { formatLivePoolXML } from "./vol-xml.js";

/** Pool types this driver has backends for. */
const BACKENDS = new Set(["dir", "fs"]);

function matches(p: HostPool, flags: number): boolean {
  if (!matchesStateFilter(p, flags, LP)) return false;
  const typeMask = flags & ~0x3f;
  return !typeMask || (typeMask & (POOL_TYPE_LIST_BITS[p.def.type] ?? 0)) !== 0;
}

/** Build flags from pool-create flags (VIR_STORAGE_POOL_CREATE_WITH_BUILD_*). */
function buildFlagsOf(createFlags: number): number {
  let b = 0;
  if (createFlags & VIR_STORAGE_POOL_CREATE.OVERWRITE) b |= VIR_STORAGE_POOL_BUILD.OVERWRITE;
  if (createFlags & VIR_STORAGE_POOL_CREATE.NO_OVERWRITE) b |= VIR_STORAGE_POOL_BUILD.NO_OVERWRITE;
  return b;
}

export function poolSlots(st: StorageDriverState): StorageDriver {
  const list = st.pools;
  const byName = (name: string): HostPool => {
    const p = list.byName(name);
    if (!p) throw noPool(name);
    return p;
  };
  /** storagePoolObjFindByUUID: refs are resolved by UUID, the name only decorates the error. */
  const get = (ref: { name: string; uuid: string }): HostPool => {
    const p = list.byUuid(ref.uuid);
    if (!p)
      throw storageErr(
        ErrorCode.NO_STORAGE_POOL,
        `no storage pool with matching uuid '${ref.uuid}' (${ref.name})`,
      );
    return p;
  };
  const active = (p: HostPool): HostPool => {
    if (!p.active) throw opInvalid(`storage pool '${p.name}' is not active`);
    return p;
  };

  /** Parse + the duplicate checks of virStoragePoolObjListAdd / virStoragePoolObjSourceFindDuplicate. */
  const parseNew = (xml: string): { def: StoragePoolDef; existing?: HostPool } => {
    const def = parseStoragePoolXML(xml);
    if (!BACKENDS.has(def.type)) {
      // virStorageBackendForType: the enum number, then its name.
      throw internal(`missing backend for pool type ${POOL_TYPES.indexOf(def.type)} (${def.type})`);
    }
    const same = list.byUuid(def.uuid);
    if (same && same.name !== def.name) {
      throw opFailed(`pool '${same.name}' is already defined with uuid ${same.uuid}`);
    }
    const named = list.byName(def.name);
    if (named && named.uuid !== def.uuid) {
      throw opFailed(`pool '${named.name}' already exists with uuid ${named.uuid}`);
    }
    for (const o of list.values()) {
      if (o.name === def.name) continue;
      const od = o.def;
      const dev = (d: StoragePoolDef) => (d.type === "fs" ? d.source.devices[0]?.path : undefined);
      const conflict =
        (od.target.path !== undefined && od.target.path === def.target.path) ||
        (dev(od) !== undefined && dev(od) === dev(def));
      if (conflict) throw opFailed(`Storage source conflict with pool: '${o.name}'`);
    }
    return { def, existing: named };
  };

  const lock = <T>(p: HostPool, fn: () => Promise<T>) => st.locks.run(p.uuid, fn);

  return {
    name: "storage",
    ...activeListSlots("StoragePools", () => list),
    async connectListAllStoragePools(flags) {
      checkFlags(flags, (1 << 20) - 1, "storageConnectListAllStoragePools");
      return list.filter((p) => matches(p, flags)).map((p) => st.ref(p));
    },
    async storagePoolLookupByName(name) {
      return st.ref(byName(name));
    },
    async storagePoolLookupByUUID(uuid) {
      const p = list.byUuid(uuid);
      if (!p) throw noPoolUuid(uuid);
      return st.ref(p);
    },
    async storagePoolLookupByVolume(vol) {
      return st.ref(byName(vol.pool));
    },
    async storagePoolLookupByTargetPath(path) {
      const clean = sanitizePath(path);
      const p = list.values().find((x) => x.active && x.def.target.path === clean);
      if (!p)
        throw storageErr(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching target path '${path}'`);
      return st.ref(p);
    },
    async storagePoolDefineXML(xml, flags) {
      checkFlags(flags, 1, "storagePoolDefineXML");
      const { def, existing } = parseNew(xml);
      await st.store.save(def.name, st.configXML(def));
      let p = existing;
      if (p) {
        if (p.active) p.newDef = def;
        else p.def = def;
        p.persistent = true;
      } else {
        p = list.add({
          name: def.name,
          uuid: def.uuid,
          def,
          active: false,
          persistent: true,
          autostart: false,
          volumes: new Map(),
        });
      }
      st.emit(p, EV.DEFINED);
      return st.ref(p);
    },
    async storagePoolCreateXML(xml, flags) {
      checkFlags(flags, 7, "storagePoolCreateXML");
      const { def, existing } = parseNew(xml);
      if (existing?.active) throw opInvalid(`storage pool '${existing.name}' is already active`);
      const p: HostPool = existing ?? {
        name: def.name,
        uuid: def.uuid,
        def,
        active: false,
        persistent: false,
        autostart: false,
        volumes: new Map(),
      };
      // A running instance of a defined pool: the given XML is live, the config returns at stop.
      const config = existing?.def;
      if (existing) existing.def = def;
      else list.add(p);
      try {
        await lock(p, async () => {
          if (flags & VIR_STORAGE_POOL_CREATE.WITH_BUILD) await buildPool(def, buildFlagsOf(flags));
          await st.start(p, false);
        });
      } catch (e) {
        if (!existing) list.remove(p);
        else existing.def = config!;
        throw e;
      }
      if (existing) existing.newDef = config;
      st.emit(p, EV.STARTED);
      return st.ref(p);
    },
    async storagePoolBuild(ref, flags) {
      checkFlags(flags, 0xf, "storagePoolBuild");
      const p = get(ref);
      await lock(p, async () => {
        if (p.active) throw opInvalid(`storage pool '${p.name}' is already active`);
        await buildPool(p.newDef ?? p.def, flags);
      });
      st.emit(p, EV.CREATED);
    },
    async storagePoolUndefine(ref) {
      const p = get(ref);
      await lock(p, async () => {
        if (p.active) throw opInvalid(`storage pool '${p.name}' is still active`);
        if (!p.persistent) throw opInvalid(`storage pool '${p.name}' is not persistent`);
        await st.store.remove(p.name);
        list.remove(p);
      });
      st.emit(p, EV.UNDEFINED);
    },
    async storagePoolCreate(ref, flags) {
      checkFlags(flags, 7, "storagePoolCreate");
      const p = get(ref);
      await lock(p, async () => {
        if (p.active) throw opInvalid(`storage pool '${p.name}' is already active`);
        if (flags & VIR_STORAGE_POOL_CREATE.WITH_BUILD)
          await buildPool(p.newDef ?? p.def, buildFlagsOf(flags));
        await st.start(p);
      });
      st.emit(p, EV.STARTED);
    },
    async storagePoolDestroy(ref) {
      const p = get(ref);
      await lock(p, async () => {
        active(p);
        await st.stop(p);
      });
      st.emit(p, EV.STOPPED);
    },
    async storagePoolDelete(ref, flags) {
      const p = get(ref);
      await lock(p, async () => {
        if (p.active) throw opInvalid(`storage pool '${p.name}' is still active`);
        checkFlags(flags, 0, "virStorageBackendFileSystemDelete");
        await deletePool(p.def);
      });
      st.emit(p, EV.DELETED);
    },
    async storagePoolRefresh(ref, flags) {
      checkFlags(flags, 0, "storagePoolRefresh");
      const p = get(ref);
      let stopped = false;
      await lock(p, async () => {
        active(p);
        try {
          await st.refresh(p);
        } catch (e) {
          // libvirt stops a pool whose refresh fails.
          await st.stop(p).catch(() => {});
          stopped = true;
          throw e;
        }
      }).catch((e) => {
        if (stopped) st.emit(p, EV.STOPPED);
        throw e;
      });
      st.events.emit({ eventId: VIR_STORAGE_POOL_EVENT_ID.REFRESH, pool: st.ref(p) });
    },
    async storagePoolGetInfo(ref) {
      const p = get(ref);
      if (p.active) await st.updateSizes(p);
      return {
        state: p.active ? VIR_STORAGE_POOL_STATE.RUNNING : VIR_STORAGE_POOL_STATE.INACTIVE,
        capacity: Number(p.def.capacity),
        allocation: Number(p.def.allocation),
        available: Number(p.def.available),
      };
    },
    async storagePoolGetXMLDesc(ref, flags) {
      checkFlags(flags, VIR_STORAGE_XML_INACTIVE, "storagePoolGetXMLDesc");
      const p = get(ref);
      return formatLivePoolXML(p, (flags & VIR_STORAGE_XML_INACTIVE) !== 0);
    },
    async storagePoolGetAutostart(ref) {
      return get(ref).autostart;
    },
    async storagePoolSetAutostart(ref, autostart) {
      const p = get(ref);
      await lock(p, async () => {
        if (!p.persistent) throw internal("pool has no config file");
        await st.store.setAutostart(p.name, autostart);
        p.autostart = autostart;
      });
    },
    async storagePoolIsActive(ref) {
      return get(ref).active;
    },
    async storagePoolIsPersistent(ref) {
      return get(ref).persistent;
    },
    async storagePoolNumOfVolumes(ref) {
      return active(get(ref)).volumes.size;
    },
    async storagePoolListVolumes(ref, max) {
      return [...active(get(ref)).volumes.keys()].slice(0, max);
    },
    async storagePoolListAllVolumes(ref, flags) {
      checkFlags(flags, 0, "storagePoolListAllVolumes");
      const p = active(get(ref));
      return [...p.volumes.values()].map((v) => ({ pool: p.name, name: v.def.name, key: v.def.key! }));
    },
    async connectGetStoragePoolCapabilities(flags) {
      checkFlags(flags, 0, "storageConnectGetStoragePoolCapabilities");
      return storagePoolCapabilities(BACKENDS);
    },
    async connectStoragePoolEventRegisterAny(pool, eventId, cb) {
      if (eventId !== VIR_STORAGE_POOL_EVENT_ID.LIFECYCLE && eventId !== VIR_STORAGE_POOL_EVENT_ID.REFRESH) {
        throw storageErr(ErrorCode.INVALID_ARG, `unsupported event ID ${eventId}`);
      }
      return st.events.register(eventId, pool ? pool.uuid : null, cb);
    },
    async connectStoragePoolEventDeregisterAny(id) {
      if (!st.events.deregister(id)) {
        throw storageErr(ErrorCode.INVALID_ARG, `could not find event callback ${id} for deregistration`);
      }
    },
  };
}
