// qcow2_detect_metadata_preallocation(): qemu asks the file layer about holes under qcow2 data
// clusters (BDRV_BLOCK_RECURSE) only when the image looks metadata-preallocated, i.e. its last
// referenced cluster lies well past what the file really has allocated.

import type { Qcow2Image } from "./qcow2-image.js";

const seen = new WeakMap<Qcow2Image, boolean>();

export async function looksMetadataPreallocated(img: Qcow2Image): Promise<boolean> {
  const known = seen.get(img);
  if (known !== undefined) return known;
  const io = img.io;
  const fileLength = await io.size();
  const real = io.allocatedBytes ? await io.allocatedBytes() : fileLength;
  const realClusters = Math.floor(real / img.cs);
  const threshold = Math.max(Math.floor((realClusters * 10) / 9), realClusters + 2);
  let last = -1;
  for (let i = Math.ceil(fileLength / img.cs) - 1; i >= 0; i--) {
    if ((img.refs.peek(i) ?? (await img.refs.get(i))) > 0) {
      last = i;
      break;
    }
  }
  const r = last > threshold;
  seen.set(img, r);
  return r;
}
