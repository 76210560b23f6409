// Checks every attribute of a domain document against the table of checks libvirt applies
// (attr-checks.ts, compiled by attr-rules.ts), so values libvirt refuses are refused here with the
// same error, including in parts tsvirt keeps verbatim. Runs on the raw tree, before modelling.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import type { XmlElement, XmlNode } from "../../xml/index.js";
import { childRules, type CompiledCheck, type ElementRules, type Requirement } from "./attr-rules.js";

function typeOf(e: XmlElement): string | undefined {
  const a = e.attrs;
  for (let i = 0; i < a.length; i++) if (a[i]![0] === "type") return a[i]![1];
  return undefined;
}

function hasAttr(e: XmlElement, name: string): boolean {
  const a = e.attrs;
  for (let i = 0; i < a.length; i++) if (a[i]![0] === name) return true;
  return false;
}

function hasChildElement(e: XmlElement, name: string): boolean {
  const ch = e.children;
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "element" && c.name === name) return true;
  }
  return false;
}

// Indexed loops, no destructuring or closures: this runs for every element of every define,
// much of it in code that is not optimized yet (see attr() in xml/tree.ts).
function checkRequired(e: XmlElement, req: readonly Requirement[]): void {
  for (let i = 0; i < req.length; i++) {
    const r = req[i]!;
    if (!hasAttr(e, r[0])) throw new VirError({ code: r[1], domain: r[2], message: r[3] });
  }
}

/** An element whose text must be a number (only when it has no child element). */
function checkNumericText(e: XmlElement, num: readonly [number, number, string]): void {
  const ch = e.children;
  let text = "";
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!;
    if (c.kind === "element") return;
    if (c.kind === "text") text += c.text;
  }
  if (!/^\s*[0-9]+\s*$/.test(text)) {
    throw new VirError({ code: num[0], domain: num[1], message: num[2].replace("%v", () => text) });
  }
}

function badValue(c: CompiledCheck, v: string): VirError {
  return new VirError({
    code: c.check.code,
    domain: c.check.domain,
    message: c.check.message.replace("%v", () => v),
  });
}

function checkElement(e: XmlElement, base: ElementRules | undefined, typed: ElementRules | undefined): void {
  if (base !== undefined) {
    if (base.required.length !== 0) checkRequired(e, base.required);
    if (typed !== undefined && typed.required.length !== 0) checkRequired(e, typed.required);
    const kids = base.children;
    for (let i = 0; i < kids.length; i++) {
      const r = kids[i]!;
      if (!hasChildElement(e, r[0])) throw new VirError({ code: r[1], domain: r[2], message: r[3] });
    }
    if (base.numericText !== undefined) checkNumericText(e, base.numericText);
  } else if (typed === undefined) return;
  else if (typed.required.length !== 0) checkRequired(e, typed.required);
  const a = e.attrs;
  if (a.length === 0) return;
  const baseAttrs = base !== undefined && base.attrs.size !== 0 ? base.attrs : undefined;
  const typedAttrs = typed !== undefined && typed.attrs.size !== 0 ? typed.attrs : undefined;
  if (baseAttrs === undefined && typedAttrs === undefined) return;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!;
    const k = p[0];
    let c = typedAttrs !== undefined ? typedAttrs.get(k) : undefined;
    if (c === undefined && baseAttrs !== undefined) c = baseAttrs.get(k);
    if (c === undefined) continue;
    const v = p[1];
    // the common kinds tested here, without a call through the compiled closure
    const ok = c.set !== undefined ? c.set.has(v) : c.re !== undefined ? c.re.test(v) : c.test(v);
    if (!ok) throw badValue(c, v);
  }
}

/** The order virDomainDefParseXML reads device kinds in (libvirt 9.0): the first error is of the first kind. */
const DEVICE_PARSE_ORDER = [
  "emulator",
  "disk",
  "controller",
  "lease",
  "filesystem",
  "interface",
  "smartcard",
  "parallel",
  "serial",
  "console",
  "channel",
  "input",
  "graphics",
  "sound",
  "audio",
  "video",
  "hostdev",
  "watchdog",
  "memballoon",
  "rng",
  "tpm",
  "nvram",
  "hub",
  "redirdev",
  "redirfilter",
  "panic",
  "shmem",
  "memory",
  "iommu",
  "vsock",
];

const DEVICE_RANK = new Map(DEVICE_PARSE_ORDER.map((n, i) => [n, i]));

function rank(n: string): number {
  return DEVICE_RANK.get(n) ?? DEVICE_PARSE_ORDER.length;
}

/** Watchdogs among the `<devices>` of the document being validated (libvirt allows one). */
let watchdogs = 0;

/**
 * Checks `e` (a child of an element named `parent`, whose children's rules are `scope`) and then
 * its subtree, depth first in document order. Recursion is bounded by the parser's depth limit.
 */
function walk(e: XmlElement, parent: string, scope: Map<string, ElementRules> | undefined): void {
  const name = e.name;
  if (name === "metadata" || name.includes(":")) return;
  if (scope !== undefined) {
    const base = scope.get(name);
    let typed: ElementRules | undefined;
    if (name === "address") {
      const type = typeOf(e);
      if (type) typed = scope.get(`address[${type}]`);
    }
    if (base !== undefined || typed !== undefined) checkElement(e, base, typed);
  }
  if (name === "watchdog" && parent === "devices" && watchdogs > 1) {
    // counted before any watchdog is parsed (virDomainDefParseXML)
    throw virError(
      ErrorCode.INTERNAL_ERROR,
      ErrorDomain.DOMAIN,
      "only a single watchdog device is supported",
    );
  }
  const ch = e.children;
  if (ch.length === 0) return;
  const inner = childRules(name);
  if (name === "devices" && parent === "domain") {
    walkDevices(ch, inner);
    return;
  }
  for (let i = 0; i < ch.length; i++) {
    const k = ch[i]!;
    if (k.kind === "element") walk(k, name, inner);
  }
}

/** `<devices>`' children in libvirt's parse order (by kind, then document order). */
function walkDevices(ch: readonly XmlNode[], inner: Map<string, ElementRules> | undefined): void {
  let count = 0;
  let last = -1;
  let sorted = true;
  for (let i = 0; i < ch.length; i++) {
    const k = ch[i]!;
    if (k.kind !== "element") continue;
    if (k.name === "watchdog") count++;
    const r = rank(k.name);
    if (r < last) sorted = false;
    else last = r;
  }
  watchdogs = count;
  // (most documents list their devices in that order already)
  const kids = sorted ? ch : byParseOrder(ch);
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    if (k.kind === "element") walk(k, "devices", inner);
  }
}

function byParseOrder(ch: readonly XmlNode[]): XmlElement[] {
  const kids: XmlElement[] = [];
  for (let i = 0; i < ch.length; i++) {
    const k = ch[i]!;
    if (k.kind === "element") kids.push(k);
  }
  // stable: equal ranks keep document order
  return kids
    .map((k, i) => [k, i] as const)
    .sort((a, b) => rank(a[0].name) - rank(b[0].name) || a[1] - b[1])
    .map((x) => x[0]);
}

/** Throws libvirt's error for the first attribute (document order) libvirt would refuse. */
export function validateAttributes(root: XmlElement): void {
  watchdogs = 0;
  walk(root, "", childRules(""));
}
