// Checks every attribute of a domain document against the table of checks libvirt applies
// (attr-checks.ts, compiled by attr-rules.ts), so values libvirt refuses are refused here with the
// same error, including in parts tsvirt keeps verbatim. Runs on the raw tree, before modelling.

import { VirError } from "../../errors/index.js";
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
export function validateAttributes(root: XmlElement): void {
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
    // Depth first in document order: children are pushed last-first.
    for (let i = e.children.length - 1; i >= 0; i--) {
      const k = e.children[i]!;
      if (k.kind === "element") {
        stack.push(k);
        parents.push(e.name);
      }
    }
  }
}
