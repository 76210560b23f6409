// How the RPC server turns a CONNECT_OPEN URI into driver tables. The daemon supplies the
// implementation (driver registry, shared instances and their lifetime); the server only calls it.
import type { DriverSet } from "../../driver/index.js";

export interface OpenedConnection {
  drivers: DriverSet;
  /**
   * Called once when the client closes or disconnects (a shared instance is closed with its last
   * client, or kept for the daemon's life, as the opener decides).
   */
  release(): Promise<void>;
}

export type ConnectionOpener = (uri: string | null, readOnly: boolean) => Promise<OpenedConnection>;
