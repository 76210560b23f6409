// Interface: a handle on one host network interface (virInterface*), checks as src/libvirt-interface.c.

import type { InterfaceRef } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import type { Connection } from "./connection.js";

const D = ErrorDomain.INTERFACE;

export class Interface {
  constructor(
    readonly conn: Connection,
    readonly ref: InterfaceRef,
  ) {}

  get name(): string {
    return this.ref.name;
  }
  get mac(): string {
    return this.ref.mac;
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return this.conn.ifaceDrv("interfaceGetXMLDesc", "virInterfaceGetXMLDesc")(this.ref, flags);
  }
  async undefine(): Promise<void> {
    this.conn.checkWritable(D, "virInterfaceUndefine");
    return this.conn.ifaceDrv("interfaceUndefine", "virInterfaceUndefine")(this.ref);
  }
  async create(flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virInterfaceCreate");
    return this.conn.ifaceDrv("interfaceCreate", "virInterfaceCreate")(this.ref, flags);
  }
  async destroy(flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virInterfaceDestroy");
    return this.conn.ifaceDrv("interfaceDestroy", "virInterfaceDestroy")(this.ref, flags);
  }
  async isActive(): Promise<boolean> {
    return this.conn.ifaceDrv("interfaceIsActive", "virInterfaceIsActive")(this.ref);
  }
}
