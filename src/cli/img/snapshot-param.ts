// qemu-img's -l (convert, measure): an internal snapshot to read the image as, named by ID or
// name, or as snapshot.id=…,snapshot.name=…; only qcow2 can load one temporarily.

import type { Qcow2Image } from "../../image/formats/qcow2/qcow2-image.js";
import type { Image } from "../../image/index.js";
import { splitCommas } from "../../util/split-commas.js";
import { CliError, type Out } from "./context.js";

export interface SnapshotParam {
  idOrName?: string;
  id?: string;
  name?: string;
}

/** -l: a plain snapshot ID or name, or snapshot.id=…,snapshot.name=… (parsed as qemu-img does). */
export function parseSnapshotParam(v: string, io: Out): SnapshotParam {
  if (!v.startsWith("snapshot.")) return { idOrName: v };
  const out: { id?: string; name?: string } = {};
  for (const part of splitCommas(v)) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0)
      io.err(
        `tsvirt-img: warning: short-form boolean option '${k}' deprecated\nPlease use ${k}=on instead\n`,
      );
    if (k === "snapshot.id" && eq >= 0) out.id = part.slice(eq + 1);
    else if (k === "snapshot.name" && eq >= 0) out.name = part.slice(eq + 1);
    else {
      io.err(`tsvirt-img: Invalid parameter '${k}'\n`);
      throw new CliError(`Failed in parsing snapshot param '${v}'`);
    }
  }
  return out;
}

/** Reads the (only) source as of an internal snapshot, as qemu's bdrv_snapshot_load_tmp. */
export async function loadSnapshot(sources: Image[], sn: SnapshotParam): Promise<void> {
  if (sources.length > 1) throw new CliError("No support for concatenating multiple snapshot");
  const img = sources[0]!;
  if (img.format !== "qcow2")
    throw new CliError(
      `Failed to load snapshot: Block format '${img.format}' used by device '' does not support temporarily loading internal snapshots`,
    );
  const q = img as unknown as Qcow2Image;
  const list = q.snapshotList;
  const found =
    sn.idOrName !== undefined
      ? (list.find((e) => e.id === sn.idOrName) ?? list.find((e) => e.name === sn.idOrName))
      : list.find(
          (e) => (sn.id === undefined || e.id === sn.id) && (sn.name === undefined || e.name === sn.name),
        );
  if (!found) throw new CliError("Failed to load snapshot: Can't find snapshot");
  const { readL1 } = await import("../../image/formats/qcow2/snapshot-refcount.js");
  q.tables.l1 = await readL1(q, found.l1Offset, found.l1Size);
}
