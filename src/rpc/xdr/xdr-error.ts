// The error every XDR decoder throws on malformed or oversized input. It is a VirError with
// libvirt's RPC code so the server can answer it like libvirt does ("Unable to decode ...").
import { ErrorCode, ErrorDomain, VirError } from "../../errors/index.js";

export function xdrError(detail: string): VirError {
  return new VirError({ code: ErrorCode.RPC, domain: ErrorDomain.RPC, message: detail, str1: detail });
}
