// Adds the host storage driver to a connection factory's driver sets: libvirt serves storage
// calls of every qemu:/// connection from the one storage driver of the daemon.
import type { ConnectionDriverFactory } from "../../driver/index.js";
import { hostStorageDriver } from "./driver.js";
import type { StorageDriverState } from "./storage-state.js";

/** `state` resolves to null when the storage driver failed to start: connections then lack it. */
export function withHostStorage(
  f: ConnectionDriverFactory,
  state: Promise<StorageDriverState | null>,
): ConnectionDriverFactory {
  return {
    ...f,
    async open(uri, opts) {
      const set = await f.open(uri, opts);
      const st = await state;
      return st ? { ...set, storage: hostStorageDriver(st) } : set;
    },
  };
}
