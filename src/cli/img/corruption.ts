// qcow2 corruption events (qemu's qcow2_signal_corruption) as the commands report them: the
// image's notice first (once per image), then the command's own error line.

import { CorruptionError } from "../../image/errors.js";
import type { Image, MapExtent } from "../../image/index.js";
import { chainStatus } from "./chain-status.js";
import type { Out } from "./context.js";

/** Prints the notice of a corruption event, if `e` is one that carries it. */
export function printNotice(io: Out, e: unknown): void {
  if (e instanceof CorruptionError && e.notice) io.err(e.notice);
}

/**
 * Block status of [offset, +length) as far as it can be read: where a corruption event stops it,
 * the extents before the failing request and the offset it failed at (qemu asks for one run at a
 * time, so everything before the bad cluster was answered; found by halving, 512-byte steps).
 */
export async function statusUntilError(
  img: Image,
  offset: number,
  length: number,
): Promise<{ extents: MapExtent[]; failAt?: number; error?: CorruptionError }> {
  try {
    return { extents: await chainStatus(img, offset, length) };
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e;
    let lo = 0;
    let hi = length;
    while (hi - lo > 512) {
      const mid = Math.floor((lo + (hi - lo) / 2) / 512) * 512;
      if (mid <= lo) break;
      try {
        await chainStatus(img, offset, mid);
        lo = mid;
      } catch (x) {
        if (!(x instanceof CorruptionError)) throw x;
        hi = mid;
      }
    }
    const extents = lo > 0 ? await chainStatus(img, offset, lo) : [];
    return { extents, failAt: offset + lo, error: e };
  }
}
