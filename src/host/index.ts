// Public face of src/host: process spawning, waiting and killing.
export * from "./kill.js";
export * from "./spawn.js";
export * from "./ports.js";
export * from "./proc-stat.js";
export * from "./netdev.js";
