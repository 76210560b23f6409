// Rebuilds the refcount structure from check's in-memory refcounts (qemu's
// rebuild_refcount_structure): refblocks are slices of the in-memory table, allocated from it;
// the new reftable goes wherever it fits, the header then points at it. Old structures leak and
// the following leak repair frees them.

import { putBe32, putBe64 } from "../../bytes.js";
import type { CheckState } from "./check.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { Refcounts } from "./refcounts.js";

function allocImrt(st: CheckState, count: number, from: { v: number }): number {
  let c = from.v;
  let run = 0;
  let first = true;
  const a = st.imrt.a;
  for (; c < st.nb && run < count; c++) {
    if (!(c < a.length && a[c])) {
      run++;
      if (first) {
        from.v = c;
        first = false;
      }
    } else run = 0;
  }
  if (run < count) st.nb = c + count - run;
  c -= run;
  for (let i = 0; i < count; i++) st.imrt.set(c + i, 1);
  return c;
}

/**
 * `refcountOrder` (default: the image's) lets amend write the structure at a new width; the
 * header is then rewritten whole, so width and table location change in one write.
 */
export async function rebuildRefcounts(
  img: Qcow2Image,
  st: CheckState,
  refcountOrder = img.header.refcountOrder,
): Promise<void> {
  const cs = img.cs;
  const old = img.refs;
  const refs = new Refcounts(img.io, img.header.clusterBits, refcountOrder, [], 0, 0, old.onMoved);
  const per = refs.perBlock;
  let table: number[] = [];
  const writeBlocks = async (first: number, end: number): Promise<boolean> => {
    let grown = false;
    const free = { v: 0 };
    for (let c = first; c < end; c++) {
      // (Read the array each time: allocImrt below may replace it with a larger one.)
      if (!(c < st.imrt.a.length && st.imrt.a[c])) continue;
      const rbi = Math.floor(c / per);
      const rbStart = rbi * per;
      let off = table[rbi] ?? 0;
      if (!off) {
        if (free.v < rbStart) free.v = rbStart;
        const bc = allocImrt(st, 1, free);
        off = bc * cs;
        if (bc >= end) end = bc + 1;
        if (table.length <= rbi) {
          const entries = Math.ceil(((rbi + 1) * 8) / cs) * (cs / 8);
          table = table.concat(new Array(entries - table.length).fill(0));
          grown = true;
        }
        table[rbi] = off;
      }
      const block = new Uint8Array(cs);
      const a = st.imrt.a;
      const n = Math.min(per, a.length - rbStart);
      for (let i = 0; i < n; i++) {
        const v = a[rbStart + i]!;
        if (v) refs.setEntry(block, i, v);
      }
      await img.io.write(off, block);
      c = rbStart + per - 1;
    }
    return grown;
  };
  await writeBlocks(0, st.nb);
  let tableOffset = 0;
  let tableClusters = 0;
  for (;;) {
    tableClusters = Math.ceil((table.length * 8) / cs);
    tableOffset = allocImrt(st, tableClusters, { v: 0 }) * cs;
    const grown = await writeBlocks(tableOffset / cs, tableOffset / cs + tableClusters);
    if (!grown) break;
  }
  const raw = new Uint8Array(tableClusters * cs);
  for (let i = 0; i < table.length; i++) putBe64(raw, i * 8, table[i]!);
  await img.io.write(tableOffset, raw);
  await img.io.flush();
  if (refcountOrder === img.header.refcountOrder) {
    const hdr = new Uint8Array(12);
    putBe64(hdr, 0, tableOffset);
    putBe32(hdr, 8, tableClusters);
    await img.io.write(48, hdr);
  } else {
    img.header.refcountOrder = refcountOrder;
    img.header.refcountTableOffset = tableOffset;
    img.header.refcountTableClusters = tableClusters;
    await img.writeHeader();
  }
  await img.io.flush();
  img.header.refcountTableOffset = tableOffset;
  img.header.refcountTableClusters = tableClusters;
  const fresh = new Refcounts(
    img.io,
    img.header.clusterBits,
    refcountOrder,
    table,
    tableOffset,
    tableClusters,
    old.onMoved,
  );
  img.refs = fresh;
  img.watchFrees();
}
