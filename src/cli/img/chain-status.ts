// Allocation status through the backing chain, as qemu-img map's get_block_status() walks it:
// a range no layer defines is looked up one layer down, with depth counting the layers.

import type { Image, MapExtent } from "../../image/index.js";

export async function chainStatus(
  img: Image,
  offset: number,
  length: number,
  depth = 0,
): Promise<MapExtent[]> {
  const own = await img.blockStatus(offset, length);
  const back = img.backing?.backingImage;
  const out: MapExtent[] = [];
  for (const e of own) {
    if (e.present === false && e.depth === 0 && !e.data && back) {
      const inBack = Math.max(0, Math.min(e.start + e.length, back.virtualSize) - e.start);
      if (inBack > 0) out.push(...(await chainStatus(back, e.start, inBack, depth + 1)));
      // Past the backing file's end qemu reports zeros at the top layer.
      if (inBack < e.length)
        out.push({
          start: e.start + inBack,
          length: e.length - inBack,
          data: false,
          zero: true,
          present: false,
          depth,
        });
    } else out.push({ ...e, depth: e.depth + depth });
  }
  return out;
}
