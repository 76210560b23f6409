// Reads volumes from the host: stat + format probe of each entry of a pool's target directory
// (libvirt's virStorageBackendFileSystemRefresh / virStorageBackendRefreshVolTargetUpdate), and
// the filesystem's sizes for the pool (statvfs).
import { type BigIntStats, constants } from "node:fs";
import { readdir, stat, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { StorageVolDef } from "../../conf/storage/index.js";
import { ErrorCode } from "../../errors/index.js";
import { storageErr, sysError } from "./errors.js";
import type { FileFacts, HostVol } from "./pool-obj.js";

/**
 * The image layer loads when the first volume file is probed: an empty pool (or a daemon that
 * never scans one) does not keep it in memory (issue 3's RSS target).
 */
async function image() {
  const [open, io] = await Promise.all([import("../../image/open.js"), import("../../image/io/file-io.js")]);
  return { ...open, FileIO: io.FileIO };
}

function ts(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const nsec = ns % 1_000_000_000n;
  return nsec === 0n ? `${sec}` : `${sec}.${nsec.toString().padStart(9, "0")}`;
}

export function factsOf(st: BigIntStats): FileFacts {
  return {
    perms: { mode: Number(st.mode) & 0o777, owner: Number(st.uid), group: Number(st.gid) },
    times: { atime: ts(st.atimeNs), mtime: ts(st.mtimeNs), ctime: ts(st.ctimeNs) },
  };
}

async function statOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await stat(path, { bigint: true });
  } catch {
    return null;
  }
}

interface Probed {
  format: string;
  capacity: bigint;
  backingFile?: string;
  backingFormat?: string;
  compat?: string;
  clusterSize?: bigint;
  lazyRefcounts?: boolean;
  extendedL2?: boolean;
}

/** Probes (or, with `format`, just opens) an image file; unreadable images count as raw files. */
async function probeImage(path: string, size: bigint, format?: string): Promise<Probed> {
  const { FileIO, detectFormat, openImage } = await image();
  let fmt = format;
  if (fmt === undefined) {
    const io = await FileIO.open(path, { readOnly: true }).catch(() => undefined);
    if (!io) return { format: "raw", capacity: size };
    try {
      fmt = await detectFormat(io);
    } catch {
      fmt = "raw";
    } finally {
      await io.close().catch(() => {});
    }
  }
  if (fmt === "raw" || fmt === "iso") return { format: fmt, capacity: size };
  try {
    const img = await openImage(path, { format: fmt, readOnly: true, backingChain: false });
    try {
      const info = await img.info();
      const p: Probed = { format: fmt, capacity: BigInt(img.virtualSize) };
      if (img.backing?.backingFile) {
        p.backingFile = img.backing.backingFile;
        p.backingFormat = img.backing.backingFormat;
      }
      if (fmt === "qcow2") {
        const d = info.formatSpecific?.data ?? {};
        if (d.compat === "1.1") p.compat = "1.1";
        if (d["lazy-refcounts"] === true) p.lazyRefcounts = true;
        if (d["extended-l2"] === true) p.extendedL2 = true;
        if (info.clusterSize) p.clusterSize = BigInt(info.clusterSize);
      }
      return p;
    } finally {
      await img.close().catch(() => {});
    }
  } catch {
    return { format: fmt, capacity: size };
  }
}

async function blockDeviceSize(path: string): Promise<bigint> {
  const io = await (await image()).FileIO.open(path, { readOnly: true });
  try {
    return BigInt(await io.size());
  } finally {
    await io.close();
  }
}

/**
 * Builds a volume from what is on disk at `path` (a pool scan): type, format, sizes, backing
 * store, permissions and times. Null for entries libvirt skips (dangling links, sockets, ...).
 */
export async function scanVolume(path: string, name: string): Promise<HostVol | null> {
  const st = await statOrNull(path);
  if (!st) return null;
  const mode = Number(st.mode) & constants.S_IFMT;
  const def: StorageVolDef = {
    type: "file",
    name,
    key: path,
    capacity: 0n,
    allocation: 0n,
    target: { path, features: {} },
  };
  const vol: HostVol = { def, physical: 0n, facts: factsOf(st) };
  if (mode === constants.S_IFDIR) {
    def.type = "dir";
    def.target.format = "dir";
    return vol;
  }
  if (mode !== constants.S_IFREG && mode !== constants.S_IFBLK) return null;
  const isBlock = mode === constants.S_IFBLK;
  if (isBlock) def.type = "block";
  const size = isBlock ? await blockDeviceSize(path).catch(() => 0n) : st.size;
  const p = await probeImage(path, size);
  def.target.format = p.format;
  def.capacity = p.capacity;
  def.allocation = isBlock ? size : st.blocks * 512n;
  vol.physical = size;
  if (p.compat) {
    def.target.compat = p.compat;
    vol.v3Features = true;
  }
  if (p.clusterSize) def.target.clusterSize = p.clusterSize;
  if (p.lazyRefcounts) def.target.features.lazyRefcounts = true;
  if (p.extendedL2) def.target.features.extendedL2 = true;
  if (p.backingFile) {
    const bpath = (await image()).resolveRelative(path, p.backingFile);
    let bfmt = p.backingFormat;
    if (bfmt === undefined) bfmt = (await probeImage(bpath, 0n)).format;
    def.backingStore = { path: bpath, format: bfmt };
    const bst = await statOrNull(bpath);
    if (bst) vol.backingFacts = factsOf(bst);
  }
  return vol;
}

/**
 * Re-reads the live fields of a known volume (libvirt's refreshVol before info/XML): sizes,
 * permissions and times; the definition's format stays as created.
 */
export async function refreshVolume(vol: HostVol): Promise<void> {
  const path = vol.def.target.path!;
  let st: BigIntStats;
  try {
    st = await stat(path, { bigint: true });
  } catch (e) {
    // virStorageBackendVolOpen: a vanished file is a missing volume
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw storageErr(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${path}'`);
    }
    throw sysError(`cannot stat file '${path}'`, e);
  }
  vol.facts = factsOf(st);
  if (vol.def.type === "dir") return;
  const isBlock = (Number(st.mode) & constants.S_IFMT) === constants.S_IFBLK;
  const size = isBlock ? await blockDeviceSize(path).catch(() => 0n) : st.size;
  const p = await probeImage(path, size, vol.def.target.format);
  vol.def.capacity = p.capacity;
  vol.def.allocation = isBlock ? size : st.blocks * 512n;
  vol.physical = size;
  if (vol.def.backingStore) {
    const bst = await statOrNull(vol.def.backingStore.path);
    vol.backingFacts = bst ? factsOf(bst) : undefined;
  }
}

/** Every volume in a pool's target directory, by name in name order. */
export async function scanPoolDir(dir: string): Promise<Map<string, HostVol>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw sysError(`cannot open directory '${dir}'`, e);
  }
  const out = new Map<string, HostVol>();
  for (const n of names.sort()) {
    const v = await scanVolume(join(dir, n), n);
    if (v) out.set(n, v);
  }
  return out;
}

/** statvfs of the pool target as libvirt reads it: blocks, blocks - bfree and bfree (not bavail). */
export async function fsSizes(
  dir: string,
): Promise<{ capacity: bigint; allocation: bigint; available: bigint }> {
  const s = await statfs(dir, { bigint: true });
  return {
    capacity: s.blocks * s.bsize,
    allocation: (s.blocks - s.bfree) * s.bsize,
    available: s.bfree * s.bsize,
  };
}

/** Stat facts of a directory (the pool target) or undefined when it is gone. */
export async function dirFacts(dir: string): Promise<FileFacts | undefined> {
  const st = await statOrNull(dir);
  return st ? factsOf(st) : undefined;
}
