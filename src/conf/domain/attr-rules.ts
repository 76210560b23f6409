// The generated check tables (attr-checks.ts) compiled once at load into per-element rules:
// parent name → element name → rules, with value tests (enum sets, number regexes) built ahead,
// so validating a document does a couple of Map lookups per element and attribute.

import { isIP } from "node:net";
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

export type Requirement = readonly [string, number, number, string];

/** A check with its value test compiled. */
export interface CompiledCheck {
  readonly check: AttrCheck;
  readonly test: (v: string) => boolean;
  /** The values of an enum (test is `set.has`), for callers that test without the call. */
  readonly set: Set<string> | undefined;
  /** The pattern of a number (test is `re.test`), likewise. */
  readonly re: RegExp | undefined;
}

/** Everything the tables say about one parent/element pair (element may be `address[type]`). */
export interface ElementRules {
  readonly attrs: Map<string, CompiledCheck>;
  required: readonly Requirement[];
  children: readonly Requirement[];
  numericText?: readonly [number, number, string];
}

/** A number as libvirt reads it here: decimal, and hex / blanks only where it takes them. */
function numberRegex(c: AttrCheck, sign: string, frac: boolean): RegExp {
  const spell = c.spell ?? ["hex", "lead", "trail"];
  const dec = `[0-9]+${frac ? "(?:\\.[0-9]+)?" : ""}`;
  const body = spell.includes("hex") ? `(?:0x[0-9a-f]+|${dec})` : dec;
  const lead = spell.includes("lead") ? "\\s*" : "";
  const trail = spell.includes("trail") ? "\\s*" : "";
  return new RegExp(`^${lead}${sign}${body}${trail}$`, "i");
}

function compile(c: AttrCheck): CompiledCheck {
  let test: (v: string) => boolean;
  let set: Set<string> | undefined;
  let re: RegExp | undefined;
  switch (c.kind) {
    case "enum": {
      const values = new Set(c.values);
      set = values;
      test = (v) => values.has(v);
      break;
    }
    case "uint":
    case "int":
    case "num": {
      const pattern = numberRegex(c, c.kind === "uint" ? "\\+?" : "[-+]?", c.kind === "num");
      re = pattern;
      test = (v) => pattern.test(v);
      break;
    }
    case "unit":
      test = (v) => unitScale(v, 1) !== undefined;
      break;
    case "bitmap":
      test = (v) => parseCpuSet(v) !== undefined;
      break;
    case "mac":
      test = (v) => parseMac(v) !== undefined;
      break;
    case "uuid":
      test = (v) => parseUuid(v) !== undefined;
      break;
    case "ip":
      test = (v) => isIP(v) !== 0;
      break;
  }
  return { check: c, test, set, re };
}

const RULES = new Map<string, Map<string, ElementRules>>();

function rulesFor(key: string): ElementRules {
  const slash = key.indexOf("/");
  const parent = key.slice(0, slash);
  const name = key.slice(slash + 1);
  let byName = RULES.get(parent);
  if (!byName) RULES.set(parent, (byName = new Map()));
  let r = byName.get(name);
  if (!r) byName.set(name, (r = { attrs: new Map(), required: [], children: [] }));
  return r;
}

for (const [key, c] of Object.entries(ATTR_CHECKS)) {
  const at = key.lastIndexOf("@");
  rulesFor(key.slice(0, at)).attrs.set(key.slice(at + 1), compile(c));
}
for (const [key, req] of Object.entries(REQUIRED_ATTRS)) rulesFor(key).required = req;
for (const [key, req] of Object.entries(REQUIRED_CHILDREN)) rulesFor(key).children = req;
for (const [key, num] of Object.entries(NUMERIC_TEXT)) rulesFor(key).numericText = num;

/** Rules for `name` under an element named `parent` ("" for the root), if any. */
export function elementRules(parent: string, name: string): ElementRules | undefined {
  return RULES.get(parent)?.get(name);
}

/** Rules of every element checked under an element named `parent` ("" for the root), if any. */
export function childRules(parent: string): Map<string, ElementRules> | undefined {
  return RULES.get(parent);
}

/** The check for attribute `attr` of `name` under `parent`, if libvirt checks it. */
export function attrCheck(parent: string, name: string, attr: string): CompiledCheck | undefined {
  return RULES.get(parent)?.get(name)?.attrs.get(attr);
}
