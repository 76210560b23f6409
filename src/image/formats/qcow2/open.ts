// Opens a qcow2 image: reads and validates the header, loads L1 and refcount tables, opens the
// external data file, the encryption layer and the backing chain.

import { isAbsolute } from "node:path";
import type { BlockIO } from "../../block-io.js";
import { FileIO } from "../../io/file-io.js";
import { ImageError } from "../../errors.js";
import type { FormatOpenOptions } from "../../registry.js";
import {
  AUTOCLEAR_BITMAPS,
  CRYPT_AES,
  CRYPT_LUKS,
  encodeHeader,
  INCOMPAT_CORRUPT,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTL2,
  MAX_L1_BYTES,
  parseHeader,
  V3_HEADER_LEN,
  EXT_BITMAPS,
} from "./header.js";
import { loadWritePath, type Qcow2Crypto, Qcow2Image } from "./qcow2-image.js";
import { Refcounts } from "./refcounts.js";
import { SizedIO } from "./sized-io.js";
import { ClusterTables, decodeL1 } from "./tables.js";

export async function openQcow2(inner: BlockIO, opts: FormatOpenOptions): Promise<Qcow2Image> {
  const readOnly = opts.readOnly || inner.readOnly;
  const fileSize = await inner.size();
  // (A file shorter than the header reads as zeros past its end, as qemu reads it.)
  const first = new Uint8Array(V3_HEADER_LEN);
  await inner.read(0, first);
  const bits = (first[20]! << 24) | (first[21]! << 16) | (first[22]! << 8) | first[23]!;
  const cs = bits >= 9 && bits <= 21 ? 2 ** bits : 4096;
  const head = new Uint8Array(cs);
  await inner.read(0, head);
  let h: ReturnType<typeof parseHeader>;
  try {
    h = parseHeader(head, fileSize);
  } catch (e) {
    if (e instanceof ImageError && !e.path)
      throw new ImageError(e.kind, e.message, { path: inner.path, offset: e.offset, cause: e });
    throw e;
  }
  if (h.incompatible & INCOMPAT_CORRUPT && !readOnly) {
    throw new ImageError("corrupt", "qcow2: Image is corrupt; cannot be opened read/write", {
      path: inner.path,
    });
  }
  // A bitmaps extension without the autoclear bit: a program without bitmap support wrote the
  // image. qemu warns (v2 images in its own words) and drops the extension on a writable open.
  const warnings: string[] = [];
  const bitmapsExt = h.otherExtensions.find((e) => e.type === EXT_BITMAPS);
  if (bitmapsExt && bitmapsExt.data.length !== 24)
    throw new ImageError("format", "bitmaps_ext: Invalid extension length", { path: inner.path });
  const staleBitmaps = bitmapsExt !== undefined && !(h.autoclear & AUTOCLEAR_BITMAPS);
  if (staleBitmaps)
    warnings.push(
      h.version < 3
        ? "This qcow2 v2 image contains bitmaps, but they may have been modified by a program without persistent bitmap support; so now they must all be considered inconsistent"
        : "a program lacking bitmap support modified this file, so all bitmaps are now considered inconsistent",
      // (qemu's error_printf after it: no newline.)
    );
  if (staleBitmaps)
    warnings[0] += "\nSome clusters may be leaked, run 'qemu-img check -r' on the image file to fix.";
  const io = new SizedIO(inner, fileSize);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw new ImageError("format", "Active L1 table too large");
  const l1raw = new Uint8Array(h.l1Size * 8);
  await io.read(h.l1TableOffset, l1raw);
  const l1 = decodeL1(l1raw, h.l1Size);
  let img: Qcow2Image | undefined;
  const refs = await Refcounts.load(
    io,
    h.clusterBits,
    h.refcountOrder,
    h.refcountTableOffset,
    h.refcountTableClusters,
    async (off, n) => {
      h.refcountTableOffset = off;
      h.refcountTableClusters = n;
      await io.write(0, encodeHeader(h, cs));
    },
  );
  const tables = new ClusterTables(
    io,
    h.clusterBits,
    (h.incompatible & INCOMPAT_EXTL2) !== 0,
    (h.incompatible & INCOMPAT_DATA_FILE) !== 0,
    l1,
    h.l1TableOffset,
    () => img?.refs ?? refs,
    () => io.length,
  );
  let dataIO: BlockIO | undefined;
  let crypto: Qcow2Crypto | undefined;
  try {
    if (h.incompatible & INCOMPAT_DATA_FILE) dataIO = await openDataFile(h.dataFile!, readOnly, opts);
    if (h.cryptMethod === CRYPT_LUKS || h.cryptMethod === CRYPT_AES) {
      // node:crypto and the LUKS code load only for encrypted images.
      const { openCrypto } = await import("./crypto.js");
      crypto = await openCrypto(io, h, opts);
    }
    if (!readOnly) await loadWritePath();
    img = new Qcow2Image(io, h, tables, refs, dataIO, readOnly, crypto);
    img.watchFrees();
    img.openWarnings = warnings;
    if (staleBitmaps && !readOnly) {
      h.otherExtensions = h.otherExtensions.filter((e) => e.type !== EXT_BITMAPS);
      await img.writeHeader();
    }
    await img.loadSnapshots();
    if (h.backingFile !== undefined && opts.backingChain) {
      img.backingImage = await opts.openBacking(h.backingFile, h.backingFormat);
    }
    if (h.incompatible & INCOMPAT_DIRTY && !readOnly) {
      // Lazy refcounts left the image dirty: rebuild refcounts as qemu does on open.
      const { checkQcow2 } = await import("./check.js");
      const r = await checkQcow2(img, { repair: "all" });
      if (r.corruptions || r.checkErrors) {
        throw new ImageError("corrupt", "Could not repair dirty image: the image has errors left", {
          path: inner.path,
        });
      }
      // Marking it clean flushes the metadata caches first (whole tables), then the header.
      await img.flush();
      h.incompatible &= ~INCOMPAT_DIRTY;
      await img.writeHeader();
    }
    return img;
  } catch (e) {
    if (img?.backingImage) await img.backingImage.close().catch(() => {});
    if (dataIO) await dataIO.close().catch(() => {});
    throw e;
  }
}

/**
 * A relative data file name is looked up beside the image first; qemu 7.2 resolves it against
 * the working directory instead, so that is the fallback.
 */
async function openDataFile(name: string, readOnly: boolean, opts: FormatOpenOptions): Promise<BlockIO> {
  try {
    return await opts.openFile(name, { readOnly });
  } catch (e) {
    if (!(e instanceof ImageError) || e.kind !== "not-found" || isAbsolute(name)) throw e;
    return FileIO.open(name, { readOnly });
  }
}
