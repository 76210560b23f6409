// virDomainRevertToSnapshot and virDomainSnapshotDelete for the QEMU driver, following libvirt
// 9.0's qemuSnapshotRevert / qemuSnapshotDelete: a snapshot with memory is loaded with HMP
// loadvm into the running QEMU (or a new one started with -loadvm); a shut-off snapshot is
// applied to the qcow2 images offline; the definitions go back to the snapshot's. Delete drops
// the internal snapshot from the images (delvm while running) and re-links the tree.
import { rm } from "node:fs/promises";
import { cloneDomainDef, type DiskDef, type DomainDef, formatDomainXML } from "../../conf/domain/index.js";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_SNAPSHOT_DELETE as DEL,
  VIR_DOMAIN_SNAPSHOT_REVERT as R,
  VIR_DOMAIN_STATE as S,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { checkFlags, isActive, type QemuDomain } from "./domain-obj.js";
import { setState, startDomain } from "./domain-lifecycle.js";
import { hasManagedSave } from "./domain-save.js";
import type { QemuDriverState } from "./driver-state.js";
import { hmpDelVm, hmpLoadVm } from "./monitor/hmp-snapshot.js";
import { commitLiveExternal } from "./snapshot-live-external.js";
import { commitOverlay, diskFormat, diskPath, forEachQcow2, pointDiskAt } from "./snapshot-disks.js";
import {
  type QemuSnapshot,
  removeSnapshotMetadata,
  snapshotsOf,
  writeSnapshotMetadata,
} from "./snapshot-store.js";

const Q = ErrorDomain.QEMU;

export function findSnapshot(d: QemuDomain, name: string): QemuSnapshot {
  const s = snapshotsOf(d).get(name);
  if (!s) throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, Q, `no domain snapshot with matching name '${name}'`);
  return s;
}

/** virDomainSnapshotIsExternal: external memory or any external disk. */
export function isExternal(s: QemuSnapshot): boolean {
  return s.memory?.snapshot === "external" || s.disks.some((x) => x.snapshot === "external");
}

const online = (s: QemuSnapshot) => s.state === "running" || s.state === "paused";

/**
 * Differences that make a running QEMU unable to take the snapshot's state (libvirt's ABI
 * stability check, reduced to what decides the guest's hardware here).
 */
function abiDifference(a: DomainDef, b: DomainDef): string | undefined {
  if (a.memory !== b.memory) return `Target domain max memory ${b.memory} does not match source ${a.memory}`;
  if (a.vcpu.max !== b.vcpu.max)
    return `Target domain vCPU max ${b.vcpu.max} does not match source ${a.vcpu.max}`;
  if (a.os.machine !== b.os.machine)
    return `Target machine type ${b.os.machine} does not match source ${a.os.machine}`;
  const disks = (d: DomainDef) => d.devices.disks.map((x) => `${x.target.dev}:${x.target.bus}`).join(",");
  if (disks(a) !== disks(b)) return "Target domain disk count or targets do not match source";
  if (a.devices.interfaces.length !== b.devices.interfaces.length)
    return `Target domain network interface count ${b.devices.interfaces.length} does not match source ${a.devices.interfaces.length}`;
  return undefined;
}

/** A QEMU started by a revert reports started (and suspended) "from snapshot", as libvirt does. */
function fromSnapshot(paused: boolean): { started: number; suspended?: number } {
  return {
    started: VIR_DOMAIN_EVENT_STARTED.FROM_SNAPSHOT,
    suspended: paused ? VIR_DOMAIN_EVENT_SUSPENDED.FROM_SNAPSHOT : undefined,
  };
}

/** Stops QEMU for the revert (shut off "from snapshot"); a transient domain stays listed. */
async function stopForRevert(st: QemuDriverState, d: QemuDomain): Promise<void> {
  if (!d.proc) return;
  d.stopping = { reason: VIR_DOMAIN_SHUTOFF.FROM_SNAPSHOT, detail: VIR_DOMAIN_EVENT_STOPPED.FROM_SNAPSHOT };
  await d.proc.destroy(3000);
  if (!st.domains.byUuid(d.uuid)) st.domains.add(d);
}

/** Installs `def` as the persistent definition (the live one while QEMU runs stays). */
function assignPersistent(d: QemuDomain, def: DomainDef): void {
  def.name = d.name;
  if (isActive(d)) d.newDef = def;
  else d.def = def;
}

export async function revertToSnapshot(
  st: QemuDriverState,
  d: QemuDomain,
  name: string,
  flags: number,
): Promise<void> {
  checkFlags(flags, R.RUNNING | R.PAUSED | R.FORCE, "qemuDomainRevertToSnapshot");
  if (flags & R.RUNNING && flags & R.PAUSED) {
    throw virError(
      ErrorCode.INVALID_ARG,
      Q,
      "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive",
    );
  }
  const snap = findSnapshot(d, name);
  const force = (flags & R.FORCE) !== 0;
  if (!d.persistent && !online(snap) && !(flags & (R.RUNNING | R.PAUSED))) {
    throw virError(
      ErrorCode.OPERATION_INVALID,
      Q,
      "transient domain needs to request run or pause to revert to inactive snapshot",
    );
  }
  if (isExternal(snap)) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, Q, "revert to external snapshot not supported yet");
  }
  if (!force) {
    if (!snap.dom) {
      throw virError(
        ErrorCode.SNAPSHOT_REVERT_RISKY,
        Q,
        `snapshot '${snap.name}' lacks domain '${d.name}' rollback info`,
      );
    }
    if (isActive(d) && !online(snap) && flags & (R.RUNNING | R.PAUSED)) {
      throw virError(ErrorCode.SNAPSHOT_REVERT_RISKY, Q, "must respawn qemu to start inactive snapshot");
    }
    if (hasManagedSave(st, d) && !online(snap)) {
      throw virError(
        ErrorCode.SNAPSHOT_REVERT_RISKY,
        Q,
        "snapshot without memory state, removal of existing managed saved state strongly recommended to avoid corruption",
      );
    }
  }
  // config: what QEMU runs; inactiveConfig: the persistent definition afterwards.
  let config = snap.dom ? cloneDomainDef(snap.dom) : undefined;
  let inactiveConfig: DomainDef | undefined;
  if (snap.inactiveDom) inactiveConfig = cloneDomainDef(snap.inactiveDom);
  else if (online(snap)) inactiveConfig = snap.dom ? cloneDomainDef(snap.dom) : undefined;
  else {
    inactiveConfig = config;
    config = undefined;
  }
  let defined = false;

  if (online(snap)) {
    const wantPaused = !(flags & R.RUNNING) && (snap.state === "paused" || (flags & R.PAUSED) !== 0);
    let proc = d.proc;
    let incompatible: string | undefined;
    if (proc && config) incompatible = abiDifference(d.def, config);
    if (proc && incompatible) {
      if (!force) throw virError(ErrorCode.SNAPSHOT_REVERT_RISKY, Q, incompatible);
      await stopForRevert(st, d);
      proc = undefined;
    }
    if (proc) {
      // Transitions running/paused → running/paused: loadvm into the QEMU we have, paused.
      const wasRunning = d.state === S.RUNNING;
      d.userOp = true;
      try {
        if (wasRunning) {
          await proc.monitor.execute("stop");
          setState(d, S.PAUSED, VIR_DOMAIN_PAUSED.FROM_SNAPSHOT);
        }
        await hmpLoadVm(proc.monitor, snap.name);
      } finally {
        d.userOp = false;
      }
      if (inactiveConfig) {
        assignPersistent(d, inactiveConfig);
        defined = true;
      }
      if (wantPaused) {
        setState(d, S.PAUSED, VIR_DOMAIN_PAUSED.FROM_SNAPSHOT);
      } else {
        d.userOp = true;
        try {
          await proc.monitor.execute("cont");
        } finally {
          d.userOp = false;
        }
        setState(d, S.RUNNING, VIR_DOMAIN_RUNNING.FROM_SNAPSHOT);
        if (!wasRunning) st.lifecycle(d, VIR_DOMAIN_EVENT.RESUMED, VIR_DOMAIN_EVENT_RESUMED.FROM_SNAPSHOT);
      }
    } else {
      // Inactive → running/paused: a new QEMU loads the snapshot before its CPUs start.
      if (inactiveConfig) {
        assignPersistent(d, inactiveConfig);
        defined = true;
      }
      const runXml = formatDomainXML(config ?? d.def, { inactive: true, securityInfo: true });
      await startDomain(st, d, true, {
        xml: runXml,
        extraArgs: ["-loadvm", snap.name],
        events: fromSnapshot(wantPaused),
      });
      if (wantPaused) {
        setState(d, S.PAUSED, VIR_DOMAIN_PAUSED.FROM_SNAPSHOT);
      } else {
        d.userOp = true;
        try {
          await d.proc!.monitor.execute("cont");
        } finally {
          d.userOp = false;
        }
        setState(d, S.RUNNING, VIR_DOMAIN_RUNNING.FROM_SNAPSHOT);
      }
    }
  } else if (snap.state === "shutdown" || snap.state === "shutoff" || snap.state === "crashed") {
    if (isActive(d)) await stopForRevert(st, d);
    // Prefer the disks the snapshot was taken of (libvirt falls back for pre-0.9.5 snapshots).
    const r = await forEachQcow2(snap.dom ?? d.def, snap, "apply", true);
    if (r.skipped) {
      throw (
        r.firstError ??
        virError(
          ErrorCode.OPERATION_FAILED,
          Q,
          `cannot revert disks of domain '${d.name}' to snapshot '${snap.name}'`,
        )
      );
    }
    if (inactiveConfig) {
      assignPersistent(d, inactiveConfig);
      defined = true;
    }
    if (flags & (R.RUNNING | R.PAUSED)) {
      const paused = (flags & R.PAUSED) !== 0;
      const xml = formatDomainXML(d.def, { inactive: true, securityInfo: true });
      await startDomain(st, d, paused, { xml, extraArgs: [], events: fromSnapshot(paused) });
    }
  } else if (snap.state === "pmsuspended") {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      Q,
      "qemu doesn't support reversion of snapshot taken in PMSUSPENDED state",
    );
  } else {
    throw virError(
      ErrorCode.INTERNAL_ERROR,
      Q,
      `Invalid target domain state '${snap.state}'. Refusing snapshot reversion`,
    );
  }

  const tree = snapshotsOf(d);
  const previous = tree.current !== undefined ? tree.get(tree.current) : undefined;
  tree.current = snap.name;
  if (previous && previous !== snap) await writeSnapshotMetadata(st, d, previous).catch(() => {});
  try {
    await writeSnapshotMetadata(st, d, snap);
  } catch (e) {
    tree.current = undefined;
    throw e;
  }
  if (defined && d.persistent) {
    await st.saveConfig(d);
    st.lifecycle(d, VIR_DOMAIN_EVENT.DEFINED, VIR_DOMAIN_EVENT_DEFINED.FROM_SNAPSHOT);
  }
}

/**
 * Deleting an external snapshot (libvirt 9.0): each overlay the snapshot made
 * must be what its disk uses now; its data is committed into the image below, the disk goes
 * back to that image and the overlay file is removed.
 */
async function mergeExternal(st: QemuDriverState, d: QemuDomain, snap: QemuSnapshot): Promise<void> {
  const steps: { disk: DiskDef; overlay: string; base: string; format: string; type: string }[] = [];
  for (const sd of snap.disks) {
    if (sd.snapshot !== "external" || sd.sourceFile === undefined) continue;
    const disk = d.def.devices.disks.find((x) => x.target.dev === sd.name);
    const then = snap.dom?.devices.disks.find((x) => x.target.dev === sd.name);
    const base = then ? diskPath(then) : undefined;
    if (!disk || diskPath(disk) !== sd.sourceFile || !then || base === undefined) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.STORAGE,
        "could not find base disk source in disk source chain",
      );
    }
    steps.push({ disk, overlay: sd.sourceFile, base, format: diskFormat(then), type: then.type });
  }
  if (isActive(d)) {
    await commitLiveExternal(
      st,
      d,
      steps.map((s) => ({
        dst: s.disk.target.dev,
        overlay: s.overlay,
        base: s.base,
        format: s.format,
        type: s.type,
      })),
    );
    return;
  }
  for (const s of steps) {
    try {
      await commitOverlay(s.overlay, s.base, s.format);
    } catch (e) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        Q,
        `cannot commit '${s.overlay}' into '${s.base}': ${(e as Error).message}`,
      );
    }
    pointDiskAt(s.disk, s.base, s.format, s.type);
  }
  if (d.persistent) await st.saveConfig(d);
  for (const s of steps) await rm(s.overlay, { force: true });
}

/** qemuDomainSnapshotDiscard: the images (unless metadata only), the file, the tree links. */
async function discard(
  st: QemuDriverState,
  d: QemuDomain,
  snap: QemuSnapshot,
  updateParent: boolean,
  metadataOnly: boolean,
): Promise<void> {
  const tree = snapshotsOf(d);
  if (!metadataOnly) {
    if (!isActive(d)) {
      // Disks that cannot be touched are skipped, as libvirt ignores skipped disks here.
      await forEachQcow2(snap.dom ?? d.def, snap, "delete", true);
    } else if (d.proc) {
      // libvirt carries on even if QEMU refuses.
      await hmpDelVm(d.proc.monitor, snap.name).catch(() => {});
    }
  }
  if (tree.current === snap.name) {
    tree.current = undefined;
    if (updateParent && snap.parent !== undefined) {
      const parent = tree.get(snap.parent);
      if (parent) {
        tree.current = parent.name;
        await writeSnapshotMetadata(st, d, parent).catch(() => {
          tree.current = undefined;
        });
      }
    }
  }
  await removeSnapshotMetadata(st, d, snap.name);
  tree.remove(snap.name);
}

export async function deleteSnapshot(
  st: QemuDriverState,
  d: QemuDomain,
  name: string,
  flags: number,
): Promise<void> {
  checkFlags(flags, DEL.CHILDREN | DEL.METADATA_ONLY | DEL.CHILDREN_ONLY, "qemuDomainSnapshotDelete");
  const tree = snapshotsOf(d);
  const snap = findSnapshot(d, name);
  const metadataOnly = (flags & DEL.METADATA_ONLY) !== 0;
  const withChildren = (flags & (DEL.CHILDREN | DEL.CHILDREN_ONLY)) !== 0;
  if (!metadataOnly && withChildren) {
    const kids = tree.descendants(snap.name);
    const ext = kids.filter(isExternal).length;
    if (ext) {
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        Q,
        ext < kids.length
          ? "deletion of external and internal children disk snapshots not supported"
          : "deletion of external children disk snapshots not supported",
      );
    }
  }
  if (!metadataOnly && !(flags & DEL.CHILDREN_ONLY) && isExternal(snap)) await mergeExternal(st, d, snap);
  if (withChildren) {
    const current = tree.current;
    let found = false;
    // Deepest first, so no file ever names a parent that is already gone.
    for (const c of tree.descendants(snap.name).reverse()) {
      if (c.name === current) found = true;
      await discard(st, d, c, false, metadataOnly);
    }
    if (found) {
      tree.current = snap.name;
      if (flags & DEL.CHILDREN_ONLY) await writeSnapshotMetadata(st, d, snap);
    }
  } else {
    for (const c of tree.children(snap.name)) {
      c.parent = snap.parent;
      await writeSnapshotMetadata(st, d, c);
    }
  }
  if (!(flags & DEL.CHILDREN_ONLY)) await discard(st, d, snap, true, metadataOnly);
}
