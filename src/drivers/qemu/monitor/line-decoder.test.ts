// Line decoder: splitting, CR handling, the length cap, and a bounded fuzz run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LineDecoder, LineTooLongError } from "./line-decoder.js";

test("splits on LF, strips CR, keeps partial lines across chunks", () => {
  const d = new LineDecoder(100);
  assert.deepEqual(d.push(Buffer.from('{"a":1}\r\n{"b"')), ['{"a":1}']);
  assert.equal(d.pending, 4);
  assert.deepEqual(d.push(Buffer.from(":2}\r")), []);
  assert.deepEqual(d.push(Buffer.from("\n\r\n\n")), ['{"b":2}']);
  assert.equal(d.pending, 0);
});

test("multi-byte UTF-8 split across chunks decodes whole", () => {
  const d = new LineDecoder(100);
  const bytes = Buffer.from("héllo\n", "utf8");
  assert.deepEqual(d.push(bytes.subarray(0, 2)), []);
  assert.deepEqual(d.push(bytes.subarray(2)), ["héllo"]);
});

test("a line over the cap throws and the decoder stays failed", () => {
  const d = new LineDecoder(10);
  assert.deepEqual(d.push(Buffer.from("0123456789\n")), ["0123456789"]);
  assert.throws(() => d.push(Buffer.from("0123456789A")), LineTooLongError);
  assert.throws(() => d.push(Buffer.from("\n")), LineTooLongError);
  const d2 = new LineDecoder(10);
  d2.push(Buffer.from("01234"));
  assert.throws(() => d2.push(Buffer.from("567890")), /exceeds buffer size \(10 bytes\)/);
});

test("fuzz: random chunking of random bytes never exceeds the cap and matches a reference split", () => {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let round = 0; round < 300; round++) {
    const cap = 1 + (rnd() % 64);
    const len = rnd() % 400;
    const data = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      const r = rnd() % 10;
      data[i] = r === 0 ? 0x0a : r === 1 ? 0x0d : 0x41 + (rnd() % 26);
    }
    const d = new LineDecoder(cap);
    const got: string[] = [];
    let threw = false;
    let off = 0;
    while (off < len) {
      const n = 1 + (rnd() % 50);
      try {
        got.push(...d.push(data.subarray(off, off + n)));
      } catch (e) {
        assert.ok(e instanceof LineTooLongError);
        threw = true;
        break;
      }
      assert.ok(d.pending <= cap, "pending bytes stay within the cap");
      off += n;
    }
    // Reference: split complete lines; an over-long line (complete or trailing) must have thrown.
    const text = data.toString("latin1");
    const parts = text.split("\n");
    const tail = parts.pop()!;
    const complete = parts.map((p) => (p.endsWith("\r") ? p.slice(0, -1) : p));
    const tooLong = parts.some((p) => p.length > cap) || tail.length > cap;
    if (tooLong) assert.ok(threw, `round ${round}: expected a cap error`);
    else {
      assert.ok(!threw);
      assert.deepEqual(
        got,
        complete.filter((l) => l.length > 0),
      );
    }
  }
});
