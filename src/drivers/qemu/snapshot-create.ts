// virDomainSnapshotCreateXML for the QEMU driver, as libvirt 9.0's qemuSnapshotCreateXML:
// flag and state checks, disk alignment and qemuSnapshotPrepare's rules, then the snapshot
// itself — offline internal (qcow2 snapshots through the image layer), offline external
// (overlays, domain disks rewritten), live internal (HMP savevm with the guest paused), or
// REDEFINE (metadata only). Metadata is written before the call returns.
import { cloneDomainDef, type DomainDef, formatDomainXML } from "../../conf/domain/index.js";
import {
  domainDisksOfXml,
  parseDomainSnapshotXML,
  type SnapshotLocation,
  type SnapshotState,
  snapshotStateOf,
} from "../../conf/snapshot/index.js";
import {
  type DomainSnapshotRef,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_SNAPSHOT_CREATE as C,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_STATE as S,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, parseXml } from "../../xml/index.js";
import { checkFlags, domRef, isActive, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { setState } from "./domain-lifecycle.js";
import { hmpSaveVm } from "./monitor/hmp-snapshot.js";
import {
  assignExternalNames,
  checkExternalTarget,
  createInactiveExternal,
  diskFormat,
  diskPath,
  forEachQcow2,
} from "./snapshot-disks.js";
import { createLiveExternal } from "./snapshot-live-external.js";
import { createMemoryExternal } from "./snapshot-memory.js";
import {
  parseEmbeddedDomain,
  type QemuSnapshot,
  snapshotsOf,
  writeSnapshotMetadata,
} from "./snapshot-store.js";

const Q = ErrorDomain.QEMU;
const ALL_CREATE_FLAGS =
  C.REDEFINE |
  C.CURRENT |
  C.NO_METADATA |
  C.HALT |
  C.DISK_ONLY |
  C.REUSE_EXT |
  C.QUIESCE |
  C.ATOMIC |
  C.LIVE |
  C.VALIDATE;

const invalidArg = (msg: string) => virError(ErrorCode.INVALID_ARG, Q, msg);
const unsupportedCfg = (msg: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, Q, msg);

function flagName(bit: number): string {
  const n = Object.entries(C).find(([, v]) => v === bit)?.[0];
  return `VIR_DOMAIN_SNAPSHOT_CREATE_${n}`;
}

/** The `<memory snapshot=... file=...>` the caller wrote, if any (the parser fills defaults). */
function memoryGiven(xml: string): SnapshotLocation | "external" | undefined {
  let mem: ReturnType<typeof child>;
  try {
    mem = child(parseXml(xml), "memory");
  } catch {
    return undefined;
  }
  if (!mem) return undefined;
  const snap = attr(mem, "snapshot");
  const file = attr(mem, "file");
  if (snap === "external" && file === undefined) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.DOMAIN_SNAPSHOT,
      "external memory snapshots require a filename",
    );
  }
  if (snap) return snap as SnapshotLocation;
  return file !== undefined ? "external" : undefined;
}

export interface CreateDeps {
  /** Parses a domain embedded in redefined snapshot XML the driver's way. */
  parseDomain: (xml: string) => Promise<DomainDef>;
}

export async function createSnapshot(
  st: QemuDriverState,
  d: QemuDomain,
  xml: string,
  flags: number,
  deps: CreateDeps,
): Promise<DomainSnapshotRef> {
  checkFlags(flags, ALL_CREATE_FLAGS, "qemuDomainSnapshotCreateXML");
  if (flags & C.QUIESCE && !(flags & C.DISK_ONLY))
    throw invalidArg(`Flag '${flagName(C.DISK_ONLY)}' is required by flag '${flagName(C.QUIESCE)}'`);
  if (flags & C.LIVE && flags & C.REDEFINE)
    throw invalidArg(`Flags '${flagName(C.LIVE)}' and '${flagName(C.REDEFINE)}' are mutually exclusive`);
  const redefine = (flags & C.REDEFINE) !== 0;
  const updateCurrent = !((redefine && !(flags & C.CURRENT)) || flags & C.NO_METADATA);
  if (!d.persistent && flags & C.HALT) {
    throw virError(ErrorCode.OPERATION_INVALID, Q, "cannot halt after transient domain snapshot");
  }
  const active = isActive(d);
  const offline = (flags & C.DISK_ONLY) !== 0 || !active;
  const tree = snapshotsOf(d);

  let snap: QemuSnapshot;
  if (redefine) {
    snap = await redefinePrep(d, xml, deps);
  } else {
    const given = memoryGiven(xml);
    if (offline && given !== undefined && given !== "no") {
      throw virError(
        ErrorCode.XML_ERROR,
        ErrorDomain.DOMAIN_SNAPSHOT,
        "memory state cannot be saved with offline or disk-only snapshot",
      );
    }
    const diskOnly = (flags & C.DISK_ONLY) !== 0;
    const vmState = snapshotStateOf(d.state);
    const state: SnapshotState = diskOnly ? (active ? "disk-snapshot" : "shutoff") : vmState;
    const domXml = formatDomainXML(d.def, { inactive: true, securityInfo: true });
    snap = parseDomainSnapshotXML(xml, {
      domain: { state, disks: domainDisksOfXml(domXml), xml: domXml },
      defaultLocation: diskOnly || given === "external" ? "external" : "internal",
      requireMatch: !(diskOnly || given === "external"),
    });
    if (diskOnly) snap.memory = { snapshot: "no" };
    else if (given !== "external") {
      if (active && given === "no") {
        throw virError(
          ErrorCode.OPERATION_UNSUPPORTED,
          Q,
          "internal snapshot of a running VM must include the memory state",
        );
      }
      snap.memory = { snapshot: state === "shutoff" ? "no" : "internal" };
    }
    snap.domainXml = undefined;
  }
  if (!(flags & C.NO_METADATA)) {
    if (snap.name.includes("/")) {
      throw virError(ErrorCode.XML_DETAIL, Q, `invalid snapshot name '${snap.name}': name can't contain '/'`);
    }
    if (snap.name.startsWith(".")) {
      throw virError(
        ErrorCode.XML_DETAIL,
        Q,
        `invalid snapshot name '${snap.name}': name can't start with '.'`,
      );
    }
  }
  if (flags & C.LIVE && (!active || snap.memory?.snapshot !== "external")) {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      Q,
      "live snapshot creation is supported only during full system snapshots",
    );
  }
  const state = redefine ? snap.state : snapshotStateOf(d.state);
  if (state === "pmsuspended") {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      Q,
      "qemu doesn't support taking snapshots of PMSUSPENDED guests",
    );
  }
  if (state === "nostate" || state === "blocked" || (state === "disk-snapshot" && !redefine)) {
    throw virError(ErrorCode.INTERNAL_ERROR, Q, `Invalid domain state ${state}`);
  }

  if (!redefine) {
    // The definitions are copied as libvirt copies them: formatted inactive and parsed again,
    // which drops what only a running domain has (aliases, runtime paths) the same way a
    // restarted daemon's parse of the metadata file does.
    snap.dom = await copyInactive(d.def, deps);
    if (active && d.newDef) snap.inactiveDom = await copyInactive(d.newDef, deps);
    if ((flags & C.DISK_ONLY) !== 0 || snap.memory?.snapshot === "external") assignExternalNames(snap, d.def);
    flags = await prepare(d, snap, flags);
    if (tree.get(snap.name)) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.DOMAIN,
        `domain moment ${snap.name} already exists`,
      );
    }
    snap.parent = tree.current;
    await takeSnapshot(st, d, snap, flags);
  }

  if (!(flags & C.NO_METADATA)) {
    const previous = tree.current !== undefined ? tree.get(tree.current) : undefined;
    const replaced = tree.get(snap.name);
    tree.add(snap);
    if (updateCurrent) tree.current = snap.name;
    try {
      await writeSnapshotMetadata(st, d, snap);
    } catch {
      if (replaced) tree.add(replaced);
      else tree.remove(snap.name);
      if (previous) tree.current = previous.name;
      throw virError(ErrorCode.INTERNAL_ERROR, Q, `unable to save metadata for snapshot ${snap.name}`);
    }
    // The old current snapshot's file loses its <active>1</active>.
    if (updateCurrent && previous && previous.name !== snap.name) {
      await writeSnapshotMetadata(st, d, previous).catch(() => {});
    }
  }
  return { name: snap.name, domain: domRef(d) };
}

async function copyInactive(def: DomainDef, deps: CreateDeps): Promise<DomainDef> {
  const xml = formatDomainXML(def, { inactive: true, securityInfo: true });
  try {
    return await deps.parseDomain(xml);
  } catch {
    return cloneDomainDef(def);
  }
}

/** virDomainSnapshotRedefinePrep: the client hands back a whole description. */
async function redefinePrep(d: QemuDomain, xml: string, deps: CreateDeps): Promise<QemuSnapshot> {
  const def: QemuSnapshot = parseDomainSnapshotXML(xml, { redefine: true });
  def.dom = await parseEmbeddedDomain(def.domain, deps.parseDomain);
  def.inactiveDom = await parseEmbeddedDomain(def.inactiveDomain, deps.parseDomain);
  def.active = undefined;
  if (def.dom && def.dom.uuid !== d.uuid) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.DOMAIN_SNAPSHOT,
      `definition for snapshot ${def.name} must use uuid ${d.uuid}`,
    );
  }
  const tree = snapshotsOf(d);
  const other = tree.get(def.name);
  if (other) {
    const online = (s: SnapshotState) => s === "running" || s === "paused";
    if (online(other.state) !== online(def.state)) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.DOMAIN_SNAPSHOT,
        `cannot change between online and offline snapshot state in snapshot ${def.name}`,
      );
    }
    if ((other.state === "disk-snapshot") !== (def.state === "disk-snapshot")) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.DOMAIN_SNAPSHOT,
        `cannot change between disk only and full system in snapshot ${def.name}`,
      );
    }
    if (!def.dom && other.dom) def.dom = other.dom;
  }
  if (def.parent !== undefined) {
    if (!tree.get(def.parent)) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.DOMAIN,
        `parent ${def.parent} for moment ${def.name} not found`,
      );
    }
    // A parent chain that comes back to this snapshot would make a cycle.
    for (let p: string | undefined = def.parent; p !== undefined; p = tree.get(p)?.parent) {
      if (p === def.name) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.DOMAIN,
          `parent ${def.parent} would create cycle to ${def.name}`,
        );
      }
    }
  }
  return def;
}

/** qemuSnapshotPrepare: which disks go where, and the combinations QEMU cannot do. */
async function prepare(d: QemuDomain, snap: QemuSnapshot, flags: number): Promise<number> {
  const active = isActive(d);
  const reuse = (flags & C.REUSE_EXT) !== 0;
  let foundInternal = false;
  let forbidInternal = false;
  let external = 0;
  for (const sd of snap.disks) {
    const disk = d.def.devices.disks.find((x) => x.target.dev === sd.name);
    if (!disk) continue;
    if (sd.snapshot === "internal") {
      foundInternal = true;
      if (snap.state === "disk-snapshot" && active) {
        throw unsupportedCfg(
          `active qemu domains require external disk snapshots; disk ${sd.name} requested internal`,
        );
      }
      if (!active && disk.type !== "file" && disk.type !== "block") {
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          Q,
          `internal inactive snapshots are not supported on '${disk.type}' disks`,
        );
      }
      const fmt = diskFormat(disk);
      if (fmt !== "qcow2") {
        throw unsupportedCfg(`internal snapshot for disk ${sd.name} unsupported for storage type ${fmt}`);
      }
    } else if (sd.snapshot === "external") {
      sd.driverType ??= "qcow2";
      if (sd.driverType !== "qcow2" && sd.driverType !== "qed") {
        throw unsupportedCfg(`external snapshot format for disk ${sd.name} is unsupported: ${sd.driverType}`);
      }
      const kind = active ? "active" : "inactive";
      if (disk.type !== "file" && disk.type !== "block") {
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          Q,
          `external ${kind} snapshots are not supported on '${disk.type}' disks`,
        );
      }
      if ((sd.type ?? "file") !== "file" && sd.type !== "block") {
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          Q,
          `external ${kind} snapshots are not supported on '${sd.type}' disks`,
        );
      }
      await checkExternalTarget(sd, reuse);
      external++;
    } else if (sd.snapshot === "no") {
      if (diskPath(disk) !== undefined && !disk.readonly) forbidInternal = true;
    }
  }
  const mem = snap.memory?.snapshot ?? "no";
  if (!foundInternal && !external && mem === "no") throw unsupportedCfg("nothing selected for snapshot");
  if ((mem === "internal" && !foundInternal) || (foundInternal && forbidInternal)) {
    throw unsupportedCfg("internal and full system snapshots require all disks to be selected for snapshot");
  }
  if (snap.state === "disk-snapshot" && !external) {
    throw unsupportedCfg("disk-only snapshots require at least one disk to be selected for snapshot");
  }
  if (
    (foundInternal && external) ||
    (mem === "internal" && external) ||
    (mem === "external" && foundInternal)
  ) {
    throw unsupportedCfg("mixing internal and external targets for a snapshot is not yet supported");
  }
  if (foundInternal && d.def.os.loader && attr(d.def.os.loader, "type") === "pflash") {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      Q,
      "internal snapshots of a VM with pflash based firmware are not supported",
    );
  }
  return external && !active ? flags | C.DISK_ONLY : flags;
}

async function takeSnapshot(
  st: QemuDriverState,
  d: QemuDomain,
  snap: QemuSnapshot,
  flags: number,
): Promise<void> {
  if (!isActive(d)) {
    if (flags & C.DISK_ONLY) {
      await createInactiveExternal(d.def, snap, (flags & C.REUSE_EXT) !== 0);
      await st.saveConfig(d);
    } else {
      await forEachQcow2(d.def, snap, "create", false);
    }
    return;
  }
  if (snap.memory?.snapshot === "external") {
    await createMemoryExternal(st, d, snap, {
      live: (flags & C.LIVE) !== 0,
      reuse: (flags & C.REUSE_EXT) !== 0,
      halt: (flags & C.HALT) !== 0,
    });
  } else if (flags & C.DISK_ONLY) {
    // QUIESCE freezes guest filesystems through the guest agent, which this driver has none of.
    if (flags & C.QUIESCE) {
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, Q, "QEMU guest agent is not configured");
    }
    await createLiveExternal(st, d, snap, (flags & C.REUSE_EXT) !== 0);
  } else {
    await createActiveInternal(d, snap);
  }
  if (flags & C.HALT && d.proc) {
    d.stopping = { reason: VIR_DOMAIN_SHUTOFF.FROM_SNAPSHOT, detail: VIR_DOMAIN_EVENT_STOPPED.FROM_SNAPSHOT };
    await d.proc.destroy(3000);
  }
}

/** qemuSnapshotCreateActiveInternal: pause (savevm would pause behind our back), savevm, resume. */
async function createActiveInternal(d: QemuDomain, snap: QemuSnapshot): Promise<void> {
  const proc = d.proc;
  if (!proc) throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "domain is not running");
  const wasRunning = d.state === S.RUNNING;
  d.userOp = true;
  try {
    if (wasRunning) await proc.monitor.execute("stop");
    try {
      await hmpSaveVm(proc.monitor, snap.name);
    } finally {
      if (wasRunning && proc.running()) await proc.monitor.execute("cont");
    }
  } finally {
    d.userOp = false;
  }
  if (wasRunning) setState(d, S.RUNNING, VIR_DOMAIN_RUNNING.UNPAUSED);
}
