// tsvirt's package entry, the typed SDK: the async API (Connection and object handles), the driver
// layer's flags, refs and event codes, errors, and `connect()` — test:/// in-process, every other
// URI (qemu:///system, qemu+tls://host/system, test+unix:///default?socket=…) through a daemon.
import { type Connection, type ConnectionOptions, openConnection } from "./api/index.js";
import { registerRemoteDriver } from "./drivers/remote/register.js";
import { registerTestDriver } from "./drivers/test/index.js";

registerRemoteDriver();
registerTestDriver();

/** Opens a connection as libvirt's virConnectOpen does; `{ readOnly: true }` as virConnectOpenReadOnly. */
export function connect(uri: string, opts: ConnectionOptions = {}): Promise<Connection> {
  return openConnection(uri, opts);
}

export * from "./api/index.js";
export * from "./driver/index.js";
export * from "./errors/index.js";
export { createDefaultNode, loadNode, registerTestDriver, testDriverSet } from "./drivers/test/index.js";
