// Error builders for the host storage driver with libvirt's texts (storage_driver.c,
// storage_util.c, virstorageobj.c): all reported under VIR_FROM_STORAGE.
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { strerror } from "../../util/strerror.js";

const S = ErrorDomain.STORAGE;

export const storageErr = (code: ErrorCode, detail?: string): VirError => virError(code, S, detail);
export const opInvalid = (detail: string) => storageErr(ErrorCode.OPERATION_INVALID, detail);
export const opFailed = (detail: string) => storageErr(ErrorCode.OPERATION_FAILED, detail);
export const internal = (detail: string) => storageErr(ErrorCode.INTERNAL_ERROR, detail);
export const noSupport = (detail: string) => storageErr(ErrorCode.NO_SUPPORT, detail);
export const invalidArg = (detail: string) => storageErr(ErrorCode.INVALID_ARG, detail);

/** virReportInvalidArg and VIR_EXCLUSIVE_FLAGS_RET: INVALID_ARG with the text as the whole message. */
export function invalidArgRaw(message: string): VirError {
  return new VirError({ code: ErrorCode.INVALID_ARG, domain: S, message });
}

/** virCheckFlags: "unsupported flags (0x4) in function storagePoolBuild". */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~(allowed >>> 0);
  if (extra !== 0) throw invalidArgRaw(`unsupported flags (0x${extra.toString(16)}) in function ${fn}`);
}

/** virReportSystemError: "<what>: <strerror(errno)>" as VIR_ERR_SYSTEM_ERROR (no prefix). */
export function sysError(what: string, e: unknown): VirError {
  return storageErr(ErrorCode.SYSTEM_ERROR, `${what}: ${strerror(e)}`);
}

export const noPool = (name: string) =>
  storageErr(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${name}'`);
export const noPoolUuid = (uuid: string) =>
  storageErr(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${uuid}'`);
export const noVol = (name: string) =>
  storageErr(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`);
