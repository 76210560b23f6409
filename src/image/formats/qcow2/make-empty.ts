// Emptying a qcow2 image after `commit` (what qemu's bdrv_make_empty does for qcow2): a v3
// image without snapshots, bitmaps, LUKS or data file gets brand-new minimal metadata (header,
// one-cluster refcount table, one refcount block, a zeroed L1 table) and the file is cut right
// after them; any other image has every guest cluster discarded (L2 entries cleared, storage
// released), its file keeping its length.

import { encodeHeader, INCOMPAT_DATA_FILE, INCOMPAT_DIRTY } from "./header.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { loadWritePath } from "./qcow2-image.js";

const EXT_BITMAPS = 0x23852875;

function putBe64(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(at, BigInt(v));
}

/** Whether the image qualifies for the rebuilt-metadata path. */
function canRebuild(img: Qcow2Image): boolean {
  const h = img.header;
  const l1Clusters = Math.ceil((h.l1Size * 8) / img.cs);
  const perBlock = (img.cs * 8) / 2 ** h.refcountOrder;
  return (
    h.version >= 3 &&
    img.snapshotList.length === 0 &&
    !h.otherExtensions.some((e) => e.type === EXT_BITMAPS) &&
    3 + l1Clusters <= perBlock &&
    !img.crypto &&
    (h.incompatible & INCOMPAT_DATA_FILE) === 0
  );
}

/** Clears the image's active L1/L2 mapping (all guest clusters read from the backing file again). */
export async function makeEmptyQcow2(img: Qcow2Image): Promise<void> {
  img.writable();
  if (!canRebuild(img)) {
    // qemu's qcow2_cluster_discard over the whole disk: every L2 table gets allocated on the way
    // (even where nothing was mapped), each mapped cluster is cleared and released, and storage
    // whose refcount drops to 0 is punched out of the file (discard passthrough for snapshots).
    const wp = await loadWritePath();
    const clusters = Math.ceil(img.virtualSize / img.cs);
    const per = img.tables.l2Entries;
    for (let l1i = 0; l1i * per < clusters; l1i++) {
      await img.tables.writableL2(l1i);
      for (let gci = l1i * per; gci < Math.min(clusters, (l1i + 1) * per); gci++) {
        const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
        if (m.kind === "unallocated") continue;
        await wp.setEntries(img, [{ gci, host: 0 }]);
        await wp.release(img, m);
        if (m.kind === "normal" && m.host % img.cs === 0 && !img.hasDataFile) {
          const ci = m.host / img.cs;
          if ((img.refs.peek(ci) ?? (await img.refs.get(ci))) === 0) await img.io.discard?.(m.host, img.cs);
        }
      }
    }
    await img.flush();
    return;
  }
  // Everything cached goes to disk first; afterwards the file is rewritten underneath.
  await img.flush();
  const cs = img.cs;
  const h = img.header;
  const l1Clusters = Math.ceil((h.l1Size * 8) / cs);
  const io = img.io;
  await io.write(cs, new Uint8Array((2 + l1Clusters) * cs));
  const hdr = new Uint8Array(20);
  putBe64(hdr, 0, 3 * cs);
  putBe64(hdr, 8, cs);
  new DataView(hdr.buffer).setUint32(16, 1);
  await io.write(40, hdr);
  const rt = new Uint8Array(8);
  putBe64(rt, 0, 2 * cs);
  await io.write(cs, rt);
  // Refcount 1 for the header, the table, the block and the L1 clusters.
  const used = 3 + l1Clusters;
  const bits = 2 ** h.refcountOrder;
  const block = new Uint8Array(Math.ceil((used * bits) / 8));
  for (let c = 0; c < used; c++) {
    const bit = c * bits;
    if (bits < 8) block[bit >> 3] = block[bit >> 3]! | (1 << (bit & 7));
    else block[(bit + bits) / 8 - 1] = 1;
  }
  await io.write(2 * cs, block);
  // qemu ends by marking the image clean: qcow2_update_header writes the whole header cluster.
  h.l1TableOffset = 3 * cs;
  h.refcountTableOffset = cs;
  h.refcountTableClusters = 1;
  h.incompatible &= ~INCOMPAT_DIRTY;
  await io.write(0, encodeHeader(h, cs));
  await io.truncate(used * cs);
  await io.flush();
}
