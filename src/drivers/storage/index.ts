// Public face of the host storage driver: its state (load, autostart, default pool) and table.
export { hostStorageDriver } from "./driver.js";
export { createStorageDriverState, type StorageDriverOptions, StorageDriverState } from "./storage-state.js";
export { withHostStorage } from "./compose.js";
