// Volume slots of the host storage driver (storage_driver.c storageVol*): create, clone,
// delete, wipe, resize, info, XML, path and lookups by name, key and path.
import { parseStorageVolXML, type StorageVolDef } from "../../conf/storage/index.js";
import { sanitizePath } from "../../conf/storage/common.js";
import type { StorageDriver, StorageVolRef } from "../../driver/index.js";
import {
  VIR_STORAGE_VOL_CREATE,
  VIR_STORAGE_VOL_DELETE,
  VIR_STORAGE_VOL_GET_PHYSICAL,
  VIR_STORAGE_VOL_RESIZE as RS,
  VIR_STORAGE_VOL_TYPE,
} from "../../driver/index.js";
import { ErrorCode } from "../../errors/index.js";
import { existsSync } from "node:fs";
import {
  checkFlags,
  internal,
  invalidArg,
  noPool,
  noSupport,
  noVol,
  opFailed,
  opInvalid,
  storageErr,
  sysError,
} from "./errors.js";
import type { HostPool, HostVol } from "./pool-obj.js";
import type { StorageDriverState } from "./storage-state.js";
import { cloneVolFile, createVolFile, deleteVolFile, resizeVolFile, wipeVolFile } from "./vol-files.js";
import { refreshVolume } from "./vol-scan.js";
import { downloadFromFile, uploadToFile } from "./vol-stream.js";
import { formatLiveVolXML } from "./vol-xml.js";

/** VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM = VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM = 1 (libvirt-storage.h). */
const VIR_STORAGE_VOL_SPARSE_STREAM = 1;

/** virStorageVolWipeAlgorithm: ZERO .. TRIM; LAST = 10. */
const WIPE_ALG_ZERO = 0;
const WIPE_ALG_TRIM = 9;
const WIPE_ALG_LAST = 10;

const volTypeNum = (t: string): number =>
  VIR_STORAGE_VOL_TYPE[t.toUpperCase() as keyof typeof VIR_STORAGE_VOL_TYPE] ?? 0;

export function volSlots(st: StorageDriverState): StorageDriver {
  const list = st.pools;
  const activePool = (name: string): HostPool => {
    const p = list.byName(name);
    if (!p) throw noPool(name);
    if (!p.active) throw opInvalid(`storage pool '${p.name}' is not active`);
    return p;
  };
  const activeByUuid = (ref: { name: string; uuid: string }): HostPool => {
    const p = list.byUuid(ref.uuid);
    if (!p)
      throw storageErr(
        ErrorCode.NO_STORAGE_POOL,
        `no storage pool with matching uuid '${ref.uuid}' (${ref.name})`,
      );
    if (!p.active) throw opInvalid(`storage pool '${p.name}' is not active`);
    return p;
  };
  const findVol = (p: HostPool, name: string): HostVol => {
    const v = p.volumes.get(name);
    if (!v) throw noVol(name);
    return v;
  };
  /** virStorageVolDefFindByName + the pool lookups of storageVolLookupByNameInternal-style calls. */
  const resolve = (ref: StorageVolRef): [HostPool, HostVol] => {
    const p = activePool(ref.pool);
    return [p, findVol(p, ref.name)];
  };
  const volRef = (p: HostPool, v: HostVol): StorageVolRef => ({
    pool: p.name,
    name: v.def.name,
    key: v.def.key!,
  });
  const lock = <T>(p: HostPool, fn: () => Promise<T>) => st.locks.run(p.uuid, fn);

  /** Checks of the dir backend's createVol: name, path and key (virStorageBackendFileSystemVolCreate). */
  const placeVol = (p: HostPool, def: StorageVolDef): void => {
    if (def.name.includes("/")) throw opInvalid(`volume name '${def.name}' cannot contain '/'`);
    def.type = def.target.format === "dir" ? "dir" : "file";
    def.target.path = `${p.def.target.path}/${def.name}`;
    def.key = def.target.path;
    if (existsSync(def.target.path))
      throw opInvalid(`volume target path '${def.target.path}' already exists`);
  };

  /** Adds a freshly built volume: live fields from the file, pool sizes updated. */
  const addVol = async (p: HostPool, def: StorageVolDef, xml: string): Promise<HostVol> => {
    // libvirt keeps an empty <features/> of the given XML and prints it back.
    const v: HostVol = { def, physical: 0n, v3Features: /<features[\s/>]/.test(xml) };
    await refreshVolume(v);
    p.volumes.set(def.name, v);
    p.volumes = new Map([...p.volumes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await st.updateSizes(p);
    return v;
  };

  return {
    name: "storage",
    async storageVolLookupByName(ref, name) {
      const p = activeByUuid(ref);
      return volRef(p, findVol(p, name));
    },
    async storageVolLookupByKey(key) {
      for (const p of list.values()) {
        if (!p.active) continue;
        for (const v of p.volumes.values()) if (v.def.key === key) return volRef(p, v);
      }
      throw storageErr(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching key ${key}`);
    },
    async storageVolLookupByPath(path) {
      const clean = sanitizePath(path);
      for (const p of list.values()) {
        if (!p.active) continue;
        for (const v of p.volumes.values()) if (v.def.target.path === clean) return volRef(p, v);
      }
      throw storageErr(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${path}'`);
    },
    async storageVolCreateXML(ref, xml, flags) {
      checkFlags(flags, 7, "storageVolCreateXML");
      const p = activeByUuid(ref);
      const def = parseStorageVolXML(xml, p.def);
      if (p.volumes.has(def.name)) throw storageErr(ErrorCode.STORAGE_VOL_EXIST, `'${def.name}'`);
      const v = await lock(p, async () => {
        if (p.volumes.has(def.name)) throw storageErr(ErrorCode.STORAGE_VOL_EXIST, `'${def.name}'`);
        placeVol(p, def);
        if (def.backingStore && def.backingStore.format === undefined) def.backingStore.format = "raw";
        await createVolFile(def, (flags & VIR_STORAGE_VOL_CREATE.PREALLOC_METADATA) !== 0);
        return addVol(p, def, xml);
      });
      return volRef(p, v);
    },
    async storageVolCreateXMLFrom(ref, xml, clone, flags) {
      checkFlags(flags, 3, "storageVolCreateXMLFrom");
      const p = activeByUuid(ref);
      const origPool = activePool(clone.pool);
      const def = parseStorageVolXML(xml, p.def);
      const orig = findVol(origPool, clone.name);
      if (p.volumes.has(def.name)) throw internal(`storage volume name '${def.name}' already in use.`);
      const v = await lock(p, async () => {
        if (p.volumes.has(def.name)) throw internal(`storage volume name '${def.name}' already in use.`);
        await refreshVolume(orig);
        // A raw copy asked for with less allocation than the source's capacity stays sparse (only
        // the source's data is written), as libvirtd's; virt-clone asks with the source's allocation.
        const sparse = def.allocation < orig.def.capacity;
        // storageVolCreateXMLFrom: at least the source's capacity, allocated to copy it all.
        if (def.capacity < orig.def.capacity) def.capacity = orig.def.capacity;
        if (def.allocation < orig.def.capacity) def.allocation = orig.def.capacity;
        placeVol(p, def);
        if (orig.def.type === "dir") throw noSupport("cannot clone a directory volume");
        await cloneVolFile(def, orig.def.target.path!, orig.def.target.format ?? "raw", sparse);
        return addVol(p, def, xml);
      });
      return volRef(p, v);
    },
    async storageVolDelete(ref, flags) {
      checkFlags(
        flags,
        VIR_STORAGE_VOL_DELETE.ZEROED | VIR_STORAGE_VOL_DELETE.WITH_SNAPSHOTS,
        "storageVolDelete",
      );
      const [p, v] = resolve(ref);
      await lock(p, async () => {
        if (p.volumes.get(v.def.name) !== v) throw noVol(ref.name);
        // The dir/fs backend's deleteVol takes no flags (virStorageBackendVolDeleteLocal).
        checkFlags(flags, 0, "virStorageBackendVolDeleteLocal");
        await deleteVolFile(v.def.target.path!);
        p.volumes.delete(v.def.name);
        await st.updateSizes(p);
      });
    },
    async storageVolWipe(ref, flags) {
      checkFlags(flags, 0, "storageVolWipe");
      const [p, v] = resolve(ref);
      await lock(p, async () => {
        await wipeVolFile(v.def.target.path!);
        await refreshVolume(v);
      });
    },
    async storageVolWipePattern(ref, algorithm, flags) {
      checkFlags(flags, 0, "storageVolWipePattern");
      if (algorithm < 0 || algorithm >= WIPE_ALG_LAST) {
        throw invalidArg(`wiping algorithm ${algorithm} not supported`);
      }
      const [p, v] = resolve(ref);
      await lock(p, async () => {
        if (algorithm === WIPE_ALG_TRIM) throw noSupport("'trim' algorithm not supported");
        if (algorithm !== WIPE_ALG_ZERO) {
          const err = Object.assign(new Error("ENOENT"), { code: "ENOENT" });
          throw sysError("Cannot find 'scrub' in path", err);
        }
        await wipeVolFile(v.def.target.path!);
        await refreshVolume(v);
      });
    },
    async storageVolGetInfo(ref) {
      const [, v] = resolve(ref);
      await refreshVolume(v);
      return {
        type: volTypeNum(v.def.type),
        capacity: Number(v.def.capacity),
        allocation: Number(v.def.allocation),
      };
    },
    async storageVolGetInfoFlags(ref, flags) {
      checkFlags(flags, VIR_STORAGE_VOL_GET_PHYSICAL, "storageVolGetInfoFlags");
      const [, v] = resolve(ref);
      await refreshVolume(v);
      const alloc = flags & VIR_STORAGE_VOL_GET_PHYSICAL ? v.physical : v.def.allocation;
      return { type: volTypeNum(v.def.type), capacity: Number(v.def.capacity), allocation: Number(alloc) };
    },
    async storageVolGetXMLDesc(ref, flags) {
      checkFlags(flags, 0, "storageVolGetXMLDesc");
      const [, v] = resolve(ref);
      await refreshVolume(v);
      return formatLiveVolXML(v);
    },
    async storageVolGetPath(ref) {
      return resolve(ref)[1].def.target.path!;
    },
    async storageVolUpload(ref, stream, offset, length, flags) {
      checkFlags(flags, VIR_STORAGE_VOL_SPARSE_STREAM, "storageVolUpload");
      const [p, v] = resolve(ref);
      const sparse = (flags & VIR_STORAGE_VOL_SPARSE_STREAM) !== 0;
      await uploadToFile(v.def.target.path!, stream, Number(offset), Number(length), sparse);
      await refreshVolume(v);
      await st.updateSizes(p);
    },
    async storageVolDownload(ref, stream, offset, length, flags) {
      checkFlags(flags, VIR_STORAGE_VOL_SPARSE_STREAM, "storageVolDownload");
      const [, v] = resolve(ref);
      // The wire's unsigned hypers past 2^53 arrive as bigint (virsh's --length -1 is 2^64-1):
      // as Numbers they keep their meaning here, "past the end of any file".
      const sparse = (flags & VIR_STORAGE_VOL_SPARSE_STREAM) !== 0;
      await downloadFromFile(v.def.target.path!, stream, Number(offset), Number(length), sparse);
    },
    async storageVolResize(ref, capacity, flags) {
      checkFlags(flags, RS.ALLOCATE | RS.DELTA | RS.SHRINK, "storageVolResize");
      const [p, v] = resolve(ref);
      await lock(p, async () => {
        await refreshVolume(v);
        const cap = BigInt(capacity);
        const cur = v.def.capacity;
        let abs: bigint;
        if (flags & RS.DELTA) abs = flags & RS.SHRINK ? cur - (cap < cur ? cap : cur) : cur + cap;
        else abs = cap;
        if (abs < v.def.allocation) throw invalidArg("can't shrink capacity below existing allocation");
        if (abs < cur && !(flags & RS.SHRINK)) {
          throw invalidArg(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
          );
        }
        const delta = flags & RS.ALLOCATE ? abs - v.def.allocation : abs - cur;
        await st.updateSizes(p);
        if (delta > p.def.available) throw opFailed("Not enough space left in storage pool");
        if (v.def.type === "dir")
          throw noSupport("storage pool does not support changing of volume capacity");
        await resizeVolFile(
          v.def.target.path!,
          v.def.target.format ?? "raw",
          abs,
          (flags & RS.ALLOCATE) !== 0,
          (flags & RS.SHRINK) !== 0,
        );
        await refreshVolume(v);
        await st.updateSizes(p);
      });
    },
  };
}
