// Shared conf helpers: units, UUIDs, MAC addresses (no I/O).
export * from "./mac.js";
export * from "./units.js";
export * from "./uuid.js";
