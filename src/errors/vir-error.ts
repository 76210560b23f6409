// VirError: the one error type thrown across tsvirt's layers. It carries libvirt's numeric code
// and domain (virterror.h) so the RPC edge can put them on the wire unchanged, and a message
// already rendered with libvirt's prefix ("Domain not found: …") because virsh prints it as is.
import { ErrorCode, ErrorDomain, ErrorLevel } from "./codes.js";
import { renderMessage } from "./messages.js";

export interface VirErrorFields {
  code: number;
  domain: number;
  message: string;
  level?: number;
  str1?: string | null;
  str2?: string | null;
  str3?: string | null;
  int1?: number;
  int2?: number;
}

export class VirError extends Error {
  readonly code: number;
  readonly domain: number;
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;

  constructor(f: VirErrorFields) {
    super(f.message);
    this.name = "VirError";
    this.code = f.code;
    this.domain = f.domain;
    this.level = f.level ?? ErrorLevel.ERROR;
    this.str1 = f.str1 ?? null;
    this.str2 = f.str2 ?? null;
    this.str3 = f.str3 ?? null;
    this.int1 = f.int1 ?? -1;
    this.int2 = f.int2 ?? -1;
  }
}

/**
 * Builds a VirError the way libvirt's virReportError does: `detail` is printf'd into the
 * code's template ("Domain not found: %s"). Without detail the bare message is used.
 */
export function virError(code: ErrorCode, domain: ErrorDomain, detail?: string): VirError {
  return new VirError({ code, domain, message: renderMessage(code, detail), str1: detail ?? null });
}

export function isVirError(e: unknown): e is VirError {
  return e instanceof VirError;
}

/** Wraps any thrown value as a VirError (INTERNAL_ERROR for foreign errors). */
export function toVirError(e: unknown, domain: ErrorDomain = ErrorDomain.NONE): VirError {
  if (e instanceof VirError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return virError(ErrorCode.INTERNAL_ERROR, domain, msg);
}

export { ErrorCode, ErrorDomain, ErrorLevel };
