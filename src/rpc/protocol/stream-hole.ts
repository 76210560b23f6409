// virnetprotocol.x: struct virNetStreamHole { hyper length; unsigned int flags; }, the body of a
// VIR_NET_STREAM_HOLE packet of a sparse stream (both directions).
import { XdrReader, type XdrWriter } from "../xdr/index.js";

/** The hole's length, or undefined for a malformed body or a length outside 0..2^53-1. */
export function decodeStreamHole(body: Buffer): number | undefined {
  try {
    const r = new XdrReader(body);
    const length = r.hyper();
    r.uint();
    return length < 0n || length > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(length);
  } catch {
    return undefined;
  }
}

export function writeStreamHole(w: XdrWriter, length: number): void {
  w.hyper(length);
  w.uint(0);
}
