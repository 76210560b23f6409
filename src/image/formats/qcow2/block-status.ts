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
  const push = (e: MapExtent) => {
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
  const cs = img.cs;
  // Plain entries (no subclusters, no data file) are read in place, a run of whole clusters
  // at a time: one extent object per run instead of a mapping and segments per cluster.
  const plain = !img.extL2 && !img.hasDataFile && img.header.version === 3;
  const filename = img.data.path;
  while (pos < end) {
    const gci = Math.floor(pos / cs);
    const within = pos - gci * cs;
    const n = Math.min(cs - within, end - pos);
    if (plain && within === 0 && n === cs) {
      const t = img.tables.peekTable(gci);
      if (t === null && !img.backingImage) {
        // No L2 table: every cluster it would map reads as zeros at this depth.
        const per = img.tables.l2Entries;
        const stop = Math.min(end, (Math.floor(gci / per) + 1) * per * cs);
        const len = stop - pos - ((stop - pos) % cs);
        if (len > 0) {
          push({ start: pos, length: len, data: false, zero: true, present: false, depth: 0 });
          pos += len;
          continue;
        }
      } else if (t) {
        const per = img.tables.l2Entries;
        const last = Math.min(Math.floor(end / cs), (Math.floor(gci / per) + 1) * per);
        let c = gci;
        for (; c < last; c++) {
          const i = (c % per) * 8;
          const hi = ((t[i]! << 24) | (t[i + 1]! << 16) | (t[i + 2]! << 8) | t[i + 3]!) >>> 0;
          const lo = ((t[i + 4]! << 24) | (t[i + 5]! << 16) | (t[i + 6]! << 8) | t[i + 7]!) >>> 0;
          // Compressed, zero-flagged, or anything odd (reserved bits, unaligned): the general path.
          if (hi & 0x7f000000 || lo & 0x1ff || lo % cs) break;
          const host = (hi & 0xffffff) * 0x100000000 + lo;
          if (host === 0 && img.backingImage) break;
          // Extends the last extent in place when it continues it (no object per cluster).
          const l = out[out.length - 1];
          if (
            l &&
            l.start + l.length === c * cs &&
            l.depth === 0 &&
            l.compressed === undefined &&
            (host === 0
              ? !l.data && l.present === false && l.offset === undefined
              : l.data && l.offset !== undefined && l.offset + l.length === host && l.filename === filename)
          ) {
            l.length += cs;
            continue;
          }
          if (host === 0)
            push({ start: c * cs, length: cs, data: false, zero: true, present: false, depth: 0 });
          else
            push({
              start: c * cs,
              length: cs,
              data: true,
              zero: false,
              present: true,
              depth: 0,
              offset: host,
              filename,
            });
        }
        if (c > gci) {
          pos = c * cs;
          continue;
        }
      }
    }
    const m = img.tables.peek(gci) ?? (await img.tables.lookup(gci));
    let p = pos;
    for (const s of img.segments(m, gci, within, n)) {
      if (s.kind === "data") {
        push({
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
        push({
          start: p,
          length: s.len,
          data: true,
          zero: false,
          present: true,
          depth: 0,
          compressed: true,
        });
      } else if (s.kind === "zero") {
        push({
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
        for (const b of await img.backingImage.blockStatus(p, bl)) push({ ...b, depth: b.depth + 1 });
        if (bl < s.len)
          push({
            start: p + bl,
            length: s.len - bl,
            data: false,
            zero: true,
            present: false,
            depth: 0,
            // (Past the backing file's end a host cluster held without allocated subclusters
            // shows its offset, as qemu-img map prints it.)
            ...(s.at !== undefined ? { offset: s.at + bl, filename: img.data.path } : {}),
          });
      } else {
        // The chain ends here (no backing file, or past its end): zeros at this depth.
        push({
          start: p,
          length: s.len,
          data: false,
          zero: true,
          present: false,
          depth: 0,
          ...(s.at !== undefined ? { offset: s.at, filename: img.data.path } : {}),
        });
      }
      p += s.len;
    }
    pos += n;
  }
  // An encrypted image's clusters have no host offset to show (qemu reports no valid offset
  // for them: the file holds ciphertext).
  if (img.crypto) {
    const plain: MapExtent[] = [];
    for (const e of out) {
      const x: MapExtent = { ...e };
      delete x.offset;
      delete x.filename;
      const last = plain[plain.length - 1];
      if (
        last &&
        last.data === x.data &&
        last.zero === x.zero &&
        last.depth === x.depth &&
        last.present === x.present &&
        last.compressed === x.compressed
      )
        last.length += x.length;
      else plain.push(x);
    }
    return plain;
  }
  return out;
}
