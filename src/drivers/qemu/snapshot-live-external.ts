// External disk-only snapshots of a running domain (libvirt's qemuSnapshotCreateActiveExternal
// with -blockdev): each overlay is made through the image layer, opened in QEMU with
// blockdev-add (no backing of its own), and all overlays are put on top of their disks in one
// `transaction` of blockdev-snapshot actions, so either every disk moves or none does. The
// definitions then name the overlays. Deleting such a snapshot is an active block-commit of the
// top overlay into the image below, completed (pivoted) when ready.
import { rm, stat } from "node:fs/promises";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { notRunning, type QemuDomain } from "./domain-obj.js";
import { writeStatus } from "./domain-status.js";
import type { QemuDriverState } from "./driver-state.js";
import { diskFormat, diskPath, pointDiskAt } from "./snapshot-disks.js";
import type { QmpClient } from "./monitor/qmp-client.js";
import type { QemuSnapshot } from "./snapshot-store.js";

let nodeSeq = 0;

/** Protocol drivers of local images (file and block disks): their filename is the plain path. */
const PROTOCOLS = new Set(["file", "host_device"]);

interface BlockGraph {
  nodes: { id: number; type: string; name: string }[];
  edges: { parent: number; child: number; name: string }[];
}

/**
 * The format node QEMU uses for the image at `path`, and the node under it ("backing" edge),
 * found from the protocol node that opened the file: a format node's own filename turns into a
 * json: pseudo-name once its backing was set at run time, a file node's never does.
 */
async function nodesOf(
  mon: QmpClient,
  path: string,
): Promise<{ format?: string; backing?: string; covered?: boolean }> {
  const named = await mon.execute<NamedNode[]>("query-named-block-nodes", { flat: true });
  const graph = await mon.execute<BlockGraph>("x-debug-query-block-graph");
  const idOf = (name: string) => graph.nodes.find((n) => n.type === "block-driver" && n.name === name)?.id;
  const nameOf = (id: number | undefined) => graph.nodes.find((n) => n.id === id)?.name;
  for (const proto of named.filter((n) => PROTOCOLS.has(n.drv ?? "") && n.file === path)) {
    const pid = idOf(proto["node-name"]);
    const edge = graph.edges.find((e) => e.child === pid && e.name === "file");
    const fid = edge?.parent;
    if (fid === undefined || graph.nodes.find((n) => n.id === fid)?.type !== "block-driver") continue;
    const back = graph.edges.find((e) => e.parent === fid && e.name === "backing");
    // Another image on top of this one: it is not the disk's active layer.
    const covered = graph.edges.some((e) => e.child === fid && e.name === "backing");
    return { format: nameOf(fid), backing: nameOf(back?.child), covered };
  }
  return {};
}

export async function createLiveExternal(
  st: QemuDriverState,
  d: QemuDomain,
  snap: QemuSnapshot,
  reuse: boolean,
): Promise<void> {
  const proc = d.proc;
  if (!proc) throw notRunning();
  const mon = proc.monitor;
  const plan: {
    dst: string;
    overlay: string;
    format: string;
    top: string;
    storage: string;
    node: string;
    block: boolean;
    created?: boolean;
  }[] = [];
  for (const sd of snap.disks) {
    if (sd.snapshot !== "external" || sd.sourceFile === undefined) continue;
    const disk = d.def.devices.disks.find((x) => x.target.dev === sd.name);
    const path = disk ? diskPath(disk) : undefined;
    const found = path === undefined ? {} : await nodesOf(mon, path);
    const top = found.covered ? undefined : found.format;
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
      block: sd.type === "block",
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
        await (await import("../../image/open.js")).createImage(sd.sourceFile, sd.driverType, undefined, {
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
        driver: p.block ? "host_device" : "file",
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
    const type = p.block ? "block" : "file";
    if (live) pointDiskAt(live, p.overlay, p.format, type);
    const persistent = d.newDef?.devices.disks.find((x) => x.target.dev === p.dst);
    if (persistent && diskPath(persistent) === before) pointDiskAt(persistent, p.overlay, p.format, type);
  }
  writeStatus(d, proc.paths);
  if (d.persistent) await st.saveConfig(d);
}

async function removeFiles(files: string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}

interface NamedNode {
  "node-name": string;
  file?: string;
  drv?: string;
}

interface BlockJob {
  device: string;
  ready?: boolean;
  status?: string;
  type?: string;
}

async function waitJob(
  mon: QmpClient,
  id: string,
  until: (j: BlockJob | undefined) => boolean,
): Promise<void> {
  for (;;) {
    const jobs = await mon.execute<BlockJob[]>("query-block-jobs");
    const j = jobs.find((x) => x.device === id);
    if (until(j)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Deleting an external snapshot of a running domain (libvirt 9.0): an active block-commit of
 * each overlay (the disk's top image) into the image below, pivoted when ready; the overlay's
 * nodes are dropped and the definitions name the lower image again. `disks` maps each target to
 * the overlay and the image below it (path and format).
 */
export async function commitLiveExternal(
  st: QemuDriverState,
  d: QemuDomain,
  disks: { dst: string; overlay: string; base: string; format: string; type: string }[],
): Promise<void> {
  const proc = d.proc;
  if (!proc) throw notRunning();
  const mon = proc.monitor;
  for (const x of disks) {
    const { format: top, backing: base, covered } = await nodesOf(mon, x.overlay);
    const below = (await nodesOf(mon, x.base)).format;
    if (top === undefined || base === undefined || base !== below || covered) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.STORAGE,
        "could not find base disk source in disk source chain",
      );
    }
    const job = `commit-${x.dst}`;
    await mon.execute("block-commit", {
      "job-id": job,
      device: top,
      "top-node": top,
      "base-node": base,
      "auto-finalize": true,
      "auto-dismiss": true,
    });
    await waitJob(mon, job, (j) => j === undefined || j.ready === true || j.status === "ready");
    await mon.execute("block-job-complete", { device: job });
    await waitJob(mon, job, (j) => j === undefined);
    // The overlay's format and protocol nodes are no longer in use.
    const storage = (await mon.execute<NamedNode[]>("query-named-block-nodes", { flat: true })).find(
      (n) => PROTOCOLS.has(n.drv ?? "") && n.file === x.overlay,
    )?.["node-name"];
    await mon.execute("blockdev-del", { "node-name": top }).catch(() => {});
    if (storage) await mon.execute("blockdev-del", { "node-name": storage }).catch(() => {});
    const live = d.def.devices.disks.find((k) => k.target.dev === x.dst);
    if (live) pointDiskAt(live, x.base, x.format, x.type);
    const persistent = d.newDef?.devices.disks.find((k) => k.target.dev === x.dst);
    if (persistent && diskPath(persistent) === x.overlay) pointDiskAt(persistent, x.base, x.format, x.type);
    await rm(x.overlay, { force: true });
  }
  writeStatus(d, proc.paths);
  if (d.persistent) await st.saveConfig(d);
}
