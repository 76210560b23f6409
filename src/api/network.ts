// Network: a handle on one virtual network (virNetwork*), checks as src/libvirt-network.c.

import type { NetworkDHCPLease, NetworkRef } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import { UuidHandle } from "./uuid-handle.js";

const D = ErrorDomain.NETWORK;

export class Network extends UuidHandle<NetworkRef> {
  private rw(fn: string): void {
    this.conn.checkWritable(D, fn);
  }

  async create(): Promise<void> {
    this.rw("virNetworkCreate");
    return this.conn.net("networkCreate", "virNetworkCreate")(this.ref);
  }
  async destroy(): Promise<void> {
    this.rw("virNetworkDestroy");
    return this.conn.net("networkDestroy", "virNetworkDestroy")(this.ref);
  }
  async undefine(): Promise<void> {
    this.rw("virNetworkUndefine");
    return this.conn.net("networkUndefine", "virNetworkUndefine")(this.ref);
  }
  async update(command: number, section: number, parentIndex: number, xml: string, flags = 0): Promise<void> {
    this.rw("virNetworkUpdate");
    return this.conn.net("networkUpdate", "virNetworkUpdate")(
      this.ref,
      command,
      section,
      parentIndex,
      xml,
      flags,
    );
  }
  async getXMLDesc(flags = 0): Promise<string> {
    return this.conn.net("networkGetXMLDesc", "virNetworkGetXMLDesc")(this.ref, flags);
  }
  async getBridgeName(): Promise<string> {
    return this.conn.net("networkGetBridgeName", "virNetworkGetBridgeName")(this.ref);
  }
  async getAutostart(): Promise<boolean> {
    return this.conn.net("networkGetAutostart", "virNetworkGetAutostart")(this.ref);
  }
  async setAutostart(autostart: boolean): Promise<void> {
    this.rw("virNetworkSetAutostart");
    return this.conn.net("networkSetAutostart", "virNetworkSetAutostart")(this.ref, autostart);
  }
  async isActive(): Promise<boolean> {
    return this.conn.net("networkIsActive", "virNetworkIsActive")(this.ref);
  }
  async isPersistent(): Promise<boolean> {
    return this.conn.net("networkIsPersistent", "virNetworkIsPersistent")(this.ref);
  }
  async getDHCPLeases(mac: string | null = null, flags = 0): Promise<NetworkDHCPLease[]> {
    return this.conn.net("networkGetDHCPLeases", "virNetworkGetDHCPLeases")(this.ref, mac, flags);
  }
}
