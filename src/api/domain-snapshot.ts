// DomainSnapshot: a handle on one snapshot (virDomainSnapshot*), checks as
// src/libvirt-domain-snapshot.c does before dispatching to the hypervisor slot.

import type { DomainSnapshotRef } from "../driver/index.js";
import {
  VIR_DOMAIN_SNAPSHOT_DELETE,
  VIR_DOMAIN_SNAPSHOT_REVERT,
  VIR_DOMAIN_SNAPSHOT_XML_SECURE,
} from "../driver/index.js";
import { ErrorCode, ErrorDomain, VirError } from "../errors/index.js";
import { checkExclusive } from "./check.js";
import type { Domain } from "./domain.js";

const D = ErrorDomain.DOMAIN_SNAPSHOT;

export class DomainSnapshot {
  constructor(
    readonly domain: Domain,
    readonly ref: DomainSnapshotRef,
  ) {}

  get name(): string {
    return this.ref.name;
  }

  private hv<K extends Parameters<Domain["conn"]["hv"]>[0]>(key: K, fn: string) {
    return this.domain.conn.hv(key, fn, D);
  }

  async getXMLDesc(flags = 0): Promise<string> {
    if (this.domain.conn.readOnly && flags & VIR_DOMAIN_SNAPSHOT_XML_SECURE) {
      throw new VirError({
        code: ErrorCode.OPERATION_DENIED,
        domain: D,
        message: "operation forbidden: virDomainSnapshotGetXMLDesc with secure flag",
      });
    }
    return this.hv("domainSnapshotGetXMLDesc", "virDomainSnapshotGetXMLDesc")(this.ref, flags);
  }
  async numChildren(flags = 0): Promise<number> {
    return this.hv("domainSnapshotNumChildren", "virDomainSnapshotNumChildren")(this.ref, flags);
  }
  async listChildrenNames(maxnames = 65536, flags = 0): Promise<string[]> {
    return this.hv("domainSnapshotListChildrenNames", "virDomainSnapshotListChildrenNames")(
      this.ref,
      maxnames,
      flags,
    );
  }
  async listAllChildren(flags = 0): Promise<DomainSnapshot[]> {
    const refs = await this.hv("domainSnapshotListAllChildren", "virDomainSnapshotListAllChildren")(
      this.ref,
      flags,
    );
    return refs.map((r) => new DomainSnapshot(this.domain, r));
  }
  async getParent(flags = 0): Promise<DomainSnapshot> {
    const r = await this.hv("domainSnapshotGetParent", "virDomainSnapshotGetParent")(this.ref, flags);
    return new DomainSnapshot(this.domain, r);
  }
  async isCurrent(flags = 0): Promise<boolean> {
    return this.hv("domainSnapshotIsCurrent", "virDomainSnapshotIsCurrent")(this.ref, flags);
  }
  async hasMetadata(flags = 0): Promise<boolean> {
    return this.hv("domainSnapshotHasMetadata", "virDomainSnapshotHasMetadata")(this.ref, flags);
  }
  /** virDomainRevertToSnapshot. */
  async revert(flags = 0): Promise<void> {
    this.domain.conn.checkWritable(D, "virDomainRevertToSnapshot");
    checkExclusive(
      flags,
      VIR_DOMAIN_SNAPSHOT_REVERT.RUNNING,
      "VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING",
      VIR_DOMAIN_SNAPSHOT_REVERT.PAUSED,
      "VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED",
      D,
    );
    return this.hv("domainRevertToSnapshot", "virDomainRevertToSnapshot")(this.ref, flags);
  }
  async delete(flags = 0): Promise<void> {
    this.domain.conn.checkWritable(D, "virDomainSnapshotDelete");
    checkExclusive(
      flags,
      VIR_DOMAIN_SNAPSHOT_DELETE.CHILDREN,
      "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN",
      VIR_DOMAIN_SNAPSHOT_DELETE.CHILDREN_ONLY,
      "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY",
      D,
    );
    return this.hv("domainSnapshotDelete", "virDomainSnapshotDelete")(this.ref, flags);
  }
}
