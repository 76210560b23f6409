import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, VirError } from "../errors/index.js";
import { attr, child, el, formatElement, parseXml, textContent } from "./index.js";

test("parse then format keeps structure in libvirt style", () => {
  const root = parseXml(
    "<domain type='test'>\n  <name>a&amp;b</name>\n  <devices><disk/></devices>\n</domain>",
  );
  assert.equal(root.name, "domain");
  assert.equal(attr(root, "type"), "test");
  assert.equal(textContent(child(root, "name")!), "a&b");
  assert.equal(child(root, "name")!.line, 2);
  assert.equal(
    formatElement(root),
    "<domain type='test'>\n  <name>a&amp;b</name>\n  <devices>\n    <disk/>\n  </devices>\n</domain>\n",
  );
});

test("el() skips undefined attributes and children", () => {
  const e = el("os", { firmware: undefined }, el("type", { arch: "x86_64" }, "hvm"), undefined, false);
  assert.equal(formatElement(e), "<os>\n  <type arch='x86_64'>hvm</type>\n</os>\n");
});

test("malformed XML is a VirError with XML_DETAIL", () => {
  for (const bad of ["", "garbage", "<a><b></a>", "<a>"]) {
    assert.throws(
      () => parseXml(bad, { context: "(domain_definition)" }),
      (e: unknown) => {
        assert.ok(e instanceof VirError);
        assert.equal(e.code, ErrorCode.XML_DETAIL);
        assert.match(e.message, /^\(domain_definition\):\d+: /);
        return true;
      },
    );
  }
});
