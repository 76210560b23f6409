// The test connection driver: serves test:///default (a fresh default node per open, as
// libvirt does) and test:///ABSOLUTE/PATH/node.xml (a node described by a file).

import type { ConnectionDriverFactory, ConnectUri, DriverSet } from "../../driver/index.js";
import { registerConnectionDriver } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import type { TestCtx } from "./ctx.js";
import { DEFAULT_NODE_XML } from "./default-node.js";
import { testHypervisorDriver } from "./hypervisor.js";
import { testInterfaceDriver } from "./interfaces.js";
import { testNetworkDriver } from "./network.js";
import { loadNode, loadNodeFile } from "./node-config.js";
import type { TestNode } from "./node.js";
import { testNodeDeviceDriver } from "./nodedev.js";
import { testStorageDriver } from "./storage.js";

/** A fresh copy of the default node. */
export function createDefaultNode(): TestNode {
  const node = loadNode(DEFAULT_NODE_XML);
  // Only the built-in node has NUMA cells (testOpenDefault); node files describe none.
  node.buildCells();
  return node;
}

/** Every driver table over one node (the daemon can share a node across connections). */
export function testDriverSet(node: TestNode, uri: string): DriverSet {
  const ctx: TestCtx = { node, uri };
  return {
    uri,
    hypervisor: testHypervisorDriver(ctx),
    network: testNetworkDriver(ctx),
    storage: testStorageDriver(ctx),
    iface: testInterfaceDriver(ctx),
    nodedev: testNodeDeviceDriver(ctx),
  };
}

export const testConnectionDriver: ConnectionDriverFactory = {
  name: "test",
  accepts(uri: ConnectUri) {
    return uri.driver === "test" && uri.transport === undefined && !uri.host;
  },
  async open(uri: ConnectUri) {
    const path = uri.path;
    if (path === "" || path === "/") {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.TEST,
        "testOpen: supply a path or use test:///default",
      );
    }
    const node = path === "/default" ? createDefaultNode() : loadNodeFile(path);
    return testDriverSet(node, uri.text);
  },
};

/** Registers the test driver with the URI registry (idempotent). */
export function registerTestDriver(): void {
  registerConnectionDriver(testConnectionDriver);
}
