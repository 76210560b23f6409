// Argument and permission checks shared by the public API, with libvirt's exact texts
// (src/util/virerror.h: virCheckReadOnlyGoto, virReportUnsupportedError, virReportInvalidArg).

import { ErrorCode, type ErrorDomain, VirError, virError } from "../errors/index.js";

/** VIR_ERR_NO_SUPPORT: the driver has no such slot. `fn` is libvirt's public function name. */
export function noSupport(domain: ErrorDomain, fn: string): VirError {
  return virError(ErrorCode.NO_SUPPORT, domain, fn);
}

/** virCheckReadOnlyGoto: "operation forbidden: read only access prevents virDomainCreate". */
export function checkWritable(readOnly: boolean, domain: ErrorDomain, fn: string): void {
  if (readOnly) {
    throw new VirError({
      code: ErrorCode.OPERATION_DENIED,
      domain,
      message: `operation forbidden: read only access prevents ${fn}`,
    });
  }
}

/** virReportInvalidArg: VIR_ERR_INVALID_ARG with a message that has no prefix. */
export function invalidArg(domain: ErrorDomain, message: string): VirError {
  return new VirError({ code: ErrorCode.INVALID_ARG, domain, message });
}

/** virCheckNonZeroArgGoto. */
export function checkNonZero(value: number, name: string, domain: ErrorDomain, fn: string): void {
  if (value === 0) throw invalidArg(domain, `${name} in ${fn} must not be zero`);
}

/** virCheckNonNullArgGoto. */
export function checkNonNull(value: unknown, name: string, domain: ErrorDomain, fn: string): void {
  if (value === null || value === undefined) throw invalidArg(domain, `${name} in ${fn} must not be NULL`);
}

/** virCheckNonNegativeArgGoto. */
export function checkNonNegative(value: number, name: string, domain: ErrorDomain, fn: string): void {
  if (value < 0) throw invalidArg(domain, `${name} in ${fn} must be zero or greater`);
}

/** virCheckNonEmptyStringArgGoto. */
export function checkNonEmpty(value: string, name: string, domain: ErrorDomain, fn: string): void {
  if (value === "") throw invalidArg(domain, `string ${name} in ${fn} must not be empty`);
}

/** VIR_EXCLUSIVE_FLAGS_GOTO. */
export function checkExclusive(
  flags: number,
  a: number,
  aName: string,
  b: number,
  bName: string,
  domain: ErrorDomain,
): void {
  if (flags & a && flags & b) {
    throw invalidArg(domain, `Flags '${aName}' and '${bName}' are mutually exclusive`);
  }
}

/** VIR_REQUIRE_FLAG_GOTO. */
export function checkRequires(
  flags: number,
  a: number,
  aName: string,
  b: number,
  bName: string,
  domain: ErrorDomain,
): void {
  if (flags & a && !(flags & b)) {
    throw invalidArg(domain, `Flag '${bName}' is required by flag '${aName}'`);
  }
}

/** Returns the slot bound to its table, or throws VIR_ERR_NO_SUPPORT naming `fn`. */
export function slot<T extends object, K extends keyof T>(
  table: T | undefined,
  key: K,
  domain: ErrorDomain,
  fn: string,
): NonNullable<T[K]> {
  const f = table?.[key];
  if (typeof f !== "function") throw noSupport(domain, fn);
  return (f as (...a: unknown[]) => unknown).bind(table) as NonNullable<T[K]>;
}
