// Typed access to a parsed command's options with virsh's conversions and error texts
// (tools/vsh.c vshCommandOpt*; util/virutil.c virScaleInteger for size suffixes).
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import type { ParsedCmd } from "./command.js";
import { CmdFailure } from "./control.js";

/** An option value that does not convert; printed as "error: …", then its cause if any. */
export class OptionError extends CmdFailure {}

export function optBool(cmd: ParsedCmd, name: string): boolean {
  return cmd.opts.some((o) => o.def.name === name);
}

function raw(cmd: ParsedCmd, name: string): string | undefined {
  const o = cmd.opts.find((x) => x.def.name === name);
  return o?.value ?? undefined;
}

/** vshCommandOptStringReq: an empty value is refused unless the option allows it. */
export function optString(cmd: ParsedCmd, name: string): string | undefined {
  const o = cmd.opts.find((x) => x.def.name === name);
  if (!o || o.value === null) return undefined;
  if (o.value === "" && !o.def.emptyOk)
    throw new OptionError(`Failed to get option '${name}': Option argument is empty`);
  return o.value;
}

/**
 * vshCommandOptStringQuiet: the value, or undefined when absent; an empty value the option does
 * not allow is `null` (the caller words that failure itself, or ignores it).
 */
export function optStringQuiet(cmd: ParsedCmd, name: string): string | null | undefined {
  const o = cmd.opts.find((x) => x.def.name === name);
  if (!o || o.value === null) return undefined;
  return o.value === "" && !o.def.emptyOk ? null : o.value;
}

/** Every value given to an argv option, in order (vshCommandOptArgv). */
export function optArgv(cmd: ParsedCmd, name: string): string[] {
  return cmd.opts.filter((o) => o.def.name === name && o.value !== null).map((o) => o.value as string);
}

/** virStrToLong_i: strtol in `base` (0: C prefixes) over the whole string, within a C int. */
export function strToLongI(s: string, base: 0 | 10): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(.*)$/s.exec(s);
  if (!m) return null;
  let digits = m[2];
  let radix = 10;
  if (base === 0 && /^0[xX][0-9a-fA-F]/.test(digits)) {
    radix = 16;
    digits = digits.slice(2);
  } else if (base === 0 && digits.startsWith("0")) radix = 8;
  const re = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(digits)) return null;
  const v =
    BigInt(radix === 16 ? `0x${digits}` : radix === 8 ? `0o${digits}` : digits) * (m[1] === "-" ? -1n : 1n);
  if (v < -2147483648n || v > 2147483647n) return null;
  return Number(v);
}

/** strtol-like: optional blanks and sign, decimal digits, nothing after. */
function parseIntStrict(s: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(s);
  if (!m) return null;
  const v = BigInt(m[2]);
  return m[1] === "-" ? -v : v;
}

const malformed = (v: string, name: string) =>
  new OptionError(`Numeric value '${v}' for <${name}> option is malformed or out of range`);

/** vshCommandOptInt: a signed 32-bit value. */
export function optInt(cmd: ParsedCmd, name: string): number | undefined {
  const v = raw(cmd, name);
  if (v === undefined) return undefined;
  const n = parseIntStrict(v);
  if (n === null || n < -2147483648n || n > 2147483647n) throw malformed(v, name);
  return Number(n);
}

/** vshCommandOptUInt (no wrap): 0..UINT_MAX, negative refused. */
export function optUInt(cmd: ParsedCmd, name: string, wrap = false): number | undefined {
  const v = raw(cmd, name);
  if (v === undefined) return undefined;
  const n = parseIntStrict(v);
  if (n === null) throw malformed(v, name);
  if (n < 0n) {
    if (!wrap || n < -4294967295n) throw malformed(v, name);
    return Number(4294967296n + n);
  }
  if (n > 4294967295n) throw malformed(v, name);
  return Number(n);
}

/** vshCommandOptULongLong. */
export function optULongLong(cmd: ParsedCmd, name: string): bigint | undefined {
  const v = raw(cmd, name);
  if (v === undefined) return undefined;
  const n = parseIntStrict(v);
  if (n === null || n < 0n || n > 0xffffffffffffffffn) throw malformed(v, name);
  return n;
}

/**
 * virScaleInteger: multiplies by the suffix's power (k, M, G, T, P, E with base 1024, or "KB"…
 * with base 1000; "b"/"byte"/"bytes" means 1; no suffix means `scale`). Throws VirError.
 */
export function scaleInteger(value: bigint, suffix: string, scale: bigint, limit: bigint): bigint {
  let mult = scale;
  const lower = suffix.toLowerCase();
  if (suffix === "") {
    mult = scale;
  } else if (lower === "b" || lower === "byte" || lower === "bytes") {
    mult = 1n;
  } else {
    let base: bigint;
    if (suffix.length === 1 || lower.slice(1) === "ib") base = 1024n;
    else if (lower[1] === "b" && suffix.length === 2) base = 1000n;
    else throw virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `unknown suffix '${suffix}'`);
    const pow = "kmgtpe".indexOf(lower[0]);
    if (pow < 0) throw virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `unknown suffix '${suffix}'`);
    mult = base ** BigInt(pow + 1);
  }
  if (value && value > limit / mult)
    throw virError(ErrorCode.OVERFLOW, ErrorDomain.NONE, `value too large: ${value}${suffix}`);
  return value * mult;
}

/** vshCommandOptScaledInt: "<digits><suffix>" scaled by `scale` when no suffix is given. */
export function optScaled(cmd: ParsedCmd, name: string, scale: bigint, max: bigint): bigint | undefined {
  const v = raw(cmd, name);
  if (v === undefined) return undefined;
  const m = /^[ \t\n\v\f\r]*\+?(\d+)(.*)$/s.exec(v);
  const err = `Scaled numeric value '${v}' for <${name}> option is malformed or out of range`;
  if (!m) throw new OptionError(err);
  const n = BigInt(m[1]);
  if (n > 0xffffffffffffffffn) throw new OptionError(err);
  try {
    return scaleInteger(n, m[2], scale, max);
  } catch (e) {
    throw new OptionError(err, e);
  }
}

export const ULLONG_MAX = 0xffffffffffffffffn;
