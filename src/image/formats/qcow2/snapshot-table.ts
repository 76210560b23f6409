// qcow2 snapshot table codec (spec "Snapshots"): entries with L1 copy offset/size, id and name,
// dates, VM state size and extra data. Sizes are checked before anything is allocated.

import { be16, be32, be64, putBe16, putBe32, putBe64 } from "../../bytes.js";
import type { BlockIO } from "../../block-io.js";
import type { SnapshotInfo } from "../../image.js";
import { ImageError } from "../../errors.js";
import { MAX_L1_BYTES, MAX_SNAPSHOTS, type Qcow2Header } from "./header.js";

/** qemu caps extra data per entry at 1 KiB and the whole table at 64 MiB (block/qcow2.h). */
export const MAX_EXTRA_DATA = 1024;
export const MAX_TABLE_BYTES = 64 * 1024 * 1024;
/** Extra data qemu writes: vm_state_size_large, disk_size, icount. */
const EXTRA_LEN = 24;

export interface SnapshotEntry {
  l1Offset: number;
  l1Size: number;
  id: string;
  name: string;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  vmStateSize: number;
  diskSize?: number;
  icount?: number;
  /** Extra data beyond what we understand, kept as is. */
  extraRest: Uint8Array;
  /** Length of the entry as found on disk (0 for entries not yet written). */
  entryBytes: number;
}

/** What `qemu-img snapshot -l` / info list of an entry. */
export function snapshotInfo(e: SnapshotEntry): SnapshotInfo {
  return {
    id: e.id,
    name: e.name,
    vmStateSize: e.vmStateSize,
    dateSec: e.dateSec,
    dateNsec: e.dateNsec,
    vmClockNsec: e.vmClockNsec,
    icount: e.icount !== undefined && e.icount >= 0 ? e.icount : undefined,
  };
}

const dec = new TextDecoder();
const enc = new TextEncoder();

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

export async function readSnapshotTable(io: BlockIO, h: Qcow2Header): Promise<SnapshotEntry[]> {
  const out: SnapshotEntry[] = [];
  if (h.nbSnapshots === 0) return out;
  if (h.nbSnapshots > MAX_SNAPSHOTS) throw new ImageError("format", "Too many snapshots");
  let off = h.snapshotsOffset;
  const size = await io.size();
  let total = 0;
  for (let i = 0; i < h.nbSnapshots; i++) {
    const fixed = new Uint8Array(40);
    // (Past the end of the file an entry reads as zeros, as qemu's does.)
    if (off < size) await io.read(off, fixed);
    const idLen = be16(fixed, 12);
    const nameLen = be16(fixed, 14);
    const extraLen = be32(fixed, 36);
    if (extraLen > MAX_EXTRA_DATA)
      throw new ImageError("format", "Too much extra metadata in snapshot table entry", { offset: off });
    const varLen = extraLen + idLen + nameLen;
    const entryLen = pad8(40 + varLen);
    total += entryLen;
    if (total > MAX_TABLE_BYTES) throw new ImageError("format", "Snapshot table is too big");
    const rest = new Uint8Array(varLen);
    if (off + 40 < size) await io.read(off + 40, rest);
    const e: SnapshotEntry = {
      l1Offset: be32(fixed, 0) * 0x100000000 + be32(fixed, 4),
      l1Size: be32(fixed, 8),
      dateSec: be32(fixed, 16),
      dateNsec: be32(fixed, 20),
      vmClockNsec: be32(fixed, 24) * 0x100000000 + be32(fixed, 28),
      vmStateSize: be32(fixed, 32),
      id: dec.decode(rest.subarray(extraLen, extraLen + idLen)),
      name: dec.decode(rest.subarray(extraLen + idLen, extraLen + idLen + nameLen)),
      extraRest: rest.slice(Math.min(extraLen, EXTRA_LEN), extraLen),
      entryBytes: entryLen,
    };
    if (extraLen >= 8) {
      const large = be64(rest, 0, "vm state size");
      if (large) e.vmStateSize = large;
    }
    if (extraLen >= 16) e.diskSize = be64(rest, 8, "snapshot disk size");
    if (extraLen >= 24) {
      const hi = be32(rest, 16);
      e.icount = hi === 0xffffffff ? -1 : be64(rest, 16, "icount");
    }
    if (e.l1Size > MAX_L1_BYTES / 8) {
      throw new ImageError("format", `Snapshot L1 table too large (snapshot ${e.id})`);
    }
    out.push(e);
    off += entryLen;
  }
  return out;
}

/**
 * The on-disk snapshot table. Every entry starts 8-aligned; with `trimLast` the last one is not
 * padded (qemu writes the table's exact length, so the file may end mid-entry-alignment).
 */
export function encodeSnapshotTable(list: SnapshotEntry[], version: number, trimLast = false): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const e of list) {
    const id = enc.encode(e.id);
    const name = enc.encode(e.name);
    const extra = new Uint8Array(EXTRA_LEN + e.extraRest.length);
    putBe64(extra, 0, e.vmStateSize);
    putBe64(extra, 8, e.diskSize ?? 0);
    if (e.icount === undefined || e.icount < 0) {
      putBe32(extra, 16, 0xffffffff);
      putBe32(extra, 20, 0xffffffff);
    } else putBe64(extra, 16, e.icount);
    extra.set(e.extraRest, EXTRA_LEN);
    const useExtra = version >= 3 || e.diskSize !== undefined ? extra : new Uint8Array(0);
    const len = pad8(40 + useExtra.length + id.length + name.length);
    const b = new Uint8Array(len);
    putBe64(b, 0, e.l1Offset);
    putBe32(b, 8, e.l1Size);
    putBe16(b, 12, id.length);
    putBe16(b, 14, name.length);
    putBe32(b, 16, e.dateSec);
    putBe32(b, 20, e.dateNsec);
    putBe64(b, 24, e.vmClockNsec);
    putBe32(b, 32, e.vmStateSize > 0xffffffff ? 0 : e.vmStateSize);
    putBe32(b, 36, useExtra.length);
    b.set(useExtra, 40);
    b.set(id, 40 + useExtra.length);
    b.set(name, 40 + useExtra.length + id.length);
    parts.push(b);
    total += len;
    if (trimLast && e === list[list.length - 1]) {
      const exact = 40 + useExtra.length + id.length + name.length;
      parts[parts.length - 1] = b.subarray(0, exact);
      total -= len - exact;
    }
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bytes the table occupies on disk as read (for refcount accounting). */
export function snapshotTableSize(list: SnapshotEntry[]): number {
  return list.reduce((a, e) => a + e.entryBytes, 0);
}
