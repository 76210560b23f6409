// Checks every attribute of a domain document against the table of checks libvirt applies
// (attr-checks.ts, compiled by attr-rules.ts), so values libvirt refuses are refused here with the
// same error, including in parts tsvirt keeps verbatim. Runs on the raw tree, before modelling.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import type { XmlElement } from "../../xml/index.js";
import { type ElementRules, elementRules, type Requirement } from "./attr-rules.js";

function typeOf(e: XmlElement): string | undefined {
  for (const a of e.attrs) if (a[0] === "type") return a[1];
  return undefined;
}

function checkRequired(e: XmlElement, req: readonly Requirement[]): void {
  for (const [name, code, domain, message] of req) {
    if (!e.attrs.some((a) => a[0] === name)) throw new VirError({ code, domain, message });
  }
}

function checkElement(e: XmlElement, base: ElementRules | undefined, typed: ElementRules | undefined): void {
  if (base) checkRequired(e, base.required);
  if (typed) checkRequired(e, typed.required);
  if (!base) {
    if (!typed) return;
  } else {
    for (const [name, code, domain, message] of base.children) {
      if (!e.children.some((c) => c.kind === "element" && c.name === name)) {
        throw new VirError({ code, domain, message });
      }
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
  for (const [k, v] of e.attrs) {
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

export function validateAttributes(root: XmlElement): void {
  let watchdogs = 0;
  const stack: XmlElement[] = [root];
  const parents: string[] = [""];
  while (stack.length) {
    const e = stack.pop()!;
    const parent = parents.pop()!;
    if (e.name === "metadata" || e.name.includes(":")) continue;
    const type = e.name === "address" ? typeOf(e) : undefined;
    const base = elementRules(parent, e.name);
    const typed = type ? elementRules(parent, `address[${type}]`) : undefined;
    checkElement(e, base, typed);
    if (e.name === "watchdog" && parent === "devices" && watchdogs > 1) {
      // counted before any watchdog is parsed (virDomainDefParseXML)
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.DOMAIN,
        "only a single watchdog device is supported",
      );
    }
    // Depth first in document order (devices in libvirt's parse order): children pushed last-first.
    let kids = e.children.filter((k): k is XmlElement => k.kind === "element");
    if (e.name === "devices" && parent === "domain") {
      const rank = (n: string) => {
        const i = DEVICE_PARSE_ORDER.indexOf(n);
        return i < 0 ? DEVICE_PARSE_ORDER.length : i;
      };
      kids = kids
        .map((k, i) => [k, i] as const)
        .sort((a, b) => rank(a[0].name) - rank(b[0].name) || a[1] - b[1])
        .map((x) => x[0]);
      watchdogs = kids.filter((k) => k.name === "watchdog").length;
    }
    for (let i = kids.length - 1; i >= 0; i--) {
      stack.push(kids[i]!);
      parents.push(e.name);
    }
  }
}
