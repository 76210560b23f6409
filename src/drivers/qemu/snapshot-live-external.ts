// External disk-only snapshots of a running domain (libvirt's qemuSnapshotCreateActiveExternal
// with -blockdev): each overlay is made through the image layer, opened in QEMU with
// blockdev-add (no backing of its own), and all overlays are put on top of their disks in one
// `transaction` of blockdev-snapshot actions, so either every disk moves or none does. The
// definitions then name the overlays.
import { rm, stat } from "node:fs/promises";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { createImage } from "../../image/index.js";
import { notRunning, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { diskFormat, diskPath, pointDiskAt } from "./snapshot-disks.js";
import type { QemuSnapshot } from "./snapshot-store.js";

interface BlockInfo {
  device?: string;
  qdev?: string;
  inserted?: { file?: string; "node-name"?: string };
}

let nodeSeq = 0;

export async function createLiveExternal(
  st: QemuDriverState,
  d: QemuDomain,
  snap: QemuSnapshot,
  reuse: boolean,
): Promise<void> {
  const proc = d.proc;
  if (!proc) throw notRunning();
  const mon = proc.monitor;
  const blocks = await mon.execute<BlockInfo[]>("query-block");
  const plan: {
    dst: string;
    overlay: string;
    format: string;
    top: string;
    storage: string;
    node: string;
    created?: boolean;
  }[] = [];
  for (const sd of snap.disks) {
    if (sd.snapshot !== "external" || sd.sourceFile === undefined) continue;
    const disk = d.def.devices.disks.find((x) => x.target.dev === sd.name);
    const path = disk ? diskPath(disk) : undefined;
    const top = blocks.find((b) => b.inserted?.file === path)?.inserted?.["node-name"];
    if (!disk || path === undefined || top === undefined) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        `cannot find the block node of disk '${sd.name}'`,
      );
    }
    const n = `${(++nodeSeq).toString(36)}${Date.now().toString(36).slice(-5)}`;
    plan.push({
      dst: sd.name,
      overlay: sd.sourceFile,
      format: sd.driverType ?? "qcow2",
      top,
      storage: `libvirt-snap${n}-storage`,
      node: `libvirt-snap${n}-format`,
    });
    sd.driverType ??= "qcow2";
    if (!reuse) {
      const existed = await stat(sd.sourceFile).then(
        () => true,
        () => false,
      );
      try {
        await createImage(sd.sourceFile, sd.driverType, undefined, {
          backing_file: path,
          backing_fmt: diskFormat(disk),
        });
      } catch (e) {
        await removeFiles([...plan.filter((p) => p.created).map((p) => p.overlay)]);
        throw virError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.QEMU,
          `cannot create external snapshot '${sd.sourceFile}' of disk '${sd.name}': ${(e as Error).message}`,
        );
      }
      plan[plan.length - 1]!.created = !existed;
    }
  }
  const added: string[] = [];
  try {
    for (const p of plan) {
      await mon.execute("blockdev-add", {
        driver: "file",
        filename: p.overlay,
        "node-name": p.storage,
        "auto-read-only": true,
        discard: "unmap",
      });
      added.push(p.storage);
      await mon.execute("blockdev-add", {
        "node-name": p.node,
        "read-only": false,
        driver: p.format,
        file: p.storage,
        backing: null,
      });
      added.push(p.node);
    }
    await mon.execute("transaction", {
      actions: plan.map((p) => ({ type: "blockdev-snapshot", data: { node: p.top, overlay: p.node } })),
    });
  } catch (e) {
    for (const node of added.reverse())
      await mon.execute("blockdev-del", { "node-name": node }).catch(() => {});
    await removeFiles(plan.filter((p) => p.created).map((p) => p.overlay));
    throw e;
  }
  // Both definitions follow (libvirt updates the persistent disk when it names the same image).
  for (const p of plan) {
    const live = d.def.devices.disks.find((x) => x.target.dev === p.dst);
    const before = live ? diskPath(live) : undefined;
    if (live) pointDiskAt(live, p.overlay, p.format);
    const persistent = d.newDef?.devices.disks.find((x) => x.target.dev === p.dst);
    if (persistent && diskPath(persistent) === before) pointDiskAt(persistent, p.overlay, p.format);
  }
  if (d.persistent) await st.saveConfig(d);
}

async function removeFiles(files: string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}
