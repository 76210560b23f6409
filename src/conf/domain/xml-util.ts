// Small helpers the domain parsers and formatters share: enum-checked attributes, attribute
// reordering into libvirt's output order, and verbatim element copies.

import { attr, type XmlElement } from "../../xml/index.js";
import { invalidAttr, missingAttr } from "./errors.js";

/** Reads an attribute that must be one of `values`; undefined when absent. */
export function enumAttr(e: XmlElement, name: string, values: readonly string[]): string | undefined {
  const v = attr(e, name);
  if (v === undefined) return undefined;
  if (!values.includes(v)) throw invalidAttr(name, e.name, v);
  return v;
}

/** Like enumAttr but the attribute is mandatory. */
export function requiredEnumAttr(e: XmlElement, name: string, values: readonly string[]): string {
  const v = enumAttr(e, name, values);
  if (v === undefined) throw missingAttr(name, e.name);
  return v;
}

/** Reads an on/off (or yes/no) attribute checking the value. */
export function switchAttr(e: XmlElement, name: string, values = ["on", "off"]): string | undefined {
  return enumAttr(e, name, values);
}

/** Returns `attrs` sorted by `order`; names not in `order` keep their relative order at the end. */
export function orderAttrs(attrs: [string, string][], order: readonly string[]): [string, string][] {
  const rank = (k: string) => {
    const i = order.indexOf(k);
    return i < 0 ? order.length : i;
  };
  // Most elements arrive in order already: a copy is all that is needed then.
  let sorted = true;
  for (let i = 1, prev = attrs.length ? rank(attrs[0]![0]) : 0; sorted && i < attrs.length; i++) {
    const r = rank(attrs[i]![0]);
    if (r < prev) sorted = false;
    prev = r;
  }
  if (sorted) return attrs.slice();
  return attrs
    .map((a, i) => [a, i] as const)
    .sort((x, y) => rank(x[0][0]) - rank(y[0][0]) || x[1] - y[1])
    .map((x) => x[0]);
}

/** Attributes of `e` except those named. */
export function attrsExcept(e: XmlElement, ...names: string[]): [string, string][] {
  return e.attrs.filter(([k]) => !names.includes(k));
}

/** Deep copy of an element (children included) with whitespace-only text dropped. */
export function cloneElement(e: XmlElement): XmlElement {
  const ch = e.children;
  let anyElement = false;
  for (let i = 0; i < ch.length; i++) {
    if (ch[i]!.kind === "element") {
      anyElement = true;
      break;
    }
  }
  const children = [];
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "element") children.push(cloneElement(c));
    else if (c.kind === "text") {
      if (!anyElement || c.text.trim() !== "") children.push({ ...c });
    }
  }
  const a = e.attrs;
  const attrs: [string, string][] = [];
  for (let i = 0; i < a.length; i++) attrs.push([a[i]![0], a[i]![1]]);
  return { kind: "element", name: e.name, attrs, children, line: e.line };
}

/** Pushes `e` onto `rec[key]`. */
export function pushExtra(rec: Record<string, XmlElement[]>, key: string, e: XmlElement): void {
  const list = rec[key];
  if (list) list.push(e);
  else rec[key] = [e];
}

/** The empty list extrasOf gives when nothing is kept (el() and the formatters only read it). */
const NO_ELEMENTS: readonly XmlElement[] = Object.freeze([]);

/**
 * The kept elements of `rec` under each of `names`, in that order: `names.flatMap((n) => rec[n]
 * ?? [])` without the closure and the per-name arrays, and no new list at all when none is kept.
 */
export function extrasOf(rec: Record<string, XmlElement[]>, names: readonly string[]): XmlElement[] {
  let out: XmlElement[] | undefined;
  for (let i = 0; i < names.length; i++) {
    const list = rec[names[i]!];
    if (list === undefined || list === null) continue;
    if (out === undefined) out = [];
    for (let j = 0; j < list.length; j++) out.push(list[j]!);
  }
  return out ?? (NO_ELEMENTS as XmlElement[]);
}

/** True when `rec` has an enumerable key (Object.keys(rec).length > 0 without the array). */
export function hasKeys(rec: object): boolean {
  for (const _ in rec) return true;
  return false;
}
