// Storage pools and volumes as the test driver keeps them (virStoragePoolObj / virStorageVolDef):
// the pool definition with its live sizes, run state, autostart and its volumes.

import type { StoragePoolDef, StorageVolDef } from "../../conf/storage/index.js";

export interface TestPool {
  name: string;
  uuid: string;
  def: StoragePoolDef;
  /** Definition to apply at next start (virStoragePoolObj.newDef). */
  newDef?: StoragePoolDef;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  volumes: StorageVolDef[];
}

/** testStoragePoolObjSetDefaults: every test pool claims 100 GiB. */
export const DEFAULT_POOL_CAPACITY = 100n * 1024n * 1024n * 1024n;

export function setPoolDefaults(def: StoragePoolDef): void {
  def.capacity = DEFAULT_POOL_CAPACITY;
  def.allocation = 0n;
  def.available = DEFAULT_POOL_CAPACITY;
}
