// A VMDK image: the descriptor (embedded in a sparse extent or a separate text file) plus its
// extents laid end to end in guest space, and an optional parent (parentFileNameHint) as backing.

import { dirname, isAbsolute } from "node:path";
import type { BlockIO } from "../../block-io.js";
import { ImageError } from "../../errors.js";
import type { BackingChain, CheckResult, Checkable, Image, ImageInfo, MapExtent } from "../../image.js";
import type { FormatOpenOptions } from "../../registry.js";
import { MAX_DESCRIPTOR, parseDescriptor, type VmdkDescriptor } from "./descriptor.js";
import { type Extent, type Fill, FlatExtent, ZeroExtent } from "./extent.js";
import { SparseExtent } from "./sparse-extent.js";
import { decodeSparseHeader, isVmdkSparse } from "./sparse-header.js";

/** qemu's path_combine: a relative extent name is taken relative to the descriptor's directory. */
export function combinePath(base: string | undefined, name: string): string {
  if (isAbsolute(name) || !base || !base.includes("/")) return name;
  return `${dirname(base)}/${name}`;
}

interface Placed {
  start: number;
  extent: Extent;
}

export class VmdkImage implements Image, Checkable, BackingChain {
  readonly format = "vmdk" as const;
  readonly readOnly: boolean;
  readonly virtualSize: number;
  readonly checker: Checkable = this;
  readonly backing?: BackingChain;
  backingImage?: Image;
  readonly backingFormat?: string;
  private cidUpdated = false;
  /** The parent's CID was found to match parentCID (qemu checks once, then trusts it). */
  private cidChecked = false;

  private constructor(
    readonly io: BlockIO,
    readonly desc: VmdkDescriptor,
    private readonly descText: string,
    /** Where the descriptor lives: embedded (byte offset, capacity) or the whole file. */
    private readonly descPlace: { offset: number; capacity: number } | "file",
    private readonly extents: Placed[],
    readOnly: boolean,
  ) {
    this.readOnly = readOnly;
    this.virtualSize = extents.reduce((s, p) => s + p.extent.size, 0);
    if (desc.parentFileNameHint !== undefined) {
      this.backing = this;
      this.backingFormat = "vmdk";
    }
  }

  get backingFile(): string | undefined {
    return this.desc.parentFileNameHint;
  }

  static async open(io: BlockIO, opts: FormatOpenOptions): Promise<VmdkImage> {
    const readOnly = opts.readOnly || io.readOnly;
    const fileSize = await io.size();
    // (qemu's vmdk_read_desc: both kinds of file are much larger than their 4-byte magic; the
    // length it checks is in whole sectors, so only an empty file fails here.)
    if (fileSize === 0)
      throw new ImageError("format", "File is too small, not a valid image", { path: io.path });
    const head = new Uint8Array(Math.min(512, fileSize));
    await io.read(0, head);
    let img: VmdkImage;
    if (isVmdkSparse(head)) {
      const h = decodeSparseHeader(head, io.path);
      let text = "";
      let desc: VmdkDescriptor;
      if (h.descriptorOffset > 0 && h.descriptorSize > 0) {
        const n = Math.min(h.descriptorSize * 512, MAX_DESCRIPTOR);
        const b = new Uint8Array(n);
        await io.read(h.descriptorOffset * 512, b);
        text = Buffer.from(b)
          .toString("latin1")
          .replace(/\0[\s\S]*$/, "");
      }
      if (/createType\s*=/.test(text)) desc = parseDescriptor(text, io.path);
      else {
        desc = undefined as unknown as VmdkDescriptor;
      }
      // qemu reads a zero-capacity sparse file's embedded descriptor as a descriptor file, which
      // accepts only the split/flat create types.
      if (h.capacity === 0 && h.descriptorOffset > 0 && desc !== undefined) {
        const ok = ["monolithicFlat", "vmfs", "vmfsSparse", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"];
        if (!ok.includes(desc.createType))
          throw new ImageError("unsupported", `Unsupported image type '${desc.createType}'`, {
            path: io.path,
          });
      }
      if (desc === undefined) {
        // A bare sparse extent (e.g. one piece of a twoGbMaxExtentSparse disk).
        desc = {
          version: 1,
          cid: 0xffffffff,
          parentCid: 0xffffffff,
          createType: "monolithicSparse",
          extents: [],
          ddb: [],
        };
      }
      const ext = await SparseExtent.open(io, { type: "", fileName: io.path ?? "", readOnly, header: h });
      img = new VmdkImage(
        io,
        desc,
        text,
        { offset: h.descriptorOffset * 512, capacity: h.descriptorSize * 512 },
        [{ start: 0, extent: ext }],
        readOnly,
      );
    } else {
      if (fileSize > MAX_DESCRIPTOR)
        throw new ImageError("format", "invalid VMDK image descriptor", { path: io.path });
      if (head.length >= 4 && Buffer.from(head.subarray(0, 4)).toString("latin1") === "COWD") {
        throw new ImageError("unsupported", "VMware ESX sparse (COWD) extents are not supported", {
          path: io.path,
        });
      }
      const b = new Uint8Array(fileSize);
      await io.read(0, b);
      const text = Buffer.from(b).toString("latin1");
      const desc = parseDescriptor(text, io.path, true);
      // (A descriptor without extents opens, as qemu's: qemu-img creates one for a flat or
      // split image of size 0; it reads as an image of size 0.)
      const placed: Placed[] = [];
      let start = 0;
      try {
        for (const e of desc.extents) {
          const eRO = readOnly || e.access !== "RW";
          const name = combinePath(io.path, e.file);
          let ext: Extent;
          if (e.type === "ZERO") ext = new ZeroExtent(e.sectors * 512);
          else {
            const eio = await opts.openFile(e.file, { readOnly: eRO });
            if (e.type === "FLAT" || e.type === "VMFS")
              ext = new FlatExtent(eio, e.sectors * 512, e.offset * 512, e.type, name, eRO);
            else if (e.type === "SPARSE")
              ext = await SparseExtent.open(eio, { type: e.type, fileName: name, readOnly: eRO });
            else {
              await eio.close();
              throw new ImageError("unsupported", `Unsupported extent type '${e.type}'`, { path: io.path });
            }
          }
          placed.push({ start, extent: ext });
          start += ext.size;
        }
      } catch (err) {
        for (const p of placed) await p.extent.close().catch(() => {});
        throw err;
      }
      img = new VmdkImage(io, desc, text, "file", placed, readOnly);
    }
    // qemu's vmdk_open reads both CIDs from the descriptor text (vmdk_read_cid: at 0 in a
    // descriptor file, at 0x200 in a sparse file): without them the open fails with EINVAL, and
    // the numbers found are the ones it reports.
    const at = img.descPlace === "file" ? 0 : 512;
    const cid = await readCid(io, at, false);
    const parentCid = cid === undefined ? undefined : await readCid(io, at, true);
    if (cid === undefined || parentCid === undefined) {
      // (The caller closes the descriptor's file.)
      for (const p of img.extents) if (p.extent.io !== io) await p.extent.close().catch(() => {});
      throw new ImageError("invalid-argument", `Could not open '${io.path}': Invalid argument`, {
        path: io.path,
      });
    }
    img.desc.cid = cid;
    img.desc.parentCid = parentCid;
    if (img.desc.parentFileNameHint !== undefined && opts.backingChain) {
      img.backingImage = await opts.openBacking(img.desc.parentFileNameHint, undefined);
    }
    return img;
  }

  private bounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw new ImageError("invalid-argument", `Access ${offset}+${length} is past the image end`, {
        path: this.io.path,
        offset,
      });
    }
  }

  /**
   * The CID in the descriptor as it is on disk now (qemu's vmdk_read_cid: the hex number after
   * the first "CID" in the descriptor's first 20 sectors), or undefined when there is none.
   */
  diskCid(): Promise<number | undefined> {
    return readCid(this.io, this.descPlace === "file" ? 0 : this.descPlace.offset, false);
  }

  /**
   * qemu's vmdk reads from (or copies into a new grain from) the backing file only while the
   * backing file's CID is the parentCID this image recorded: a parent written since (its CID
   * changes on its first write) or not a vmdk makes such requests fail with EINVAL.
   */
  private async checkCid(guestOffset?: number): Promise<void> {
    const b = this.backingImage;
    if (!b || this.cidChecked) return;
    const cur = b instanceof VmdkImage ? await b.diskCid().catch(() => undefined) : undefined;
    if (cur === undefined || cur !== this.desc.parentCid)
      throw new ImageError("invalid-argument", "Invalid argument", { path: this.io.path, guestOffset });
    this.cidChecked = true;
  }

  private fillFor(start: number): Fill {
    return async (off, dst) => {
      const b = this.backingImage;
      await this.checkCid(start + off);
      const pos = start + off;
      const avail = b ? Math.max(0, Math.min(dst.length, b.virtualSize - pos)) : 0;
      if (avail > 0) await b!.read(pos, dst.subarray(0, avail));
      dst.fill(0, avail);
    };
  }

  /** Calls fn for each extent piece of [offset, offset+length). */
  private async each(
    offset: number,
    length: number,
    fn: (p: Placed, off: number, len: number, done: number) => Promise<void>,
  ): Promise<void> {
    let done = 0;
    for (const p of this.extents) {
      if (done >= length) break;
      const pos = offset + done;
      if (pos >= p.start + p.extent.size) continue;
      const len = Math.min(length - done, p.start + p.extent.size - pos);
      await fn(p, pos - p.start, len, done);
      done += len;
    }
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    await this.each(offset, buf.length, (p, off, len, done) =>
      p.extent.read(off, buf.subarray(done, done + len), this.fillFor(p.start)),
    );
  }

  private async touch(): Promise<void> {
    if (this.readOnly) throw new ImageError("read-only", "Image is read-only", { path: this.io.path });
    if (this.cidUpdated) return;
    // qemu gives the image a new CID on its first write so children can detect the change.
    this.cidUpdated = true;
    if (!this.descText) return;
    // node:crypto loads only here, on an image's first write.
    const { randomInt } = await import("node:crypto");
    this.desc.cid = randomInt(0, 0xffffffff);
    const text = this.descText.replace(/^CID=.*$/m, `CID=${this.desc.cid.toString(16)}`);
    const bytes = Buffer.from(text, "latin1");
    if (this.descPlace === "file") {
      // qemu rewrites the descriptor file padded with zeros to a whole sector.
      const b = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
      b.set(bytes);
      await this.io.truncate(0);
      await this.io.write(0, b);
    } else if (bytes.length <= this.descPlace.capacity) {
      const b = new Uint8Array(this.descPlace.capacity);
      b.set(bytes);
      await this.io.write(this.descPlace.offset, b);
    }
  }

  /** A write that allocates a grain first checks the parent's CID, as qemu's get_whole_cluster. */
  private async checkAllocation(offset: number, length: number): Promise<void> {
    if (!this.backingImage || this.cidChecked) return;
    let alloc = false;
    await this.each(offset, length, async (p, off, len) => {
      if (!alloc && p.extent instanceof SparseExtent && (await p.extent.allocates(off, len))) alloc = true;
    });
    if (alloc) await this.checkCid();
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.bounds(offset, buf.length);
    await this.checkAllocation(offset, buf.length);
    await this.touch();
    await this.each(offset, buf.length, (p, off, len, done) =>
      p.extent.write(off, buf.subarray(done, done + len), this.fillFor(p.start)),
    );
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.bounds(offset, length);
    if (this.backingImage && !this.cidChecked) {
      // (Zeros not written as zeroed-grain entries are written as data, allocating grains.)
      let alloc = false;
      await this.each(offset, length, async (p, off, len) => {
        const e = p.extent;
        if (
          !alloc &&
          e instanceof SparseExtent &&
          !e.zeroesByEntry(off, len) &&
          (await e.allocates(off, len))
        )
          alloc = true;
      });
      if (alloc) await this.checkCid();
    }
    await this.touch();
    await this.each(offset, length, async (p, off, len) => {
      if (
        p.extent.writeZeroes &&
        (await p.extent.writeZeroes(off, len, this.fillFor(p.start), !!this.backingImage))
      )
        return;
      for (let o = 0; o < len; o += 1 << 20) {
        const n = Math.min(1 << 20, len - o);
        await p.extent.write(off + o, new Uint8Array(n), this.fillFor(p.start));
      }
    });
  }

  async blockStatus(offset: number, length: number): Promise<MapExtent[]> {
    this.bounds(offset, length);
    const out: MapExtent[] = [];
    const hasBacking = this.desc.parentFileNameHint !== undefined;
    await this.each(offset, length, async (p, off, len) => {
      for (const x of await p.extent.status(off, len, hasBacking)) {
        x.start += p.start;
        const last = out[out.length - 1];
        if (
          last &&
          last.data === x.data &&
          last.zero === x.zero &&
          last.present === x.present &&
          !!last.compressed === !!x.compressed &&
          last.filename === x.filename &&
          (last.offset === undefined) === (x.offset === undefined) &&
          (last.offset === undefined || last.offset + last.length === x.offset)
        ) {
          last.length += x.length;
        } else out.push(x);
      }
    });
    return out;
  }

  /** The single compressed (stream-optimized) extent, when the image has one. */
  private streamExtent(): SparseExtent | undefined {
    const e = this.extents.length === 1 ? this.extents[0]!.extent : undefined;
    return e instanceof SparseExtent && e.compressed ? e : undefined;
  }

  get compressedClusterSize(): number | undefined {
    return this.streamExtent()?.clusterSize;
  }

  async compressCluster(raw: Uint8Array): Promise<Uint8Array | undefined> {
    const e = this.streamExtent();
    if (!e)
      throw new ImageError("unsupported", "Compression is only supported for streamOptimized VMDK images");
    return e.compressGrain(raw);
  }

  async writeCompressedCluster(
    offset: number,
    compressed: Uint8Array | undefined,
    raw: Uint8Array,
  ): Promise<void> {
    const e = this.streamExtent();
    if (!e)
      throw new ImageError("unsupported", "Compression is only supported for streamOptimized VMDK images");
    await this.checkAllocation(offset, raw.length);
    await this.touch();
    if (!compressed || raw.length !== e.clusterSize) await this.write(offset, raw);
    else await e.appendCompressed(offset, compressed);
  }

  async setBacking(): Promise<void> {
    throw new ImageError("unsupported", "Operation not supported");
  }

  async flush(): Promise<void> {
    for (const p of this.extents) await p.extent.flush();
    if (!this.readOnly && !this.extents.some((p) => p.extent.io === this.io)) await this.io.flush();
  }

  async close(): Promise<void> {
    for (const p of this.extents) await p.extent.close();
    if (!this.extents.some((p) => p.extent.io === this.io)) await this.io.close();
    await this.backingImage?.close();
  }

  async info(): Promise<ImageInfo> {
    const first = this.extents[0]?.extent;
    const extents = this.extents
      .filter((p) => !(p.extent instanceof ZeroExtent))
      .map((p) => {
        const x: Record<string, unknown> = {};
        if (p.extent.compressed) x.compressed = true;
        x["virtual-size"] = p.extent.size;
        x.filename = p.extent.fileName;
        if (p.extent.clusterSize) x["cluster-size"] = p.extent.clusterSize;
        x.format = p.extent.type;
        return x;
      });
    return {
      virtualSize: this.virtualSize,
      clusterSize: first?.clusterSize,
      backingFilename: this.desc.parentFileNameHint,
      backingFilenameFormat: this.desc.parentFileNameHint !== undefined ? "vmdk" : undefined,
      formatSpecific: {
        type: "vmdk",
        data: {
          cid: this.desc.cid,
          "parent-cid": this.desc.parentCid,
          "create-type": this.desc.createType,
          extents,
        },
      },
    };
  }

  /** Host bytes of the descriptor and every extent file (qemu's vmdk_get_allocated_file_size). */
  async allocatedFileSize(): Promise<number> {
    const files = new Set<BlockIO>([this.io]);
    for (const p of this.extents) if (p.extent.io) files.add(p.extent.io);
    let total = 0;
    for (const f of files) total += f.allocatedBytes ? await f.allocatedBytes() : await f.size();
    return total;
  }

  async check(opts?: { repair?: "leaks" | "all" }): Promise<CheckResult> {
    // qemu's vmdk_co_check cannot repair: asking for it reports "not supported".
    if (opts?.repair) throw new ImageError("unsupported", "This image format does not support checks");
    const res: CheckResult = {
      corruptions: 0,
      leaks: 0,
      checkErrors: 0,
      corruptionsFixed: 0,
      leaksFixed: 0,
      messages: [],
    };
    for (const p of this.extents) {
      if (p.extent instanceof SparseExtent) {
        const errs = await p.extent.check();
        res.messages.push(...errs);
        res.corruptions += errs.length;
      }
    }
    return res;
  }
}

/**
 * qemu's vmdk_read_cid: the hex number one character after the first "CID" ("parentCID") in
 * the 20 sectors from `at` (text up to the first NUL), or undefined when there is none.
 */
async function readCid(io: BlockIO, at: number, parent: boolean): Promise<number | undefined> {
  const DESC_SIZE = 20 * 512;
  const b = new Uint8Array(DESC_SIZE);
  const n = Math.max(0, Math.min(DESC_SIZE, (await io.size()) - at));
  if (n > 0) await io.read(at, b.subarray(0, n));
  const text = Buffer.from(b.subarray(0, DESC_SIZE - 1))
    .toString("latin1")
    .replace(/\0[\s\S]*$/, "");
  const key = parent ? "parentCID" : "CID";
  const i = text.indexOf(key);
  if (i < 0) return undefined;
  const m = /^\s*[+-]?(?:0[xX])?([0-9a-fA-F]+)/.exec(text.slice(i + key.length + 1));
  return m ? Number.parseInt(m[1]!.slice(-8), 16) >>> 0 : undefined;
}
