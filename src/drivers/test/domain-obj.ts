// A domain as the test driver keeps it (libvirt's virDomainObj): live and persistent
// definitions, run state with reason, id, autostart, managed save and its snapshot tree.

import { cloneDomainDef, type DomainDef } from "../../conf/domain/index.js";
import { VIR_DOMAIN_AFFECT, VIR_DOMAIN_STATE } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { type DomainObj, isActive } from "../../state/index.js";
import { SnapshotTree } from "../../state/snapshot-tree.js";

export interface TestDomain extends DomainObj {
  hasManagedSave: boolean;
  snapshots: SnapshotTree;
}

export function newTestDomain(def: DomainDef): TestDomain {
  return {
    name: def.name,
    uuid: def.uuid,
    id: -1,
    def,
    persistent: false,
    state: VIR_DOMAIN_STATE.SHUTOFF,
    reason: 0,
    autostart: false,
    hasManagedSave: false,
    snapshots: new SnapshotTree(),
  };
}

export { domRef, isActive } from "../../state/index.js";

/**
 * A copy of a definition as libvirt's virDomainDefCopy makes it (formatted and parsed again):
 * what the parser would not keep is lost, i.e. an interface's `<bandwidth>` left without a
 * direction (domainSetInterfaceParameters can leave one; libvirt prints it, but its parser drops
 * a `<bandwidth>` without inbound/outbound).
 */
export function copyDef(def: DomainDef): DomainDef {
  const copy = cloneDomainDef(def);
  for (const n of copy.devices.interfaces) {
    const bw = n.extra.bandwidth?.[0];
    if (bw && !bw.children.some((c) => c.kind === "element")) delete n.extra.bandwidth;
  }
  return copy;
}

/** The persistent definition (virDomainObjGetPersistentDef). */
export function persistentDef(d: TestDomain): DomainDef {
  return d.newDef ?? d.def;
}

/**
 * virDomainObjUpdateModificationImpact + virDomainObjGetDefs: which definitions a
 * LIVE/CONFIG/CURRENT request touches. Errors as domain_conf.c reports them.
 */
export function getDefs(d: TestDomain, flags: number): { live?: DomainDef; config?: DomainDef } {
  let live = (flags & VIR_DOMAIN_AFFECT.LIVE) !== 0;
  let config = (flags & VIR_DOMAIN_AFFECT.CONFIG) !== 0;
  if (!live && !config) {
    if (isActive(d)) live = true;
    else config = true;
  }
  if (live && !isActive(d)) {
    throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "domain is not running");
  }
  if (config && !d.persistent) {
    throw virError(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.DOMAIN,
      "transient domains do not have any persistent config",
    );
  }
  return { live: live ? d.def : undefined, config: config ? persistentDef(d) : undefined };
}

/** virDomainObjGetOneDefState: exactly one definition; both LIVE and CONFIG is an error. */
export function getOneDef(d: TestDomain, flags: number): { def: DomainDef; live: boolean } {
  if (flags & VIR_DOMAIN_AFFECT.LIVE && flags & VIR_DOMAIN_AFFECT.CONFIG) {
    throw new VirError({
      code: ErrorCode.INVALID_ARG,
      domain: ErrorDomain.DOMAIN,
      message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
    });
  }
  const { live, config } = getDefs(d, flags);
  return live ? { def: live, live: true } : { def: config!, live: false };
}

/** Marks a domain running (testDomainStartState): new id, transient copy of the persistent def. */
export function setRunning(d: TestDomain, id: number, reason: number): void {
  d.id = id;
  d.state = VIR_DOMAIN_STATE.RUNNING;
  d.reason = reason;
  d.hasManagedSave = false;
  // virDomainObjSetDefTransient: the persistent definition becomes a copy of the live one
  if (d.persistent && !d.newDef) d.newDef = copyDef(d.def);
}

/** Marks a domain shut off (testDomainShutdownState): the persistent def becomes current again. */
export function setShutoff(d: TestDomain, reason: number): void {
  d.id = -1;
  d.state = VIR_DOMAIN_STATE.SHUTOFF;
  d.reason = reason;
  if (d.newDef) {
    d.def = d.newDef;
    d.newDef = undefined;
  }
}

/**
 * virDomainDefCopy formats and re-parses a definition; libvirt's parser then refuses what its
 * own calls stored: the empty `<vcpupin cpuset=''/>` that pinning a vCPU to no CPU leaves.
 */
export function checkDefCopyable(def: DomainDef): void {
  const ct = def.extra.cputune?.[0];
  for (const c of ct?.children ?? []) {
    if (
      c.kind === "element" &&
      c.name === "vcpupin" &&
      c.attrs.some(([k, v]) => k === "cpuset" && v === "")
    ) {
      throw virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, "Failed to parse bitmap ''");
    }
  }
}
