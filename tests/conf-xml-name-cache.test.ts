// The XML scanner hands out element/attribute names and short values from slot caches keyed by
// (length, first, middle and last character): strings that share a slot must still come back as
// the text says, document after document, whichever was cached last.

import assert from "node:assert/strict";
import { test } from "node:test";
import { attr, elements, parseXml, textContent } from "../src/xml/index.js";

// Same length, first, middle and last character: the same slot in both caches.
const PAIRS: [string, string][] = [
  ["a1m2z", "a3m4z"],
  ["virtio", "vbrtlo"],
  ["x", "x"],
  ["ab", "ab"],
  ["q0000000000w", "q1111111111w"], // 12 characters: the longest cached value
  ["q00000000000w", "q11111111111w"], // 13: sliced, not cached
];

test("names and short values that share a cache slot come back as written", () => {
  for (let round = 0; round < 3; round++) {
    for (const [a, b] of PAIRS) {
      for (const v of [a, b, a, b]) {
        const root = parseXml(`<r ${v}='${v}' k='${v}'><${v} ${v}="${v}">${v}</${v}><t>${v}</t></r>`);
        assert.equal(root.attrs.length, 2);
        assert.equal(root.attrs[0]![0], v);
        assert.equal(attr(root, v), v);
        assert.equal(attr(root, "k"), v);
        const [kid, t] = elements(root);
        assert.equal(kid!.name, v);
        assert.equal(attr(kid!, v), v);
        assert.equal(textContent(kid!), v);
        assert.equal(textContent(t!), v);
      }
    }
  }
});

test("a cached value is not mistaken for a longer or shorter one at the same place", () => {
  const root = parseXml("<r><a x='abc'/><a x='abcd'/><a x='ab'/><a x='abc'/><a x=''/></r>");
  assert.deepEqual(
    elements(root).map((e) => attr(e, "x")),
    ["abc", "abcd", "ab", "abc", ""],
  );
  // text with references is built, not taken from the cache
  const t = parseXml("<r><a>x&amp;y</a><a>x&lt;y</a><a>xzy</a></r>");
  assert.deepEqual(
    elements(t).map((e) => textContent(e)),
    ["x&y", "x<y", "xzy"],
  );
});
