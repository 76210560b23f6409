// Pieces pool and volume XML share: scaled sizes (virScaleInteger), <permissions>, path cleanup
// (virFileSanitizePath), all with libvirt's storage-domain error texts.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, child, childText, textContent, type XmlElement } from "../../xml/index.js";
import { unitScale } from "../common/units.js";
import { esc, type XmlBuf } from "../network/conf-xml.js";
import type { StoragePerms } from "./types.js";

const S = ErrorDomain.STORAGE;
export const storageXmlErr = (msg: string) => virError(ErrorCode.XML_ERROR, S, msg);
const ULLONG_MAX = (1n << 64n) - 1n;

/** `<elem unit='X'>N</elem>` in bytes, or undefined when the element is absent. */
export function parseScaled(e: XmlElement | undefined, what: string): bigint | undefined {
  if (!e) return undefined;
  const t = textContent(e).trim();
  if (!/^[0-9]+$/.test(t)) throw storageXmlErr(`malformed ${what} element`);
  const scale = unitScale(attr(e, "unit"), 1);
  if (scale === undefined)
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `unknown suffix '${attr(e, "unit")}'`);
  const v = BigInt(t) * BigInt(scale);
  if (v > ULLONG_MAX) {
    throw new VirError({
      code: ErrorCode.OVERFLOW,
      domain: ErrorDomain.NONE,
      message: `numerical overflow: value too large: ${t}${attr(e, "unit") ?? ""}`,
    });
  }
  return v;
}

/** Collapses repeated slashes and drops a trailing one, as virFileSanitizePath does. */
export function sanitizePath(p: string): string {
  let s = p.replace(/\/{2,}/g, "/");
  if (p.startsWith("//") && !p.startsWith("///")) s = `/${s}`;
  if (s.length > 1 && s.endsWith("/")) s = s.slice(0, -1);
  return s;
}

export function parsePerms(e: XmlElement | undefined): StoragePerms | undefined {
  if (!e) return undefined;
  const p: StoragePerms = {};
  const mode = childText(e, "mode");
  if (mode !== undefined) {
    const m = mode.trim();
    if (!/^[0-7]+$/.test(m) || Number.parseInt(m, 8) > 0o777) throw storageXmlErr("malformed octal mode");
    p.mode = Number.parseInt(m, 8);
  }
  for (const k of ["owner", "group"] as const) {
    const s = childText(e, k);
    if (s === undefined) continue;
    if (!/^-?[0-9]+$/.test(s.trim())) throw storageXmlErr(`malformed ${k} element`);
    const n = Number(s.trim());
    if (n !== -1) p[k] = n;
  }
  const label = childText(e, "label");
  if (label !== undefined) p.label = label;
  return p;
}

export function formatPerms(buf: XmlBuf, p: StoragePerms | undefined): void {
  if (!p || (p.mode === undefined && p.owner === undefined && p.group === undefined && p.label === undefined))
    return;
  buf.line("<permissions>");
  buf.indent();
  if (p.mode !== undefined) buf.line(`<mode>0${p.mode.toString(8)}</mode>`);
  if (p.owner !== undefined) buf.line(`<owner>${p.owner}</owner>`);
  if (p.group !== undefined) buf.line(`<group>${p.group}</group>`);
  if (p.label !== undefined) buf.line(`<label>${esc(p.label)}</label>`);
  buf.dedent();
  buf.line("</permissions>");
}

export { child };
