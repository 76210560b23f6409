// The host storage driver table (libvirt's storage driver with the dir and fs backends):
// pool slots and volume slots over one StorageDriverState shared by the daemon's connections.
import type { StorageDriver } from "../../driver/index.js";
import { poolSlots } from "./pool-driver.js";
import type { StorageDriverState } from "./storage-state.js";
import { volSlots } from "./vol-driver.js";

export function hostStorageDriver(st: StorageDriverState): StorageDriver {
  return { ...volSlots(st), ...poolSlots(st), name: "storage" };
}
