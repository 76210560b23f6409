// The network driver table (libvirt's virNetworkDriver, src/driver-network.h): optional slots
// named as libvirt's in camelCase; absent means VIR_ERR_NO_SUPPORT.

import type { NetworkEvent } from "./events.js";
import type { NetworkRef } from "./refs.js";
import type { NetworkDHCPLease } from "./types.js";

type P<T> = Promise<T>;

export interface NetworkDriver {
  readonly name: string;
  connectNumOfNetworks?(): P<number>;
  connectListNetworks?(maxnames: number): P<string[]>;
  connectNumOfDefinedNetworks?(): P<number>;
  connectListDefinedNetworks?(maxnames: number): P<string[]>;
  connectListAllNetworks?(flags: number): P<NetworkRef[]>;
  networkLookupByName?(name: string): P<NetworkRef>;
  networkLookupByUUID?(uuid: string): P<NetworkRef>;
  networkCreateXMLFlags?(xml: string, flags: number): P<NetworkRef>;
  networkDefineXMLFlags?(xml: string, flags: number): P<NetworkRef>;
  networkUndefine?(net: NetworkRef): P<void>;
  networkUpdate?(
    net: NetworkRef,
    command: number,
    section: number,
    parentIndex: number,
    xml: string,
    flags: number,
  ): P<void>;
  networkCreate?(net: NetworkRef): P<void>;
  networkDestroy?(net: NetworkRef): P<void>;
  networkGetXMLDesc?(net: NetworkRef, flags: number): P<string>;
  networkGetBridgeName?(net: NetworkRef): P<string>;
  networkGetAutostart?(net: NetworkRef): P<boolean>;
  networkSetAutostart?(net: NetworkRef, autostart: boolean): P<void>;
  networkIsActive?(net: NetworkRef): P<boolean>;
  networkIsPersistent?(net: NetworkRef): P<boolean>;
  networkGetDHCPLeases?(net: NetworkRef, mac: string | null, flags: number): P<NetworkDHCPLease[]>;
  connectNetworkEventRegisterAny?(
    net: NetworkRef | null,
    eventId: number,
    cb: (ev: NetworkEvent) => void,
  ): P<number>;
  connectNetworkEventDeregisterAny?(callbackId: number): P<void>;
}
