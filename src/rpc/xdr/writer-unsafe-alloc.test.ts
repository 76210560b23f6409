// XdrWriter takes its buffers from Buffer.allocUnsafe: stale bytes in Node's pool must never
// reach an encoded message (padding and growth copies included).
import assert from "node:assert/strict";
import { test } from "node:test";
import { XdrWriter } from "./writer.js";

test("encoded bytes never carry stale pool contents", () => {
  // Stand-in for uninitialised memory: allocUnsafe returns buffers full of 0xff for this test.
  const real = Buffer.allocUnsafe;
  Buffer.allocUnsafe = (n: number) => Buffer.alloc(n, 0xff);
  try {
    const w = new XdrWriter();
    w.string("a", 100);
    w.string("é", 100);
    w.string("x".repeat(70), 100);
    w.varOpaque(Uint8Array.of(1, 2, 3), 100);
    w.fixedOpaque(Uint8Array.of(9), 6);
    w.hexOpaque("ab", 1);
    w.canonicalUuid("00000000-0000-0000-0000-000000000000");
    w.raw(new Uint8Array(2000)); // forces a growth copy
    w.uint(0);
    const b = w.toBuffer();
    const expect = Buffer.concat([
      Buffer.from([0, 0, 0, 1, 0x61, 0, 0, 0]),
      Buffer.from([0, 0, 0, 2, 0xc3, 0xa9, 0, 0]),
      Buffer.concat([Buffer.from([0, 0, 0, 70]), Buffer.from("x".repeat(70)), Buffer.alloc(2)]),
      Buffer.from([0, 0, 0, 3, 1, 2, 3, 0]),
      Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0xab, 0, 0, 0]),
      Buffer.alloc(16),
      Buffer.alloc(2000),
      Buffer.alloc(4),
    ]);
    assert.deepEqual(b, expect);
  } finally {
    Buffer.allocUnsafe = real;
  }
});
