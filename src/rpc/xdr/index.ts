// Public face of the XDR layer (RFC 4506): reader, writer, codecs.
export * from "./codec.js";
export * from "./reader.js";
export * from "./writer.js";
export * from "./xdr-error.js";

import type { Codec } from "./codec.js";
import { XdrReader } from "./reader.js";
import { xdrError } from "./xdr-error.js";
import { XdrWriter } from "./writer.js";

/** Encodes one value to a standalone buffer. */
export function encode<T>(c: Codec<T>, v: T): Buffer {
  const w = new XdrWriter();
  c.encode(w, v);
  return w.toBuffer();
}

/** Decodes one value and insists that it used every byte (libvirt does the same per message). */
export function decode<T>(c: Codec<T>, buf: Buffer, start = 0, end = buf.length): T {
  const r = new XdrReader(buf, start, end);
  const v = c.decode(r);
  if (r.remaining !== 0) throw xdrError(`XDR: ${r.remaining} trailing bytes after ${c.kind}`);
  return v;
}
