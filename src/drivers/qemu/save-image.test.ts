// The QEMU save header codec: round trip, and bounded fuzzing of the untrusted decoder.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VirError } from "../../errors/index.js";
import { decodeSaveHeader, encodeSaveHeader, SAVE_HEADER_SIZE } from "./save-image.js";

test("save header round trip: magic, version 2, NUL-terminated XML, stream offset", () => {
  const xml = "<domain type='qemu'><name>é</name></domain>";
  const img = Buffer.concat([encodeSaveHeader(xml, true), Buffer.from("QEVM")]);
  assert.equal(img.subarray(0, 16).toString("latin1"), "LibvirtQemudSave");
  assert.equal(img.readUInt32LE(16), 2);
  const h = decodeSaveHeader(img);
  assert.equal(h.xml, xml);
  assert.equal(h.wasRunning, true);
  assert.equal(img.subarray(h.dataOffset, h.dataOffset + 4).toString(), "QEVM");
  assert.equal(h.dataOffset, SAVE_HEADER_SIZE + Buffer.byteLength(xml) + 1);
  assert.throws(() => decodeSaveHeader(encodeSaveHeader(xml, false, true)), /incomplete/);
});

test("save header decoder: random and truncated input only ever throws VirError", () => {
  const good = encodeSaveHeader("<domain/>", false);
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(good.subarray(0, rnd() % (good.length + 1)));
    for (let k = 0; k < 4 && b.length > 0; k++) b[rnd() % b.length] = rnd() & 0xff;
    try {
      decodeSaveHeader(b);
    } catch (e) {
      assert.ok(e instanceof VirError, String(e));
    }
  }
});
