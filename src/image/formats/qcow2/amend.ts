// qemu-img amend for qcow2: change compat (upgrade to 1.1, downgrade to 0.10), refcount_bits
// (refcount structure rewritten at the new width), lazy_refcounts, backing file and size in
// place. Options that would need a full rewrite are refused with qemu's messages.

import { ImageError } from "../../errors.js";
import { calculateRefcounts, compareRefcounts, FIX_LEAKS, freshState, newResult } from "./check.js";
import { rebuildRefcounts } from "./check-rebuild.js";
import {
  AUTOCLEAR_BITMAPS,
  COMPAT_LAZY_REFCOUNTS,
  EXT_FEATURE_TABLE,
  featureNameTable,
  INCOMPAT_COMPRESSION,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
} from "./header.js";
import { decodeL2 } from "./l2-entry.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { resizeQcow2 } from "./resize.js";
import { readL1 } from "./snapshot-refcount.js";
import { guestWrite, release, setEntries } from "./write-path.js";
import { parseSize } from "./create.js";

const bad = (m: string) => new ImageError("invalid-argument", m);
const unsupported = (m: string) => new ImageError("unsupported", m);

/** qemu's qapi_bool_parse: on/yes/true/y and off/no/false/n. */
function onOff(v: string, key: string): boolean {
  if (v === "on" || v === "true" || v === "yes" || v === "y") return true;
  if (v === "off" || v === "false" || v === "no" || v === "n") return false;
  throw bad(`Parameter '${key}' expects 'on' or 'off'`);
}

export async function amendQcow2(img: Qcow2Image, o: Record<string, string>): Promise<void> {
  img.writable();
  const h = img.header;
  let version = h.version;
  let order = h.refcountOrder;
  let lazy: boolean | undefined;
  for (const [k, v] of Object.entries(o)) {
    switch (k) {
      case "compat":
        if (v === "0.10" || v === "v2") version = 2;
        else if (v === "1.1" || v === "v3") version = 3;
        else throw bad(`Unknown compatibility level ${v}`);
        break;
      case "refcount_bits": {
        const bits = Number(v);
        if (!Number.isInteger(bits) || bits < 1 || bits > 64 || (bits & (bits - 1)) !== 0) {
          throw bad("Refcount width must be a power of two and may not exceed 64 bits");
        }
        order = Math.log2(bits);
        break;
      }
      case "lazy_refcounts":
        lazy = onOff(v, k);
        break;
      case "size":
      case "backing_file":
      case "backing_fmt":
        break;
      case "cluster_size":
      case "preallocation":
      case "extended_l2":
      case "compression_type":
      case "encryption":
        // qemu 7.2 lists these as creation-only, so its option parser refuses them.
        throw bad(`Invalid parameter '${k}'\nThis option is only supported for image creation`);
      case "data_file":
        if (!(h.incompatible & INCOMPAT_DATA_FILE))
          throw bad("data-file can only be set for images that use an external data file");
        throw unsupported(`Changing '${k}' is not supported`);
      case "data_file_raw":
        if (onOff(v, k)) throw bad("data-file-raw cannot be set on existing images");
        break;
      default:
        if (k.startsWith("encrypt.")) {
          if (!h.cryptMethod) throw bad("Can't amend encryption options - encryption not present");
          throw unsupported("Changing the encryption parameters is not supported");
        }
        throw bad(`Invalid parameter '${k}'`);
    }
  }
  // Without an explicit refcount_bits the downgrade itself refuses the current width (below).
  if (version === 2 && order !== 4 && o.refcount_bits !== undefined) {
    throw bad(
      "Refcount widths other than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)",
    );
  }
  // qemu rewrites the header (its whole cluster) once the options parsed, whatever follows.
  await img.writeHeader();
  // qemu 7.2 (qcow2_amend_options) refuses any backing_file/backing_fmt that differs from the
  // header's, an absent one counting as unset: rebase is the tool for that.
  if (
    (o.backing_file !== undefined || o.backing_fmt !== undefined) &&
    (o.backing_file !== h.backingFile || o.backing_fmt !== h.backingFormat)
  ) {
    throw bad("Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.");
  }
  if (version === 2 && lazy) {
    throw bad(
      "Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)",
    );
  }
  if (version > h.version) {
    h.version = 3;
    h.headerLength = 112;
    if (img.cs > 4096 && !h.otherExtensions.some((e) => e.type === EXT_FEATURE_TABLE)) {
      h.otherExtensions.push({ type: EXT_FEATURE_TABLE, data: featureNameTable() });
    }
    await img.writeHeader();
  }
  if (order !== h.refcountOrder) await changeRefcountOrder(img, order);
  if (lazy !== undefined && h.version === 3) {
    h.compatible = lazy ? h.compatible | COMPAT_LAZY_REFCOUNTS : h.compatible & ~COMPAT_LAZY_REFCOUNTS;
    await img.writeHeader();
  }
  if (o.size !== undefined) await resizeQcow2(img, parseSize(o.size, "size"), { shrink: true });
  if (version < h.version) await downgrade(img);
  await img.io.flush();
}

/** Rewrites all refcounts at a new width (qemu's qcow2_change_refcount_order). */
async function changeRefcountOrder(img: Qcow2Image, order: number): Promise<void> {
  const st = freshState(0, await img.io.size(), img.cs, newResult());
  await calculateRefcounts(img, st);
  if (st.res.corruptions || st.res.checkErrors) {
    throw new ImageError("corrupt", "The image has refcount errors; run check -r all first");
  }
  const max = order >= 6 ? Number.MAX_SAFE_INTEGER : 2 ** (2 ** order) - 1;
  for (const [ci, r] of st.imrt) {
    if (r > max) {
      throw bad(
        `Cannot decrease refcount entry width to ${2 ** order} bits: Cluster at offset 0x${(ci * img.cs).toString(16)} has a refcount of ${r}`,
      );
    }
  }
  await rebuildRefcounts(img, st, order);
  // The old structure is now leaked: count again against the new one and free it.
  const again = freshState(0, await img.io.size(), img.cs, newResult());
  await calculateRefcounts(img, again);
  await compareRefcounts(img, again, FIX_LEAKS);
}

/** compat=0.10: no v3-only feature may remain; zero clusters become plain zeros/unallocated. */
async function downgrade(img: Qcow2Image): Promise<void> {
  const h = img.header;
  // qemu's qcow2_downgrade order: refcount width, data file, then any other incompatible feature.
  if (h.refcountOrder !== 4) throw bad("compat=0.10 requires refcount_bits=16");
  if (h.incompatible & INCOMPAT_DATA_FILE) throw unsupported("Cannot downgrade an image with a data file");
  // v2 snapshot entries cannot say a disk size of their own or VM state past 32 bits.
  if (
    img.snapshotList.some(
      (s) => s.vmStateSize > 0xffffffff || (s.diskSize ?? img.virtualSize) !== img.virtualSize,
    )
  )
    throw unsupported("Internal snapshots prevent downgrade of image");
  if (h.incompatible & INCOMPAT_DIRTY)
    throw unsupported("Cannot downgrade a dirty image (run check -r all first)");
  const other = h.incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_COMPRESSION);
  if (other)
    throw unsupported(`Cannot downgrade an image with incompatible features 0x${other.toString(16)} set`);
  if (h.autoclear & AUTOCLEAR_BITMAPS) throw unsupported("Cannot downgrade an image with bitmaps");
  // A non-zlib compression type goes away unless compressed clusters depend on it.
  if (h.compressionType !== 0) {
    const total = Math.ceil(img.virtualSize / img.cs);
    for (let gci = 0; gci < total; gci++) {
      if ((await img.tables.lookup(gci)).kind === "compressed")
        throw unsupported(
          "Cannot downgrade an image with zstd compression type and existing compressed clusters",
        );
    }
    h.compressionType = 0;
  }
  // Snapshot trees must not hold zero clusters (expanding them would unshare the trees).
  for (const sn of img.snapshotList) {
    for (const e of await readL1(img, sn.l1Offset, sn.l1Size)) {
      if (!e.offset) continue;
      const t = await img.tables.l2(e.offset);
      for (let j = 0; j < img.tables.l2Entries; j++) {
        if (decodeL2(t, j, false, h.clusterBits).kind === "zero") {
          throw unsupported(`Cannot downgrade: snapshot '${sn.name}' holds zero clusters`);
        }
      }
    }
  }
  const total = Math.ceil(img.virtualSize / img.cs);
  for (let gci = 0; gci < total; gci++) {
    const m = await img.tables.lookup(gci);
    if (m.kind !== "zero") continue;
    if (img.header.backingFile !== undefined) {
      const len = Math.min(img.cs, img.virtualSize - gci * img.cs);
      await guestWrite(img, gci * img.cs, new Uint8Array(len)); // allocated zeros hide the backing file
    } else {
      await setEntries(img, [{ gci, host: 0 }]);
      await release(img, m);
    }
  }
  h.version = 2;
  h.headerLength = 72;
  // A v2 header has no feature name table (qemu writes it for v3 only).
  h.otherExtensions = h.otherExtensions.filter((e) => e.type !== EXT_FEATURE_TABLE);
  h.incompatible = 0;
  h.compatible = 0;
  h.autoclear = 0;
  await img.writeHeader();
}
