// Scaled integers as libvirt's XML uses them (virScaleInteger / virDomainParseMemory): a number
// with an optional unit suffix, stored in KiB for memory. Errors use libvirt's texts.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";

const UNITS: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
  p: 1024 ** 5,
  pib: 1024 ** 5,
  pb: 1000 ** 5,
  e: 1024 ** 6,
  eib: 1024 ** 6,
  eb: 1000 ** 6,
};

/** Multiplier for a unit name (case-insensitive, as virScaleInteger); undefined when unknown. */
export function unitScale(unit: string | undefined, defaultScale: number): number | undefined {
  if (unit === undefined || unit === "") return defaultScale;
  return UNITS[unit.toLowerCase()];
}

/** Parses an unsigned decimal the way virStrToLong_ullp does: optional surrounding nothing, digits only. */
export function parseULong(s: string | undefined): bigint | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (!/^\+?[0-9]+$/.test(t) && !/^0[xX][0-9a-fA-F]+$/.test(t)) return undefined;
  return BigInt(t.startsWith("+") ? t.slice(1) : t);
}

/**
 * Parses `<elem unit='X'>N</elem>` memory into KiB, rounding up as virDomainParseMemory does.
 * `xpath` names the element in the error ("./memory[1]").
 */
export function parseMemoryKiB(
  text: string,
  unit: string | undefined,
  xpath: string,
  domain: ErrorDomain,
): number {
  const n = parseULong(text);
  if (n === undefined) {
    throw virError(ErrorCode.XML_ERROR, domain, `could not parse element ${xpath}`);
  }
  const scale = unitScale(unit, 1024);
  if (scale === undefined) {
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `unknown suffix '${unit}'`);
  }
  const bytes = n * BigInt(scale);
  const limit = BigInt("9007199254740991") * 1024n;
  if (bytes > limit) {
    throw new VirError({
      code: ErrorCode.OVERFLOW,
      domain,
      message: `numerical overflow: value too large: ${text}`,
    });
  }
  return Number((bytes + 1023n) / 1024n);
}

export { ErrorDomain };
