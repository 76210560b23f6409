// The node device driver table (libvirt's virNodeDeviceDriver, src/driver-nodedev.h).

import type { NodeDeviceEvent } from "./events.js";
import type { NodeDeviceRef } from "./refs.js";

type P<T> = Promise<T>;

export interface NodeDeviceDriver {
  readonly name: string;
  nodeNumOfDevices?(cap: string | null, flags: number): P<number>;
  nodeListDevices?(cap: string | null, maxnames: number, flags: number): P<string[]>;
  connectListAllNodeDevices?(flags: number): P<NodeDeviceRef[]>;
  nodeDeviceLookupByName?(name: string): P<NodeDeviceRef>;
  nodeDeviceLookupSCSIHostByWWN?(wwnn: string, wwpn: string, flags: number): P<NodeDeviceRef>;
  nodeDeviceGetXMLDesc?(dev: NodeDeviceRef, flags: number): P<string>;
  nodeDeviceGetParent?(dev: NodeDeviceRef): P<string | null>;
  nodeDeviceNumOfCaps?(dev: NodeDeviceRef): P<number>;
  nodeDeviceListCaps?(dev: NodeDeviceRef, maxnames: number): P<string[]>;
  nodeDeviceCreateXML?(xml: string, flags: number): P<NodeDeviceRef>;
  nodeDeviceDestroy?(dev: NodeDeviceRef): P<void>;
  nodeDeviceDefineXML?(xml: string, flags: number): P<NodeDeviceRef>;
  nodeDeviceUndefine?(dev: NodeDeviceRef, flags: number): P<void>;
  nodeDeviceCreate?(dev: NodeDeviceRef, flags: number): P<void>;
  nodeDeviceIsActive?(dev: NodeDeviceRef): P<boolean>;
  nodeDeviceDettach?(dev: NodeDeviceRef): P<void>;
  nodeDeviceDetachFlags?(dev: NodeDeviceRef, driverName: string | null, flags: number): P<void>;
  nodeDeviceReAttach?(dev: NodeDeviceRef): P<void>;
  nodeDeviceReset?(dev: NodeDeviceRef): P<void>;
  nodeDeviceIsPersistent?(dev: NodeDeviceRef): P<boolean>;
  nodeDeviceGetAutostart?(dev: NodeDeviceRef): P<boolean>;
  nodeDeviceSetAutostart?(dev: NodeDeviceRef, autostart: boolean): P<void>;
  connectNodeDeviceEventRegisterAny?(
    dev: NodeDeviceRef | null,
    eventId: number,
    cb: (ev: NodeDeviceEvent) => void,
  ): P<number>;
  connectNodeDeviceEventDeregisterAny?(callbackId: number): P<void>;
}
