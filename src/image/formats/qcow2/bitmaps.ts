// Persistent dirty bitmaps (spec "Bitmaps extension"): we do not interpret bitmaps, but check
// must count the clusters they own (directory, bitmap tables, data clusters) as qemu does.

import { be32, be64 } from "../../bytes.js";
import { ImageError } from "../../errors.js";
import { AUTOCLEAR_BITMAPS, EXT_BITMAPS } from "./header.js";
import { offsetOf } from "./l2-entry.js";
import type { Qcow2Image } from "./qcow2-image.js";

/** Caps on what a bitmap directory may make us read (qemu: 64 KiB entries, 1 GiB tables). */
const MAX_DIRECTORY_BYTES = 64 << 20;
const MAX_TABLE_BYTES = 64 << 20;

/** Bitmap directory location from the extension, or undefined when bitmaps are not in use. */
function directory(img: Qcow2Image): { nb: number; size: number; offset: number } | undefined {
  const h = img.header;
  if (!(h.autoclear & AUTOCLEAR_BITMAPS)) return undefined;
  const ext = h.otherExtensions.find((e) => e.type === EXT_BITMAPS);
  if (!ext || ext.data.length < 24) return undefined;
  const size = be64(ext.data, 8, "bitmap directory size");
  if (size > MAX_DIRECTORY_BYTES) throw new ImageError("format", "Bitmap directory is too large");
  const offset = be64(ext.data, 16, "bitmap directory offset");
  // Bounded by the file as well as by the cap: never allocate for bytes that cannot exist.
  if (offset + size > img.io.length + img.cs)
    throw new ImageError("corrupt", "Bitmap directory lies past the end of the file");
  return { nb: be32(ext.data, 0), size, offset };
}

/**
 * Before our first write: we do not update dirty bitmaps, so each one is flagged in_use (bit 0
 * of its flags, spec "Bitmap directory") — exactly the state qemu leaves after an interrupted
 * writer, which it then reports as inconsistent instead of trusting stale bits.
 */
export async function markBitmapsInUse(img: Qcow2Image): Promise<void> {
  const d = directory(img);
  if (!d) return;
  const dir = new Uint8Array(d.size);
  await img.io.read(d.offset, dir);
  let p = 0;
  for (let i = 0; i < d.nb && p + 24 <= dir.length; i++) {
    dir[p + 15] = dir[p + 15]! | 1;
    const nameSize = (dir[p + 18]! << 8) | dir[p + 19]!;
    p += Math.ceil((24 + be32(dir, p + 20) + nameSize) / 8) * 8;
  }
  await img.io.write(d.offset, dir);
  await img.io.flush();
}

/** [offset, length] of every host range the bitmaps own; empty when the autoclear bit is off. */
export async function readBitmapClusters(img: Qcow2Image): Promise<[number, number][]> {
  const d = directory(img);
  if (!d) return [];
  const { nb, size: dirSize, offset: dirOffset } = d;
  const out: [number, number][] = [[dirOffset, dirSize]];
  const dir = new Uint8Array(dirSize);
  await img.io.read(dirOffset, dir);
  let p = 0;
  for (let i = 0; i < nb && p + 24 <= dir.length; i++) {
    const tableOffset = be64(dir, p, "bitmap table offset");
    const tableSize = be32(dir, p + 8);
    const nameSize = (dir[p + 18]! << 8) | dir[p + 19]!;
    const extra = be32(dir, p + 20);
    if (tableSize * 8 > MAX_TABLE_BYTES || tableOffset + tableSize * 8 > img.io.length + img.cs) {
      throw new ImageError("format", "Bitmap table is too large or lies past the end of the file");
    }
    out.push([tableOffset, tableSize * 8]);
    const table = new Uint8Array(tableSize * 8);
    await img.io.read(tableOffset, table);
    for (let j = 0; j < tableSize; j++) {
      const off = offsetOf(be32(table, j * 8), be32(table, j * 8 + 4));
      if (off) out.push([off, img.cs]);
    }
    p += Math.ceil((24 + extra + nameSize) / 8) * 8;
  }
  return out;
}

/** The `bitmaps` list of qemu-img info's format-specific data (name, flags, granularity). */
export async function bitmapInfo(img: Qcow2Image): Promise<Record<string, unknown>[] | undefined> {
  const d = directory(img);
  if (!d) return undefined;
  const dir = new Uint8Array(d.size);
  await img.io.read(d.offset, dir);
  const out: Record<string, unknown>[] = [];
  const dec = new TextDecoder();
  let p = 0;
  for (let i = 0; i < d.nb && p + 24 <= dir.length; i++) {
    const flagBits = be32(dir, p + 12);
    const nameSize = (dir[p + 18]! << 8) | dir[p + 19]!;
    const extra = be32(dir, p + 20);
    const flags: string[] = [];
    if (flagBits & 1) flags.push("in-use");
    if (flagBits & 2) flags.push("auto");
    const nameAt = p + 24 + extra;
    out.push({
      flags,
      name: dec.decode(dir.subarray(nameAt, Math.min(dir.length, nameAt + nameSize))),
      granularity: 2 ** dir[p + 17]!,
    });
    p += Math.ceil((24 + extra + nameSize) / 8) * 8;
  }
  return out;
}
