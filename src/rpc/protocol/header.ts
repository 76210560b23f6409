// virNetMessageHeader (virnetprotocol.x): six 32-bit words in front of every payload. Decoded as
// plain numbers so a bad type/status is reported by the dispatcher instead of killing the stream.
import { type XdrReader, type XdrWriter, xdrError } from "../xdr/index.js";

export interface MessageHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

export function encodeHeader(w: XdrWriter, h: MessageHeader): void {
  w.uint(h.prog);
  w.uint(h.vers);
  w.int(h.proc);
  w.int(h.type);
  w.uint(h.serial);
  w.int(h.status);
}

export function decodeHeader(r: XdrReader): MessageHeader {
  if (r.remaining < 24) throw xdrError("Unable to decode message header");
  return { prog: r.uint(), vers: r.uint(), proc: r.int(), type: r.int(), serial: r.uint(), status: r.int() };
}
