// The host interface driver table (libvirt's virInterfaceDriver, src/driver-interface.h).

import type { InterfaceRef } from "./refs.js";

type P<T> = Promise<T>;

export interface InterfaceDriver {
  readonly name: string;
  connectNumOfInterfaces?(): P<number>;
  connectListInterfaces?(maxnames: number): P<string[]>;
  connectNumOfDefinedInterfaces?(): P<number>;
  connectListDefinedInterfaces?(maxnames: number): P<string[]>;
  connectListAllInterfaces?(flags: number): P<InterfaceRef[]>;
  interfaceLookupByName?(name: string): P<InterfaceRef>;
  interfaceLookupByMACString?(mac: string): P<InterfaceRef>;
  interfaceGetXMLDesc?(iface: InterfaceRef, flags: number): P<string>;
  interfaceDefineXML?(xml: string, flags: number): P<InterfaceRef>;
  interfaceUndefine?(iface: InterfaceRef): P<void>;
  interfaceCreate?(iface: InterfaceRef, flags: number): P<void>;
  interfaceDestroy?(iface: InterfaceRef, flags: number): P<void>;
  interfaceIsActive?(iface: InterfaceRef): P<boolean>;
  interfaceChangeBegin?(flags: number): P<void>;
  interfaceChangeCommit?(flags: number): P<void>;
  interfaceChangeRollback?(flags: number): P<void>;
}
