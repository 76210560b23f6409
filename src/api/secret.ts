// Secret: a handle on one secret (virSecret*), checks as src/libvirt-secret.c.

import type { SecretRef } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import type { Connection } from "./connection.js";

const D = ErrorDomain.SECRET;

export class Secret {
  constructor(
    readonly conn: Connection,
    readonly ref: SecretRef,
  ) {}

  get uuid(): string {
    return this.ref.uuid;
  }
  get usageType(): number {
    return this.ref.usageType;
  }
  get usageID(): string {
    return this.ref.usageID;
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return this.conn.secretDrv("secretGetXMLDesc", "virSecretGetXMLDesc")(this.ref, flags);
  }
  async setValue(value: Uint8Array, flags = 0): Promise<void> {
    this.conn.checkWritable(D, "virSecretSetValue");
    return this.conn.secretDrv("secretSetValue", "virSecretSetValue")(this.ref, value, flags);
  }
  async getValue(flags = 0): Promise<Uint8Array> {
    this.conn.checkWritable(D, "virSecretGetValue");
    return this.conn.secretDrv("secretGetValue", "virSecretGetValue")(this.ref, flags);
  }
  async undefine(): Promise<void> {
    this.conn.checkWritable(D, "virSecretUndefine");
    return this.conn.secretDrv("secretUndefine", "virSecretUndefine")(this.ref);
  }
}
