// Allocation status through the backing chain, as qemu-img map's get_block_status() walks it:
// a range no layer defines is looked up one layer down, with depth counting the layers.

import type { Image, MapExtent } from "../../image/index.js";

/**
 * qemu's block status asks the protocol layer about data a format maps into its own file: holes
 * there read as zeros (and past the file's end everything does), so those parts of a data
 * extent get the zero flag, split at the hole boundaries.
 */
async function withFileHoles(img: Image, own: MapExtent[]): Promise<MapExtent[]> {
  const io = img.io;
  // Only static vdi and metadata-preallocated-looking qcow2 ask (BDRV_BLOCK_RECURSE); vmdk flat
  // extents and raw files answer from the file themselves.
  if (!io.dataRanges) return own;
  if (img.format === "vdi") {
    const h = (img as unknown as { header?: { imageType?: number } }).header;
    if (h?.imageType !== 2) return own;
  } else if (img.format === "qcow2") {
    const { looksMetadataPreallocated } = await import("../../image/formats/qcow2/prealloc-detect.js");
    if (!(await looksMetadataPreallocated(img as Parameters<typeof looksMetadataPreallocated>[0])))
      return own;
  } else return own;
  const out: MapExtent[] = [];
  let fileSize: number | undefined;
  for (const e of own) {
    if (!e.data || e.zero || e.offset === undefined || (e.filename !== undefined && e.filename !== io.path)) {
      out.push(e);
      continue;
    }
    fileSize ??= await io.size();
    const ranges =
      e.offset < fileSize ? await io.dataRanges(e.offset, Math.min(e.length, fileSize - e.offset)) : [];
    let at = 0;
    const piece = (from: number, to: number, zero: boolean) => {
      if (to <= from) return;
      const last = out[out.length - 1];
      const start = e.start + from;
      if (
        last &&
        last.start + last.length === start &&
        last.zero === zero &&
        last.offset !== undefined &&
        last.offset + last.length === e.offset! + from &&
        last.data === e.data &&
        last.depth === e.depth &&
        last.filename === e.filename &&
        last.present === e.present
      )
        last.length += to - from;
      else out.push({ ...e, start, length: to - from, offset: e.offset! + from, zero });
    };
    for (const r of ranges) {
      const a = r.offset - e.offset;
      piece(at, a, true);
      piece(a, a + r.length, false);
      at = a + r.length;
    }
    piece(at, e.length, true);
  }
  return out;
}

/**
 * End of the run a format's block-status driver reports from `o` at most: qcow2 stops at an L2
 * table's reach, qcow and sparse vmdk extents at a cluster, vdi at a block.
 */
export function driverRunEnd(img: Image, o: number): number {
  const x = img as unknown as {
    cs?: number;
    extL2?: boolean;
    clusterSize?: number;
    extents?: { start: number; extent: { size: number; clusterSize?: number; compressed?: boolean } }[];
  };
  const next = (g: number) => (Math.floor(o / g) + 1) * g;
  if (img.format === "qcow2" && x.cs) return next((x.cs * x.cs) / (x.extL2 ? 16 : 8));
  if (img.format === "qcow" && x.clusterSize) return next(x.clusterSize);
  if (img.format === "vdi") return next(1 << 20);
  if (img.format === "vmdk" && x.extents) {
    const p = x.extents.find((e) => e.start <= o && o < e.start + e.extent.size);
    if (p) {
      const g = p.extent.clusterSize;
      return g ? p.start + (Math.floor((o - p.start) / g) + 1) * g : p.start + p.extent.size;
    }
  }
  return Number.POSITIVE_INFINITY;
}

export async function chainStatus(
  img: Image,
  offset: number,
  length: number,
  depth = 0,
): Promise<MapExtent[]> {
  const raw = await img.blockStatus(offset, length);
  // A format may already have looked into its backing files (qcow2 does): each extent is judged
  // by the image at its depth.
  const layerAt = (d: number): Image => {
    let layer: Image = img;
    for (let k = 0; k < d && layer.backing?.backingImage; k++) layer = layer.backing.backingImage;
    return layer;
  };
  const own: MapExtent[] = [];
  for (const e of raw) own.push(...(e.data ? await withFileHoles(layerAt(e.depth), [e]) : [e]));
  const out: MapExtent[] = [];
  for (const e of own) {
    // An extent still unallocated at depth k continues below the image at that depth.
    const layer = layerAt(e.depth);
    const back = layer.backing?.backingImage;
    if (e.present === false && !e.data && !(e.zero && e.depth > 0) && back) {
      const inBack = Math.max(0, Math.min(e.start + e.length, back.virtualSize) - e.start);
      if (inBack > 0) out.push(...(await chainStatus(back, e.start, inBack, depth + e.depth + 1)));
      // Past the backing file's end qemu reports zeros at the top layer.
      if (inBack < e.length)
        out.push({
          start: e.start + inBack,
          length: e.length - inBack,
          data: false,
          zero: true,
          present: false,
          depth: depth + e.depth,
          // (A cluster the top layer holds without allocated subclusters keeps its offset.)
          ...(e.offset !== undefined ? { offset: e.offset + inBack, filename: e.filename } : {}),
        });
    } else out.push({ ...e, depth: e.depth + depth });
  }
  return out;
}

/**
 * blk_pwrite_zeroes() on a qcow2 v3 image as qemu splits it: the aligned middle becomes zero
 * clusters; an unaligned head or tail does too when the rest of its cluster already reads as
 * zeros, otherwise it is written as zeros. Other images take their own writeZeroes (or zeros).
 */
export async function qemuWriteZeroes(
  img: Image,
  offset: number,
  length: number,
  mayUnmap: boolean,
): Promise<void> {
  const q = img as unknown as {
    cs?: number;
    extL2?: boolean;
    header?: { version?: number; backingFile?: string };
  };
  const zeros = async (o: number, n: number) => {
    for (let p = o; p < o + n; p += 1 << 20) await img.write(p, new Uint8Array(Math.min(1 << 20, o + n - p)));
  };
  // Whole clusters become zero clusters on v3; on v2 without a backing file qemu discards them
  // instead (they read as zeros then), with the same head/tail widening.
  const whole = q.header?.version === 3 || (q.header?.version === 2 && q.header.backingFile === undefined);
  if (img.format === "qcow2" && q.extL2 && q.cs) return extL2WriteZeroes(img, q.cs, offset, length, mayUnmap);
  if (img.format !== "qcow2" || !img.writeZeroes || !q.cs || q.extL2 || !whole) {
    if (img.writeZeroes) await img.writeZeroes(offset, length, { mayUnmap });
    else await zeros(offset, length);
    return;
  }
  const cs = q.cs;
  const end = offset + length;
  const readsZero = async (o: number, n: number) =>
    n <= 0 || (await chainStatus(img, o, n)).every((e) => e.zero);
  const edge = async (o: number, n: number) => {
    const c0 = Math.floor(o / cs) * cs;
    const c1 = Math.min(c0 + cs, img.virtualSize);
    if ((await readsZero(c0, o - c0)) && (await readsZero(o + n, c1 - (o + n))))
      await img.writeZeroes!(c0, c1 - c0, { mayUnmap });
    else await zeros(o, n);
  };
  let pos = offset;
  if (pos % cs !== 0) {
    const n = Math.min(end, Math.ceil(pos / cs) * cs) - pos;
    await edge(pos, n);
    pos += n;
  }
  const midEnd = end === img.virtualSize ? end : Math.floor(end / cs) * cs;
  if (midEnd > pos) {
    await img.writeZeroes(pos, midEnd - pos, { mayUnmap });
    pos = midEnd;
  }
  if (end > pos) await edge(pos, end - pos);
}

/**
 * qemuWriteZeroes on an extended-L2 qcow2 image: the block layer's bdrv_co_do_pwrite_zeroes
 * pieces on subcluster alignment (an unaligned head, the aligned bulk, an unaligned tail), each
 * through qcow2_co_pwrite_zeroes: an unaligned piece widens to its subcluster when the rest of
 * that subcluster reads zero and it is not allocated (else ENOTSUP), the rest goes to
 * qcow2_subcluster_zeroize; where the driver answers ENOTSUP the piece is written as zeros.
 */
async function extL2WriteZeroes(
  img: Image,
  cs: number,
  offset: number,
  length: number,
  mayUnmap: boolean,
): Promise<void> {
  const q = img as unknown as {
    zeroizeSubclusters(o: number, n: number, u: boolean): Promise<boolean>;
    tables: { lookup(gci: number): Promise<{ kind: string; allocBits: number }> };
  };
  const sc = cs / 32;
  const size = img.virtualSize;
  const readsZero = async (o: number, n: number) => {
    const m = Math.min(n, size - o);
    return m <= 0 || (await chainStatus(img, o, m)).every((e) => e.zero);
  };
  const driver = async (o: number, n: number): Promise<boolean> => {
    const head = o % sc;
    let tail = Math.ceil((o + n) / sc) * sc - (o + n);
    if (o + n === size) tail = 0;
    if (head || tail) {
      if (!((await readsZero(o - head, head)) && (await readsZero(o + n, tail)))) return false;
      const s0 = o - head;
      const m = await q.tables.lookup(Math.floor(s0 / cs));
      if (m.kind === "compressed") return false;
      const bit = 2 ** Math.floor((s0 % cs) / sc);
      if (Math.floor(m.allocBits / bit) % 2 === 1) return false;
      return q.zeroizeSubclusters(s0, Math.min(sc, size - s0), mayUnmap);
    }
    return q.zeroizeSubclusters(o, n, mayUnmap);
  };
  let head = offset % sc;
  const tail = (offset + length) % sc;
  let pos = offset;
  let left = length;
  while (left > 0) {
    let num = left;
    if (head) {
      num = Math.min(left, sc - head);
      head = (head + num) % sc;
    } else if (tail && num > sc) num -= tail;
    if (!(await driver(pos, num))) {
      for (let p = pos; p < pos + num; p += 1 << 20)
        await img.write(p, new Uint8Array(Math.min(1 << 20, pos + num - p)));
    }
    pos += num;
    left -= num;
  }
}
