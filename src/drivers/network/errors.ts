// Errors of the bridge network driver, in libvirt's codes and texts (src/network/bridge_driver.c,
// src/conf/virnetworkobj.c), all in VIR_FROM_NETWORK.
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";

const N = ErrorDomain.NETWORK;
export const netErr = (code: ErrorCode, detail?: string): VirError => virError(code, N, detail);
export const opInvalid = (detail: string) => netErr(ErrorCode.OPERATION_INVALID, detail);
export const opFailed = (detail: string) => netErr(ErrorCode.OPERATION_FAILED, detail);
export const internal = (detail: string) => netErr(ErrorCode.INTERNAL_ERROR, detail);
export const unsupportedConfig = (detail: string) => netErr(ErrorCode.CONFIG_UNSUPPORTED, detail);
export const noNetwork = (name: string) =>
  netErr(ErrorCode.NO_NETWORK, `no network with matching name '${name}'`);
export const noNetworkUuid = (uuid: string) =>
  netErr(ErrorCode.NO_NETWORK, `no network with matching uuid '${uuid}'`);

/** virCheckFlags: "unsupported flags (0x4) in function networkCreate". */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~(allowed >>> 0);
  if (extra !== 0)
    throw new VirError({
      code: ErrorCode.INVALID_ARG,
      domain: N,
      message: `unsupported flags (0x${extra.toString(16)}) in function ${fn}`,
    });
}
