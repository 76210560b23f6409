// Test driver storage table: pools (define, create, build, start, refresh, destroy, delete,
// undefine, autostart) and volumes (create, clone, delete, info, XML, lookups), with the
// test driver's bookkeeping of pool allocation (test_driver.c, libvirt 9.0 behaviour).

import {
  formatStoragePoolXML,
  formatStorageVolXML,
  type StorageVolDef,
  parseStoragePoolXML,
  parseStorageVolXML,
} from "../../conf/storage/index.js";
import type { StorageDriver, StoragePoolRef, StorageVolRef } from "../../driver/index.js";
import {
  POOL_TYPE_LIST_BITS,
  VIR_CONNECT_LIST_STORAGE_POOLS as LP,
  VIR_STORAGE_POOL_EVENT,
  VIR_STORAGE_POOL_EVENT_ID,
  VIR_STORAGE_POOL_STATE,
  VIR_STORAGE_VOL_TYPE,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { activeListSlots, matchesStateFilter } from "../../state/index.js";
import { deregisterCallback, poolEvent, poolRef, registerCallback, type TestCtx } from "./ctx.js";
import { checkFlags, invalidArg, opInvalid, testError } from "./errors.js";
import { setPoolDefaults, type TestPool } from "./storage-obj.js";
import { findTestPoolSources } from "./storage-sources.js";

const S = ErrorDomain.STORAGE;
function volRef(p: TestPool, v: StorageVolDef): StorageVolRef {
  return { pool: p.name, name: v.name, key: v.key ?? v.target.path ?? v.name };
}

function poolMatches(p: TestPool, flags: number): boolean {
  if (!matchesStateFilter(p, flags, LP)) return false;
  const typeMask = flags & ~0x3f;
  if (typeMask && !(typeMask & (POOL_TYPE_LIST_BITS[p.def.type] ?? 0))) return false;
  return true;
}

export function testStorageDriver(ctx: TestCtx): StorageDriver {
  const list = ctx.node.pools;

  const byName = (name: string): TestPool => {
    const p = list.byName(name);
    if (!p) throw testError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${name}'`);
    return p;
  };
  const fromRef = (ref: StoragePoolRef) => byName(ref.name);
  const activeByName = (name: string): TestPool => {
    const p = byName(name);
    if (!p.active) throw opInvalid(`storage pool '${p.name}' is not active`);
    return p;
  };
  const findVol = (p: TestPool, name: string): StorageVolDef => {
    const v = p.volumes.find((x) => x.name === name);
    if (!v) throw testError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`);
    return v;
  };
  /** virStoragePoolObjListAdd; `checkLive` refuses an active pool before anything changes. */
  const addPool = (xml: string, checkLive = false): TestPool => {
    const def = parseStoragePoolXML(xml);
    const same = list.byUuid(def.uuid);
    if (same && same.name !== def.name) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        S,
        `pool '${same.name}' is already defined with uuid ${same.uuid}`,
      );
    }
    const named = list.byName(def.name);
    if (named && named.uuid !== def.uuid) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        S,
        `pool '${named.name}' already exists with uuid ${named.uuid}`,
      );
    }
    // virStoragePoolObjListAdd's check, reported from the storage conf code
    if (checkLive && same?.active) throw opInvalid(`pool is already active as '${same.name}'`, S);
    setPoolDefaults(def);
    if (same) {
      if (same.active) same.newDef = def;
      else same.def = def;
      return same;
    }
    return list.add({
      name: def.name,
      uuid: def.uuid,
      def,
      active: false,
      persistent: false,
      autostart: false,
      volumes: [],
    });
  };
  const createVol = (p: TestPool, xml: string): StorageVolDef => {
    const v = parseStorageVolXML(xml, p.def.type);
    if (p.volumes.some((x) => x.name === v.name)) {
      throw virError(ErrorCode.OPERATION_FAILED, ErrorDomain.TEST, "storage vol already exists");
    }
    // libvirt 9.0's test driver keeps the new definition's allocation for a clone too (python-libvirt:
    // createXMLFrom with <allocation>0</allocation> leaves the pool at 0 allocated).
    if (p.def.allocation + v.allocation > p.def.capacity) {
      throw testError(ErrorCode.INTERNAL_ERROR, `Not enough free space in pool for volume '${v.name}'`);
    }
    v.target.path = `${p.def.target.path ?? ""}/${v.name}`;
    v.key = v.target.path;
    p.def.allocation += v.allocation;
    p.def.available = p.def.capacity - p.def.allocation;
    p.volumes.push(v);
    return v;
  };
  const allVols = function* () {
    for (const p of list.values()) if (p.active) for (const v of p.volumes) yield [p, v] as const;
  };

  return {
    name: "TEST",
    ...activeListSlots("StoragePools", () => list),
    async connectListAllStoragePools(flags) {
      checkFlags(flags, (1 << 20) - 1, "testConnectListAllStoragePools");
      return list.filter((p) => poolMatches(p, flags)).map(poolRef);
    },
    async storagePoolLookupByName(name) {
      return poolRef(byName(name));
    },
    async storagePoolLookupByUUID(uuid) {
      const p = list.byUuid(uuid);
      if (!p) throw testError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${uuid}'`);
      return poolRef(p);
    },
    async storagePoolLookupByVolume(vol) {
      return poolRef(byName(vol.pool));
    },
    // No storagePoolLookupByTargetPath: libvirt 9.0's test driver has none (VIR_ERR_NO_SUPPORT).
    async storagePoolCreateXML(xml, flags) {
      checkFlags(flags, 0, "testStoragePoolCreateXML");
      const p = addPool(xml, true);
      p.active = true;
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.STARTED);
      return poolRef(p);
    },
    async storagePoolDefineXML(xml, flags) {
      // VIR_STORAGE_POOL_DEFINE_VALIDATE: accepted, parsed only (no RelaxNG validator)
      checkFlags(flags, 1, "testStoragePoolDefineXML");
      const p = addPool(xml);
      p.persistent = true;
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.DEFINED);
      return poolRef(p);
    },
    async storagePoolBuild(ref, flags) {
      checkFlags(flags, 0, "testStoragePoolBuild");
      const p = fromRef(ref);
      if (p.active) throw opInvalid(`storage pool '${p.name}' is active`);
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.CREATED);
    },
    async storagePoolUndefine(ref) {
      const p = fromRef(ref);
      if (p.active) throw opInvalid(`storage pool '${p.name}' is active`);
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.UNDEFINED);
      list.remove(p);
    },
    async storagePoolCreate(ref, flags) {
      checkFlags(flags, 0, "testStoragePoolCreate");
      const p = fromRef(ref);
      if (p.active) throw opInvalid(`storage pool '${p.name}' is active`);
      p.active = true;
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.STARTED);
    },
    async storagePoolDestroy(ref) {
      const p = fromRef(ref);
      if (!p.active) throw opInvalid(`storage pool '${p.name}' is not active`);
      p.active = false;
      if (p.newDef) {
        p.def = p.newDef;
        p.newDef = undefined;
      }
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.STOPPED);
      if (!p.persistent) list.remove(p);
    },
    async storagePoolDelete(ref, flags) {
      checkFlags(flags, 0, "testStoragePoolDelete");
      const p = fromRef(ref);
      if (p.active) throw opInvalid(`storage pool '${p.name}' is active`);
      poolEvent(ctx, p, VIR_STORAGE_POOL_EVENT.DELETED);
    },
    async storagePoolRefresh(ref, flags) {
      checkFlags(flags, 0, "testStoragePoolRefresh");
      const p = activeByName(ref.name);
      ctx.node.poolEvents.emit({ eventId: VIR_STORAGE_POOL_EVENT_ID.REFRESH, pool: poolRef(p) });
    },
    async storagePoolGetInfo(ref) {
      const p = fromRef(ref);
      return {
        state: p.active ? VIR_STORAGE_POOL_STATE.RUNNING : VIR_STORAGE_POOL_STATE.INACTIVE,
        capacity: Number(p.def.capacity),
        allocation: Number(p.def.allocation),
        available: Number(p.def.available),
      };
    },
    async storagePoolGetXMLDesc(ref, flags) {
      checkFlags(flags, 0, "testStoragePoolGetXMLDesc");
      const p = fromRef(ref);
      return formatStoragePoolXML(flags & 1 && p.newDef ? p.newDef : p.def);
    },
    async storagePoolGetAutostart(ref) {
      return fromRef(ref).autostart;
    },
    async storagePoolSetAutostart(ref, autostart) {
      const p = fromRef(ref);
      if (!p.persistent) throw invalidArg("pool has no config file");
      p.autostart = autostart;
    },
    async storagePoolIsActive(ref) {
      return fromRef(ref).active;
    },
    async storagePoolIsPersistent(ref) {
      return fromRef(ref).persistent;
    },
    async storagePoolNumOfVolumes(ref) {
      return activeByName(ref.name).volumes.length;
    },
    async storagePoolListVolumes(ref, max) {
      return activeByName(ref.name)
        .volumes.map((v) => v.name)
        .slice(0, max);
    },
    async storagePoolListAllVolumes(ref, flags) {
      checkFlags(flags, 0, "testStoragePoolListAllVolumes");
      const p = fromRef(ref);
      if (!p.active) throw opInvalid("storage pool is not active");
      return p.volumes.map((v) => volRef(p, v));
    },
    async storageVolLookupByName(ref, name) {
      const p = activeByName(ref.name);
      return volRef(p, findVol(p, name));
    },
    async storageVolLookupByKey(key) {
      for (const [p, v] of allVols()) if (v.key === key) return volRef(p, v);
      throw testError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching key '${key}'`);
    },
    async storageVolLookupByPath(path) {
      for (const [p, v] of allVols()) if (v.target.path === path) return volRef(p, v);
      throw testError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${path}'`);
    },
    async storageVolCreateXML(ref, xml, flags) {
      // VIR_STORAGE_VOL_CREATE_VALIDATE (4): accepted, parsed only
      checkFlags(flags, 4, "testStorageVolCreateXML");
      const p = activeByName(ref.name);
      return volRef(p, createVol(p, xml));
    },
    async storageVolCreateXMLFrom(ref, xml, clone, flags) {
      checkFlags(flags, 0, "testStorageVolCreateXMLFrom");
      const p = activeByName(ref.name);
      findVol(activeByName(clone.pool), clone.name);
      return volRef(p, createVol(p, xml));
    },
    async storageVolDelete(vref, flags) {
      checkFlags(flags, 0, "testStorageVolDelete");
      const p = activeByName(vref.pool);
      const v = findVol(p, vref.name);
      p.def.allocation -= v.allocation;
      p.def.available = p.def.capacity - p.def.allocation;
      p.volumes.splice(p.volumes.indexOf(v), 1);
    },
    async storageVolGetInfo(vref) {
      const p = activeByName(vref.pool);
      const v = findVol(p, vref.name);
      return {
        type: VIR_STORAGE_VOL_TYPE[v.type.toUpperCase() as keyof typeof VIR_STORAGE_VOL_TYPE] ?? 0,
        capacity: Number(v.capacity),
        allocation: Number(v.allocation),
      };
    },
    async storageVolGetXMLDesc(vref, flags) {
      checkFlags(flags, 0, "testStorageVolGetXMLDesc");
      const p = activeByName(vref.pool);
      return formatStorageVolXML(findVol(p, vref.name));
    },
    async storageVolGetPath(vref) {
      const p = activeByName(vref.pool);
      return findVol(p, vref.name).target.path ?? "";
    },
    async connectFindStoragePoolSources(type, srcSpec, flags) {
      checkFlags(flags, 0, "testConnectFindStoragePoolSources");
      return findTestPoolSources(type, srcSpec);
    },
    async connectStoragePoolEventRegisterAny(pool, eventId, cb) {
      return registerCallback(ctx, ctx.node.poolEvents, eventId, pool ? pool.uuid : null, cb);
    },
    async connectStoragePoolEventDeregisterAny(id) {
      deregisterCallback(ctx, ctx.node.poolEvents, id);
    },
  };
}
