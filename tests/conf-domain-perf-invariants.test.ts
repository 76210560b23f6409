// Invariants of the fast paths added for define throughput: pooled UUIDs stay distinct RFC 4122
// version-4 UUIDs across pool refills, and compiled attribute checks answer as the table says.

import assert from "node:assert/strict";
import { test } from "node:test";
import { generateMac, parseMac } from "../src/conf/common/mac.js";
import { generateUuid, parseUuid } from "../src/conf/common/uuid.js";
import { ATTR_CHECKS, type AttrCheck } from "../src/conf/domain/attr-checks.js";
import { attrCheck } from "../src/conf/domain/attr-rules.js";

test("generateUuid: distinct v4 UUIDs across several pool refills", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const u = generateUuid();
    // Version nibble 4, variant bits 10 (RFC 4122 §4.4).
    assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseUuid(u), u);
    seen.add(u);
  }
  assert.equal(seen.size, 1000);
});

/** The table's meaning of a numeric check, spelled out the slow way. */
function numberOk(c: AttrCheck, v: string): boolean {
  const spell = c.spell ?? ["hex", "lead", "trail"];
  let t = v;
  if (spell.includes("lead")) t = t.replace(/^\s+/, "");
  if (spell.includes("trail")) t = t.replace(/\s+$/, "");
  const sign = c.kind === "uint" ? "\\+?" : "[-+]?";
  const frac = c.kind === "num" ? "(\\.[0-9]+)?" : "";
  const body = spell.includes("hex") ? `(0x[0-9a-f]+|[0-9]+${frac})` : `[0-9]+${frac}`;
  return new RegExp(`^${sign}${body}$`, "i").test(t);
}

test("compiled attribute checks agree with the table", () => {
  const samples = [
    "0",
    "12",
    "+3",
    "-4",
    " 5",
    "6 ",
    "0x1F",
    "0X1f",
    "1.5",
    "-2.25",
    "",
    "x",
    "1e3",
    "0x",
    "\t7\n",
  ];
  let checked = 0;
  for (const [key, c] of Object.entries(ATTR_CHECKS)) {
    const at = key.lastIndexOf("@");
    const slash = key.indexOf("/");
    const compiled = attrCheck(key.slice(0, slash), key.slice(slash + 1, at), key.slice(at + 1));
    assert.ok(compiled, key);
    assert.equal(compiled.check, c);
    if (c.kind === "enum") {
      for (const v of c.values ?? []) assert.ok(compiled.test(v), `${key} ${v}`);
      assert.ok(!compiled.test("bogus-value"), key);
    } else if (c.kind === "uint" || c.kind === "int" || c.kind === "num") {
      for (const v of samples) assert.equal(compiled.test(v), numberOk(c, v), `${key} ${JSON.stringify(v)}`);
      checked++;
    }
  }
  assert.ok(checked > 50, `only ${checked} numeric checks`);
});

test("parseMac: canonical lowercase two-digit octets, malformed refused", () => {
  assert.equal(parseMac("52:54:00:12:34:56"), "52:54:00:12:34:56");
  assert.equal(parseMac("52:54:0:1:2:3"), "52:54:00:01:02:03");
  assert.equal(parseMac("AA:bb:CC:dd:EE:ff"), "aa:bb:cc:dd:ee:ff");
  for (const bad of [
    "52:54:00:12:34",
    "52:54:00:12:34:56:78",
    "52:54:00:12:34:5g",
    "52:54:00:12:34:567",
    "",
  ]) {
    assert.equal(parseMac(bad), undefined, bad);
  }
  assert.equal(parseMac("52:54:00:12:34:56\n"), undefined);
  assert.equal(parseMac(" 52:54:00:12:34:56"), undefined);
  assert.match(generateMac(), /^52:54:00(:[0-9a-f]{2}){3}$/);
});
