// `tsvirt-img compare [-f fmt] [-F fmt] [-s] [-q] a b`: guest-visible comparison; exit 0 equal,
// 1 different, 2 error, as qemu-img's.

import { CorruptionError, ImageError } from "../../image/errors.js";
import type { Image, MapExtent } from "../../image/index.js";
import { chainStatus, driverRunEnd } from "./chain-status.js";
import {
  CliError,
  errText,
  fromUsage,
  hasImageOpts,
  isZero,
  openCli,
  type Out,
  showHelp,
} from "./context.js";
import { printNotice } from "./corruption.js";
import { getopt, HelpRequest } from "./getopt.js";
import { qemuProgress } from "./progress.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { isCacheMode } from "./units.js";

const CHUNK = 4 << 20;
/** qemu-img's IO_BUF_SIZE: compare's largest read. */
const IO_BUF_SIZE = 2 << 20;

/** Offset of the first differing 512-byte sector in a/b (same length), or -1. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const A = Buffer.from(a.buffer, a.byteOffset, a.length);
  const B = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (A.equals(B)) return -1;
  for (let s = 0; s < a.length; s += 512) {
    const e = Math.min(a.length, s + 512);
    if (A.compare(B, s, e, s, e) !== 0) return s;
  }
  return -1;
}

function firstNonZero(a: Uint8Array): number {
  for (let s = 0; s < a.length; s += 512) if (!isZero(a.subarray(s, Math.min(a.length, s + 512)))) return s;
  return -1;
}

async function zeroRange(img: Image, off: number, len: number): Promise<boolean> {
  const st = await chainStatus(img, off, len);
  return st.every((e) => e.zero && !e.data);
}

const DATA = 1;
const ZERO = 2;
const OFFSET_VALID = 4;
const ALLOCATED = 16;
const EOF = 32;

function flagsOf(e: MapExtent): number {
  return (
    (e.data ? DATA : 0) |
    (e.zero ? ZERO : 0) |
    (e.offset !== undefined ? OFFSET_VALID : 0) |
    (e.present ? ALLOCATED : 0)
  );
}

/**
 * bdrv_block_status_above(bs, NULL, …) as qemu-img compare asks it, one offset at a time: the
 * status word (DATA, ZERO, OFFSET_VALID, ALLOCATED, EOF) and how far it holds (pnum). Each layer
 * down to the one that defines the offset answers for a run its driver reports in one call; EOF
 * comes from the top layer's run reaching the end (or from an unallocated bottom layer's own).
 */
class StatusCursor {
  private ext: MapExtent[] = [];
  private loadedTo = 0;
  private i = 0;
  /** The offset being answered: its extent stays loaded. */
  private pin = 0;
  private readonly layers: Image[] = [];

  constructor(private readonly img: Image) {
    for (let l: Image | undefined = img; l; l = l.backing?.backingImage) this.layers.push(l);
  }

  /** The extent covering o (o only moves forward, or stays). */
  private async at(o: number): Promise<MapExtent | undefined> {
    if (o >= this.img.virtualSize) return undefined;
    for (;;) {
      const e = this.loaded(o);
      if (e) return e;
      const from = Math.max(this.loadedTo, o);
      if (from >= this.img.virtualSize) return undefined;
      const n = Math.min(64 << 20, this.img.virtualSize - from);
      const got = (await chainStatus(this.img, from, n)).filter((e) => e.length > 0);
      // Extents before the offset being answered are no longer needed.
      const keep = this.ext.findIndex((x) => x.start + x.length > this.pin);
      this.ext = (keep < 0 ? [] : this.ext.slice(keep)).concat(got);
      this.i = 0;
      this.loadedTo = from + n;
    }
  }

  /** Unallocated in a layer that has a backing file, past that file's end (qemu synthesises zeros). */
  private synth(e: MapExtent): boolean {
    return (
      e.present === false && !e.data && e.zero && this.layers[e.depth]?.backing?.backingImage !== undefined
    );
  }

  private depthOf(e: MapExtent): number {
    return this.synth(e) ? e.depth + 1 : e.depth;
  }

  /** End of the run from o whose extents all satisfy pred, at most cap. */
  private async runEnd(o: number, pred: (e: MapExtent) => boolean, cap: number): Promise<number> {
    let pos = o;
    while (pos < cap) {
      // Loaded extents are walked synchronously: an await per extent cost more than the walk.
      const e = this.loaded(pos) ?? (await this.at(pos));
      if (!e || !pred(e)) break;
      pos = e.start + e.length;
    }
    // The next at(o) finds o's extent again (kept loaded through the pin) by binary search.
    return Math.min(pos, cap);
  }

  /** The loaded extent covering o when the cursor can reach it without loading more. */
  private loaded(o: number): MapExtent | undefined {
    if (o >= this.img.virtualSize) return undefined;
    // Moving back (runEnd returns to the pinned offset): binary search instead of a scan from
    // the first extent, which made long runs of small extents (qcow v1 chains) quadratic.
    if (this.i > 0 && (this.i >= this.ext.length || this.ext[this.i]!.start > o))
      this.i = this.firstEndingAfter(o);
    while (this.i < this.ext.length && this.ext[this.i]!.start + this.ext[this.i]!.length <= o) this.i++;
    return this.i < this.ext.length ? this.ext[this.i] : undefined;
  }

  /** Index of the first loaded extent that ends after o (extents are sorted and disjoint). */
  private firstEndingAfter(o: number): number {
    let lo = 0;
    let hi = this.ext.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.ext[mid]!;
      if (m.start + m.length <= o) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async status(o: number): Promise<{ flags: number; pnum: number }> {
    this.pin = o;
    const e = (await this.at(o))!;
    const synth = this.synth(e);
    const d = this.depthOf(e);
    const size = this.img.virtualSize;
    // Each layer above the defining one is unallocated for a run its driver reports.
    let end = size;
    let topEnd = 0;
    for (let k = 0; k < d && k < this.layers.length; k++) {
      const r = await this.runEnd(o, (x) => this.depthOf(x) > k, driverRunEnd(this.layers[k]!, o));
      if (k === 0) topEnd = r;
      end = Math.min(end, r);
    }
    let flags = synth ? ZERO | ALLOCATED : flagsOf(e);
    const layer = this.layers[d];
    if (!synth && layer) {
      // The defining layer's run: same status, host offsets contiguous.
      const hostAt = (x: MapExtent) =>
        e.offset === undefined || (x.offset !== undefined && x.offset - x.start === e.offset - e.start);
      const r = await this.runEnd(
        o,
        (x) => !this.synth(x) && x.depth === d && sameStatus(x, e) && hostAt(x),
        Math.min(driverRunEnd(layer, o), layer.virtualSize),
      );
      if (d === 0) topEnd = r;
      end = Math.min(end, r);
      // An unallocated bottom layer keeps the EOF of its own answer.
      if (d > 0 && !(flags & ALLOCATED) && end >= layer.virtualSize) flags |= EOF;
    }
    // EOF when the top layer's answer reached the end and the final run does too.
    if (topEnd >= size && end >= size) flags |= EOF;
    return { flags, pnum: Math.max(1, end - o) };
  }
}

function sameStatus(a: MapExtent, b: MapExtent): boolean {
  return (
    a.data === b.data &&
    a.zero === b.zero &&
    !!a.present === !!b.present &&
    (a.offset === undefined) === (b.offset === undefined)
  );
}

export async function cmdCompare(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "hf:F:T:pqsU",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
        { name: "force-share", arg: "none", key: "U" },
      ],
      "compare",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let f1: string | undefined;
  let f2: string | undefined;
  let strict = false;
  let quiet = false;
  let progress = false;
  let cache = "writeback";
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c === 1 ? 2 : c), secrets);
      continue;
    }
    if (k === "f") f1 = v;
    else if (k === "F") f2 = v;
    else if (k === "s") strict = true;
    else if (k === "q") quiet = true;
    else if (k === "p") progress = true;
    else if (k === "T") cache = v;
  }
  if (p.args.length !== 2)
    throw new CliError("Expecting two image file names", 1, "Try 'tsvirt-img --help' for more information\n");
  const say = (s: string) => {
    if (!quiet) io.out(s);
  };
  // qemu-img compare -p: its progress from here on (not with -q), a newline on every way out.
  const bar = qemuProgress(io, progress && !quiet, 2.0);
  let a: Image | undefined;
  let b: Image | undefined;
  try {
    // (After the file names and the progress start, as qemu-img compare checks it.)
    if (!isCacheMode(cache)) throw new CliError(`Invalid source cache option: ${cache}`, 2);
    try {
      const imageOpts = hasImageOpts(p.opts);
      a = await openCli(p.args[0]!, f1, { warn: io, readOnly: true, imageOpts, secrets });
      b = await openCli(p.args[1]!, f2, { warn: io, readOnly: true, imageOpts, secrets });
    } catch (e) {
      throw new CliError(e instanceof CliError ? e.message : errText(e), 2);
    }
    bar?.print(0, 100);
    const base = Math.max(a.virtualSize, b.virtualSize);
    /** qemu's step per request: (float)chunk / progress_base * 100. */
    const step = (n: number) => bar?.print(Math.fround(Math.fround(n / base) * 100), 100);
    if (strict && a.virtualSize !== b.virtualSize) {
      say("Strict mode: Image size mismatch!\n");
      return 1;
    }
    const common = Math.min(a.virtualSize, b.virtualSize);
    const ba = new Uint8Array(CHUNK);
    const bb = new Uint8Array(CHUNK);
    /** Compares [pos, pos+n) in pieces: true when equal, else says where. */
    const sameData = async (pos: number, n: number): Promise<boolean> => {
      for (let at = pos; at < pos + n; at += CHUNK) {
        const len = Math.min(CHUNK, pos + n - at);
        await a!.read(at, ba.subarray(0, len));
        await b!.read(at, bb.subarray(0, len));
        const d = firstDiff(ba.subarray(0, len), bb.subarray(0, len));
        if (d >= 0) {
          say(`Content mismatch at offset ${at + d}!\n`);
          return false;
        }
      }
      return true;
    };
    const names = [p.args[0]!, p.args[1]!];
    /** A read as qemu-img compare's: its failure ends the command with status 4. */
    const readAt = async (img: Image, pos: number, buf: Uint8Array) => {
      try {
        await img.read(pos, buf);
      } catch (e) {
        throw new CliError(
          `Error while reading offset ${pos} of ${names[img === a ? 0 : 1]}: ${errText(e)}`,
          4,
        );
      }
    };
    /**
     * Where only one image has data (allocated in one, or past the shorter one's end): reads its
     * `n` bytes at `pos` (at most a buffer) and says where the first non-zero byte is, if any.
     */
    const zeroData = async (img: Image, pos: number, n: number): Promise<boolean> => {
      await readAt(img, pos, ba.subarray(0, n));
      const d = firstNonZero(ba.subarray(0, n));
      if (d >= 0) say(`Content mismatch at offset ${pos + d}!\n`);
      return d < 0;
    };
    /**
     * qemu-img compare's own loop: both status words at each offset, then that stretch's data
     * (both images' where both are allocated, the allocated one's where one is), at most
     * IO_BUF_SIZE at a time. Used for -s, and after a read failed (qemu reads only what its loop
     * reads: which request fails, and where, is its loop's).
     */
    const exact = async (): Promise<number | undefined> => {
      const ca = new StatusCursor(a!);
      const cb = new StatusCursor(b!);
      for (let pos = 0; pos < common; ) {
        const sa = await ca.status(pos);
        const sb = await cb.status(pos);
        if (strict && sa.flags !== sb.flags) {
          say(`Strict mode: Offset ${pos} block status mismatch!\n`);
          return 1;
        }
        let n = Math.min(sa.pnum, sb.pnum, common - pos);
        const alA = (sa.flags & ALLOCATED) !== 0;
        const alB = (sb.flags & ALLOCATED) !== 0;
        if (sa.flags & ZERO && sb.flags & ZERO) {
          // nothing to read
        } else if (alA === alB) {
          if (alA) {
            n = Math.min(n, IO_BUF_SIZE);
            await readAt(a!, pos, ba.subarray(0, n));
            await readAt(b!, pos, bb.subarray(0, n));
            const d = firstDiff(ba.subarray(0, n), bb.subarray(0, n));
            if (d >= 0) {
              say(`Content mismatch at offset ${pos + d}!\n`);
              return 1;
            }
          }
        } else {
          n = Math.min(n, IO_BUF_SIZE);
          if (!(await zeroData(alA ? a! : b!, pos, n))) return 1;
        }
        pos += n;
        step(n);
      }
      return undefined;
    };
    if (strict || bar) {
      const r = await exact();
      if (r !== undefined) return r;
    } else {
      let failed = false;
      try {
        for (let pos = 0; pos < common; pos += CHUNK) {
          const n = Math.min(CHUNK, common - pos);
          if ((await zeroRange(a, pos, n)) && (await zeroRange(b, pos, n))) continue;
          if (!(await sameData(pos, n))) return 1;
        }
      } catch (e) {
        if (!(e instanceof ImageError) || e instanceof CorruptionError) throw e;
        failed = true;
      }
      if (failed) {
        const r = await exact();
        if (r !== undefined) return r;
      }
    }
    const longer = a.virtualSize > b.virtualSize ? a : b;
    // The size warning comes once the common part compared equal.
    if (longer.virtualSize > common) {
      say("Warning: Image size mismatch!\n");
      if (bar) {
        // qemu's loop over the longer image's status, for its progress steps.
        const cur = new StatusCursor(longer);
        for (let pos = common; pos < longer.virtualSize; ) {
          const st = await cur.status(pos);
          let n = Math.min(st.pnum, longer.virtualSize - pos);
          if (st.flags & ALLOCATED && !(st.flags & ZERO)) {
            n = Math.min(n, IO_BUF_SIZE);
            if (!(await zeroData(longer, pos, n))) return 1;
          }
          pos += n;
          step(n);
        }
      }
      for (let pos = common; !bar && pos < longer.virtualSize; pos += CHUNK) {
        const n = Math.min(CHUNK, longer.virtualSize - pos);
        if (await zeroRange(longer, pos, n)) continue;
        if (!(await zeroData(longer, pos, n))) return 1;
      }
    }
    say("Images are identical.\n");
    return 0;
  } catch (e) {
    if (e instanceof CliError) throw e.code === 4 ? e : new CliError(e.message, 2, e.hint);
    if (e instanceof CorruptionError) {
      // (Block status fails first: qemu's allocation test.)
      printNotice(io, e);
      const name = b && e.path === b.io.path && e.path !== a?.io.path ? p.args[1]! : p.args[0]!;
      throw new CliError(`Sector allocation test failed for ${name}`, 3);
    }
    throw new CliError(errText(e), 2);
  } finally {
    bar?.end();
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
  }
}
