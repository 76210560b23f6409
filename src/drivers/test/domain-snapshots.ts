// Test driver snapshot slots: create (with HALT, REDEFINE, CURRENT), list with filters, tree
// navigation, current snapshot, revert with its state transitions, delete with or without
// children (test_driver.c semantics as libvirt 9.0 behaves).

import { formatDomainXML, parseDomainXML } from "../../conf/domain/index.js";
import {
  domainDisksOfXml,
  formatDomainSnapshotXML,
  parseDomainSnapshotXML,
  snapshotStateOf,
} from "../../conf/snapshot/index.js";
import { formatElement } from "../../xml/index.js";
import type { DomainSnapshotRef, HypervisorDriver } from "../../driver/index.js";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_SNAPSHOT_CREATE as C,
  VIR_DOMAIN_SNAPSHOT_DELETE as DEL,
  VIR_DOMAIN_SNAPSHOT_LIST as L,
  VIR_DOMAIN_SNAPSHOT_REVERT as R,
  VIR_DOMAIN_STATE as S,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { domainEvent, findDomain, type TestCtx } from "./ctx.js";
import { checkpointsOf } from "./domain-checkpoints.js";
import {
  checkDefCopyable,
  copyDef,
  domRef,
  isActive,
  setRunning,
  setShutoff,
  type TestDomain,
} from "./domain-obj.js";
import { checkFlags, opInvalid, testError } from "./errors.js";
import type { SnapshotDef } from "../../state/snapshot-tree.js";

const LIST_FLAGS = 0x7ff;

function findSnap(d: TestDomain, name: string): SnapshotDef {
  const s = d.snapshots.get(name);
  if (!s) throw testError(ErrorCode.NO_DOMAIN_SNAPSHOT, `no domain snapshot with matching name '${name}'`);
  return s;
}

function snapRef(d: TestDomain, name: string): DomainSnapshotRef {
  return { name, domain: domRef(d) };
}

function stopFromSnapshot(ctx: TestCtx, d: TestDomain): void {
  setShutoff(d, VIR_DOMAIN_SHUTOFF.FROM_SNAPSHOT);
  domainEvent(ctx, d, VIR_DOMAIN_EVENT.STOPPED, VIR_DOMAIN_EVENT_STOPPED.FROM_SNAPSHOT);
}

/** virDomainSnapshotDefParseString + testDomainSnapshotAlignDisks for a new snapshot. */
function buildSnapshot(d: TestDomain, xml: string): SnapshotDef {
  checkDefCopyable(d.def);
  const state = snapshotStateOf(d.state);
  const domXml = formatDomainXML(d.def, { inactive: true });
  const def: SnapshotDef = parseDomainSnapshotXML(xml, {
    domain: { state, disks: domainDisksOfXml(domXml), xml: domXml },
    memoryFromState: true,
    defaultLocation: "internal",
    requireMatch: true,
  });
  def.dom = copyDef(d.def);
  return def;
}

/** REDEFINE: the client hands back a whole snapshot description (virDomainSnapshotRedefinePrep). */
function redefineSnapshot(d: TestDomain, xml: string): SnapshotDef {
  const def: SnapshotDef = parseDomainSnapshotXML(xml, { redefine: true });
  if (def.domain) {
    const dom = parseDomainXML(formatElement(def.domain), { noIfnames: true });
    if (dom.uuid !== d.uuid) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.DOMAIN_SNAPSHOT,
        `definition for snapshot ${def.name} must use uuid ${d.uuid}`,
      );
    }
    def.dom = dom;
  }
  if (def.parent !== undefined && !d.snapshots.get(def.parent)) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.DOMAIN,
      `parent ${def.parent} for moment ${def.name} not found`,
    );
  }
  return def;
}

/** virDomainSnapshotDefFormat: the embedded domain is the snapshot's copy, printed inactive. */
function formatSnapshot(s: SnapshotDef, secure: boolean): string {
  const domainXml = s.dom ? formatDomainXML(s.dom, { inactive: true, securityInfo: secure }) : undefined;
  return formatDomainSnapshotXML({ ...s, domainXml, domain: domainXml ? undefined : s.domain });
}

export function domainSnapshotSlots(ctx: TestCtx): Partial<HypervisorDriver> {
  return {
    async domainSnapshotCreateXML(ref, xml, flags) {
      checkFlags(
        flags,
        C.REDEFINE | C.CURRENT | C.HALT | C.QUIESCE | C.ATOMIC | C.LIVE | C.VALIDATE,
        "testDomainSnapshotCreateXML",
      );
      const redefine = (flags & C.REDEFINE) !== 0;
      const d = findDomain(ctx, ref);
      if (checkpointsOf(d).size > 0) {
        throw testError(ErrorCode.OPERATION_UNSUPPORTED, "cannot create snapshot while checkpoint exists");
      }
      if (!d.persistent && flags & C.HALT) throw opInvalid("cannot halt after transient domain snapshot");
      const snap = redefine ? redefineSnapshot(d, xml) : buildSnapshot(d, xml);
      const existing = d.snapshots.get(snap.name);
      if (existing && !redefine) {
        throw virError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.DOMAIN,
          `domain moment ${snap.name} already exists`,
        );
      }
      if (!redefine) {
        snap.parent = d.snapshots.current;
        if (flags & C.HALT && isActive(d)) stopFromSnapshot(ctx, d);
      }
      d.snapshots.add(snap);
      if (!redefine || flags & C.CURRENT) d.snapshots.current = snap.name;
      return snapRef(d, snap.name);
    },
    async domainSnapshotGetXMLDesc(sref, flags) {
      checkFlags(flags, 1, "testDomainSnapshotGetXMLDesc");
      const d = findDomain(ctx, sref.domain);
      return formatSnapshot(findSnap(d, sref.name), (flags & 1) !== 0);
    },
    async domainSnapshotNum(ref, flags) {
      checkFlags(flags, LIST_FLAGS, "testDomainSnapshotNum");
      return findDomain(ctx, ref).snapshots.list(undefined, flags).length;
    },
    async domainSnapshotListNames(ref, maxnames, flags) {
      checkFlags(flags, LIST_FLAGS, "testDomainSnapshotListNames");
      const d = findDomain(ctx, ref);
      return d.snapshots
        .list(undefined, flags)
        .slice(0, maxnames)
        .map((s) => s.name);
    },
    async domainListAllSnapshots(ref, flags) {
      checkFlags(flags, LIST_FLAGS, "testDomainListAllSnapshots");
      const d = findDomain(ctx, ref);
      return d.snapshots.list(undefined, flags).map((s) => snapRef(d, s.name));
    },
    async domainSnapshotNumChildren(sref, flags) {
      checkFlags(flags, LIST_FLAGS, "testDomainSnapshotNumChildren");
      const d = findDomain(ctx, sref.domain);
      findSnap(d, sref.name);
      return d.snapshots.list(sref.name, flags).length;
    },
    async domainSnapshotListChildrenNames(sref, maxnames, flags) {
      checkFlags(flags, LIST_FLAGS, "testDomainSnapshotListChildrenNames");
      const d = findDomain(ctx, sref.domain);
      findSnap(d, sref.name);
      return d.snapshots
        .list(sref.name, flags)
        .slice(0, maxnames)
        .map((s) => s.name);
    },
    async domainSnapshotListAllChildren(sref, flags) {
      checkFlags(flags, LIST_FLAGS, "testDomainSnapshotListAllChildren");
      const d = findDomain(ctx, sref.domain);
      findSnap(d, sref.name);
      return d.snapshots.list(sref.name, flags).map((s) => snapRef(d, s.name));
    },
    async domainSnapshotLookupByName(ref, name, flags) {
      checkFlags(flags, 0, "testDomainSnapshotLookupByName");
      const d = findDomain(ctx, ref);
      return snapRef(d, findSnap(d, name).name);
    },
    async domainHasCurrentSnapshot(ref, flags) {
      checkFlags(flags, 0, "testDomainHasCurrentSnapshot");
      return findDomain(ctx, ref).snapshots.current !== undefined;
    },
    async domainSnapshotGetParent(sref, flags) {
      checkFlags(flags, 0, "testDomainSnapshotGetParent");
      const d = findDomain(ctx, sref.domain);
      const s = findSnap(d, sref.name);
      if (s.parent === undefined) {
        throw testError(ErrorCode.NO_DOMAIN_SNAPSHOT, `snapshot '${s.name}' does not have a parent`);
      }
      return snapRef(d, s.parent);
    },
    async domainSnapshotCurrent(ref, flags) {
      checkFlags(flags, 0, "testDomainSnapshotCurrent");
      const d = findDomain(ctx, ref);
      const cur = d.snapshots.current;
      if (cur === undefined) {
        throw testError(ErrorCode.NO_DOMAIN_SNAPSHOT, "the domain does not have a current snapshot");
      }
      return snapRef(d, cur);
    },
    async domainSnapshotIsCurrent(sref, flags) {
      checkFlags(flags, 0, "testDomainSnapshotIsCurrent");
      const d = findDomain(ctx, sref.domain);
      return findSnap(d, sref.name).name === d.snapshots.current;
    },
    async domainSnapshotHasMetadata(sref, flags) {
      checkFlags(flags, 0, "testDomainSnapshotHasMetadata");
      findSnap(findDomain(ctx, sref.domain), sref.name);
      return true;
    },
    async domainSnapshotDelete(sref, flags) {
      checkFlags(flags, DEL.CHILDREN | DEL.CHILDREN_ONLY, "testDomainSnapshotDelete");
      const d = findDomain(ctx, sref.domain);
      const s = findSnap(d, sref.name);
      const tree = d.snapshots;
      if (flags & (DEL.CHILDREN | DEL.CHILDREN_ONLY)) {
        let hadCurrent = false;
        for (const c of tree.descendants(s.name)) {
          if (tree.current === c.name) hadCurrent = true;
          tree.remove(c.name);
        }
        if (hadCurrent) tree.current = s.name;
      } else {
        for (const c of tree.children(s.name)) c.parent = s.parent;
      }
      if (!(flags & DEL.CHILDREN_ONLY)) {
        const wasCurrent = tree.current === s.name;
        tree.remove(s.name);
        if (wasCurrent) tree.current = s.parent !== undefined && tree.get(s.parent) ? s.parent : undefined;
      }
    },
    async domainRevertToSnapshot(sref, flags) {
      checkFlags(flags, R.RUNNING | R.PAUSED | R.FORCE, "testDomainRevertToSnapshot");
      const d = findDomain(ctx, sref.domain);
      const s = findSnap(d, sref.name);
      const snapActive = s.state === "running" || s.state === "paused";
      if (!d.persistent && !snapActive && !(flags & (R.RUNNING | R.PAUSED))) {
        throw opInvalid("transient domain needs to request run or pause to revert to inactive snapshot");
      }
      if (!(flags & R.FORCE)) {
        if (!s.dom) {
          throw testError(
            ErrorCode.SNAPSHOT_REVERT_RISKY,
            `snapshot '${s.name}' lacks domain '${d.name}' rollback info`,
          );
        }
      }
      d.snapshots.current = undefined;
      const config = copyDef(s.dom ?? d.def);
      const assign = () => {
        if (isActive(d)) d.newDef = config;
        else d.def = config;
      };
      if (snapActive) {
        // libvirt 9.0 respawns an active guest too: it gets a new id.
        if (isActive(d)) stopFromSnapshot(ctx, d);
        assign();
        setRunning(d, ctx.node.allocDomId(), VIR_DOMAIN_RUNNING.FROM_SNAPSHOT);
        domainEvent(ctx, d, VIR_DOMAIN_EVENT.STARTED, VIR_DOMAIN_EVENT_STARTED.FROM_SNAPSHOT);
        if (!(flags & R.RUNNING) && (s.state === "paused" || flags & R.PAUSED)) {
          d.state = S.PAUSED;
          d.reason = VIR_DOMAIN_PAUSED.FROM_SNAPSHOT;
          domainEvent(ctx, d, VIR_DOMAIN_EVENT.SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED.FROM_SNAPSHOT);
        }
      } else {
        assign();
        if (isActive(d)) stopFromSnapshot(ctx, d);
        // libvirt 9.0 reports a start for RUNNING/PAUSED here but leaves the domain shut off.
        if (flags & (R.RUNNING | R.PAUSED)) {
          domainEvent(ctx, d, VIR_DOMAIN_EVENT.STARTED, VIR_DOMAIN_EVENT_STARTED.FROM_SNAPSHOT);
          if (flags & R.PAUSED) {
            domainEvent(ctx, d, VIR_DOMAIN_EVENT.SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED.FROM_SNAPSHOT);
          }
        }
      }
      d.snapshots.current = s.name;
    },
  };
}

export { L as SNAPSHOT_LIST_FLAGS };
