// Public face of the QMP monitor: client, line decoder, error mapping.
export * from "./line-decoder.js";
export * from "./qmp-client.js";
export * from "./qmp-errors.js";
