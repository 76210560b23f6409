// Preallocation (qemu's preallocation=metadata/falloc/full). metadata maps every guest cluster in
// a range to a host cluster, allocated in contiguous runs per L2 table. falloc/full lay the file
// out as qemu's qcow2 truncate does: a new refcount area (refcount blocks and a new refcount
// table) after the last used cluster, sized for the data and its L2 tables, then the data as one
// run after it, then the L2 tables wherever the allocator finds room (the old refcount table's
// cluster first). Both write zeros (Node has no fallocate, so both really allocate the blocks).

import { putBe32, putBe64 } from "../../bytes.js";
import { ImageError } from "../../errors.js";
import { MAX_REFTABLE_BYTES } from "./header.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { setEntries } from "./write-path.js";

export async function preallocate(
  img: Qcow2Image,
  mode: "metadata" | "falloc" | "full",
  fromGuest = 0,
): Promise<void> {
  if (mode !== "metadata" && !img.hasDataFile) return preallocateArea(img, fromGuest);
  const cs = img.cs;
  const per = img.tables.l2Entries;
  const totalClusters = Math.ceil(img.virtualSize / cs);
  let gci = Math.floor(fromGuest / cs);
  let end = img.io.length;
  // qemu maps the last, partial cluster through a write request that ends at the image's end:
  // its copy-on-write tail (to the end of the cluster, or of the subcluster) is written as zeros.
  let tailZeros: [number, number] | undefined;
  while (gci < totalClusters) {
    const l1i = Math.floor(gci / per);
    const last = Math.min(totalClusters, (l1i + 1) * per);
    // Only clusters still unallocated get storage.
    const todo: number[] = [];
    for (let c = gci; c < last; c++) {
      const m = await img.tables.lookup(c);
      if (m.kind === "unallocated" || m.kind === "zero") todo.push(c);
    }
    await img.tables.writableL2(l1i);
    let i = 0;
    while (i < todo.length) {
      let j = i + 1;
      while (j < todo.length && todo[j] === todo[j - 1]! + 1) j++;
      const n = j - i;
      const host = img.hasDataFile ? todo[i]! * cs : await img.refs.alloc(n);
      if (mode !== "metadata") {
        const z = new Uint8Array(Math.min(n * cs, 1 << 20));
        const target = img.hasDataFile ? img.dataIO! : img.io;
        for (let p = 0; p < n * cs; p += z.length)
          await target.write(host + p, z.subarray(0, Math.min(z.length, n * cs - p)));
      }
      // With extended L2 entries qemu links preallocated clusters with no subcluster marked
      // allocated: they still read from the backing file (or as zeros) until written.
      const allocBits = img.tables.extL2 ? 0 : 0xffffffff;
      await setEntries(
        img,
        // (With a data file, COPIED marks them mapped, subclusters or not, as qemu's.)
        todo
          .slice(i, j)
          .map((c, k) => ({
            gci: c,
            host: host + k * cs,
            allocBits,
            zeroBits: 0,
            copied: img.hasDataFile || undefined,
          })),
      );
      if (!img.hasDataFile) {
        // qemu sizes the file to what the mapping covers: with extended L2 entries (metadata
        // only) the image's last cluster counts up to its last needed subcluster.
        let runEnd = host + n * cs;
        const lastCl = todo[j - 1]!;
        if (mode === "metadata" && img.tables.extL2 && lastCl === totalClusters - 1) {
          const sub = cs / 32;
          runEnd = host + (n - 1) * cs + Math.ceil((img.virtualSize - lastCl * cs) / sub) * sub;
        }
        if (mode === "metadata" && lastCl === totalClusters - 1) {
          const unit = img.tables.extL2 ? cs / 32 : cs;
          const tail = img.virtualSize - lastCl * cs;
          const at = host + (n - 1) * cs;
          if (tail % unit !== 0) tailZeros = [at + tail, at + Math.ceil(tail / unit) * unit];
        }
        end = Math.max(end, runEnd);
      }
      i = j;
    }
    gci = last;
  }
  if (end > img.io.length) await img.io.truncate(end);
  if (tailZeros) await img.io.write(tailZeros[0], new Uint8Array(tailZeros[1] - tailZeros[0]));
}

/** Refcount blocks needed to count `clusters` clusters plus the refcount structures themselves. */
function refblocksFor(clusters: number, cs: number, refBits: number): number {
  const perBlock = (cs * 8) / refBits;
  const perTableCluster = cs / 8;
  let table = 0;
  let blocks = 0;
  let n = 0;
  let last: number;
  do {
    last = n;
    blocks = Math.ceil((clusters + table + blocks) / perBlock);
    table = Math.ceil(blocks / perTableCluster);
    n = clusters + blocks + table;
  } while (n !== last);
  return blocks;
}

/**
 * A refcount structure that covers clusters up to `start + additional`: missing refcount blocks
 * at `start`, then a new refcount table (exactly as large as needed) after them, all counted
 * once; the header points at the new table and the old table is freed. Returns the first cluster
 * after the new structures.
 */
async function refcountArea(img: Qcow2Image, start: number, additional: number): Promise<number> {
  const cs = img.cs;
  const refs = img.refs;
  const total = refblocksFor(start + additional, cs, refs.bits);
  const areaIndex = Math.floor(start / refs.perBlock);
  const perTableCluster = cs / 8;
  const tableSize = Math.ceil(total / perTableCluster) * perTableCluster;
  const tableClusters = tableSize / perTableCluster;
  if (tableSize * 8 > MAX_REFTABLE_BYTES)
    throw new ImageError("invalid-argument", "Could not resize image: File too large");
  const table = new Array<number>(tableSize).fill(0);
  for (let i = 0; i < Math.min(tableSize, refs.table.length); i++) table[i] = refs.table[i]!;
  let block = start;
  for (let i = areaIndex; i < total; i++) {
    if (table[i]) continue;
    await img.io.write(block * cs, new Uint8Array(cs));
    table[i] = block * cs;
    block++;
  }
  const tableAt = block;
  const end = tableAt + tableClusters;
  const raw = new Uint8Array(tableSize * 8);
  for (let i = 0; i < total; i++) putBe64(raw, i * 8, table[i]!);
  await img.io.write(tableAt * cs, raw);
  const oldOffset = refs.tableOffset;
  const oldClusters = refs.tableClusters;
  refs.table = table;
  refs.tableOffset = tableAt * cs;
  refs.tableClusters = tableClusters;
  img.header.refcountTableOffset = tableAt * cs;
  img.header.refcountTableClusters = tableClusters;
  // (Only the two fields, as qemu: a sparse header cluster stays sparse.)
  const field = new Uint8Array(12);
  putBe64(field, 0, tableAt * cs);
  putBe32(field, 8, tableClusters);
  await img.io.write(48, field);
  await refs.set(start, end - start, 1);
  await refs.update(oldOffset / cs, oldClusters, -1);
  return end;
}

/** falloc/full: qemu's qcow2 truncate with preallocation, from guest offset `fromGuest` on. */
async function preallocateArea(img: Qcow2Image, fromGuest: number): Promise<void> {
  const cs = img.cs;
  const refs = img.refs;
  const per = img.tables.l2Entries;
  const first = Math.floor(fromGuest / cs);
  const nData = Math.ceil(img.virtualSize / cs) - first;
  // The last cluster in use (the file may end inside it, or run on past it).
  let last = Math.ceil(img.io.length / cs) - 1;
  while (last >= 0 && (refs.peek(last) ?? (await refs.get(last))) === 0) last--;
  const start = await refcountArea(img, last + 1, nData + Math.ceil(nData / per) + 1);
  // A cluster the old end shared: its head moves along into the new cluster.
  let head: Uint8Array | undefined;
  let oldHost = 0;
  if (fromGuest % cs && nData > 0) {
    const m = await img.tables.lookup(first);
    if (m.kind === "normal") oldHost = m.host;
    head = new Uint8Array(fromGuest % cs);
    await img.read(first * cs, head);
  }
  if (nData > 0) await refs.update(start, nData, 1);
  const z = new Uint8Array(Math.min(nData * cs, 1 << 20));
  for (let p = 0; p < nData * cs; p += z.length)
    await img.io.write(start * cs + p, z.subarray(0, Math.min(z.length, nData * cs - p)));
  if (head) await img.io.write(start * cs, head);
  if (img.io.length < (start + nData) * cs) await img.io.truncate((start + nData) * cs);
  const allocBits = img.tables.extL2 ? 0 : 0xffffffff;
  let gci = first;
  while (gci < first + nData) {
    const stop = Math.min(first + nData, (Math.floor(gci / per) + 1) * per);
    const entries = [];
    for (let c = gci; c < stop; c++)
      entries.push({ gci: c, host: (start + c - first) * cs, allocBits, zeroBits: 0 });
    await setEntries(img, entries);
    if (oldHost) {
      await refs.update(oldHost / cs, 1, -1);
      oldHost = 0;
    }
    gci = stop;
  }
}
