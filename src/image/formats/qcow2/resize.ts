// qcow2 resize (qemu-img resize): growth extends the L1 table when needed (new table, header,
// free the old one) and can preallocate; shrink drops the clusters past the new end, frees
// their L2 tables and trims the file.

import { putBe32, putBe64 } from "../../bytes.js";
import { ImageError } from "../../errors.js";
import { MAX_L1_BYTES } from "./header.js";
import { preallocate } from "./preallocate.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { discardingFrees, release, setEntries, zeroGuest } from "./write-path.js";
import { encodeL1 } from "./tables.js";

/** Replaces the active L1 table by a larger copy (new clusters, header, then free the old). */
export async function growL1(img: Qcow2Image, need: number): Promise<void> {
  const t = img.tables;
  if (need <= t.l1.length) return;
  if (need * 8 > MAX_L1_BYTES)
    throw new ImageError("invalid-argument", "Failed to grow the L1 table: File too large");
  const cs = img.cs;
  const l1 = [...t.l1];
  while (l1.length < need) l1.push({ offset: 0, copied: false });
  const oldOffset = t.l1Offset;
  const oldClusters = Math.ceil((t.l1.length * 8) / cs);
  const clusters = Math.ceil((need * 8) / cs);
  const off = await img.refs.alloc(clusters);
  // Only the entries are written (as qemu's grow_l1_table): the file may end inside the cluster.
  const raw = new Uint8Array(need * 8);
  raw.set(encodeL1(l1, need * 8));
  await img.io.write(off, raw);
  await img.io.flush();
  const hdr = new Uint8Array(12);
  putBe32(hdr, 0, need);
  putBe64(hdr, 4, off);
  await img.io.write(36, hdr);
  await img.io.flush();
  img.header.l1Size = need;
  img.header.l1TableOffset = off;
  t.l1 = l1;
  t.l1Offset = off;
  if (oldClusters > 0 && oldOffset) await img.refs.update(oldOffset / cs, oldClusters, -1);
}

export async function resizeQcow2(
  img: Qcow2Image,
  newSize: number,
  opts: { shrink?: boolean; preallocation?: string } = {},
): Promise<void> {
  img.writable();
  if (!Number.isSafeInteger(newSize) || newSize < 0)
    throw new ImageError("invalid-argument", "Invalid image size specified");
  if (newSize % 512 !== 0) throw new ImageError("invalid-argument", "The new size must be a multiple of 512");
  if (img.snapshotList.length && img.header.version < 3) {
    throw new ImageError("unsupported", "Can't resize a v2 image which has snapshots");
  }
  const old = img.virtualSize;
  const prealloc = opts.preallocation ?? "off";
  if (!["off", "metadata", "falloc", "full"].includes(prealloc)) {
    throw new ImageError("invalid-argument", `Invalid preallocation mode: '${prealloc}'`);
  }
  if (newSize < old) {
    if (!opts.shrink)
      throw new ImageError("invalid-argument", "Use the --shrink option to perform a shrink operation.");
    if (prealloc !== "off")
      throw new ImageError("unsupported", "Preallocation can't be used for shrinking an image");
    await shrink(img, newSize);
  } else if (newSize > old) {
    const t = img.tables;
    await growL1(img, Math.ceil(newSize / (img.cs * t.l2Entries)));
    img.virtualSize = newSize;
    img.header.size = newSize;
    await writeSizeField(img);
    // Do not let the backing file's data beyond the old end show through (qemu ≥ 5.1 does the same).
    const b = img.backingImage;
    if (b && b.virtualSize > old) await zeroGuest(img, old, Math.min(newSize, b.virtualSize) - old);
    if (prealloc !== "off") await preallocate(img, prealloc as "metadata", old);
  }
  // An external data file follows the virtual size both ways (as qemu's truncate).
  if (img.dataIO && newSize !== old) await img.dataIO.truncate(newSize);
  await img.flush();
}

/** qemu updates only the header's size field on truncate (not the whole header cluster). */
async function writeSizeField(img: Qcow2Image): Promise<void> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(img.header.size));
  await img.io.write(24, b);
}

async function shrink(img: Qcow2Image, newSize: number): Promise<void> {
  const cs = img.cs;
  const firstDead = Math.ceil(newSize / cs);
  const total = Math.ceil(img.virtualSize / cs);
  img.virtualSize = newSize;
  img.header.size = newSize;
  await writeSizeField(img);
  // qemu discards what the shrink frees (QCOW2_DISCARD_ALWAYS): data clusters and L2 tables
  // leave the file even below its new end.
  await discardingFrees(img, () => dropPast(img, firstDead, total));
  // qemu drops refcount blocks left empty (discarding them) and rewrites the whole table.
  for (const off of await img.refs.shrinkTable()) await img.io.discard?.(off, cs);
  // Trim the file after the last cluster still in use.
  const fileClusters = Math.ceil(img.io.length / cs);
  let last = fileClusters - 1;
  while (last > 0 && (await img.refs.get(last)) === 0) last--;
  if ((last + 1) * cs < img.io.length) await img.io.truncate((last + 1) * cs);
}

/** Unmaps guest clusters [firstDead, total) and frees what they and emptied L2 tables held. */
async function dropPast(img: Qcow2Image, firstDead: number, total: number): Promise<void> {
  const t = img.tables;
  const per = t.l2Entries;
  // qemu's discard of the cut-off range looks each L2 table up for writing: missing tables are
  // allocated, all of them, before the L1 shrink frees those wholly past the end again (the
  // file grows by them; the final truncate takes it back). A table that stays in use (the new
  // end falls inside its range) stays, empty.
  for (let l1i = Math.floor(firstDead / per); l1i * per < total; l1i++) {
    const e = t.l1[l1i];
    if (e && e.offset === 0 && Math.max(firstDead, l1i * per) < total) await t.writableL2(l1i);
  }
  for (let l1i = Math.floor(firstDead / per); l1i * per < total; l1i++) {
    const e = t.l1[l1i];
    const from = Math.max(firstDead, l1i * per);
    if (!e || e.offset === 0) continue;
    if (from === l1i * per) {
      // The whole L2 table is past the end: unmap it, then drop its and its clusters' refs.
      const old = { ...e };
      t.l1[l1i] = { offset: 0, copied: false };
      await t.writeL1Entry(l1i);
      const { updateTreeRefcounts } = await import("./snapshot-refcount.js");
      await updateTreeRefcounts(img, [old], undefined, -1);
    } else {
      const entries = [];
      const olds = [];
      for (let c = from; c < Math.min(total, (l1i + 1) * per); c++) {
        const m = await t.lookup(c);
        if (m.kind === "unallocated" && m.host === 0 && m.zeroBits === 0) continue;
        entries.push({ gci: c, host: 0, allocBits: 0, zeroBits: 0 });
        olds.push(m);
      }
      await setEntries(img, entries);
      for (const m of olds) await release(img, m);
    }
  }
}
