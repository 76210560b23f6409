// Checks every attribute of a domain document against the table of checks libvirt applies
// (attr-checks.ts), so values libvirt refuses are refused here with the same error, including
// in parts tsvirt keeps verbatim. Runs on the raw tree, before anything is modelled.

import { isIP } from "node:net";
import { VirError } from "../../errors/index.js";
import type { XmlElement } from "../../xml/index.js";
import { parseMac } from "../common/mac.js";
import { unitScale } from "../common/units.js";
import { parseUuid } from "../common/uuid.js";
import {
  ATTR_CHECKS,
  type AttrCheck,
  NUMERIC_TEXT,
  REQUIRED_ATTRS,
  REQUIRED_CHILDREN,
} from "./attr-checks.js";
import { parseCpuSet } from "./normalize.js";

/** A number as libvirt reads it here: decimal, and hex / blanks only where it takes them. */
function numberOk(c: AttrCheck, v: string, sign: string, frac: boolean): boolean {
  const spell = c.spell ?? ["hex", "lead", "trail"];
  let t = v;
  if (spell.includes("lead")) t = t.replace(/^\s+/, "");
  if (spell.includes("trail")) t = t.replace(/\s+$/, "");
  const body = spell.includes("hex")
    ? `(0x[0-9a-f]+|[0-9]+${frac ? "(\\.[0-9]+)?" : ""})`
    : `[0-9]+${frac ? "(\\.[0-9]+)?" : ""}`;
  return new RegExp(`^${sign}${body}$`, "i").test(t);
}

function valid(c: AttrCheck, v: string): boolean {
  switch (c.kind) {
    case "enum":
      return c.values!.includes(v);
    case "uint":
      return numberOk(c, v, "\\+?", false);
    case "int":
      return numberOk(c, v, "[-+]?", false);
    case "num":
      return numberOk(c, v, "[-+]?", true);
    case "unit":
      return unitScale(v, 1) !== undefined;
    case "bitmap":
      return parseCpuSet(v) !== undefined;
    case "mac":
      return parseMac(v) !== undefined;
    case "uuid":
      return parseUuid(v) !== undefined;
    case "ip":
      return isIP(v) !== 0;
  }
}

/** Throws libvirt's error for the first attribute (document order) libvirt would refuse. */
export function validateAttributes(root: XmlElement): void {
  const stack: [XmlElement, string][] = [[root, ""]];
  while (stack.length) {
    const [e, parent] = stack.pop()!;
    if (e.name === "metadata" || e.name.includes(":")) continue;
    const type = e.name === "address" ? e.attrs.find(([k]) => k === "type")?.[1] : undefined;
    const ename = type !== undefined ? `address[${type}]` : e.name;
    const required = [
      ...(REQUIRED_ATTRS[`${parent}/${e.name}`] ?? []),
      ...(type ? (REQUIRED_ATTRS[`${parent}/${ename}`] ?? []) : []),
    ];
    for (const [name, code, domain, message] of required) {
      if (!e.attrs.some(([k]) => k === name)) throw new VirError({ code, domain, message });
    }
    for (const [name, code, domain, message] of REQUIRED_CHILDREN[`${parent}/${e.name}`] ?? []) {
      if (!e.children.some((c) => c.kind === "element" && c.name === name)) {
        throw new VirError({ code, domain, message });
      }
    }
    const num = NUMERIC_TEXT[`${parent}/${e.name}`];
    if (num && !e.children.some((c) => c.kind === "element")) {
      const text = e.children.map((c) => (c.kind === "text" ? c.text : "")).join("");
      if (!/^\s*[0-9]+\s*$/.test(text)) {
        throw new VirError({ code: num[0], domain: num[1], message: num[2].replace("%v", () => text) });
      }
    }
    for (const [k, v] of e.attrs) {
      const c = ATTR_CHECKS[`${parent}/${ename}@${k}`] ?? ATTR_CHECKS[`${parent}/${e.name}@${k}`];
      if (c && !valid(c, v)) {
        throw new VirError({ code: c.code, domain: c.domain, message: c.message.replace("%v", () => v) });
      }
    }
    // Depth first in document order: children are pushed last-first.
    for (let i = e.children.length - 1; i >= 0; i--) {
      const k = e.children[i]!;
      if (k.kind === "element") stack.push([k, e.name]);
    }
  }
}
