// The set modes of memtune, blkiotune and numatune: their options as the typed parameters virsh
// 9.0 sends (cmdMemtune, cmdBlkiotune, cmdNumatune in virsh-domain.c), with virsh's parse errors.
// An empty list means no setting option was given, and the command queries instead.

import { type TypedParam, VIR_TYPED_PARAM as T } from "../../../driver/types.js";
import type { ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { optInt, optString, optStringQuiet, scaleInteger } from "../options.js";

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED. */
const MEMORY_UNLIMITED = 9007199254740991n;
const LLONG_MAX = 2n ** 63n - 1n;

/**
 * virshMemtuneGetSize: strtoll, a negative value is "unlimited", otherwise the value with its
 * suffix scaled (KiB without one) and rounded up to KiB. Undefined when the option is absent.
 */
function memtuneSize(cmd: ParsedCmd, name: string): bigint | undefined {
  const v = optStringQuiet(cmd, name);
  if (v === undefined) return undefined;
  const failed = `Unable to parse integer parameter ${name}`;
  if (v === null) throw new CmdFailure(failed);
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)(.*)$/s.exec(v);
  if (!m) throw new CmdFailure(failed);
  const n = BigInt(m[1]!);
  if (n > LLONG_MAX || n < -LLONG_MAX - 1n) throw new CmdFailure(failed);
  if (n < 0n) return MEMORY_UNLIMITED;
  let bytes: bigint;
  try {
    bytes = scaleInteger(n, m[2]!, 1024n, LLONG_MAX);
  } catch (e) {
    throw new CmdFailure(failed, e);
  }
  return (bytes + 1023n) / 1024n;
}

/** memtune: hard, soft and swap-hard limits and the minimum guarantee, in KiB. */
export function memtuneParams(cmd: ParsedCmd): TypedParam[] {
  const out: TypedParam[] = [];
  for (const [opt, field] of [
    ["hard-limit", "hard_limit"],
    ["soft-limit", "soft_limit"],
    ["swap-hard-limit", "swap_hard_limit"],
    ["min-guarantee", "min_guarantee"],
  ] as const) {
    const v = memtuneSize(cmd, opt);
    // Values are at most 2^53 - 1 (the unlimited marker is exactly that): exact as numbers.
    if (v !== undefined) out.push({ field, type: T.ULLONG, value: Number(v) });
  }
  return out;
}

/** blkiotune: the weight (a positive int) and the per-device lists, passed on as strings. */
export function blkiotuneParams(cmd: ParsedCmd): TypedParam[] {
  const out: TypedParam[] = [];
  const weight = optInt(cmd, "weight");
  if (weight !== undefined) {
    if (weight <= 0) throw new CmdFailure(`Invalid value of ${weight} for I/O weight`);
    out.push({ field: "weight", type: T.UINT, value: weight });
  }
  for (const [opt, field] of [
    ["device-weights", "device_weight"],
    ["device-read-iops-sec", "device_read_iops_sec"],
    ["device-write-iops-sec", "device_write_iops_sec"],
    ["device-read-bytes-sec", "device_read_bytes_sec"],
    ["device-write-bytes-sec", "device_write_bytes_sec"],
  ] as const) {
    const v = optStringQuiet(cmd, opt);
    if (v === null) throw new CmdFailure("Unable to parse string parameter");
    if (v !== undefined) out.push({ field, type: T.STRING, value: v });
  }
  return out;
}

/** numatune: the nodeset as given, then the mode by name or as a number (newer servers' modes). */
export function numatuneParams(cmd: ParsedCmd, modes: readonly string[]): TypedParam[] {
  const out: TypedParam[] = [];
  const nodeset = optString(cmd, "nodeset");
  if (nodeset !== undefined) out.push({ field: "numa_nodeset", type: T.STRING, value: nodeset });
  const mode = optString(cmd, "mode");
  if (mode !== undefined) {
    let m = modes.indexOf(mode);
    if (m < 0) {
      // virStrToLong_i(mode, NULL, 0): the whole text in C integer syntax (decimal, 0x hex, 0 octal).
      const n = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(mode);
      if (!n) throw new CmdFailure(`Invalid mode: ${mode}`);
      const digits = n[2]!;
      const abs =
        digits.length > 1 && digits[0] === "0" && !/[xX]/.test(digits)
          ? Number.parseInt(digits, 8)
          : Number(digits);
      m = n[1] === "-" ? -abs : abs;
      if (m < -(2 ** 31) || m > 2 ** 31 - 1) throw new CmdFailure(`Invalid mode: ${mode}`);
    }
    out.push({ field: "numa_mode", type: T.INT, value: m });
  }
  return out;
}
