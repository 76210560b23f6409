// The URI registry: connection-driver factories register themselves (test, qemu, remote ...)
// and openDriverSet() asks each in turn whether it serves a URI, as virConnectOpen walks
// libvirt's driver table. Registration is one call; later registrations are asked first.

import { ErrorCode, ErrorDomain, virError } from "../errors/index.js";
import type { HypervisorDriver } from "./hypervisor.js";
import type { InterfaceDriver } from "./interface.js";
import type { NetworkDriver } from "./network.js";
import type { NodeDeviceDriver } from "./nodedev.js";
import type { NWFilterDriver } from "./nwfilter.js";
import type { SecretDriver } from "./secret.js";
import type { StorageDriver } from "./storage.js";
import { type ConnectUri, parseConnectUri } from "./uri.js";

/** Every driver table of one open connection (libvirt's virConnect driver pointers). */
export interface DriverSet {
  /** The URI the connection was opened with, as given. */
  uri: string;
  hypervisor: HypervisorDriver;
  network?: NetworkDriver;
  storage?: StorageDriver;
  secret?: SecretDriver;
  iface?: InterfaceDriver;
  nodedev?: NodeDeviceDriver;
  nwfilter?: NWFilterDriver;
}

export interface OpenOptions {
  readOnly?: boolean;
}

export interface ConnectionDriverFactory {
  /** Short name for diagnostics ("test", "qemu", "remote"). */
  name: string;
  /** True when this factory serves `uri` (libvirt's VIR_DRV_OPEN_DECLINED otherwise). */
  accepts(uri: ConnectUri): boolean;
  /** Opens a connection; throws VirError when the URI is its own but cannot be opened. */
  open(uri: ConnectUri, opts: OpenOptions): Promise<DriverSet>;
}

const factories: ConnectionDriverFactory[] = [];

/** Adds a factory (replacing one of the same name). Later registrations are tried first. */
export function registerConnectionDriver(f: ConnectionDriverFactory): void {
  unregisterConnectionDriver(f.name);
  factories.unshift(f);
}

export function unregisterConnectionDriver(name: string): void {
  const i = factories.findIndex((x) => x.name === name);
  if (i >= 0) factories.splice(i, 1);
}

export function registeredConnectionDrivers(): readonly string[] {
  return factories.map((f) => f.name);
}

/** Opens the driver set serving `uriText`; VIR_ERR_NO_CONNECT when no factory accepts it. */
export async function openDriverSet(uriText: string, opts: OpenOptions = {}): Promise<DriverSet> {
  const uri = parseConnectUri(uriText);
  for (const f of factories) {
    if (f.accepts(uri)) return f.open(uri, opts);
  }
  throw virError(ErrorCode.NO_CONNECT, ErrorDomain.NONE, uriText);
}
