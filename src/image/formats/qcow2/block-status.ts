// qcow2 block status (qemu-img map): per cluster or subcluster, where guest data lives — this
// image (with host offset), a backing file (depth + 1), or nowhere (zeros at the chain's end).

import type { MapExtent } from "../../image.js";
import type { Qcow2Image } from "./qcow2-image.js";

export async function qcow2BlockStatus(
  img: Qcow2Image,
  offset: number,
  length: number,
): Promise<MapExtent[]> {
  img.bounds(offset, length);
  const out: MapExtent[] = [];
  const push = async (e: MapExtent) => {
    const last = out[out.length - 1];
    if (
      last &&
      last.data === e.data &&
      last.zero === e.zero &&
      last.depth === e.depth &&
      last.present === e.present &&
      last.compressed === e.compressed &&
      last.filename === e.filename &&
      (last.offset === undefined ? e.offset === undefined : e.offset === last.offset + last.length)
    ) {
      last.length += e.length;
    } else out.push(e);
  };
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const gci = Math.floor(pos / img.cs);
    const within = pos - gci * img.cs;
    const n = Math.min(img.cs - within, end - pos);
    const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
    let p = pos;
    for (const s of img.segments(m, gci, within, n)) {
      if (s.kind === "data") {
        await push({
          start: p,
          length: s.len,
          data: true,
          zero: false,
          present: true,
          depth: 0,
          offset: s.host,
          filename: img.data.path,
        });
      } else if (s.kind === "compressed") {
        await push({
          start: p,
          length: s.len,
          data: true,
          zero: false,
          present: true,
          depth: 0,
          compressed: true,
        });
      } else if (s.kind === "zero") {
        await push({
          start: p,
          length: s.len,
          data: false,
          zero: true,
          present: true,
          depth: 0,
          ...(s.at !== undefined ? { offset: s.at, filename: img.data.path } : {}),
        });
      } else if (img.backingImage && p < img.backingImage.virtualSize) {
        const bl = Math.min(s.len, img.backingImage.virtualSize - p);
        for (const b of await img.backingImage.blockStatus(p, bl)) await push({ ...b, depth: b.depth + 1 });
        if (bl < s.len)
          await push({
            start: p + bl,
            length: s.len - bl,
            data: false,
            zero: true,
            present: false,
            depth: 0,
          });
      } else {
        // The chain ends here (no backing file, or past its end): zeros at this depth.
        await push({
          start: p,
          length: s.len,
          data: false,
          zero: true,
          present: false,
          depth: 0,
          ...(s.at !== undefined && !img.backingImage ? { offset: s.at, filename: img.data.path } : {}),
        });
      }
      p += s.len;
    }
    pos += n;
  }
  return out;
}
