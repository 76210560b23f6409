// tsvirt's package entry: the typed API (Connection and object handles), the driver layer's
// flags, refs and event codes, errors, and the URI registry with the test driver registered.
import { registerTestDriver } from "./drivers/test/index.js";

registerTestDriver();

export * from "./api/index.js";
export * from "./driver/index.js";
export * from "./errors/index.js";
export { createDefaultNode, loadNode, registerTestDriver, testDriverSet } from "./drivers/test/index.js";
