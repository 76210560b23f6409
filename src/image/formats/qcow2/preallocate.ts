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
      await setEntries(
        img,
        todo.slice(i, j).map((c, k) => ({ gci: c, host: host + k * cs, allocBits: 0xffffffff, zeroBits: 0 })),
      );
      if (!img.hasDataFile) end = Math.max(end, host + n * cs);
      i = j;
    }
    gci = last;
  }
  if (end > img.io.length) await img.io.truncate(end);
}
