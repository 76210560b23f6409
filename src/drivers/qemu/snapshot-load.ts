// The QEMU driver's snapshot metadata outside the snapshot slots (snapshot.ts): loaded at daemon
// start, and libvirt's undefine rule. Split from the slots so that a daemon that never takes a
// snapshot does not load their modules (create, revert, disks, memory; see driver.ts).
import { rm } from "node:fs/promises";
import { VIR_DOMAIN_EVENT, VIR_DOMAIN_EVENT_ID, VIR_DOMAIN_UNDEFINE } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { isActive, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { discardAllSnapshotMetadata, loadSnapshots, snapshotDir, snapshotsOf } from "./snapshot-store.js";

const Q = ErrorDomain.QEMU;

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
