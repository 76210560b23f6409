// Live disks (libvirt's qemuDomainAttachDiskGeneric / qemuDomainRemoveDiskDevice /
// qemuDomainChangeMediaBlockdev, reduced): blockdev-add of the protocol and format nodes named as a
// start names them, device_add of the front-end the XML asks for, and the reverse on detach;
// removable media are swapped through the tray.
import { accessSync, constants } from "node:fs";
import type { DiskDef } from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, el } from "../../xml/index.js";
import { diskAlias } from "./domain-aliases.js";
import type { QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { insertDisk } from "./hotplug-device.js";
import { numberAttachedDisk } from "./live-state.js";
import {
  type BuiltArgs,
  checkPciFree,
  deviceEvent,
  diskArgs,
  monitorOf,
  nextNodeIndex,
  placePci,
  recordPciAddress,
  renumberNodes,
  saveLive,
  systemError,
  UNPLUG_WAIT_MS,
  unplug,
} from "./hotplug-qemu.js";
import {
  blockdevAdd,
  blockdevDel,
  blockNodeNames,
  deviceAdd,
  mediumInsert,
  mediumRemove,
  queryBlock,
  trayClose,
  trayOpen,
} from "./monitor/hotplug-qmp.js";
import type { QmpClient, QmpEvent } from "./monitor/qmp-client.js";

/** A local source must be there (libvirt's virStorageSourceAccess before it opens anything). */
export function checkSource(disk: DiskDef): void {
  if (disk.type !== "file" && disk.type !== "block") return;
  const path = sourcePath(disk);
  if (path === undefined) return;
  try {
    accessSync(path, constants.F_OK);
  } catch (e) {
    // virStorageSourceReportBrokenChain reports from the storage code (VIR_FROM_STORAGE).
    throw systemError(
      `Cannot access storage file '${path}'`,
      (e as NodeJS.ErrnoException).code,
      ErrorDomain.STORAGE,
    );
  }
}

/** CHANGE_MEDIA_TIMEOUT of qemu_hotplug.c: how long the tray may take to open. */
const TRAY_WAIT_MS = 5000;

const HOTPLUG_BUSES = new Set(["virtio", "scsi", "usb"]);

/** Adds the back-end nodes of `args` under index `n`; returns the format node's name. */
async function addNodes(mon: QmpClient, args: BuiltArgs, n: number): Promise<string[]> {
  const added: string[] = [];
  try {
    for (const b of args.blockdev) {
      const props = renumberNodes(b, n);
      await blockdevAdd(mon, props);
      added.unshift(String(props["node-name"]));
    }
  } catch (e) {
    await delNodes(mon, added);
    throw e;
  }
  return added;
}

/** blockdev-del, format node first (it holds the protocol node). Errors are left behind, as libvirt does. */
async function delNodes(mon: QmpClient, names: string[]): Promise<void> {
  for (const name of names) await blockdevDel(mon, name).catch(() => {});
}

/** The nodes a front-end uses: the format node query-block names, and its protocol node. */
async function nodesOf(mon: QmpClient, id: string): Promise<string[]> {
  const entry = (await queryBlock(mon)).find(
    (b) => b.qdev === id || b.qdev?.startsWith(`/machine/peripheral/${id}/`),
  );
  const fmt = entry?.inserted?.["node-name"];
  if (!fmt) return [];
  const m = /^libvirt-(\d+)-format$/.exec(fmt);
  return m ? [fmt, `libvirt-${m[1]}-storage`] : [fmt];
}

/** The `libvirt-N-*` node index of a new source: its source number unless QEMU has that one already. */
function nodeIndex(names: string[], diskCount: number, top: number): number {
  const taken = names.some((x) => x.startsWith(`libvirt-${top}-`));
  return taken ? nextNodeIndex(names, diskCount) : top;
}

function frontId(args: BuiltArgs): string {
  return String(args.device[0]?.id);
}

export async function attachDiskLive(st: QemuDriverState, d: QemuDomain, disk: DiskDef): Promise<void> {
  const mon = monitorOf(d);
  const live = d.def;
  if (disk.device === "floppy") {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.QEMU,
      "floppy device hotplug isn't supported",
    );
  }
  // Other buses go to QEMU as libvirt sends them, and QEMU says why it cannot (ide.0 has no hotplug).
  checkSource(disk);
  await checkPciFree(mon, disk);
  // the disk's source numbers (and its backing chain, read from the images) as libvirt gives them
  const top = await numberAttachedDisk(live, disk);
  if (disk.target.bus === "virtio") await placePci(mon, d, disk);
  const args = diskArgs(d, disk);
  const n = nodeIndex(await blockNodeNames(mon), live.devices.disks.length, top);
  const nodes = await addNodes(mon, args, n);
  const id = frontId(args);
  try {
    await deviceAdd(mon, renumberNodes(args.device[0]!, n));
  } catch (e) {
    await delNodes(mon, nodes);
    throw e;
  }
  if (disk.target.bus === "virtio") await recordPciAddress(mon, disk, id);
  disk.alias ??= diskAlias(live, disk);
  insertDisk(live.devices.disks, disk);
  saveLive(d);
  deviceEvent(st, d, true, disk.alias);
}

export function liveDiskByTarget(d: QemuDomain, target: string): DiskDef | undefined {
  return d.def.devices.disks.find((x) => x.target.dev === target);
}

export async function detachDiskLive(
  st: QemuDriverState,
  d: QemuDomain,
  target: string,
  waitMs = UNPLUG_WAIT_MS,
): Promise<void> {
  const mon = monitorOf(d);
  const disk = liveDiskByTarget(d, target);
  if (!disk) throw virError(ErrorCode.DEVICE_MISSING, ErrorDomain.QEMU, `disk ${target} not found`);
  if (!HOTPLUG_BUSES.has(disk.target.bus)) {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.QEMU,
      "This type of disk cannot be hot unplugged",
    );
  }
  const id = frontId(diskArgs(d, disk));
  const nodes = await nodesOf(mon, id);
  await unplug(
    st,
    d,
    mon,
    id,
    async () => {
      await delNodes(mon, nodes);
      const i = d.def.devices.disks.indexOf(disk);
      if (i >= 0) d.def.devices.disks.splice(i, 1);
      saveLive(d);
      deviceEvent(st, d, false, disk.alias ?? id);
    },
    waitMs,
  );
}

function sourcePath(disk: DiskDef): string | undefined {
  if (!disk.source) return undefined;
  return attr(disk.source, "file") ?? attr(disk.source, "dev") ?? attr(disk.source, "name");
}

/**
 * Opens the tray of `id` and waits (CHANGE_MEDIA_TIMEOUT) until QEMU says it is open: its
 * DEVICE_TRAY_MOVED event, or query-block for a guest that had it open already.
 */
async function openTray(mon: QmpClient, id: string, target: string, force: boolean): Promise<void> {
  let opened = false;
  const onEvent = (e: QmpEvent) => {
    if (e.event === "DEVICE_TRAY_MOVED" && e.data?.id === id && e.data["tray-open"] === true) opened = true;
  };
  mon.on("event", onEvent);
  try {
    await trayOpen(mon, id, force);
    const until = Date.now() + TRAY_WAIT_MS;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (opened) return;
      const e = (await queryBlock(mon)).find((b) => b.qdev === id);
      if (opened || e?.tray_open !== false) return;
      if (Date.now() > until) {
        throw virError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.QEMU,
          `timed out waiting to open tray of '${target}'`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    mon.off("event", onEvent);
  }
}

/**
 * New medium (or none) for a live CD-ROM/floppy: open the tray, remove the old medium, insert the
 * new nodes, close the tray, then drop the old nodes (qemuDomainChangeMediaBlockdev's order).
 */
export async function changeMediaLive(
  st: QemuDriverState,
  d: QemuDomain,
  old: DiskDef,
  next: DiskDef,
  force: boolean,
): Promise<void> {
  void st;
  const mon = monitorOf(d);
  checkSource(next);
  const id = frontId(diskArgs(d, old));
  const oldNodes = await nodesOf(mon, id);
  // the new medium is numbered as an attached disk is (its chain read from the images); no
  // medium uses a number too, which libvirt then shows as a bare <source index='N'/>
  const top = await numberAttachedDisk(d.def, next);
  await openTray(mon, id, old.target.dev, force);
  await mediumRemove(mon, id);
  if (sourcePath(next) !== undefined) {
    const args = diskArgs(d, {
      ...old,
      source: next.source,
      driver: next.driver ?? old.driver,
      backingStore: next.backingStore,
    });
    const n = nodeIndex(await blockNodeNames(mon), d.def.devices.disks.length, top);
    const nodes = await addNodes(mon, args, n);
    try {
      await mediumInsert(mon, id, nodes[0]!);
    } catch (e) {
      await delNodes(mon, nodes);
      throw e;
    }
    await trayClose(mon, id);
  }
  await delNodes(mon, oldNodes);
  old.source = sourcePath(next) !== undefined ? next.source : el("source", [["index", String(top)]]);
  old.backingStore = next.backingStore;
  if (next.driver) old.driver = next.driver;
  saveLive(d);
}

/** update-device on a live disk: media change for removable ones; others may only repeat themselves. */
export async function updateDiskLive(
  st: QemuDriverState,
  d: QemuDomain,
  next: DiskDef,
  force: boolean,
): Promise<void> {
  const old = liveDiskByTarget(d, next.target.dev);
  if (!old) {
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `disk '${next.target.dev}' not found`);
  }
  if (old.device === "cdrom" || old.device === "floppy") {
    await changeMediaLive(st, d, old, next, force);
    return;
  }
  if (sourcePath(old) !== sourcePath(next)) {
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      ErrorDomain.QEMU,
      "disk source can be changed only in removable drives",
    );
  }
}

/**
 * The format node of each disk, as QEMU reports it for the disk's front-end (query-block): node
 * numbers stay with a disk however the list changes through hotplug, so they are asked, not counted.
 */
export async function formatNodeNames(d: QemuDomain): Promise<Map<DiskDef, string>> {
  const out = new Map<DiskDef, string>();
  if (!d.proc || !d.caps) return out;
  const blocks = await queryBlock(d.proc.monitor);
  for (const disk of d.def.devices.disks) {
    let id: string;
    try {
      id = frontId(diskArgs(d, disk));
    } catch {
      continue;
    }
    const e = blocks.find((b) => b.qdev === id || b.qdev?.startsWith(`/machine/peripheral/${id}/`));
    const node = e?.inserted?.["node-name"];
    if (node) out.set(disk, node);
  }
  return out;
}
