// Save-image codec: round trip, libvirt's errors for damaged images, and a bounded fuzz run
// (every mutated or truncated image must end in a VirError, never a crash or a huge read).

import assert from "node:assert/strict";
import { test } from "node:test";
import { isVirError } from "../../errors/index.js";
import { decodeSaveImage, encodeSaveImage } from "./domain-save.js";

const XML = "<domain type='test'><name>x</name></domain>";

test("save images round-trip and damaged ones fail with libvirt's messages", () => {
  const img = encodeSaveImage(XML);
  assert.equal(img.length, 15 + 4 + XML.length);
  assert.equal(decodeSaveImage(img, "/p"), XML);
  const msg = (b: Uint8Array) => {
    try {
      decodeSaveImage(b, "/p");
      return "decoded";
    } catch (e) {
      assert.ok(isVirError(e));
      return e.message;
    }
  };
  assert.equal(msg(img.subarray(0, 10)), "incomplete save header in '/p': Success");
  const bad = Buffer.from(img);
  bad[0] = 0x41;
  assert.equal(msg(bad), "internal error: mismatched header magic");
  const huge = Buffer.from(img);
  huge.writeInt32LE(1 << 30, 15);
  assert.equal(msg(huge), "internal error: length of metadata out of range");
  assert.equal(msg(img.subarray(0, img.length - 1)), "incomplete metadata in '/p': Success");
});

test("bounded fuzz: mutated save images never crash the decoder", () => {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const base = encodeSaveImage(XML);
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(base.subarray(0, rnd() % (base.length + 1)));
    const flips = rnd() % 4;
    for (let j = 0; j < flips && b.length > 0; j++) b[rnd() % b.length] = rnd() & 0xff;
    try {
      const out = decodeSaveImage(b, "/fuzz");
      assert.ok(out.length <= 8192);
    } catch (e) {
      assert.ok(isVirError(e), String(e));
    }
  }
});
