// qcow (version 1): header checks (one bad field at a time), qemu-img's create layout byte for byte,
// random writes against a model with and without a backing file, compressed clusters both ways,
// legacy AES images written by qemu read back, and a bounded fuzz of mutated images.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import "../src/image/formats/qcow/index.js";
import { decodeQcowHeader, encodeQcowHeader } from "../src/image/formats/qcow/header.js";
import { QcowImage } from "../src/image/formats/qcow/qcow-image.js";
import { createImage, FileIO, type Image, ImageError, MemoryIO, openImage } from "../src/image/index.js";
import type { FormatOpenOptions } from "../src/image/registry.js";

const QEMU = existsSync("/usr/bin/qemu-img") && existsSync("/usr/bin/qemu-io");

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const noBacking: FormatOpenOptions = {
  readOnly: false,
  backingChain: false,
  openBacking: async () => {
    throw new ImageError("not-found", "no backing here");
  },
  openFile: async () => {
    throw new ImageError("not-found", "no files here");
  },
};

async function bytesOf(io: MemoryIO): Promise<Uint8Array> {
  const b = new Uint8Array(await io.size());
  await io.read(0, b);
  return b;
}

async function randomWrites(img: Image, model: Uint8Array, seed: number, n: number): Promise<void> {
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
    const off = Math.floor(r() * (model.length - 1));
    const len = Math.min(model.length - off, 1 + Math.floor(r() * 40_000));
    const data = new Uint8Array(len);
    if (r() < 0.8) for (let j = 0; j < len; j += 13) data[j] = 1 + Math.floor(r() * 255);
    await img.write(off, data);
    model.set(data, off);
  }
}

test("qcow header checks refuse each bad field", () => {
  const h = encodeQcowHeader({
    magic: 0x514649fb,
    version: 1,
    backingFileOffset: 0,
    backingFileSize: 0,
    mtime: 0,
    size: 1 << 20,
    clusterBits: 12,
    l2Bits: 9,
    cryptMethod: 0,
    l1TableOffset: 48,
  });
  assert.equal(decodeQcowHeader(h).size, 1 << 20);
  const cases: [number, number, RegExp][] = [
    [3, 0, /not in qcow format/],
    [7, 2, /version/],
    [32, 8, /Cluster size/],
    [32, 17, /Cluster size/],
    [33, 5, /L2 table size/],
    [33, 14, /L2 table size/],
    [39, 2, /encryption method/],
  ];
  for (const [off, v, re] of cases) {
    const b = h.slice();
    b[off] = v;
    assert.throws(
      () => decodeQcowHeader(b),
      (e: unknown) => e instanceof ImageError && re.test(e.message),
    );
  }
  const tiny = h.slice();
  tiny.fill(0, 24, 32);
  assert.throws(() => decodeQcowHeader(tiny), /too small/);
});

test("qcow random writes and compressed clusters match a model", async () => {
  const io = new MemoryIO();
  const size = (5 << 20) + 1000;
  await QcowImage.create(io, size);
  const img = await QcowImage.open(io, noBacking);
  const model = new Uint8Array(size);
  // Compressed clusters first (as convert -c writes them), then overwrite some of them.
  for (let c = 0; c < 16; c++) {
    const raw = new Uint8Array(4096).fill(c + 1);
    raw[c] = 0;
    await img.writeCompressedCluster(c * 4096 + 65536, await img.compressCluster(raw), raw);
    model.set(raw, c * 4096 + 65536);
  }
  await randomWrites(img, model, 5, 60);
  await img.flush();
  const again = await QcowImage.open(new MemoryIO(await bytesOf(io)), { ...noBacking, readOnly: true });
  const got = new Uint8Array(size);
  await again.read(0, got);
  assert.ok(Buffer.from(got).equals(Buffer.from(model)));
  const st = await again.blockStatus(0, size);
  assert.equal(
    st.reduce((s, e) => s + e.length, 0),
    size,
  );
});

test("qcow interop with qemu-img: layout, compressed, backing, AES", {
  skip: !QEMU && "qemu-img/qemu-io missing",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "qcow1-"));
  const p = (n: string) => join(dir, n);
  try {
    // Same bytes as qemu-img create, with and without a backing file.
    writeFileSync(p("base.raw"), Buffer.alloc(3 << 20, 0x41));
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow", p("q.qcow"), "10M"]);
    await createImage(p("t.qcow"), "qcow", 10 << 20, {});
    assert.ok(readFileSync(p("q.qcow")).equals(readFileSync(p("t.qcow"))));
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow", "-b", "base.raw", "-F", "raw", p("qb.qcow")]);
    await createImage(p("tb.qcow"), "qcow", undefined, { backing_file: "base.raw", backing_fmt: "raw" });
    assert.ok(readFileSync(p("qb.qcow")).equals(readFileSync(p("tb.qcow"))));
    // Writes over a backing file: qemu reads back what the model says.
    const img = await openImage(p("tb.qcow"));
    const model = new Uint8Array(3 << 20).fill(0x41);
    await randomWrites(img, model, 11, 30);
    await img.close();
    writeFileSync(p("model.raw"), model);
    execFileSync("qemu-img", ["compare", p("model.raw"), p("tb.qcow")]);
    // Compressed clusters written by us read by qemu.
    const c = await openImage(p("t.qcow"));
    const cw = c as QcowImage;
    const m2 = new Uint8Array(10 << 20);
    for (let i = 0; i < 40; i++) {
      const raw = new Uint8Array(4096).fill(i);
      await cw.writeCompressedCluster(i * 8192, await cw.compressCluster(raw), raw);
      m2.set(raw, i * 8192);
    }
    await c.close();
    writeFileSync(p("m2.raw"), m2);
    execFileSync("qemu-img", ["compare", p("m2.raw"), p("t.qcow")]);
    // AES written by qemu-io, read with the key (and refused without it).
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow",
      "--object",
      "secret,id=s0,data=abc",
      "-o",
      "encrypt.format=aes,encrypt.key-secret=s0",
      p("aes.qcow"),
      "1M",
    ]);
    execFileSync("qemu-io", [
      "--object",
      "secret,id=s0,data=abc",
      "--image-opts",
      `driver=qcow,file.filename=${p("aes.qcow")},encrypt.key-secret=s0`,
      "-c",
      "write -P 0x33 4096 64k",
    ]);
    const io = await FileIO.open(p("aes.qcow"), { readOnly: true });
    const aes = await QcowImage.open(io, {
      ...noBacking,
      readOnly: true,
      options: { "encrypt.key-secret": "s0" },
      secrets: { s0: "abc" },
    });
    const got = new Uint8Array(80_000);
    await aes.read(0, got);
    const want = new Uint8Array(80_000);
    want.fill(0x33, 4096, 4096 + 65536);
    assert.ok(Buffer.from(got).equals(Buffer.from(want)));
    assert.equal((await aes.info()).encrypted, true);
    await aes.close();
    const locked = await openImage(p("aes.qcow"), { readOnly: true });
    await assert.rejects(
      locked.read(0, new Uint8Array(512)),
      (e: unknown) => e instanceof ImageError && e.kind === "encrypted",
    );
    await locked.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("qcow fuzz: mutated images fail only with ImageError", async () => {
  const io = new MemoryIO();
  await QcowImage.create(io, 2 << 20);
  const img = await QcowImage.open(io, noBacking);
  await img.write(70000, new Uint8Array(9000).fill(3));
  const raw = new Uint8Array(4096).fill(7);
  await img.writeCompressedCluster(1 << 20, await img.compressCluster(raw), raw);
  await img.flush();
  const base = await bytesOf(io);
  const r = rng(1234);
  for (let i = 0; i < 300; i++) {
    const m = base.slice();
    for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++) {
      const at = r() < 0.5 ? Math.floor(r() * 64) : Math.floor(r() * m.length);
      m[at] = Math.floor(r() * 256);
    }
    try {
      const v = await QcowImage.open(new MemoryIO(m, { readOnly: true }), { ...noBacking, readOnly: true });
      const buf = new Uint8Array(Math.min(v.virtualSize, 4 << 20));
      await v.read(0, buf);
      await v.blockStatus(0, Math.min(v.virtualSize, 64 << 20));
    } catch (e) {
      assert.ok(e instanceof ImageError, `iteration ${i}: ${e}`);
    }
  }
});
