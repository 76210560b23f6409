// How the RPC server turns a CONNECT_OPEN URI into driver tables. The daemon supplies the
// implementation (driver registry, shared test:///default instance); the server only calls it.
import type { DriverSet } from "../../driver/index.js";

export interface OpenedConnection {
  drivers: DriverSet;
  /** Called when the client closes or disconnects (shared instances do nothing). */
  release(): Promise<void>;
}

export type ConnectionOpener = (uri: string | null, readOnly: boolean) => Promise<OpenedConnection>;
