// `tsvirt-img commit [-q] [-f fmt] [-b base] [-d] [-p] filename`: writes what the image (and
// layers above the base) define into the base, then empties the image unless -d.

import { realpath } from "node:fs/promises";
import { type Image, openImage } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";
import {
  CliError,
  errText,
  fromUsage,
  hasImageOpts,
  openCli,
  type Out,
  pathCombine,
  showHelp,
} from "./context.js";
import { getopt, HelpRequest } from "./getopt.js";
import { cvtnum, isCacheMode } from "./units.js";
import { cliObjects, type Secrets } from "./qdict.js";
import { qemuProgress } from "./progress.js";

const CHUNK = 4 << 20;

/**
 * qemu's bdrv_find_backing_image(): `name` is the backing file name as the overlay stores it or,
 * relative to the overlay, the same file by real path.
 */
async function isBackingNamed(overlay: Image, name: string): Promise<boolean> {
  const stored = overlay.backing?.backingFile;
  if (name === stored) return true;
  if (stored === undefined || !overlay.io.path) return false;
  const real = async (p: string) => realpath(p).catch(() => undefined);
  const a = await real(pathCombine(overlay.io.path, name));
  const b = await real(pathCombine(overlay.io.path, stored));
  return a !== undefined && a === b;
}

export async function cmdCommit(argv: string[], io: Out): Promise<number> {
  let p: ReturnType<typeof getopt>;
  try {
    p = getopt(
      argv,
      "f:ht:b:dpqr:",
      [
        { name: "help", arg: "none", key: "h" },
        { name: "object", arg: "required" },
        { name: "image-opts", arg: "none" },
      ],
      "commit",
    );
  } catch (e) {
    if (e instanceof HelpRequest) return showHelp(io);
    throw fromUsage(e);
  }
  let fmt: string | undefined;
  let baseName: string | undefined;
  let keep = false;
  let quiet = false;
  let progress = false;
  let cache: string | undefined;
  const secrets: Secrets = {};
  for (const [k, v] of p.opts) {
    if (k === "object") {
      cliObjects([v], io.out, (m, c) => new CliError(m || undefined, c), secrets);
      continue;
    }
    if (k === "f") fmt = v;
    else if (k === "b") {
      // -b implies -d: with an explicit base the top image is not emptied.
      baseName = v;
      keep = true;
    } else if (k === "d") keep = true;
    else if (k === "q") quiet = true;
    else if (k === "p") progress = true;
    else if (k === "t") cache = v;
    else if (k === "r") {
      const r = cvtnum("rate limit", v, (w) => io.err(`tsvirt-img: warning: ${w}\n`));
      if ("error" in r) throw new CliError(r.error);
    }
  }
  if (p.args.length !== 1)
    throw new CliError("Expecting one image file name", 1, "Try 'tsvirt-img --help' for more information\n");
  if (cache !== undefined && !isCacheMode(cache)) throw new CliError(`Invalid cache option: ${cache}`);
  const filename = p.args[0]!;
  // qemu-img opens the top read-write even with -d (hence the raw probing warning).
  const top = await openCli(filename, fmt, {
    warn: io,
    readOnly: false,
    warnProbe: io,
    imageOpts: hasImageOpts(p.opts),
    secrets,
  });
  // Progress starts once the image is open and ends (a newline) on every way out. (qemu's job
  // then repeats its line per poll, a timing-dependent count; one line per step here.)
  const bar = qemuProgress(io, progress && !quiet, 1);
  bar?.print(0, 100);
  let base: Image | undefined;
  try {
    const chain: Image[] = [];
    for (let i: Image | undefined = top; i; i = i.backing?.backingImage) chain.push(i);
    // With -b the base is looked up by name (an image without backing file has none to find).
    if (chain.length < 2 && baseName === undefined) throw new CliError("Image does not have a backing file");
    let depth = 1;
    if (baseName !== undefined) {
      depth = -1;
      for (let k = 1; k < chain.length && depth < 0; k++) {
        if (await isBackingNamed(chain[k - 1]!, baseName)) depth = k;
      }
      if (depth < 1) throw new CliError(`Did not find '${baseName}' in the backing chain of '${filename}'`);
    }
    const baseImg = chain[depth]!;
    try {
      base = await openImage(baseImg.io.path!, { format: baseImg.format, readOnly: false });
    } catch (e) {
      throw new CliError(`Could not open '${baseImg.io.path}': ${errText(e)}`);
    }
    // The commit job first grows a shorter base to the top's length (formats that cannot resize
    // fail the job).
    if (base.virtualSize < top.virtualSize) {
      if (!base.resizable) throw new CliError("Block job failed: Operation not supported");
      try {
        await base.resizable.resize(top.virtualSize, {});
      } catch {
        throw new CliError("Block job failed: Operation not supported");
      }
    }
    bar?.print(0, 100);
    // qemu-img commit runs an active commit, a mirror job: what the layers above the base define
    // marks whole granules of its dirty bitmap (the base's cluster size within 4-64 KiB, 64 KiB
    // where the format has none), and each dirty stretch is copied granule-wise from the whole
    // chain's view: a data answer is copied (at least one granule, the base's own bytes in it
    // too), a zero answer covering whole granules goes down as write-zeroes (holes in a raw
    // base, zero clusters in qcow2), a shorter one is copied.
    const g = mirrorGranularity(base);
    const size = Math.min(top.virtualSize, base.virtualSize);
    const dirty: [number, number][] = [];
    for (let pos = 0; pos < top.virtualSize; pos += CHUNK) {
      const n = Math.min(CHUNK, top.virtualSize - pos);
      for (const e of await chainStatus(top, pos, n)) {
        if (e.depth >= depth || e.present === false) continue;
        const a = Math.floor(e.start / g) * g;
        const b = Math.min(size, Math.ceil((e.start + e.length) / g) * g);
        if (b <= a) continue;
        const last = dirty[dirty.length - 1];
        if (last && last[1] >= a) last[1] = Math.max(last[1], b);
        else dirty.push([a, b]);
      }
    }
    const buf = new Uint8Array(CHUNK);
    for (const [a, b] of dirty) {
      for (let off = a; off < b; ) {
        const e = (await chainStatus(top, off, b - off))[0]!;
        let io = Math.min(e.start + e.length, b) - off;
        if (e.data) io = Math.min(io, CHUNK);
        io -= io % g;
        let zero = false;
        if (io < g) io = Math.min(g, b - off);
        else if (!e.data && e.zero) zero = true;
        if (zero && base.writeZeroes) await base.writeZeroes(off, io, { mayUnmap: true });
        else {
          for (let p = off; p < off + io; p += CHUNK) {
            const v = buf.subarray(0, Math.min(CHUNK, off + io - p));
            await top.read(p, v);
            await base.write(p, v);
          }
        }
        off += io;
      }
    }
    await base.flush();
    if (!keep) {
      const m = top as unknown as { makeEmpty?: () => Promise<void> };
      if (typeof m.makeEmpty === "function") await m.makeEmpty();
      else if (top.format === "qcow2") {
        const { makeEmptyQcow2 } = await import("../../image/formats/qcow2/make-empty.js");
        await makeEmptyQcow2(top as Parameters<typeof makeEmptyQcow2>[0]);
      }
    }
    bar?.print(100, 0);
    bar?.end();
    if (!quiet) io.out("Image committed.\n");
    return 0;
  } catch (e) {
    bar?.end();
    throw e;
  } finally {
    await base?.close().catch(() => {});
    await top.close();
  }
}

/** qemu's bdrv_get_default_bitmap_granularity for the commit's target (the base). */
function mirrorGranularity(base: Image): number {
  const x = base as unknown as {
    cs?: number;
    clusterSize?: number;
    extents?: { extent: { clusterSize?: number } }[];
  };
  let cs: number | undefined;
  if (base.format === "qcow2") cs = x.cs;
  else if (base.format === "qcow") cs = x.clusterSize;
  else if (base.format === "vdi") cs = 1 << 20;
  else if (base.format === "vmdk") cs = x.extents?.[0]?.extent.clusterSize;
  return cs ? Math.min(65536, Math.max(4096, cs)) : 65536;
}
