// Public face of conf/nodedev: host node device definitions, parser and formatter.
export * from "./nodedev.js";
export * from "./types.js";
