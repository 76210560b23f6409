// What a snapshot does to the disks of an inactive domain, through the native image layer
// (libvirt runs `qemu-img snapshot -c/-a/-d` and `qemu-img create -b` for these): internal qcow2
// snapshots in every selected disk, and external overlays whose backing file is the old image.
// Never called while QEMU has the images open.
import { rm, stat } from "node:fs/promises";
import type { DiskDef, DomainDef } from "../../conf/domain/index.js";
import type { DomainSnapshotDef, SnapshotDisk } from "../../conf/snapshot/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { attr } from "../../xml/index.js";

/** The image layer loads with the first snapshot that touches a disk, not with the driver. */
const image = () => import("../../image/open.js");

const Q = ErrorDomain.QEMU;

/** The image path of a file or block disk, or undefined (network, empty cdrom...). */
export function diskPath(d: DiskDef): string | undefined {
  if (!d.source) return undefined;
  if (d.type === "file") return attr(d.source, "file");
  if (d.type === "block") return attr(d.source, "dev");
  return undefined;
}

/** The disk's format as the QEMU driver uses it (an absent driver type means raw). */
export function diskFormat(d: DiskDef): string {
  return (d.driver && attr(d.driver, "type")) ?? "raw";
}

export function isLocalStorage(d: DiskDef): boolean {
  return d.type === "file" || d.type === "block" || d.type === "dir";
}

function findDisk(def: DomainDef, dst: string): DiskDef | undefined {
  return def.devices.disks.find((d) => d.target.dev === dst);
}

type Qcow2Op = "create" | "apply" | "delete";
const OP_VERB: Record<Qcow2Op, string> = { create: "create", apply: "apply", delete: "delete" };

function imageFailure(op: Qcow2Op, name: string, d: DiskDef, path: string, e: unknown): VirError {
  return virError(
    ErrorCode.OPERATION_FAILED,
    Q,
    `cannot ${OP_VERB[op]} internal snapshot '${name}' of disk '${d.target.dev}' (${path}): ${(e as Error).message}`,
  );
}

async function qcow2Snapshot(path: string, op: Qcow2Op, name: string): Promise<void> {
  const img = await (await image()).openImage(path, { format: "qcow2", backingChain: false });
  try {
    if (!img.snapshots) throw new Error("the image has no internal snapshot table");
    if (op === "create") await img.snapshots.create(name);
    else if (op === "apply") await img.snapshots.apply(name);
    else await img.snapshots.delete(name);
    await img.flush();
  } finally {
    await img.close();
  }
}

/**
 * libvirt's qemuDomainSnapshotForEachQcow2: runs `op` on every disk the snapshot captures
 * internally. With `tryAll`, a disk that cannot do it is skipped (the result says how many);
 * otherwise the first failure throws, and a failed create first removes what it made.
 */
export async function forEachQcow2(
  def: DomainDef,
  snap: DomainSnapshotDef,
  op: Qcow2Op,
  tryAll: boolean,
): Promise<{ skipped: number; firstError?: VirError }> {
  const done: string[] = [];
  let skipped = 0;
  let firstError: VirError | undefined;
  const rollback = async () => {
    if (op !== "create") return;
    for (const p of done) await qcow2Snapshot(p, "delete", snap.name).catch(() => {});
  };
  for (const sd of snap.disks) {
    if (sd.snapshot !== "internal") continue;
    const d = findDisk(def, sd.name);
    if (d?.device !== "disk") continue;
    const path = diskPath(d);
    if (!isLocalStorage(d) || path === undefined) {
      await rollback();
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        Q,
        `can't manipulate inactive snapshots of disk '${d.target.dev}'`,
      );
    }
    if (diskFormat(d) !== "qcow2") {
      if (tryAll) {
        skipped++;
        continue;
      }
      await rollback();
      throw virError(
        ErrorCode.OPERATION_INVALID,
        Q,
        `Disk device '${d.target.dev}' does not support snapshotting`,
      );
    }
    try {
      await qcow2Snapshot(path, op, snap.name);
      done.push(path);
    } catch (e) {
      const err = imageFailure(op, snap.name, d, path, e);
      if (tryAll) {
        skipped++;
        firstError ??= err;
        continue;
      }
      await rollback();
      throw err;
    }
  }
  return { skipped, firstError };
}

/**
 * virDomainSnapshotDefAssignExternalNames: an external disk without a file gets the domain
 * disk's path with its extension replaced by the snapshot name ("disk.qcow2" → "disk.s1").
 */
export function assignExternalNames(snap: DomainSnapshotDef, def: DomainDef): void {
  for (const sd of snap.disks) {
    if (sd.snapshot !== "external" || sd.sourceFile !== undefined) continue;
    const d = findDisk(def, sd.name);
    const path = d ? diskPath(d) : undefined;
    if (!d || path === undefined || d.type !== "file") {
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        ErrorDomain.DOMAIN_SNAPSHOT,
        `cannot generate external snapshot name for disk '${sd.name}' on a '${d?.type ?? "none"}' device`,
      );
    }
    const dot = path.lastIndexOf(".");
    const base = dot >= 0 && !path.slice(dot).includes("/") ? path.slice(0, dot) : path;
    sd.type = "file";
    sd.sourceFile = `${base}.${snap.name}`;
  }
  const seen = new Map<string, string>();
  for (const sd of snap.disks) {
    if (sd.snapshot !== "external" || sd.sourceFile === undefined) continue;
    const other = seen.get(sd.sourceFile);
    if (other !== undefined) {
      throw virError(
        ErrorCode.CONFIG_UNSUPPORTED,
        ErrorDomain.DOMAIN_SNAPSHOT,
        `cannot generate external snapshot name for disk '${sd.name}': collision with disk '${other}'`,
      );
    }
    seen.set(sd.sourceFile, sd.name);
  }
}

/** qemuSnapshotPrepareDiskExternal's checks on the overlay file (reuse or create). */
export async function checkExternalTarget(sd: SnapshotDisk, reuse: boolean): Promise<void> {
  const file = sd.sourceFile;
  if (file === undefined) return;
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) {
    if (st.code !== "ENOENT") {
      throw virError(ErrorCode.SYSTEM_ERROR, Q, `unable to stat for disk ${sd.name}: ${file}: ${st.message}`);
    }
    if (reuse) {
      throw virError(
        ErrorCode.SYSTEM_ERROR,
        Q,
        `missing existing file for disk ${sd.name}: ${file}: No such file or directory`,
      );
    }
    return;
  }
  if (!st.isBlockDevice() && st.size > 0 && !reuse) {
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      Q,
      `external snapshot file for disk ${sd.name} already exists and is not a block device: ${file}`,
    );
  }
}

/**
 * qemuSnapshotCreateInactiveExternal: makes each overlay (unless reused) backed by the disk's
 * current image, then points the definition's disks at the overlays. Overlays made here are
 * removed again if a later one fails.
 */
export async function createInactiveExternal(
  def: DomainDef,
  snap: DomainSnapshotDef,
  reuse: boolean,
): Promise<void> {
  const created: string[] = [];
  try {
    for (const sd of snap.disks) {
      if (sd.snapshot !== "external" || sd.sourceFile === undefined) continue;
      const d = findDisk(def, sd.name);
      const base = d ? diskPath(d) : undefined;
      if (!d || base === undefined) continue;
      sd.driverType ??= "qcow2";
      if (reuse) continue;
      const existed = await stat(sd.sourceFile).then(
        () => true,
        () => false,
      );
      try {
        await (await image()).createImage(sd.sourceFile, sd.driverType, undefined, {
          backing_file: base,
          backing_fmt: diskFormat(d),
        });
      } catch (e) {
        throw virError(
          ErrorCode.OPERATION_FAILED,
          Q,
          `cannot create external snapshot '${sd.sourceFile}' of disk '${sd.name}': ${(e as Error).message}`,
        );
      }
      if (!existed) created.push(sd.sourceFile);
    }
  } catch (e) {
    for (const f of created) await rm(f, { force: true });
    throw e;
  }
  for (const sd of snap.disks) {
    if (sd.snapshot !== "external" || sd.sourceFile === undefined) continue;
    const d = findDisk(def, sd.name);
    if (d) pointDiskAt(d, sd.sourceFile, sd.driverType ?? "qcow2", sd.type);
  }
}

/** Rewrites a file disk's `<source file>` and `<driver type>` (the old image becomes its backing). */
export function pointDiskAt(d: DiskDef, file: string, format: string, type = "file"): void {
  d.type = type;
  const src = d.source ?? { kind: "element" as const, name: "source", attrs: [], children: [], line: 0 };
  src.attrs = [
    [type === "block" ? "dev" : "file", file],
    ...src.attrs.filter(([k]) => k !== "file" && k !== "dev"),
  ];
  d.source = src;
  const drv = d.driver ?? {
    kind: "element" as const,
    name: "driver",
    attrs: [["name", "qemu"]],
    children: [],
    line: 0,
  };
  if (drv.attrs.some(([k]) => k === "type"))
    drv.attrs = drv.attrs.map(([k, v]) => [k, k === "type" ? format : v]);
  else {
    const i = drv.attrs.findIndex(([k]) => k === "name");
    drv.attrs.splice(i + 1, 0, ["type", format]);
  }
  d.driver = drv;
  d.backingStore = undefined;
}

const COMMIT_CHUNK = 4 << 20;

/**
 * What `qemu-img commit` does for one overlay: every range the overlay itself defines (data or
 * zeros) is written into its backing image. The overlay is left as it is; the caller drops it.
 */
export async function commitOverlay(overlay: string, base: string, baseFormat: string): Promise<void> {
  const { openImage } = await image();
  const top = await openImage(overlay, { readOnly: true });
  try {
    const dst = await openImage(base, { format: baseFormat, backingChain: false });
    try {
      const buf = new Uint8Array(COMMIT_CHUNK);
      const size = Math.min(top.virtualSize, dst.virtualSize);
      for (let pos = 0; pos < size; pos += COMMIT_CHUNK) {
        const n = Math.min(COMMIT_CHUNK, size - pos);
        for (const e of await top.blockStatus(pos, n)) {
          if (e.depth !== 0 || e.present === false) continue;
          const len = Math.min(e.start + e.length, size) - e.start;
          if (len <= 0) continue;
          if (e.zero && !e.data) {
            if (dst.writeZeroes) await dst.writeZeroes(e.start, len);
            else await dst.write(e.start, new Uint8Array(len));
            continue;
          }
          const v = buf.subarray(0, len);
          await top.read(e.start, v);
          await dst.write(e.start, v);
        }
      }
      await dst.flush();
    } finally {
      await dst.close();
    }
  } finally {
    await top.close();
  }
}
