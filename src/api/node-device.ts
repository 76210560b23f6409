// NodeDevice: a handle on one host device (virNodeDevice*), checks as src/libvirt-nodedev.c.

import type { NodeDeviceRef } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import type { Connection } from "./connection.js";

const D = ErrorDomain.NODEDEV;

export class NodeDevice {
  constructor(
    readonly conn: Connection,
    readonly ref: NodeDeviceRef,
  ) {}

  get name(): string {
    return this.ref.name;
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return this.conn.nodedevDrv("nodeDeviceGetXMLDesc", "virNodeDeviceGetXMLDesc")(this.ref, flags);
  }
  async getParent(): Promise<string | null> {
    return this.conn.nodedevDrv("nodeDeviceGetParent", "virNodeDeviceGetParent")(this.ref);
  }
  async numOfCaps(): Promise<number> {
    return this.conn.nodedevDrv("nodeDeviceNumOfCaps", "virNodeDeviceNumOfCaps")(this.ref);
  }
  async listCaps(maxnames = 65536): Promise<string[]> {
    return this.conn.nodedevDrv("nodeDeviceListCaps", "virNodeDeviceListCaps")(this.ref, maxnames);
  }
  async destroy(): Promise<void> {
    this.conn.checkWritable(D, "virNodeDeviceDestroy");
    return this.conn.nodedevDrv("nodeDeviceDestroy", "virNodeDeviceDestroy")(this.ref);
  }
  async undefine(flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virNodeDeviceUndefine");
    return this.conn.nodedevDrv("nodeDeviceUndefine", "virNodeDeviceUndefine")(this.ref, flags);
  }
  async create(flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virNodeDeviceCreate");
    return this.conn.nodedevDrv("nodeDeviceCreate", "virNodeDeviceCreate")(this.ref, flags);
  }
  async isActive(): Promise<boolean> {
    return this.conn.nodedevDrv("nodeDeviceIsActive", "virNodeDeviceIsActive")(this.ref);
  }
  async isPersistent(): Promise<boolean> {
    return this.conn.nodedevDrv("nodeDeviceIsPersistent", "virNodeDeviceIsPersistent")(this.ref);
  }
  async getAutostart(): Promise<boolean> {
    return this.conn.nodedevDrv("nodeDeviceGetAutostart", "virNodeDeviceGetAutostart")(this.ref);
  }
  async setAutostart(autostart: boolean): Promise<void> {
    this.conn.checkWritable(D, "virNodeDeviceSetAutostart");
    return this.conn.nodedevDrv("nodeDeviceSetAutostart", "virNodeDeviceSetAutostart")(this.ref, autostart);
  }
}
