// The dispatcher's fast path must put the same bytes on the wire as the general path: for every
// procedure with a `direct` mapping, the slot gets the arguments `invoke` would pass it and
// direct.ret encodes the slot's bare result exactly as ret.encode(invoke's ret value) does. Also
// the number fast paths of the XDR writer/reader against the BigInt ones.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { remoteProcedures } from "../src/rpc/protocol/program.js";
import { i64, u64, uuid } from "../src/rpc/protocol/remote-types.js";
import { encodeFrame, FrameDecoder } from "../src/rpc/protocol/frame.js";
import { type Codec, int, string, struct, uint, XdrReader, XdrWriter } from "../src/rpc/xdr/index.js";

/** A value of `c` decoded from random bytes (null when these bytes are not a value of c). */
function sample(c: Codec<any>, seed: Buffer): { v: unknown } | null {
  try {
    return { v: c.decode(new XdrReader(seed)) };
  } catch {
    return null;
  }
}

function bytes(enc: (w: XdrWriter) => void): Buffer | Error {
  const w = new XdrWriter();
  try {
    enc(w);
  } catch (e) {
    return e as Error;
  }
  return Buffer.from(w.toBuffer());
}

/** Mostly-zero bytes with a few small words: lengths stay small, optional data present. */
function seedBuffer(i: number): Buffer {
  const b = Buffer.alloc(4096);
  for (let o = 0; o < b.length; o += 4) b.writeUInt32BE(i === 0 ? 0 : (o / 4 + i) % 3, o);
  return b;
}

test("direct mapping: same slot arguments and same reply bytes as invoke, for every procedure", async () => {
  let checked = 0;
  for (const p of remoteProcedures.values()) {
    if (!p.direct) continue;
    for (let i = 0; i < 3; i++) {
      const args = sample(p.args, seedBuffer(i));
      if (!args) continue;
      // the slot's result: a value of the ret's only field, or of the whole ret
      const fields = (p.ret as { fields?: Record<string, Codec<any>> }).fields;
      const names = fields ? Object.keys(fields) : [];
      const retCodec = names.length === 1 ? fields![names[0]!]! : p.ret;
      const result = sample(retCodec, seedBuffer(i));
      if (!result) continue;
      let viaInvoke: unknown[] = [];
      const retValue = await p.invoke((...a: unknown[]) => {
        viaInvoke = a;
        return Promise.resolve(result.v);
      }, args.v);
      assert.deepEqual(p.direct.args(args.v), viaInvoke, `${p.name}: slot arguments`);
      const general = bytes((w) => p.ret.encode(w, retValue));
      const direct = bytes((w) => p.direct!.ret.encode(w, result.v));
      if (general instanceof Error) {
        assert.ok(direct instanceof Error, `${p.name}: both refuse`);
        assert.equal((direct as Error).message, general.message);
      } else {
        assert.deepEqual(direct, general, `${p.name}: reply bytes`);
      }
      checked++;
    }
  }
  assert.ok(checked > 300, `checked ${checked} procedure samples`);
});

test("direct ret: an unencodable result fails with the ret struct's field in the message", () => {
  const p = [...remoteProcedures.values()].find((x) => x.name === "DOMAIN_GET_XML_DESC")!;
  const general = bytes((w) => p.ret.encode(w, { xml: 42 }));
  const direct = bytes((w) => p.direct!.ret.encode(w, 42));
  assert.ok(general instanceof Error && direct instanceof Error);
  assert.equal(direct.message, general.message);
  assert.match(direct.message, / in field remote_domain_get_xml_desc_ret\.xml$/);
});

test("hyper / unsigned hyper: numbers encode as their BigInt; decode gives numbers up to 2^53", () => {
  const edges = [
    0,
    1,
    -1,
    2 ** 32 - 1,
    2 ** 32,
    -(2 ** 32),
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    2 ** 31,
    -(2 ** 31),
  ];
  for (let i = 0; i < 200; i++) {
    const r = randomBytes(8).readBigInt64BE(0) >> BigInt(i % 64);
    edges.push(Number(BigInt.asIntN(54, r)) % Number.MAX_SAFE_INTEGER);
  }
  for (const v of edges) {
    const a = bytes((w) => w.hyper(v));
    const b = bytes((w) => w.hyper(BigInt(v)));
    assert.deepEqual(a, b, `hyper ${v}`);
    assert.equal(i64.decode(new XdrReader(a as Buffer)), v === 0 ? 0 : v);
    if (v >= 0) {
      const ua = bytes((w) => w.uhyper(v));
      assert.deepEqual(
        ua,
        bytes((w) => w.uhyper(BigInt(v))),
        `uhyper ${v}`,
      );
      assert.equal(u64.decode(new XdrReader(ua as Buffer)), v);
    }
  }
  // beyond the safe range: bigints, as before
  const big = [2n ** 53n, 2n ** 63n - 1n, -(2n ** 53n), -(2n ** 63n)];
  for (const v of big) {
    const buf = bytes((w) => w.hyper(v)) as Buffer;
    assert.equal(i64.decode(new XdrReader(buf)), v);
  }
  const ubuf = bytes((w) => w.uhyper(2n ** 64n - 1n)) as Buffer;
  assert.equal(u64.decode(new XdrReader(ubuf)), 2n ** 64n - 1n);
  assert.equal(u64.decode(new XdrReader(bytes((w) => w.uhyper(2 ** 53)) as Buffer)), 2n ** 53n);
  // refusals keep their messages
  assert.match((bytes((w) => w.uhyper(-1)) as Error).message, /unsigned hyper out of range: -1/);
  assert.throws(() => new XdrWriter().hyper(1.5), RangeError);
  assert.match((bytes((w) => w.hyper(2n ** 63n)) as Error).message, /hyper out of range/);
});

test("uuid decode: 16 bytes as lowercase 8-4-4-4-12; truncated input refused", () => {
  for (let i = 0; i < 50; i++) {
    const raw = randomBytes(16);
    const h = raw.toString("hex");
    const want = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    assert.equal(uuid.decode(new XdrReader(raw)), want);
    assert.deepEqual(
      bytes((w) => uuid.encode(w, want)),
      raw,
    );
  }
  assert.throws(() => uuid.decode(new XdrReader(randomBytes(15))), /truncated fixed opaque/);
});

test("FrameDecoder.whole: exactly one frame with nothing buffered, else left to push()", () => {
  const frame = encodeFrame({ prog: 0x20008086, vers: 1, proc: 157, type: 0, serial: 7, status: 0 });
  const d = new FrameDecoder();
  assert.equal(d.whole(frame), frame);
  assert.equal(d.whole(Buffer.concat([frame, frame])), null);
  assert.equal(d.whole(frame.subarray(0, 10)), null);
  assert.equal(d.whole(frame.subarray(0, 3)), null);
  assert.deepEqual(d.push(frame.subarray(0, 10)), []);
  // something is buffered: the next chunk goes through push() even if it looks like a frame
  assert.equal(d.whole(frame), null);
  assert.equal(d.push(frame.subarray(10)).length, 1);
  // the length word is checked as push() checks it
  const tiny = Buffer.alloc(8);
  tiny.writeUInt32BE(8, 0);
  assert.throws(() => new FrameDecoder().whole(tiny), /too small/);
  assert.throws(() => new FrameDecoder().push(tiny), /too small/);
});

test("struct codec: fixed field order, errors name the field, non-objects refused", () => {
  const s = struct("remote_example", { name: string(16), id: int, big: u64 });
  const v = { name: "dom", id: -3, big: 2 ** 40 };
  const buf = bytes((w) => s.encode(w, v)) as Buffer;
  const back = s.decode(new XdrReader(buf));
  assert.deepEqual(back, v);
  assert.deepEqual(Object.keys(back), ["name", "id", "big"]);
  assert.match(
    (bytes((w) => s.encode(w, { name: "x", id: 2 ** 33, big: 0 })) as Error).message,
    / in field remote_example\.id$/,
  );
  assert.match((bytes((w) => s.encode(w, null as never)) as Error).message, /remote_example needs an object/);
  const nested = struct("outer", { inner: s, flags: uint });
  const msg = (
    bytes((w) => nested.encode(w, { inner: { name: "a".repeat(17), id: 0, big: 0 }, flags: 0 })) as Error
  ).message;
  assert.match(msg, / in field remote_example\.name$/);
});
