// XDR codec tests (RFC 4506): known encodings, round trips, and limits checked before allocation.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  array,
  bool,
  decode,
  double,
  encode,
  enumeration,
  fixedArray,
  fixedOpaque,
  float,
  hyper,
  int,
  optional,
  string,
  struct,
  uhyper,
  uint,
  union,
  varOpaque,
  XdrReader,
} from "../src/rpc/xdr/index.js";
import { isVirError } from "../src/errors/index.js";
import { charArray } from "../src/rpc/protocol/procedure.js";
import { domainRef, typedParam, uuid } from "../src/rpc/protocol/remote-types.js";

const hex = (b: Buffer) => b.toString("hex");

test("primitives encode big-endian as RFC 4506 says", () => {
  assert.equal(hex(encode(int, -2)), "fffffffe");
  assert.equal(hex(encode(uint, 0xdeadbeef)), "deadbeef");
  assert.equal(hex(encode(hyper, -1n)), "ffffffffffffffff");
  assert.equal(hex(encode(uhyper, 0x0102030405060708n)), "0102030405060708");
  assert.equal(hex(encode(bool, true)), "00000001");
  assert.equal(hex(encode(float, 1.5)), "3fc00000");
  assert.equal(hex(encode(double, -2)), "c000000000000000");
  // §4.11: length, bytes, zero padding to 4
  assert.equal(hex(encode(string(10), "abcde")), "00000005" + "6162636465" + "000000");
  assert.equal(hex(encode(fixedOpaque(3), Buffer.from([1, 2, 3]))), "01020300");
  assert.equal(hex(encode(varOpaque(8), Buffer.alloc(0))), "00000000");
  assert.equal(hex(encode(optional(int), null)), "00000000");
  assert.equal(hex(encode(optional(int), 7)), "0000000100000007");
});

test("round trips of composite codecs", () => {
  const c = struct("t", {
    a: array(string(100), 5),
    b: fixedArray(uint, 2),
    c: optional(struct("inner", { x: hyper })),
    d: union("u", { 1: int, 7: string(10) }),
    e: enumeration("e", [0, 1, 2]),
  });
  const v = { a: ["x", "", "héllo"], b: [1, 2], c: { x: -5n }, d: { type: 7, value: "s" }, e: 2 };
  assert.deepEqual(decode(c, encode(c, v)), v);
  const dom = { name: "test", uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f", id: 1 };
  assert.deepEqual(decode(domainRef, encode(domainRef, dom)), dom);
  assert.equal(encode(uuid, dom.uuid).length, 16);
  const tp = { field: "cpu_shares", type: 4, value: 1024 };
  assert.deepEqual(decode(typedParam, encode(typedParam, tp)), tp);
  assert.deepEqual(decode(charArray(32), encode(charArray(32), "i686")), "i686");
  assert.equal(encode(charArray(32), "i686").length, 128);
});

test("limits are enforced before allocating", () => {
  // declared length above the maximum
  assert.throws(() => decode(string(4), Buffer.from("0000000561626364650000", "hex")), /exceeds maximum 4/);
  // length word claims far more than the buffer holds: refused without allocating
  assert.throws(() => decode(varOpaque(0x7fffffff), Buffer.from("7fffffff", "hex")), /bytes left/);
  assert.throws(() => decode(array(hyper, 1 << 30), Buffer.from("0fffffff00000000", "hex")), /bytes left/);
  assert.throws(() => encode(string(2), "abc"), /exceeds maximum 2/);
  assert.throws(() => decode(bool, Buffer.from("00000002", "hex")), /bad boolean/);
  assert.throws(() => decode(optional(int), Buffer.from("00000002", "hex")), /optional-data/);
  assert.throws(() => decode(union("u", { 1: int }), Buffer.from("0000000200000000", "hex")), /not an arm/);
  assert.throws(() => decode(string(10), Buffer.from("000000016101", "hex")), /truncated/);
  assert.throws(() => decode(string(10), Buffer.from("0000000161010000", "hex")), /non-zero padding/);
  assert.throws(() => encode(int, 2 ** 31), /out of range/);
  assert.throws(() => decode(int, Buffer.from("0000000000", "hex")), /trailing/);
});

test("bounded fuzz: random bytes never crash a decoder, only throw", () => {
  const c = struct("fuzz", {
    s: string(64),
    a: array(domainRef, 16),
    o: optional(typedParam),
    h: uhyper,
  });
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 3000; i++) {
    const len = rnd() % 96;
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
    if (len >= 4 && i % 3 === 0) b.writeUInt32BE(rnd() % 8, 0);
    try {
      c.decode(new XdrReader(b));
    } catch (e) {
      assert.ok(isVirError(e), `unexpected ${String(e)}`);
    }
  }
});

test("uuid codec: canonical strings in, 16 bytes on the wire, malformed ones refused", () => {
  const u = "6695eb01-f6a4-8304-79aa-97f2502e193f";
  assert.equal(encode(uuid, u).toString("hex"), u.replaceAll("-", ""));
  assert.equal(decode(uuid, encode(uuid, u.toUpperCase())), u);
  for (const bad of ["", "6695eb01", "zz95eb01-f6a4-8304-79aa-97f2502e193f", `${u}0`]) {
    assert.throws(() => encode(uuid, bad), /uuid|hex/, bad);
  }
  // strings are written straight into the buffer: multi-byte UTF-8 and padding stay right
  assert.equal(hex(encode(string(20), "é")), "00000002c3a90000");
});
