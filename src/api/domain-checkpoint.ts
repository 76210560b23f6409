// DomainCheckpoint: a handle on one checkpoint (virDomainCheckpoint*), checks as
// src/libvirt-domain-checkpoint.c does before dispatching to the hypervisor slot.

import type { DomainCheckpointRef } from "../driver/index.js";
import { VIR_DOMAIN_CHECKPOINT_DELETE, VIR_DOMAIN_CHECKPOINT_XML } from "../driver/index.js";
import { ErrorCode, ErrorDomain, VirError } from "../errors/index.js";
import { checkExclusive } from "./check.js";
import type { Domain } from "./domain.js";

const D = ErrorDomain.DOMAIN_CHECKPOINT;

export class DomainCheckpoint {
  constructor(
    readonly domain: Domain,
    readonly ref: DomainCheckpointRef,
  ) {}

  get name(): string {
    return this.ref.name;
  }

  private hv<K extends Parameters<Domain["conn"]["hv"]>[0]>(key: K, fn: string) {
    return this.domain.conn.hv(key, fn, D);
  }

  async getXMLDesc(flags = 0): Promise<string> {
    if (this.domain.conn.readOnly && flags & VIR_DOMAIN_CHECKPOINT_XML.SECURE) {
      throw new VirError({
        code: ErrorCode.OPERATION_DENIED,
        domain: D,
        message: "operation forbidden: virDomainCheckpointGetXMLDesc with secure flag",
      });
    }
    return this.hv("domainCheckpointGetXMLDesc", "virDomainCheckpointGetXMLDesc")(this.ref, flags);
  }
  async getParent(flags = 0): Promise<DomainCheckpoint> {
    const r = await this.hv("domainCheckpointGetParent", "virDomainCheckpointGetParent")(this.ref, flags);
    return new DomainCheckpoint(this.domain, r);
  }
  async listAllChildren(flags = 0): Promise<DomainCheckpoint[]> {
    const f = this.hv("domainCheckpointListAllChildren", "virDomainCheckpointListAllChildren");
    return (await f(this.ref, flags)).map((r) => new DomainCheckpoint(this.domain, r));
  }
  async delete(flags = 0): Promise<void> {
    this.domain.conn.checkWritable(D, "virDomainCheckpointDelete");
    checkExclusive(
      flags,
      VIR_DOMAIN_CHECKPOINT_DELETE.CHILDREN,
      "VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN",
      VIR_DOMAIN_CHECKPOINT_DELETE.CHILDREN_ONLY,
      "VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY",
      D,
    );
    return this.hv("domainCheckpointDelete", "virDomainCheckpointDelete")(this.ref, flags);
  }
}
