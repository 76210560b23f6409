// Adds the host network driver to a connection factory's driver sets: libvirt serves network
// calls of every qemu:/// connection from the one network driver of the daemon.
import type { ConnectionDriverFactory, NetworkDHCPLease } from "../../driver/index.js";
import { hostNetworkDriver } from "./driver.js";
import { internal, noNetwork, opInvalid } from "./errors.js";
import type { NetworkDriverState } from "./network-state.js";

/** `state` resolves to null when the network driver failed to start: connections then lack it. */
export function withHostNetwork(
  f: ConnectionDriverFactory,
  state: Promise<NetworkDriverState | null>,
): ConnectionDriverFactory {
  return {
    ...f,
    async open(uri, opts) {
      const set = await f.open(uri, opts);
      const st = await state;
      return st ? { ...set, network: hostNetworkDriver(st) } : set;
    },
  };
}

/** The QEMU driver's bridge resolver (type='network' NICs): the bridge of an active network. */
export function networkBridgeResolver(state: Promise<NetworkDriverState | null>) {
  return async (name: string): Promise<string> => {
    const st = await state;
    const n = st?.nets.byName(name);
    if (!st || !n) throw noNetwork(name);
    if (!n.active) throw opInvalid(`network '${name}' is not active`);
    if (!n.def.bridge.name) throw internal(`network '${name}' does not have a bridge name.`);
    return n.def.bridge.name;
  };
}

/**
 * The QEMU driver's DHCP lease lookup (virDomainInterfaceAddresses, source "lease"): a network's
 * current leases for one MAC, as virNetworkGetDHCPLeases gives them.
 */
export function networkLeasesResolver(state: Promise<NetworkDriverState | null>) {
  return async (name: string, mac: string): Promise<NetworkDHCPLease[]> => {
    const st = await state;
    const n = st?.nets.byName(name);
    if (!st || !n) throw noNetwork(name);
    const drv = hostNetworkDriver(st);
    return drv.networkGetDHCPLeases!({ name: n.name, uuid: n.uuid }, mac, 0);
  };
}
