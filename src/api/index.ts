// Public face of src/api: the typed, async libvirt-style API (Connection and object handles).
export * from "./check.js";
export * from "./connection.js";
export * from "./domain.js";
export * from "./domain-snapshot.js";
export * from "./interface.js";
export * from "./network.js";
export * from "./node-device.js";
export * from "./secret.js";
export * from "./storage-pool.js";
export * from "./storage-vol.js";
