// cow (user-mode-linux COW v2 as qemu's old driver wrote it, and v3 as UML's cow_user.c does).
// qemu-img 7.2 no longer reads this format, so fixtures are built here byte by byte and the
// layout is checked field by field against the two specs.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import "../src/image/formats/cow/index.js";
import { CowImage } from "../src/image/formats/cow/cow-image.js";
import {
  COW_MAGIC,
  cowDataOffset,
  decodeCowHeader,
  encodeCowHeader,
} from "../src/image/formats/cow/header.js";
import { createImage, detectFormat, FileIO, ImageError, MemoryIO, openImage } from "../src/image/index.js";
import type { FormatOpenOptions } from "../src/image/registry.js";

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const opts: FormatOpenOptions = {
  readOnly: false,
  backingChain: false,
  openBacking: async () => {
    throw new ImageError("not-found", "none");
  },
  openFile: async () => {
    throw new ImageError("not-found", "none");
  },
};

async function bytesOf(io: MemoryIO): Promise<Uint8Array> {
  const b = new Uint8Array(await io.size());
  await io.read(0, b);
  return b;
}

test("cow v2 header layout: qemu's struct cow_header_v2, big-endian, naturally aligned", async () => {
  const io = new MemoryIO();
  await CowImage.create(io, 10 << 20, { backingFile: "base.img", mtime: 0x11223344 });
  const b = await bytesOf(io);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getUint32(0), COW_MAGIC);
  assert.equal(dv.getUint32(4), 2);
  assert.equal(Buffer.from(b.subarray(8, 16)).toString(), "base.img");
  assert.equal(dv.getInt32(1032), 0x11223344);
  assert.equal(Number(dv.getBigUint64(1040)), 10 << 20);
  assert.equal(dv.getUint32(1048), 512);
  // Bitmap right after the 1056-byte header, data at the next 512-byte boundary.
  assert.equal(b.length, 1056 + (10 << 20) / 512 / 8);
  const h = decodeCowHeader(b);
  assert.equal(h.dataOffset, Math.ceil((1056 + 2560) / 512) * 512);
  assert.deepEqual(encodeCowHeader(h), b.subarray(0, 1056));
});

test("cow v3 header layout: UML's packed cow_header_v3 with alignment", async () => {
  const io = new MemoryIO();
  await CowImage.create(io, 4 << 20, { version: 3, alignment: 4096, backingFile: "/b/base" });
  const b = await bytesOf(io);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getUint32(4), 3);
  assert.equal(Number(dv.getBigUint64(12)), 4 << 20);
  assert.equal(dv.getUint32(20), 512);
  assert.equal(dv.getUint32(24), 4096);
  assert.equal(dv.getUint32(28), 0);
  assert.equal(Buffer.from(b.subarray(32, 39)).toString(), "/b/base");
  const h = decodeCowHeader(b);
  assert.equal(h.bitmapOffset, 4128);
  assert.equal(h.dataOffset, cowDataOffset({ size: 4 << 20, alignment: 4096, bitmapOffset: 4128 }));
  assert.equal(h.dataOffset % 4096, 0);
});

test("cow refuses bad headers", () => {
  const b = encodeCowHeader({
    version: 2,
    backingFile: "",
    mtime: 0,
    size: 1 << 20,
    sectorSize: 512,
    alignment: 512,
    bitmapOffset: 1056,
    dataOffset: 0,
  });
  const bad = (mut: (dv: DataView) => void, re: RegExp) => {
    const c = b.slice();
    mut(new DataView(c.buffer));
    assert.throws(
      () => decodeCowHeader(c),
      (e: unknown) => e instanceof ImageError && re.test(e.message),
    );
  };
  bad((dv) => dv.setUint32(0, 0x12345678), /not in COW format/);
  bad((dv) => dv.setUint32(4, 1), /COW version 1/);
  bad((dv) => dv.setUint32(1048, 4096), /sector size/);
  bad((dv) => dv.setBigUint64(1040, 2n ** 60n), /too large/);
});

for (const version of [2, 3] as const) {
  test(`cow v${version}: sector-granular writes over a backing file match a model`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "cow-"));
    try {
      const size = (2 << 20) + 512 * 3;
      const base = new Uint8Array(size);
      for (let i = 0; i < size; i += 7) base[i] = (i * 13) & 0xff;
      writeFileSync(join(dir, "base.raw"), base);
      await createImage(join(dir, "c.cow"), "cow", undefined, {
        backing_file: "base.raw",
        version: String(version),
      });
      const probe = await FileIO.open(join(dir, "c.cow"), { readOnly: true });
      assert.equal(await detectFormat(probe), "cow");
      await probe.close();
      const img = await openImage(join(dir, "c.cow"));
      assert.equal(img.format, "cow");
      assert.equal(img.virtualSize, size);
      const model = base.slice();
      const r = rng(version);
      for (let i = 0; i < 40; i++) {
        const off = Math.floor(r() * (size - 1));
        const len = Math.min(size - off, 1 + Math.floor(r() * 20_000));
        const d = new Uint8Array(len).fill(1 + i);
        await img.write(off, d);
        model.set(d, off);
      }
      await img.close();
      const again = await openImage(join(dir, "c.cow"), { readOnly: true });
      const got = new Uint8Array(size);
      await again.read(0, got);
      assert.ok(Buffer.from(got).equals(Buffer.from(model)));
      const st = await again.blockStatus(0, size);
      assert.equal(
        st.reduce((s, e) => s + e.length, 0),
        size,
      );
      assert.ok(st.some((e) => e.present === false) && st.some((e) => e.data));
      assert.equal((await again.info()).backingFilename, "base.raw");
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("cow fuzz: mutated images fail only with ImageError", async () => {
  const io = new MemoryIO();
  await CowImage.create(io, 1 << 20);
  const img = await CowImage.open(io, opts);
  await img.write(5000, new Uint8Array(30_000).fill(4));
  await img.flush();
  const base = await bytesOf(io);
  const r = rng(77);
  for (let i = 0; i < 300; i++) {
    const m = base.slice();
    for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++) {
      const at = r() < 0.5 ? 1024 + Math.floor(r() * 40) : Math.floor(r() * m.length);
      m[at] = Math.floor(r() * 256);
    }
    try {
      const v = await CowImage.open(new MemoryIO(m, { readOnly: true }), { ...opts, readOnly: true });
      const buf = new Uint8Array(Math.min(v.virtualSize, 2 << 20));
      await v.read(0, buf);
      await v.blockStatus(0, Math.min(v.virtualSize, 16 << 20));
    } catch (e) {
      assert.ok(e instanceof ImageError, `iteration ${i}: ${e}`);
    }
  }
});
