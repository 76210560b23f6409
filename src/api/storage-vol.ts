// StorageVol: a handle on one storage volume (virStorageVol*), checks as src/libvirt-storage.c.

import type { StorageVolInfo, StorageVolRef } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import { invalidArg } from "./check.js";
import type { Connection } from "./connection.js";
import { StoragePool } from "./storage-pool.js";

const D = ErrorDomain.STORAGE;

export class StorageVol {
  constructor(
    readonly conn: Connection,
    readonly ref: StorageVolRef,
  ) {}

  get name(): string {
    return this.ref.name;
  }
  get key(): string {
    return this.ref.key;
  }
  get poolName(): string {
    return this.ref.pool;
  }

  private rw(fn: string): void {
    this.conn.checkWritable(D, fn);
  }

  async lookupPool(): Promise<StoragePool> {
    const f = this.conn.storage("storagePoolLookupByVolume", "virStoragePoolLookupByVolume");
    return new StoragePool(this.conn, await f(this.ref));
  }
  async delete(flags = 0): Promise<void> {
    this.rw("virStorageVolDelete");
    return this.conn.storage("storageVolDelete", "virStorageVolDelete")(this.ref, flags);
  }
  async wipe(flags = 0): Promise<void> {
    this.rw("virStorageVolWipe");
    return this.conn.storage("storageVolWipe", "virStorageVolWipe")(this.ref, flags);
  }
  async wipePattern(algorithm: number, flags = 0): Promise<void> {
    this.rw("virStorageVolWipePattern");
    return this.conn.storage("storageVolWipePattern", "virStorageVolWipePattern")(this.ref, algorithm, flags);
  }
  async getInfo(flags = 0): Promise<StorageVolInfo> {
    const drv = this.conn.drivers.storage;
    if (flags === 0 && drv?.storageVolGetInfo) return drv.storageVolGetInfo(this.ref);
    return this.conn.storage("storageVolGetInfoFlags", "virStorageVolGetInfoFlags")(this.ref, flags);
  }
  async getXMLDesc(flags = 0): Promise<string> {
    return this.conn.storage("storageVolGetXMLDesc", "virStorageVolGetXMLDesc")(this.ref, flags);
  }
  async getPath(): Promise<string> {
    return this.conn.storage("storageVolGetPath", "virStorageVolGetPath")(this.ref);
  }
  async resize(capacity: number, flags = 0): Promise<void> {
    this.rw("virStorageVolResize");
    // VIR_STORAGE_VOL_RESIZE_DELTA = 2, SHRINK = 4
    if (capacity === 0 && !(flags & (2 | 4))) {
      throw invalidArg(
        D,
        "capacity in virStorageVolResize cannot be zero without 'delta' or 'shrink' flags set",
      );
    }
    return this.conn.storage("storageVolResize", "virStorageVolResize")(this.ref, capacity, flags);
  }
}
