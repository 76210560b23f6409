// Public face of src/driver: the driver tables, refs, flags, event codes and the URI registry.
export * from "./events.js";
export * from "./flags.js";
export * from "./pool-type-bits.js";
export type * from "./hypervisor.js";
export type * from "./interface.js";
export type * from "./network.js";
export type * from "./nodedev.js";
export type * from "./nwfilter.js";
export type * from "./refs.js";
export * from "./registry.js";
export type * from "./secret.js";
export type * from "./storage.js";
export * from "./types.js";
export * from "./uri.js";
