// Internal snapshots (spec "Snapshots"): create copies the active L1 and takes a reference on
// every cluster; apply swaps L1 contents; delete drops the references and the L1 copy.

import { putBe32, putBe64 } from "../../bytes.js";
import { ImageError } from "../../errors.js";
import type { InternalSnapshots, SnapshotInfo } from "../../image.js";
import { INCOMPAT_DIRTY, MAX_SNAPSHOTS } from "./header.js";
import { growL1, resizeQcow2 } from "./resize.js";
import { discardingFrees } from "./write-path.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { assertTreeFits, readL1, updateTreeRefcounts } from "./snapshot-refcount.js";
import {
  encodeSnapshotTable,
  type SnapshotEntry,
  snapshotInfo,
  snapshotTableSize,
} from "./snapshot-table.js";
import { encodeL1 } from "./tables.js";

export class Qcow2Snapshots implements InternalSnapshots {
  constructor(private readonly img: Qcow2Image) {}

  async list(): Promise<SnapshotInfo[]> {
    return this.img.snapshotList.map(snapshotInfo);
  }

  private find(nameOrId: string): number {
    const list = this.img.snapshotList;
    let i = list.findIndex((e) => e.id === nameOrId);
    if (i < 0) i = list.findIndex((e) => e.name === nameOrId);
    if (i < 0) throw new ImageError("not-found", `Can't find the snapshot '${nameOrId}'`);
    return i;
  }

  private check(): void {
    this.img.writable();
    if (this.img.hasDataFile)
      throw new ImageError("unsupported", "Snapshots are not supported with an external data file");
  }

  /** Writes the table at a new place, points the header at it, frees the old table. */
  private async writeTable(list: SnapshotEntry[]): Promise<void> {
    const img = this.img;
    const h = img.header;
    const raw = encodeSnapshotTable(list, h.version, true);
    const oldOffset = h.snapshotsOffset;
    const oldBytes = snapshotTableSize(img.snapshotList);
    let off = 0;
    if (raw.length > 0) {
      off = await img.refs.alloc(Math.ceil(raw.length / img.cs));
      await img.io.write(off, raw);
      await img.io.flush();
    }
    const hdr = new Uint8Array(12);
    putBe32(hdr, 0, list.length);
    putBe64(hdr, 4, off);
    await img.io.write(60, hdr);
    await img.io.flush();
    h.nbSnapshots = list.length;
    h.snapshotsOffset = off;
    if (oldBytes > 0) {
      const first = Math.floor(oldOffset / img.cs);
      const last = Math.floor((oldOffset + oldBytes - 1) / img.cs);
      await img.refs.update(first, last - first + 1, -1);
    }
    // Entries now on disk carry their encoded length.
    for (const e of list) e.entryBytes = encodeSnapshotTable([e], h.version).length;
    img.snapshotList = list;
  }

  async create(name: string): Promise<void> {
    this.check();
    if (this.img.snapshotList.length >= MAX_SNAPSHOTS)
      throw new ImageError("invalid-argument", "Too many snapshots");
    await withDirtyBit(this.img, () => this.doCreate(name));
  }

  private async doCreate(name: string): Promise<void> {
    this.check();
    const img = this.img;
    if (img.snapshotList.length >= MAX_SNAPSHOTS)
      throw new ImageError("invalid-argument", "Too many snapshots");
    const maxId = img.snapshotList.reduce((m, e) => Math.max(m, Number.parseInt(e.id, 10) || 0), 0);
    const now = Date.now();
    const l1 = img.tables.l1;
    const l1Bytes = l1.length * 8;
    const l1Off = l1.length ? await img.refs.alloc(Math.ceil(l1Bytes / img.cs)) : 0;
    if (l1.length) await img.io.write(l1Off, encodeL1(l1, l1Bytes));
    // References that cannot be taken fail the snapshot here, as qemu's first overflowing
    // refcount update does: its copy of the L1 table stays allocated (leaked), as in qemu.
    await assertTreeFits(img, l1);
    await updateTreeRefcounts(img, l1, img.tables.l1Offset, 1);
    const entry: SnapshotEntry = {
      l1Offset: l1Off,
      l1Size: l1.length,
      id: String(maxId + 1),
      name,
      dateSec: Math.floor(now / 1000),
      dateNsec: (now % 1000) * 1e6,
      vmClockNsec: 0,
      vmStateSize: 0,
      diskSize: img.virtualSize,
      icount: 0,
      extraRest: new Uint8Array(0),
      entryBytes: 0,
    };
    await this.writeTable([...img.snapshotList, entry]);
    await img.io.flush();
  }

  async apply(nameOrId: string): Promise<void> {
    this.check();
    this.find(nameOrId);
    await withDirtyBit(this.img, () => this.doApply(nameOrId));
  }

  private async doApply(nameOrId: string): Promise<void> {
    this.check();
    const img = this.img;
    const sn = img.snapshotList[this.find(nameOrId)]!;
    // qemu's qcow2_snapshot_goto first resizes the active image to the snapshot's size (a shrink
    // discards what lies past it and cuts the file after its last used cluster), then loads it.
    if (sn.diskSize !== undefined && sn.diskSize !== img.virtualSize)
      await resizeQcow2(img, sn.diskSize, { shrink: true });
    const t = img.tables;
    // A snapshot taken when the disk was larger: the active L1 must be able to hold its table.
    if (sn.l1Size > t.l1.length) await growL1(img, sn.l1Size);
    const snL1 = await readL1(img, sn.l1Offset, sn.l1Size);
    // Take references for the snapshot's tree before the active L1 points at it.
    await updateTreeRefcounts(img, snL1, sn.l1Offset, 1);
    const newL1 = [...snL1];
    while (newL1.length < t.l1.length) newL1.push({ offset: 0, copied: false });
    await img.io.write(t.l1Offset, encodeL1(newL1, newL1.length * 8));
    await img.io.flush();
    const old = t.l1;
    t.l1 = newL1;
    // Drop the old active tree's references (old entries only in memory now).
    await updateTreeRefcounts(img, old, undefined, -1);
    await updateTreeRefcounts(img, t.l1, t.l1Offset, 0);
    if (
      sn.diskSize !== undefined &&
      sn.diskSize !== img.virtualSize &&
      sn.diskSize <= t.l1.length * t.l2Entries * img.cs
    ) {
      img.virtualSize = sn.diskSize;
      img.header.size = sn.diskSize;
      await img.writeHeader();
    }
    await img.io.flush();
  }

  async delete(nameOrId: string): Promise<void> {
    this.check();
    this.find(nameOrId);
    await withDirtyBit(this.img, () => this.doDelete(nameOrId));
  }

  private async doDelete(nameOrId: string): Promise<void> {
    this.check();
    const img = this.img;
    const idx = this.find(nameOrId);
    const sn = img.snapshotList[idx]!;
    const list = img.snapshotList.filter((_, i) => i !== idx);
    await this.writeTable(list);
    const snL1 = await readL1(img, sn.l1Offset, sn.l1Size);
    await updateTreeRefcounts(img, snL1, sn.l1Offset, -1);
    if (sn.l1Size > 0) {
      await img.refs.update(sn.l1Offset / img.cs, Math.ceil((sn.l1Size * 8) / img.cs), -1);
    }
    await updateTreeRefcounts(img, img.tables.l1, img.tables.l1Offset, 0);
    await img.io.flush();
  }
}

/**
 * Snapshot operations change many refcounts and COPIED flags, which cannot happen atomically.
 * On v3 images the dirty bit is set around them (as lazy refcounts do), so an interrupted
 * operation leaves an image that is repaired on its next read-write open.
 */
async function withDirtyBit(img: Qcow2Image, fn: () => Promise<void>): Promise<void> {
  const h = img.header;
  const mark = h.version === 3 && !(h.incompatible & INCOMPAT_DIRTY);
  // Only the feature field is written (as qemu's qcow2_mark_dirty): rewriting the whole header
  // cluster would allocate it in the file where qemu-img leaves it sparse.
  const writeIncompat = async () => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(h.incompatible));
    await img.io.write(72, b);
  };
  if (mark) {
    h.incompatible |= INCOMPAT_DIRTY;
    await writeIncompat();
    await img.io.flush();
  }
  // Clusters a snapshot operation frees are deallocated in the file once their refcounts are
  // written (qemu passes snapshot discards through by default: the file shrinks on disk).
  // A host I/O error may have cut the operation between two of its writes: the dirty bit then
  // stays, so that the next read-write open repairs the refcounts. Any other failure leaves a
  // consistent image, and a clean one, as qemu's (it marks the image clean once its caches flush).
  let ioFailed = false;
  try {
    await discardingFrees(img, fn);
  } catch (e) {
    ioFailed = e instanceof ImageError && e.kind === "io";
    throw e;
  } finally {
    if (mark && !ioFailed) {
      await img.io.flush();
      h.incompatible &= ~INCOMPAT_DIRTY;
      await writeIncompat();
    }
  }
}
