// Error builders for the test driver with libvirt's exact texts and domains: the driver's own
// reports use VIR_FROM_TEST; checks libvirt does in shared domain code use VIR_FROM_DOMAIN.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";

const T = ErrorDomain.TEST;

/** virCheckFlags: "unsupported flags (0x400) in function testDomainDestroyFlags". */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~(allowed >>> 0);
  if (extra !== 0) {
    throw new VirError({
      code: ErrorCode.INVALID_ARG,
      domain: T,
      message: `unsupported flags (0x${(extra >>> 0).toString(16)}) in function ${fn}`,
    });
  }
}

export function testError(code: ErrorCode, detail?: string): VirError {
  return virError(code, T, detail);
}

export function internal(detail: string): VirError {
  return virError(ErrorCode.INTERNAL_ERROR, T, detail);
}

/** virDomainObjCheckActive (domain_conf.c reports under VIR_FROM_DOMAIN). */
export function domainNotRunning(): VirError {
  return virError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "domain is not running");
}

export function opInvalid(detail: string, domain: ErrorDomain = T): VirError {
  return virError(ErrorCode.OPERATION_INVALID, domain, detail);
}

export function opFailed(detail: string, domain: ErrorDomain = ErrorDomain.DOMAIN): VirError {
  return virError(ErrorCode.OPERATION_FAILED, domain, detail);
}

/** virReportInvalidArg-style: INVALID_ARG with the text as the whole message... */
export function invalidArgRaw(message: string, domain: ErrorDomain = T): VirError {
  return new VirError({ code: ErrorCode.INVALID_ARG, domain, message });
}

/** ...and virReportError(VIR_ERR_INVALID_ARG, ...) which gets the "invalid argument: " prefix. */
export function invalidArg(detail: string, domain: ErrorDomain = T): VirError {
  return virError(ErrorCode.INVALID_ARG, domain, detail);
}
