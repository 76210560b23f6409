// The QEMU driver's domain snapshot slots (libvirt's qemuDomainSnapshot* entry points): create,
// lookups and listings over the domain's snapshot tree, revert and delete, each under the
// domain's job lock.
import type { DomainSnapshotRef, HypervisorDriver } from "../../driver/index.js";
import { VIR_DOMAIN_SNAPSHOT_XML_SECURE as SECURE } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { checkFlags, domRef, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { createSnapshot } from "./snapshot-create.js";
import { deleteSnapshot, findSnapshot, revertToSnapshot } from "./snapshot-revert.js";
import { formatQemuSnapshot, snapshotsOf } from "./snapshot-store.js";

// Loading at start and the undefine rule are in snapshot-load.ts: the driver loads these slots
// (create, revert, delete and their QEMU paths) with their first call.
export { loadAllSnapshots, undefineSnapshots } from "./snapshot-load.js";

const LIST_FLAGS = 0x7ff;
const Q = ErrorDomain.QEMU;

function ref(d: QemuDomain, name: string): DomainSnapshotRef {
  return { name, domain: domRef(d) };
}

export function qemuSnapshotSlots(st: QemuDriverState): Partial<HypervisorDriver> {
  const job = <T>(d: QemuDomain, fn: () => Promise<T>) => st.jobs.run(d.uuid, fn);
  const parseDomain = async (xml: string) => (await st.parse(xml)).def;
  const withSnap = (sref: DomainSnapshotRef) => {
    const d = st.byRef(sref.domain);
    return { d, s: findSnapshot(d, sref.name) };
  };
  return {
    async domainSnapshotCreateXML(dref, xml, flags) {
      const d = st.byRef(dref);
      return job(d, () => createSnapshot(st, d, xml, flags, { parseDomain }));
    },
    async domainSnapshotGetXMLDesc(sref, flags) {
      checkFlags(flags, SECURE, "qemuDomainSnapshotGetXMLDesc");
      const { s } = withSnap(sref);
      return formatQemuSnapshot(s, { secure: (flags & SECURE) !== 0 });
    },
    async domainSnapshotNum(dref, flags) {
      checkFlags(flags, LIST_FLAGS, "qemuDomainSnapshotNum");
      return snapshotsOf(st.byRef(dref)).list(undefined, flags).length;
    },
    async domainSnapshotListNames(dref, maxnames, flags) {
      checkFlags(flags, LIST_FLAGS, "qemuDomainSnapshotListNames");
      return snapshotsOf(st.byRef(dref))
        .list(undefined, flags)
        .slice(0, maxnames)
        .map((s) => s.name);
    },
    async domainListAllSnapshots(dref, flags) {
      checkFlags(flags, LIST_FLAGS, "qemuDomainListAllSnapshots");
      const d = st.byRef(dref);
      return snapshotsOf(d)
        .list(undefined, flags)
        .map((s) => ref(d, s.name));
    },
    async domainSnapshotNumChildren(sref, flags) {
      checkFlags(flags, LIST_FLAGS, "qemuDomainSnapshotNumChildren");
      const { d, s } = withSnap(sref);
      return snapshotsOf(d).list(s.name, flags).length;
    },
    async domainSnapshotListChildrenNames(sref, maxnames, flags) {
      checkFlags(flags, LIST_FLAGS, "qemuDomainSnapshotListChildrenNames");
      const { d, s } = withSnap(sref);
      return snapshotsOf(d)
        .list(s.name, flags)
        .slice(0, maxnames)
        .map((c) => c.name);
    },
    async domainSnapshotListAllChildren(sref, flags) {
      checkFlags(flags, LIST_FLAGS, "qemuDomainSnapshotListAllChildren");
      const { d, s } = withSnap(sref);
      return snapshotsOf(d)
        .list(s.name, flags)
        .map((c) => ref(d, c.name));
    },
    async domainSnapshotLookupByName(dref, name, flags) {
      checkFlags(flags, 0, "qemuDomainSnapshotLookupByName");
      const d = st.byRef(dref);
      return ref(d, findSnapshot(d, name).name);
    },
    async domainHasCurrentSnapshot(dref, flags) {
      checkFlags(flags, 0, "qemuDomainHasCurrentSnapshot");
      return snapshotsOf(st.byRef(dref)).current !== undefined;
    },
    async domainSnapshotGetParent(sref, flags) {
      checkFlags(flags, 0, "qemuDomainSnapshotGetParent");
      const { d, s } = withSnap(sref);
      if (s.parent === undefined) {
        throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, Q, `snapshot '${s.name}' does not have a parent`);
      }
      return ref(d, s.parent);
    },
    async domainSnapshotCurrent(dref, flags) {
      checkFlags(flags, 0, "qemuDomainSnapshotCurrent");
      const d = st.byRef(dref);
      const cur = snapshotsOf(d).current;
      if (cur === undefined) {
        throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, Q, "the domain does not have a current snapshot");
      }
      return ref(d, cur);
    },
    async domainSnapshotIsCurrent(sref, flags) {
      checkFlags(flags, 0, "qemuDomainSnapshotIsCurrent");
      const { d, s } = withSnap(sref);
      return snapshotsOf(d).current === s.name;
    },
    async domainSnapshotHasMetadata(sref, flags) {
      checkFlags(flags, 0, "qemuDomainSnapshotHasMetadata");
      withSnap(sref);
      return true;
    },
    async domainRevertToSnapshot(sref, flags) {
      const d = st.byRef(sref.domain);
      await job(d, () => revertToSnapshot(st, d, sref.name, flags));
    },
    async domainSnapshotDelete(sref, flags) {
      const d = st.byRef(sref.domain);
      await job(d, () => deleteSnapshot(st, d, sref.name, flags));
    },
  };
}
