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

  getXMLDesc(flags = 0): Promise<string> {
    return this.conn.ifaceDrv("interfaceGetXMLDesc", "virInterfaceGetXMLDesc")(this.ref, flags);
  }
  undefine(): Promise<void> {
    this.conn.checkWritable(D, "virInterfaceUndefine");
    return this.conn.ifaceDrv("interfaceUndefine", "virInterfaceUndefine")(this.ref);
  }
  create(flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virInterfaceCreate");
    return this.conn.ifaceDrv("interfaceCreate", "virInterfaceCreate")(this.ref, flags);
  }
  destroy(flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virInterfaceDestroy");
    return this.conn.ifaceDrv("interfaceDestroy", "virInterfaceDestroy")(this.ref, flags);
  }
  isActive(): Promise<boolean> {
    return this.conn.ifaceDrv("interfaceIsActive", "virInterfaceIsActive")(this.ref);
  }
}
