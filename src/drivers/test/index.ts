// Public face of the test driver: the connection factory, node construction and registration.
export { DEFAULT_NODE_XML } from "./default-node.js";
export { createDefaultNode, registerTestDriver, testConnectionDriver, testDriverSet } from "./driver.js";
export { loadNode, loadNodeFile } from "./node-config.js";
export { TestNode } from "./node.js";
