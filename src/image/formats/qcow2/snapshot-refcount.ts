// Walks an L1 tree adding `addend` to the refcount of every L2 table and data cluster it
// references, then refreshes the COPIED flags (qcow2 spec: COPIED ⇔ refcount is exactly 1).
// Used by internal snapshot create (+1), apply (+1/-1) and delete (-1), and with 0 to fix flags.

import { ImageError } from "../../errors.js";
import { decodeL2 } from "./l2-entry.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { decodeL1, encodeL1, type L1Entry } from "./tables.js";

export async function readL1(img: Qcow2Image, offset: number, size: number): Promise<L1Entry[]> {
  if (offset % img.cs !== 0 || offset + size * 8 > img.io.length + img.cs) {
    throw new ImageError("corrupt", `Snapshot L1 table at 0x${offset.toString(16)} is invalid`, { offset });
  }
  const raw = new Uint8Array(size * 8);
  await img.io.read(offset, raw);
  return decodeL1(raw, size);
}

/**
 * `l1` is the table to walk (for the active table pass img.tables.l1, which is updated in
 * memory and on disk); `l1Offset` where it lives on disk.
 */
export async function updateTreeRefcounts(
  img: Qcow2Image,
  l1: L1Entry[],
  l1Offset: number | undefined,
  addend: number,
): Promise<void> {
  const cs = img.cs;
  const refs = img.refs;
  const t = img.tables;
  if (addend > 0) await assertNoOverflow(img, l1, addend);
  let l1Changed = false;
  for (let i = 0; i < l1.length; i++) {
    const e = l1[i]!;
    if (e.offset === 0) continue;
    if (e.offset % cs !== 0)
      throw new ImageError(
        "corrupt",
        `L2 table offset 0x${e.offset.toString(16)} unaligned (L1 index: 0x${i.toString(16)})`,
      );
    const table = await t.l2(e.offset);
    let dirty = false;
    for (let j = 0; j < t.l2Entries; j++) {
      const m = decodeL2(table, j, img.extL2, img.header.clusterBits, img.hasDataFile);
      if (m.kind === "compressed") {
        if (addend !== 0) {
          const first = Math.floor(m.host / cs);
          const last = Math.floor((m.host + m.compressedSize - 1) / cs);
          await refs.update(first, last - first + 1, addend);
        }
        continue;
      }
      if (m.host === 0 || img.hasDataFile) continue;
      if (m.host % cs !== 0)
        throw new ImageError("corrupt", `Cluster allocation offset 0x${m.host.toString(16)} unaligned`);
      if (addend !== 0) await refs.update(m.host / cs, 1, addend);
      const one = (await refs.get(m.host / cs)) === 1;
      const o = j * t.entryBytes;
      const flagged = (table[o]! & 0x80) !== 0;
      if (one !== flagged) {
        table[o] = one ? table[o]! | 0x80 : table[o]! & 0x7f;
        dirty = true;
      }
    }
    if (dirty) await img.io.write(e.offset, table);
    if (addend !== 0) await refs.update(e.offset / cs, 1, addend);
    const one = (await refs.get(e.offset / cs)) === 1;
    if (one !== e.copied) {
      e.copied = one;
      l1Changed = true;
    }
  }
  if (l1Changed && addend >= 0 && l1Offset !== undefined)
    await img.io.write(l1Offset, encodeL1(l1, l1.length * 8));
}

/**
 * Refuses an increment that would overflow some refcount (e.g. any snapshot with refcount_bits=1)
 * before touching anything, so a failed snapshot never leaves half-updated refcounts behind.
 */
export async function assertNoOverflow(img: Qcow2Image, l1: L1Entry[], addend: number): Promise<void> {
  const refs = img.refs;
  const cs = img.cs;
  const fits = async (ci: number) => {
    if ((await refs.get(ci)) + addend > refs.max) {
      throw new ImageError(
        "invalid-argument",
        `Refcount of cluster ${ci} would exceed the ${refs.bits}-bit refcount width (use a wider refcount_bits)`,
      );
    }
  };
  for (const e of l1) {
    if (e.offset === 0) continue;
    await fits(e.offset / cs);
    const table = await img.tables.l2(e.offset);
    for (let j = 0; j < img.tables.l2Entries; j++) {
      const m = decodeL2(table, j, img.extL2, img.header.clusterBits, img.hasDataFile);
      if (m.kind === "compressed") await fits(Math.floor(m.host / cs));
      else if (m.host !== 0 && !img.hasDataFile && m.host % cs === 0) await fits(m.host / cs);
    }
  }
}

export function assertTreeFits(img: Qcow2Image, l1: L1Entry[]): Promise<void> {
  return assertNoOverflow(img, l1, 1);
}
