// The QEMU driver's domain snapshot slots (libvirt's qemuDomainSnapshot* entry points): create,
// lookups and listings over the domain's snapshot tree, revert and delete, each under the
// domain's job lock; plus loading the metadata at daemon start and the undefine rule.
import { rm } from "node:fs/promises";
import type { DomainSnapshotRef, HypervisorDriver } from "../../driver/index.js";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_ID,
  VIR_DOMAIN_UNDEFINE,
  VIR_DOMAIN_SNAPSHOT_XML_SECURE as SECURE,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { checkFlags, domRef, isActive, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { createSnapshot } from "./snapshot-create.js";
import { deleteSnapshot, findSnapshot, revertToSnapshot } from "./snapshot-revert.js";
import {
  discardAllSnapshotMetadata,
  formatQemuSnapshot,
  loadSnapshots,
  snapshotDir,
  snapshotsOf,
} from "./snapshot-store.js";

const LIST_FLAGS = 0x7ff;
const Q = ErrorDomain.QEMU;

function ref(d: QemuDomain, name: string): DomainSnapshotRef {
  return { name, domain: domRef(d) };
}

/**
 * Loads every domain's snapshot metadata (after the domains themselves are loaded), and from
 * then on drops the metadata of a domain that goes away when it stops (a transient one, as
 * libvirt's qemuDomainRemoveInactive does).
 */
export async function loadAllSnapshots(st: QemuDriverState): Promise<string[]> {
  const parse = async (xml: string) => (await st.parse(xml)).def;
  const problems: string[] = [];
  for (const d of st.domains.values()) problems.push(...(await loadSnapshots(st, d, parse)));
  st.events.register(VIR_DOMAIN_EVENT_ID.LIFECYCLE, null, (ev) => {
    if (ev.event !== VIR_DOMAIN_EVENT.STOPPED) return;
    if (st.domains.byUuid(ev.dom.uuid) || st.domains.byName(ev.dom.name)) return;
    void rm(snapshotDir(st, ev.dom.name), { recursive: true, force: true }).catch(() => {});
  });
  return problems;
}

/**
 * qemuDomainUndefineFlags' snapshot rule: an inactive domain with snapshot metadata is kept
 * unless VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA, which drops the metadata (not the images).
 */
export async function undefineSnapshots(st: QemuDriverState, d: QemuDomain, flags: number): Promise<void> {
  const n = snapshotsOf(d).size;
  if (isActive(d) || n === 0) return;
  if (!(flags & VIR_DOMAIN_UNDEFINE.SNAPSHOTS_METADATA)) {
    throw virError(ErrorCode.OPERATION_INVALID, Q, `cannot delete inactive domain with ${n} snapshots`);
  }
  await discardAllSnapshotMetadata(st, d);
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
