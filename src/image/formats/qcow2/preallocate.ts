// Preallocation (qemu's preallocation=metadata/falloc/full): maps every guest cluster in a range
// to a host cluster, allocated in contiguous runs per L2 table; falloc/full also write zeros
// (Node has no fallocate, so both really allocate the blocks).

import type { Qcow2Image } from "./qcow2-image.js";
import { setEntries } from "./write-path.js";

export async function preallocate(
  img: Qcow2Image,
  mode: "metadata" | "falloc" | "full",
  fromGuest = 0,
): Promise<void> {
  const cs = img.cs;
  const per = img.tables.l2Entries;
  const totalClusters = Math.ceil(img.virtualSize / cs);
  let gci = Math.floor(fromGuest / cs);
  let end = img.io.length;
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
        todo.slice(i, j).map((c, k) => ({ gci: c, host: host + k * cs, allocBits, zeroBits: 0 })),
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
        end = Math.max(end, runEnd);
      }
      i = j;
    }
    gci = last;
  }
  if (end > img.io.length) await img.io.truncate(end);
}
