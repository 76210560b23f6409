// convert -p as qemu-img prints it. qemu-img convert counts progress in "allocated sectors":
// before copying it walks the sources as its copy loop will (block status per request, cut to
// the source's cluster alignment, data requests at most one 2 MiB buffer, or one target cluster
// when compressing), adding up the requests it will write (data; zeros too with -S 0); then each
// such request, as the copy reaches it, prints done/total through qemu_progress_print with a
// 1% minimum step. The percentages printed depend only on that walk, not on how the copy is
// done, so tsvirt-img computes the same walk from the sources' block status and prints each
// step once its copy has passed the request's end.

import type { Image, MapExtent } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";

const SECTOR = 512;
/** BDRV_REQUEST_MAX_SECTORS: one block-status request covers at most this much. */
const REQUEST_MAX_SECTORS = Math.floor(0x7fffffff / SECTOR);
/** qemu-img's copy buffer: 2 MiB. */
const BUF_SECTORS = (2 << 20) / SECTOR;

type Status = "data" | "zero" | "backing";

export interface ConvertProgressOptions {
  /** -S size: 0 counts zero requests too (qemu's min_sparse 0). */
  sparseSize: number;
  /** The target has a backing file (-B / -o backing_file): unallocated top ranges are skipped. */
  topOnly: boolean;
  /** Cluster size of the target when writes are compressed (-c, stream-optimized vmdk). */
  compressCluster?: number;
}

/**
 * Each layer's block status answers at most up to the next multiple of this (qcow2 up to the
 * end of an L2 table, qcow/vmdk/vdi one cluster, grain or block at a time); 0: no limit.
 */
export async function statusGranularity(img: Image): Promise<number> {
  const cs = (await img.info()).clusterSize ?? 0;
  switch (img.format) {
    case "qcow2": {
      const extL2 = (img as unknown as { extL2?: boolean }).extL2 === true;
      return cs ? cs * (cs / (extL2 ? 16 : 8)) : 0;
    }
    case "qcow":
    case "vmdk":
    case "vdi":
      return cs;
    default:
      return 0;
  }
}

interface Source {
  img: Image;
  /** First sector of this source in the concatenation. */
  base: number;
  sectors: number;
  /** src_alignment: the format's cluster size in sectors (1 when it has none). */
  align: number;
  /** Granularity of each layer from the top, for cutting status answers. */
  layers: number[];
  extents: MapExtent[];
}

async function source(img: Image, base: number): Promise<Source> {
  const cs = (await img.info()).clusterSize ?? 0;
  const layers: number[] = [];
  for (let i: Image | undefined = img; i; i = i.backing?.backingImage)
    layers.push(await statusGranularity(i));
  let extents: MapExtent[];
  try {
    extents = await chainStatus(img, 0, img.virtualSize);
  } catch {
    extents = [{ start: 0, length: img.virtualSize, data: true, zero: false, depth: 0 }];
  }
  return {
    img,
    base,
    sectors: Math.ceil(img.virtualSize / SECTOR),
    align: Math.max(1, Math.ceil(cs / SECTOR)),
    layers,
    extents,
  };
}

/** The block status answer at byte `pos` of `s`: its end (bytes) and status. */
function statusAt(s: Source, pos: number, maxEnd: number, o: ConvertProgressOptions): [number, Status] {
  let lo = 0;
  let hi = s.extents.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s.extents[mid]!.start <= pos) lo = mid;
    else hi = mid - 1;
  }
  const e = s.extents[lo];
  if (!e || e.start + e.length <= pos) return [Math.min(maxEnd, s.img.virtualSize), "zero"];
  let end = Math.min(maxEnd, e.start + e.length);
  // Layers consulted for this range: down to where it is defined (all when nowhere).
  const deepest = e.present === false ? s.layers.length - 1 : Math.min(e.depth, s.layers.length - 1);
  for (let d = 0; d <= deepest; d++) {
    const g = s.layers[d]!;
    if (g) end = Math.min(end, (Math.floor(pos / g) + 1) * g);
  }
  const hasBacking = s.layers.length > 1;
  let st: Status;
  if (o.topOnly && (e.depth > 0 || (e.present === false && hasBacking))) st = "backing";
  else if (e.zero) st = "zero";
  else st = "data";
  return [end, st];
}

/**
 * The requests qemu-img's copy loop makes, as [end, counted sectors] in order (global byte end
 * of each request that counts toward progress), and the total of counted sectors.
 */
export async function convertProgressPlan(
  sources: Image[],
  o: ConvertProgressOptions,
): Promise<{ ends: number[]; counts: number[]; total: number }> {
  const srcs: Source[] = [];
  let base = 0;
  for (const img of sources) {
    const s = await source(img, base);
    srcs.push(s);
    base += s.sectors;
  }
  const totalSectors = base;
  const minSparse = o.sparseSize > 0;
  const clusterSectors = o.compressCluster ? Math.max(1, o.compressCluster / SECTOR) : 0;
  const ends: number[] = [];
  const counts: number[] = [];
  let total = 0;
  let sector = 0;
  let nextStatus = 0;
  let status: Status = "data";
  let si = 0;
  while (sector < totalSectors) {
    while (si < srcs.length - 1 && sector >= srcs[si]!.base + srcs[si]!.sectors) si++;
    const s = srcs[si]!;
    let n = Math.min(totalSectors - sector, REQUEST_MAX_SECTORS);
    if (nextStatus <= sector) {
      const local = sector - s.base;
      const pos = local * SECTOR;
      const [end, st] = statusAt(s, pos, pos + n * SECTOR, o);
      n = Math.max(1, Math.ceil((end - pos) / SECTOR));
      // Keep the next status request aligned to the source's clusters.
      const tail = (local + n) % s.align;
      if (n > tail) n -= tail;
      status = st;
      nextStatus = sector + n;
    }
    n = Math.min(n, nextStatus - sector);
    // (Compressing, qemu-img copies one target cluster per request.)
    if (status === "data" || (!minSparse && status === "zero"))
      n = Math.min(n, clusterSectors || BUF_SECTORS);
    if (clusterSectors) {
      if (n < clusterSectors) {
        n = Math.min(clusterSectors, totalSectors - sector);
        status = "data";
      } else n -= n % clusterSectors;
    }
    if (status === "data" || (!minSparse && status === "zero")) {
      total += n;
      ends.push((sector + n) * SECTOR);
      counts.push(n);
    }
    sector += n;
  }
  return { ends, counts, total };
}
