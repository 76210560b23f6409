// Checks every attribute of a domain document against the table of checks libvirt applies
// (attr-checks.ts, compiled by attr-rules.ts), so values libvirt refuses are refused here with the
// same error, including in parts tsvirt keeps verbatim. Runs on the raw tree, before modelling.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import type { XmlElement } from "../../xml/index.js";
import { childRules, type ElementRules, type Requirement } from "./attr-rules.js";

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

function checkElement(e: XmlElement, base: ElementRules | undefined, typed: ElementRules | undefined): void {
  if (base) checkRequired(e, base.required);
  if (typed) checkRequired(e, typed.required);
  if (!base) {
    if (!typed) return;
  } else {
    const kids = base.children;
    for (let i = 0; i < kids.length; i++) {
      const r = kids[i]!;
      if (!hasChildElement(e, r[0])) throw new VirError({ code: r[1], domain: r[2], message: r[3] });
    }
    const num = base.numericText;
    if (num && !e.children.some((c) => c.kind === "element")) {
      let text = "";
      for (const c of e.children) if (c.kind === "text") text += c.text;
      if (!/^\s*[0-9]+\s*$/.test(text)) {
        throw new VirError({ code: num[0], domain: num[1], message: num[2].replace("%v", () => text) });
      }
    }
  }
  const a = e.attrs;
  for (let i = 0; i < a.length; i++) {
    const k = a[i]![0];
    const v = a[i]![1];
    const c = typed?.attrs.get(k) ?? base?.attrs.get(k);
    if (c && !c.test(v)) {
      throw new VirError({
        code: c.check.code,
        domain: c.check.domain,
        message: c.check.message.replace("%v", () => v),
      });
    }
  }
}

/** Throws libvirt's error for the first attribute (document order) libvirt would refuse. */
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

export function validateAttributes(root: XmlElement): void {
  let watchdogs = 0;
  const stack: XmlElement[] = [root];
  const parents: string[] = [""];
  // The rules of the children of each parent on `parents` (one table lookup per element).
  const scopes: (Map<string, ElementRules> | undefined)[] = [childRules("")];
  while (stack.length) {
    const e = stack.pop()!;
    const parent = parents.pop()!;
    const scope = scopes.pop();
    const name = e.name;
    if (name === "metadata" || name.includes(":")) continue;
    const type = name === "address" ? typeOf(e) : undefined;
    const base = scope?.get(name);
    const typed = type ? scope?.get(`address[${type}]`) : undefined;
    checkElement(e, base, typed);
    if (name === "watchdog" && parent === "devices" && watchdogs > 1) {
      // counted before any watchdog is parsed (virDomainDefParseXML)
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.DOMAIN,
        "only a single watchdog device is supported",
      );
    }
    // Depth first in document order (devices in libvirt's parse order): children pushed last-first.
    const ch = e.children;
    if (ch.length === 0) continue;
    const inner = childRules(name);
    if (name === "devices" && parent === "domain") {
      const kids = ch
        .filter((k): k is XmlElement => k.kind === "element")
        .map((k, i) => [k, i] as const)
        .sort((a, b) => rank(a[0].name) - rank(b[0].name) || a[1] - b[1])
        .map((x) => x[0]);
      watchdogs = kids.filter((k) => k.name === "watchdog").length;
      for (let i = kids.length - 1; i >= 0; i--) {
        stack.push(kids[i]!);
        parents.push(name);
        scopes.push(inner);
      }
      continue;
    }
    for (let i = ch.length - 1; i >= 0; i--) {
      const k = ch[i]!;
      if (k.kind !== "element") continue;
      stack.push(k);
      parents.push(name);
      scopes.push(inner);
    }
  }
}

function rank(n: string): number {
  return DEVICE_RANK.get(n) ?? DEVICE_PARSE_ORDER.length;
}
