// The file side of volume operations in dir/fs pools (libvirt's storage_util.c for local
// files): create a volume file in any supported format, clone one image into another through
// the image layer, wipe with zeros, resize, delete. Failures throw VirError with libvirt's texts.
import { execFile } from "node:child_process";
import { chmod, chown, lstat, mkdir, open, rm, rmdir, stat, truncate, unlink } from "node:fs/promises";
import { promisify } from "node:util";
import type { StorageVolDef } from "../../conf/storage/index.js";
import { ErrorCode } from "../../errors/index.js";
import { isImageError } from "../../image/errors.js";
import type { Image } from "../../image/image.js";
import { hasFormat } from "../../image/registry.js";
import { internal, noSupport, storageErr, sysError } from "./errors.js";

const run = promisify(execFile);
/**
 * The image layer's open/create code loads when a volume is first made, cloned or resized: a
 * daemon whose pools only list volumes does not keep it in memory (issue 3's RSS target).
 */
const imageOpen = () => import("../../image/open.js");
/** VIR_STORAGE_DEFAULT_VOL_PERM_MODE. */
export const DEFAULT_VOL_MODE = 0o600;
const CHUNK = 1024 * 1024;

/** ImageError and friends at the storage boundary: INTERNAL_ERROR with the image layer's text. */
function wrap(e: unknown): Error {
  if (isImageError(e)) return internal(e.message);
  return e as Error;
}

/** Bytes to preallocate for a raw volume: its allocation, at most its capacity. */
const wanted = (def: StorageVolDef): bigint => {
  const { allocation: a, capacity: c } = def;
  if (a > c) return c;
  return a;
};

/** Allocates [0, bytes) of a file (posix_fallocate); writes zeros where fallocate(1) is missing. */
async function preallocate(path: string, bytes: bigint): Promise<void> {
  if (bytes <= 0n) return;
  try {
    await run("fallocate", ["-l", bytes.toString(), path]);
    return;
  } catch {
    // fall through to writing zeros, as libvirt does without fallocate
  }
  const fh = await open(path, "r+");
  try {
    const zero = new Uint8Array(CHUNK);
    for (let off = 0n; off < bytes; off += BigInt(CHUNK)) {
      const n = Number(bytes - off < BigInt(CHUNK) ? bytes - off : BigInt(CHUNK));
      await fh.write(zero, 0, n, Number(off));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeFirstBlock(path: string, capacity: bigint): Promise<void> {
  const n = Number(capacity < 4096n ? capacity : 4096n);
  if (n === 0) return;
  const fh = await open(path, "r+");
  try {
    await fh.write(new Uint8Array(n), 0, n, 0);
  } finally {
    await fh.close();
  }
}

async function applyPerms(path: string, def: StorageVolDef): Promise<void> {
  const p = def.target.perms;
  await chmod(path, p?.mode ?? DEFAULT_VOL_MODE);
  if (p && (p.owner !== undefined || p.group !== undefined) && process.getuid?.() === 0) {
    await chown(path, p.owner ?? -1, p.group ?? -1);
  }
}

/** qemu-img `-o` options libvirt passes for a new image (storageBackendCreateQemuImgOpts). */
function imageOptions(def: StorageVolDef, prealloc: boolean): Record<string, string> {
  const o: Record<string, string> = {};
  const fmt = def.target.format;
  if (def.backingStore) {
    o.backing_file = def.backingStore.path;
    if (def.backingStore.format) o.backing_fmt = def.backingStore.format;
  }
  if (fmt === "qcow2") {
    // libvirt asks for compat=0.10 unless the XML names a level.
    o.compat = def.target.compat ?? "0.10";
    if (def.target.clusterSize !== undefined) o.cluster_size = def.target.clusterSize.toString();
    if (def.target.features.lazyRefcounts) o.lazy_refcounts = "on";
    if (def.target.features.extendedL2) o.extended_l2 = "on";
    if (prealloc) o.preallocation = def.allocation >= def.capacity ? "falloc" : "metadata";
  }
  return o;
}

function checkCreatable(def: StorageVolDef): string {
  const fmt = def.target.format ?? "raw";
  if (def.target.encryption) throw noSupport("storage pool does not support encrypted volumes");
  if ((fmt === "raw" || fmt === "iso") && def.backingStore)
    throw noSupport("backing storage not supported for raw volumes");
  if (fmt !== "raw" && fmt !== "iso" && fmt !== "dir" && !hasFormat(fmt)) {
    throw noSupport(`creating volumes of format '${fmt}' is not supported`);
  }
  return fmt;
}

/**
 * Creates the file (or directory) of a new volume at def.target.path. The path must not exist;
 * on failure nothing is left behind.
 */
export async function createVolFile(def: StorageVolDef, prealloc: boolean): Promise<void> {
  const path = def.target.path!;
  const fmt = checkCreatable(def);
  if (fmt === "dir") {
    try {
      await mkdir(path, def.target.perms?.mode ?? DEFAULT_VOL_MODE);
      await applyPerms(path, def);
    } catch (e) {
      throw sysError(`cannot create path '${path}'`, e);
    }
    return;
  }
  if (def.backingStore) {
    try {
      await stat(def.backingStore.path);
    } catch (e) {
      throw sysError(`inaccessible backing store volume ${def.backingStore.path}`, e);
    }
  }
  const raw = fmt === "raw" || fmt === "iso";
  // Raw files are ours to make (O_EXCL claims the name); image formats are made by createImage
  // on a path that does not exist yet (the caller checked, under the pool's lock).
  if (raw) {
    try {
      await (await open(path, "wx", def.target.perms?.mode ?? DEFAULT_VOL_MODE)).close();
    } catch (e) {
      throw sysError(`cannot create path '${path}'`, e);
    }
  }
  try {
    if (raw) {
      // libvirt preallocates raw files itself; 'iso' goes through qemu-img as sparse raw.
      if (fmt === "raw") await preallocate(path, wanted(def));
      await truncate(path, Number(def.capacity));
      // qemu-img create -f raw allocates the first block (qemu's allocate_first_block).
      if (fmt === "iso") await writeFirstBlock(path, def.capacity);
    } else {
      const size = def.capacity === 0n && def.backingStore ? undefined : Number(def.capacity);
      await (await imageOpen()).createImage(path, fmt, size, imageOptions(def, prealloc));
    }
    await applyPerms(path, def);
  } catch (e) {
    await rm(path, { force: true });
    throw wrap(e);
  }
}

function isZero(b: Uint8Array): boolean {
  const words = b.byteOffset % 4 === 0 ? b.length >> 2 : 0;
  const w = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (w[i] !== 0) return false;
  for (let i = words << 2; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

async function copyData(src: Image, dst: Image, topOnly: boolean): Promise<void> {
  const total = src.virtualSize;
  const buf = new Uint8Array(CHUNK);
  const extents = await src.blockStatus(0, total);
  for (const x of extents) {
    if (!x.data || x.zero || (topOnly && x.depth > 0)) continue;
    for (let off = x.start; off < x.start + x.length; off += CHUNK) {
      const n = Math.min(CHUNK, x.start + x.length - off);
      const b = n === CHUNK ? buf : buf.subarray(0, n);
      await src.read(off, b);
      // Zeros are not written (qemu-img convert's and libvirt's sparse copy) except into a top
      // image over a backing file, where they hide the backing data.
      if (!topOnly && isZero(b)) continue;
      await dst.write(off, b);
    }
  }
  await dst.flush();
}

/**
 * Creates `def` as a copy of the image at srcPath (libvirt's buildVolFrom: qemu-img convert,
 * here read from the source Image and written to the new one). A new volume with a backing
 * store receives only the source's own clusters, as convert with a backing file does.
 */
export async function cloneVolFile(
  def: StorageVolDef,
  srcPath: string,
  srcFormat: string,
  sparse = false,
): Promise<void> {
  const path = def.target.path!;
  const fmt = checkCreatable(def);
  if (fmt === "dir") throw noSupport("cannot clone a directory volume");
  await createVolFile({ ...def, allocation: 0n }, false);
  let src: Image | undefined;
  let dst: Image | undefined;
  try {
    // raw (or iso) to raw is libvirt's own copy: preallocated unless asked for sparse. Any other pair goes
    // through qemu-img convert, whose new raw file is sparse with its first block written.
    const rawCopy = fmt === "raw" && (srcFormat === "raw" || srcFormat === "iso");
    if (rawCopy && !sparse) await preallocate(path, wanted(def));
    else if (fmt === "raw" && !rawCopy) await writeFirstBlock(path, def.capacity);
    const topOnly = def.backingStore !== undefined;
    const { openImage } = await imageOpen();
    src = await openImage(srcPath, {
      format: srcFormat === "iso" ? "raw" : srcFormat,
      readOnly: true,
      backingChain: !topOnly,
    });
    dst = await openImage(path, { format: fmt === "iso" ? "raw" : fmt, backingChain: false });
    await copyData(src, dst, topOnly);
  } catch (e) {
    await dst?.close().catch(() => {});
    dst = undefined;
    await rm(path, { force: true });
    throw wrap(e);
  } finally {
    await src?.close().catch(() => {});
    await dst?.close().catch(() => {});
  }
}

/** Zero-fills a volume (VIR_STORAGE_VOL_WIPE_ALG_ZERO); a sparse file is truncated and re-grown. */
export async function wipeVolFile(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw sysError(`Failed to open storage volume with path '${path}'`, e);
  }
  if (st.isDirectory()) {
    const err = Object.assign(new Error("EISDIR"), { code: "EISDIR" });
    throw sysError(`Failed to open storage volume with path '${path}'`, err);
  }
  if (st.isFile() && st.blocks * 512 < st.size) {
    try {
      await truncate(path, 0);
      await truncate(path, st.size);
    } catch (e) {
      throw sysError(`Failed to truncate volume with path '${path}' to 0 bytes`, e);
    }
    return;
  }
  const fh = await open(path, "r+");
  try {
    const size = st.isFile() ? st.size : (await fh.stat()).size;
    const zero = new Uint8Array(CHUNK);
    for (let off = 0; off < size; off += CHUNK) {
      await fh.write(zero, 0, Math.min(CHUNK, size - off), off);
    }
    await fh.sync();
  } catch (e) {
    throw sysError(`Failed to write ${st.size} bytes to storage volume with path '${path}'`, e);
  } finally {
    await fh.close();
  }
}

/** Resizes a volume to `capacity` bytes (storage_util.c virStorageBackendVolResizeLocal). */
export async function resizeVolFile(
  path: string,
  format: string,
  capacity: bigint,
  allocate: boolean,
  shrink: boolean,
): Promise<void> {
  if (format === "raw" || format === "iso") {
    if (allocate) {
      try {
        await preallocate(path, capacity);
      } catch (e) {
        throw sysError(`Failed to pre-allocate space for file '${path}'`, e);
      }
    }
    try {
      await truncate(path, Number(capacity));
    } catch (e) {
      throw sysError(`Failed to truncate file '${path}'`, e);
    }
    return;
  }
  if (allocate) {
    throw storageErr(ErrorCode.OPERATION_UNSUPPORTED, "preallocate is only supported for raw type volume");
  }
  let img: Image | undefined;
  try {
    img = await (await imageOpen()).openImage(path, { format, backingChain: false });
    if (!img.resizable) throw noSupport(`resizing volumes of format '${format}' is not supported`);
    await img.resizable.resize(Number(capacity), { shrink });
    await img.flush();
  } catch (e) {
    throw wrap(e);
  } finally {
    await img?.close().catch(() => {});
  }
}

/** Removes a volume's file or directory (virStorageBackendVolDeleteLocal). */
export async function deleteVolFile(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st?.isDirectory()) {
    try {
      await rmdir(path);
    } catch (e) {
      throw sysError(`cannot remove directory '${path}'`, e);
    }
    return;
  }
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw sysError(`cannot unlink file '${path}'`, e);
  }
}
