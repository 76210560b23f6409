// `tsvirt-img compare [-f fmt] [-F fmt] [-s] [-q] a b`: guest-visible comparison; exit 0 equal,
// 1 different, 2 error, as qemu-img's.

import type { Image, MapExtent } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";
import { CliError, errText, fromUsage, isZero, type Out, openCli } from "./context.js";
import { getopt } from "./getopt.js";

const CHUNK = 4 << 20;

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

/**
 * End of the run a format's block-status driver reports from `o` at most: qcow2 stops at an L2
 * table's reach, qcow and sparse vmdk extents at a cluster, vdi at a block.
 */
function driverRunEnd(img: Image, o: number): number {
  const x = img as unknown as {
    cs?: number;
    extL2?: boolean;
    clusterSize?: number;
    extents?: { start: number; extent: { size: number; clusterSize?: number; compressed?: boolean } }[];
  };
  const next = (g: number) => (Math.floor(o / g) + 1) * g;
  if (img.format === "qcow2" && x.cs) return next((x.cs * x.cs) / (x.extL2 ? 16 : 8));
  if (img.format === "qcow" && x.clusterSize) return next(x.clusterSize);
  if (img.format === "vdi") return next(1 << 20);
  if (img.format === "vmdk" && x.extents) {
    const p = x.extents.find((e) => e.start <= o && o < e.start + e.extent.size);
    if (p) {
      const g = p.extent.clusterSize;
      return g ? p.start + (Math.floor((o - p.start) / g) + 1) * g : p.start + p.extent.size;
    }
  }
  return Number.POSITIVE_INFINITY;
}

/** qemu's block-status word at offset o: DATA, ZERO, OFFSET_VALID, ALLOCATED and EOF bits. */
async function blockStatusFlags(img: Image, st: MapExtent[], o: number): Promise<number> {
  const e = st.find((x) => x.start <= o && o < x.start + x.length)!;
  const f = (e.data ? 1 : 0) | (e.zero ? 2 : 0) | (e.offset !== undefined ? 4 : 0) | (e.present ? 16 : 0);
  // EOF: the run the driver reports from o reaches the end of the image.
  if (driverRunEnd(img, o) < img.virtualSize) return f;
  let end = e.start + e.length;
  let list = st;
  for (;;) {
    const next = list.find((x) => x.start === end);
    if (next) {
      if (!sameStatus(next, e)) return f;
      end = next.start + next.length;
      continue;
    }
    if (end >= img.virtualSize) return f | 32;
    // The status at hand ends at the chunk's end: look further.
    list = await chainStatus(img, end, Math.min(img.virtualSize - end, 64 << 20));
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
    p = getopt(argv, "hf:F:T:pqsU", [
      { name: "help", arg: "none", key: "h" },
      { name: "object", arg: "required" },
      { name: "image-opts", arg: "none" },
      { name: "force-share", arg: "none", key: "U" },
    ]);
  } catch (e) {
    throw fromUsage(e);
  }
  let f1: string | undefined;
  let f2: string | undefined;
  let strict = false;
  let quiet = false;
  for (const [k, v] of p.opts) {
    if (k === "f") f1 = v;
    else if (k === "F") f2 = v;
    else if (k === "s") strict = true;
    else if (k === "q") quiet = true;
  }
  if (p.args.length !== 2)
    throw new CliError("Expecting two image file names", 1, "Try 'tsvirt-img --help' for more information\n");
  const say = (s: string) => {
    if (!quiet) io.out(s);
  };
  let a: Image | undefined;
  let b: Image | undefined;
  try {
    try {
      a = await openCli(p.args[0]!, f1, { readOnly: true });
      b = await openCli(p.args[1]!, f2, { readOnly: true });
    } catch (e) {
      throw new CliError(e instanceof CliError ? e.message : errText(e), 2);
    }
    if (strict && a.virtualSize !== b.virtualSize) {
      say("Strict mode: Image size mismatch!\n");
      return 1;
    }
    const common = Math.min(a.virtualSize, b.virtualSize);
    const ba = new Uint8Array(CHUNK);
    const bb = new Uint8Array(CHUNK);
    for (let pos = 0; pos < common; pos += CHUNK) {
      const n = Math.min(CHUNK, common - pos);
      if (strict) {
        const sa = await chainStatus(a, pos, n);
        const sb = await chainStatus(b, pos, n);
        const cuts = [...new Set([...sa, ...sb].map((x) => x.start))].sort((x, y) => x - y);
        for (const c of cuts) {
          if ((await blockStatusFlags(a, sa, c)) !== (await blockStatusFlags(b, sb, c))) {
            say(`Strict mode: Offset ${c} block status mismatch!\n`);
            return 1;
          }
        }
      }
      if ((await zeroRange(a, pos, n)) && (await zeroRange(b, pos, n))) continue;
      await a.read(pos, ba.subarray(0, n));
      await b.read(pos, bb.subarray(0, n));
      const d = firstDiff(ba.subarray(0, n), bb.subarray(0, n));
      if (d >= 0) {
        say(`Content mismatch at offset ${pos + d}!\n`);
        return 1;
      }
    }
    const longer = a.virtualSize > b.virtualSize ? a : b;
    // The size warning comes once the common part compared equal.
    if (longer.virtualSize > common) {
      say("Warning: Image size mismatch!\n");
      for (let pos = common; pos < longer.virtualSize; pos += CHUNK) {
        const n = Math.min(CHUNK, longer.virtualSize - pos);
        if (await zeroRange(longer, pos, n)) continue;
        await longer.read(pos, ba.subarray(0, n));
        const d = firstNonZero(ba.subarray(0, n));
        if (d >= 0) {
          say(`Content mismatch at offset ${pos + d}!\n`);
          return 1;
        }
      }
    }
    say("Images are identical.\n");
    return 0;
  } catch (e) {
    if (e instanceof CliError) throw new CliError(e.message, 2, e.hint);
    throw new CliError(errText(e), 2);
  } finally {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
  }
}
