// remote_error (remote_protocol.x, same layout as virNetMessageError): the payload of every
// REPLY with status ERROR. Converts to and from VirError so errors cross the wire unchanged.
import { ErrorLevel, VirError } from "../../errors/index.js";
import { int, optional, struct } from "../xdr/index.js";
import { domainRef, networkRef, ostr } from "./remote-types.js";

export const remoteError = struct("remote_error", {
  code: int,
  domain: int,
  message: ostr,
  level: int,
  dom: optional(domainRef),
  str1: ostr,
  str2: ostr,
  str3: ostr,
  int1: int,
  int2: int,
  net: optional(networkRef),
});

export function virErrorToWire(e: VirError) {
  return {
    code: e.code,
    domain: e.domain,
    message: e.message,
    level: e.level ?? ErrorLevel.ERROR,
    dom: null,
    str1: e.str1,
    str2: e.str2,
    str3: e.str3,
    int1: e.int1,
    int2: e.int2,
    net: null,
  };
}

export function wireToVirError(w: ReturnType<typeof remoteError.decode>): VirError {
  return new VirError({
    code: w.code,
    domain: w.domain,
    message: w.message ?? "unknown error",
    level: w.level,
    str1: w.str1,
    str2: w.str2,
    str3: w.str3,
    int1: w.int1,
    int2: w.int2,
  });
}
