import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { XdrWriter } from "../xdr/index.js";
import { decodeStreamHole, writeStreamHole } from "./stream-hole.js";

function body(length: bigint | number, flags = 0): Buffer {
  const w = new XdrWriter();
  w.hyper(length);
  w.uint(flags);
  return w.toBuffer();
}

test("stream hole bodies round-trip; bad ones decode to undefined", () => {
  for (const n of [0, 1, 4096, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    const w = new XdrWriter();
    writeStreamHole(w, n);
    assert.equal(decodeStreamHole(w.toBuffer()), n);
  }
  assert.equal(decodeStreamHole(body(-1n)), undefined, "negative");
  assert.equal(decodeStreamHole(body(2n ** 53n)), undefined, "past 2^53");
  assert.equal(decodeStreamHole(Buffer.alloc(0)), undefined, "empty");
  assert.equal(decodeStreamHole(Buffer.alloc(11)), undefined, "short");
});

test("bounded fuzz: random bodies never throw", () => {
  for (let i = 0; i < 2000; i++) {
    const r = decodeStreamHole(randomBytes(i % 24));
    assert.ok(r === undefined || (Number.isSafeInteger(r) && r >= 0));
  }
});
