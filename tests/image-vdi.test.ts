// vdi: header codec and the checks qemu's vdi_open makes (one bad field at a time), layout of new
// images against qemu-img's, random writes against an in-memory model, interop with qemu-img both
// ways, and a bounded fuzz of open/read/map/check on mutated images.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import "../src/image/formats/vdi/index.js";
import { decodeVdiHeader, encodeVdiHeader } from "../src/image/formats/vdi/header.js";
import { VdiImage } from "../src/image/formats/vdi/vdi-image.js";
import { createImage, ImageError, MemoryIO, openImage } from "../src/image/index.js";

const QEMU_IMG = existsSync("/usr/bin/qemu-img");

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

async function bytesOf(io: MemoryIO): Promise<Uint8Array> {
  const b = new Uint8Array(await io.size());
  await io.read(0, b);
  return b;
}

async function newVdi(size: number, isStatic = false): Promise<MemoryIO> {
  const io = new MemoryIO();
  await VdiImage.create(io, size, { static: isStatic });
  return io;
}

test("vdi header round-trips and every bad field is refused", async () => {
  const io = await newVdi(5 << 20);
  const hb = new Uint8Array(512);
  await io.read(0, hb);
  const h = decodeVdiHeader(hb);
  assert.equal(h.diskSize, 5 << 20);
  assert.equal(h.blocksInImage, 5);
  assert.equal(h.offsetBmap, 0x200);
  assert.equal(h.offsetData, 0x400);
  assert.deepEqual(new Uint8Array(encodeVdiHeader(h)), hb);
  const bad: [number, number, RegExp][] = [
    [0x40, 0x12345678, /signature/],
    [0x44, 0x00010000, /version/],
    [0x154, 0x201, /block map offset/],
    [0x158, 0x3ff, /data offset/],
    [0x168, 4096, /sector size/],
    [0x178, 4096, /block size/],
    [0x1a8, 1, /non-NULL link UUID/],
    [0x1b8, 1, /non-NULL parent UUID/],
    [0x180, 0x40000000, /too many blocks/],
  ];
  // Fields qemu's vdi_open does not check: the header still opens.
  for (const [off, value] of [
    [0x17c, 1],
    [0x184, 6],
  ] as const) {
    const b = Buffer.from(hb);
    b.writeUInt32LE(value, off);
    assert.doesNotThrow(() => decodeVdiHeader(b), `field 0x${off.toString(16)}`);
  }
  for (const [off, value, re] of bad) {
    const b = Buffer.from(hb);
    b.writeUInt32LE(value, off);
    assert.throws(
      () => decodeVdiHeader(b),
      (e: unknown) => e instanceof ImageError && re.test(e.message),
      `field 0x${off.toString(16)}`,
    );
  }
});

test("vdi random writes match a model, across reopen", async () => {
  const size = (7 << 20) + 512 * 3;
  for (const isStatic of [false, true]) {
    const io = await newVdi(size, isStatic);
    const r = rng(isStatic ? 7 : 3);
    const model = new Uint8Array(Math.ceil(size / 512) * 512);
    let img = await VdiImage.open(io, false);
    for (let i = 0; i < 40; i++) {
      const off = Math.floor(r() * (model.length - 1));
      const len = Math.min(model.length - off, 1 + Math.floor(r() * 300_000));
      const data = new Uint8Array(len);
      if (r() < 0.8) for (let j = 0; j < len; j += 97) data[j] = 1 + Math.floor(r() * 255);
      await img.write(off, data);
      model.set(data, off);
    }
    const got = new Uint8Array(model.length);
    await img.read(0, got);
    assert.ok(Buffer.from(got).equals(Buffer.from(model)));
    await img.flush();
    img = await VdiImage.open(new MemoryIO(await bytesOf(io), { readOnly: true }), true);
    got.fill(0);
    await img.read(0, got);
    assert.ok(Buffer.from(got).equals(Buffer.from(model)), "after reopen");
    const chk = await img.check();
    assert.equal(chk.corruptions, 0);
    const st = await img.blockStatus(0, model.length);
    assert.equal(
      st.reduce((s, e) => s + e.length, 0),
      model.length,
    );
  }
});

test("vdi interop with qemu-img both ways", { skip: !QEMU_IMG && "qemu-img not installed" }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "vdi-"));
  try {
    // Ours -> qemu: create, write a pattern, qemu-img check and compare against a raw reference.
    const ref = new Uint8Array(3 << 20);
    for (let i = 0; i < ref.length; i += 4096) ref[i + 17] = (i >> 12) & 0xff;
    ref.fill(0, 1 << 20, 2 << 20);
    writeFileSync(join(dir, "ref.raw"), ref);
    await createImage(join(dir, "a.vdi"), "vdi", ref.length, {});
    const a = await openImage(join(dir, "a.vdi"));
    await a.write(0, ref);
    await a.close();
    execFileSync("qemu-img", ["check", join(dir, "a.vdi")]);
    execFileSync("qemu-img", ["compare", join(dir, "ref.raw"), join(dir, "a.vdi")]);
    // Layout equals qemu-img's apart from the two random UUIDs.
    execFileSync("qemu-img", ["create", "-q", "-f", "vdi", join(dir, "q.vdi"), "3M"]);
    await createImage(join(dir, "t.vdi"), "vdi", 3 << 20, {});
    const q = readFileSync(join(dir, "q.vdi"));
    const t = readFileSync(join(dir, "t.vdi"));
    q.fill(0, 0x188, 0x1a8);
    t.fill(0, 0x188, 0x1a8);
    assert.ok(q.equals(t));
    // qemu -> ours.
    execFileSync("qemu-img", ["convert", "-O", "vdi", join(dir, "ref.raw"), join(dir, "b.vdi")]);
    const b = await openImage(join(dir, "b.vdi"), { readOnly: true });
    const got = new Uint8Array(ref.length);
    await b.read(0, got);
    await b.close();
    assert.ok(Buffer.from(got).equals(Buffer.from(ref)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vdi fuzz: mutated images open, read and check or fail with ImageError", async () => {
  const io = await newVdi(3 << 20);
  const img = await VdiImage.open(io, false);
  await img.write(1 << 20, new Uint8Array(70000).fill(9));
  await img.flush();
  const base = await bytesOf(io);
  const r = rng(99);
  for (let i = 0; i < 300; i++) {
    const m = base.slice();
    const n = 1 + Math.floor(r() * 8);
    for (let k = 0; k < n; k++) {
      const at = r() < 0.7 ? 0x150 + Math.floor(r() * 0xb0) : Math.floor(r() * Math.min(m.length, 0x500));
      m[at] = Math.floor(r() * 256);
    }
    try {
      const v = await VdiImage.open(new MemoryIO(m, { readOnly: true }), true);
      const buf = new Uint8Array(Math.min(v.virtualSize, 4 << 20));
      await v.read(0, buf);
      await v.blockStatus(0, v.virtualSize);
      await v.check();
    } catch (e) {
      assert.ok(e instanceof ImageError, `iteration ${i}: ${e}`);
    }
  }
});
