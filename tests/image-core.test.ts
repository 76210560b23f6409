// Core image layer: MemoryIO/FileIO semantics, the magic probe, openImage/createImage and raw.

import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createImage, FileIO, ImageError, MemoryIO, openImage, probeFormat } from "../src/image/index.js";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsvirt-img-core-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("MemoryIO is sparse, reads zeros past EOF, discards and truncates", async () => {
  const io = new MemoryIO();
  await io.write(200_000, new Uint8Array([1, 2, 3]));
  assert.equal(await io.size(), 200_003);
  assert.deepEqual(await io.dataRanges(0, 300_000), [{ offset: 196_608, length: 200_003 - 196_608 }]);
  const b = new Uint8Array(6);
  await io.read(199_999, b);
  assert.deepEqual([...b], [0, 1, 2, 3, 0, 0]);
  await io.discard(200_001, 1);
  await io.read(200_000, b.subarray(0, 3));
  assert.deepEqual([...b.subarray(0, 3)], [1, 0, 3]);
  await io.truncate(200_001);
  await io.truncate(300_000);
  await io.read(200_000, b.subarray(0, 3));
  assert.deepEqual([...b.subarray(0, 3)], [1, 0, 0]);
  const ro = new MemoryIO(new Uint8Array(10), { readOnly: true });
  await assert.rejects(
    ro.write(0, new Uint8Array(1)),
    (e) => e instanceof ImageError && e.kind === "read-only",
  );
});

test("FileIO: positional I/O, zero-fill past EOF, discard, allocated bytes", async () => {
  const p = join(dir, "f.bin");
  const io = await FileIO.open(p, { create: true, truncate: true });
  await io.write(4096, new Uint8Array([9, 9, 9]));
  assert.equal(await io.size(), 4099);
  const b = new Uint8Array(8);
  await io.read(4094, b);
  assert.deepEqual([...b], [0, 0, 9, 9, 9, 0, 0, 0]);
  await io.truncate(1 << 20);
  await io.discard(4097, 1);
  await io.read(4096, b.subarray(0, 3));
  assert.deepEqual([...b.subarray(0, 3)], [9, 0, 9]);
  assert.ok((await io.allocatedBytes()) > 0);
  await io.close();
  await assert.rejects(
    FileIO.open(join(dir, "missing")),
    (e) => e instanceof ImageError && e.kind === "not-found",
  );
});

test("probe recognises each format's magic and falls back to raw", () => {
  const h = (bytes: number[], at = 0) => {
    const b = new Uint8Array(512);
    b.set(bytes, at);
    return b;
  };
  assert.equal(probeFormat(h([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3])), "qcow2");
  assert.equal(probeFormat(h([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 2])), "qcow2");
  assert.equal(probeFormat(h([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1])), "qcow");
  assert.equal(probeFormat(h([0x4f, 0x4f, 0x4f, 0x4d, 0, 0, 0, 2])), "cow");
  assert.equal(probeFormat(h([0x4b, 0x44, 0x4d, 0x56])), "vmdk");
  assert.equal(probeFormat(new TextEncoder().encode("# Disk DescriptorFile\nversion=1\n")), "vmdk");
  assert.equal(probeFormat(h([0x7f, 0x10, 0xda, 0xbe], 0x40)), "vdi");
  // qcow2_probe takes any version from 2 up (an unsupported one is refused on open)
  assert.equal(probeFormat(h([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 9])), "qcow2");
  assert.equal(probeFormat(new Uint8Array(0)), "raw");
});

test("raw: create, write, read, resize, blockStatus", async () => {
  const p = join(dir, "r.raw");
  await createImage(p, "raw", 1 << 20);
  const img = await openImage(p);
  assert.equal(img.format, "raw");
  assert.equal(img.virtualSize, 1 << 20);
  await img.write(1000, new Uint8Array([7, 8]));
  const b = new Uint8Array(2);
  await img.read(1000, b);
  assert.deepEqual([...b], [7, 8]);
  await assert.rejects(img.read((1 << 20) - 1, b), ImageError);
  await img.resizable!.resize(2 << 20);
  assert.equal(img.virtualSize, 2 << 20);
  await assert.rejects(img.resizable!.resize(1 << 20), /--shrink/);
  const ext = await img.blockStatus(0, 2 << 20);
  assert.equal(
    ext.reduce((a, e) => a + e.length, 0),
    2 << 20,
  );
  await img.close();
  assert.equal((await stat(p)).size, 2 << 20);

  const mem = new MemoryIO();
  await createImage(mem, "raw", 256 * 1024);
  const m = await openImage(mem);
  await m.write(70_000, new Uint8Array([1]));
  const st = await m.blockStatus(0, 256 * 1024);
  assert.deepEqual(
    st.map((e) => [e.start, e.length, e.data]),
    [
      [0, 65536, false],
      [65536, 65536, true],
      [131072, 131072, false],
    ],
  );
});

test("openImage probes a file written by hand", async () => {
  const p = join(dir, "x.img");
  await writeFile(p, Buffer.from("hello"));
  const img = await openImage(p, { readOnly: true });
  assert.equal(img.format, "raw");
  assert.equal(img.virtualSize, 512); // whole sectors, as qemu-img info shows a 5-byte file
  await assert.rejects(
    img.write(0, new Uint8Array(1)),
    (e) => e instanceof ImageError && e.kind === "read-only",
  );
  await img.close();
});

test("a create that fails on its options leaves no file behind", async () => {
  const p = join(dir, "bad.qcow2");
  await assert.rejects(
    createImage(p, "qcow2", 1 << 20, { cluster_size: "3" }),
    /Cluster size must be a power of two/,
  );
  await assert.rejects(stat(p), /ENOENT/);
});
