// vmdk: descriptor text exactly as qemu-img writes it, sparse header refusals, every subformat
// written at random against a model and read back by qemu-img, stream-optimized images with the
// grain directory in the footer (as VMware writes them), zeroed grains, parent chains, and a
// bounded fuzz of mutated sparse extents.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import "../src/image/formats/vmdk/index.js";
import { formatDescriptor, parseDescriptor } from "../src/image/formats/vmdk/descriptor.js";
import {
  decodeSparseHeader,
  encodeSparseHeader,
  GD_AT_END,
} from "../src/image/formats/vmdk/sparse-header.js";
import { VmdkImage } from "../src/image/formats/vmdk/vmdk-image.js";
import { createImage, type Image, ImageError, MemoryIO, openImage } from "../src/image/index.js";
import type { FormatOpenOptions } from "../src/image/registry.js";

const QEMU = existsSync("/usr/bin/qemu-img");

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

async function randomWrites(
  img: Image,
  model: Uint8Array,
  seed: number,
  n: number,
  aligned = false,
): Promise<void> {
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
    let off = Math.floor(r() * (model.length - 1));
    let len = Math.min(model.length - off, 1 + Math.floor(r() * 200_000));
    if (aligned) {
      // Stream-optimized extents take each grain once: whole grains, each written at most once.
      off = i * 3 * 65536;
      len = Math.min(65536 * (1 + (i % 2)), model.length - off);
      if (len <= 0) break;
    }
    const data = new Uint8Array(len);
    if (r() < 0.85) for (let j = 0; j < len; j += 31) data[j] = 1 + Math.floor(r() * 255);
    await img.write(off, data);
    model.set(data, off);
  }
}

const QEMU_DESCRIPTOR = `# Disk DescriptorFile
version=1
CID=867830c8
parentCID=534f1ddc
createType="monolithicSparse"
parentFileNameHint="t.vmdk"
# Extent description
RW 20480 SPARSE "dc.vmdk"

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "20"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
ddb.toolsVersion = "2147483647"
`;

test("vmdk descriptor parses and formats back byte for byte", () => {
  const d = parseDescriptor(QEMU_DESCRIPTOR);
  assert.equal(d.cid, 0x867830c8);
  assert.equal(d.parentCid, 0x534f1ddc);
  assert.equal(d.parentFileNameHint, "t.vmdk");
  // (An embedded descriptor's extent lines are not read, as in qemu; a descriptor file's are.)
  assert.deepEqual(d.extents, []);
  const extent = { access: "RW", sectors: 20480, type: "SPARSE", file: "dc.vmdk", offset: 0 } as const;
  const split = QEMU_DESCRIPTOR.replace("monolithicSparse", "twoGbMaxExtentSparse");
  assert.deepEqual(parseDescriptor(split, undefined, true).extents, [extent]);
  assert.throws(() => parseDescriptor(QEMU_DESCRIPTOR, undefined, true), /Unsupported image type/);
  d.extents = [extent];
  assert.equal(formatDescriptor(d), QEMU_DESCRIPTOR);
  // As qemu's vmdk_parse_extents: only RW extents with a file name count (RDONLY/ZERO skipped),
  // and a blank line reads the next line too (sscanf skips newlines as whitespace).
  const flat = parseDescriptor(
    'createType="monolithicFlat"\nRW 100 FLAT "x-flat.vmdk" 0\nRDONLY 50 ZERO\n\nRW 7 FLAT "y" 1\n',
    undefined,
    true,
  );
  assert.deepEqual(
    flat.extents.map((e) => `${e.sectors} ${e.file}`),
    ["100 x-flat.vmdk", "7 y", "7 y"],
  );
  assert.throws(() => parseDescriptor("version=1\n"), /invalid VMDK image descriptor/);
});

test("vmdk sparse header refuses bad fields", () => {
  const good = encodeSparseHeader({
    version: 1,
    flags: 3,
    capacity: 2048,
    grainSize: 128,
    descriptorOffset: 1,
    descriptorSize: 20,
    numGTEsPerGT: 512,
    rgdOffset: 21,
    gdOffset: 26n,
    overHead: 128,
    uncleanShutdown: 0,
    compressAlgorithm: 0,
  });
  assert.equal(decodeSparseHeader(good).capacity, 2048);
  const put = (off: number, v: number, bytes: number) => {
    const b = good.slice();
    const dv = new DataView(b.buffer);
    if (bytes === 4) dv.setUint32(off, v, true);
    else dv.setBigUint64(off, BigInt(v), true);
    return b;
  };
  assert.throws(() => decodeSparseHeader(put(4, 4, 4)), /Unsupported VMDK version/);
  assert.throws(() => decodeSparseHeader(put(20, 0, 8)), /granularity/);
  assert.throws(() => decodeSparseHeader(put(20, 100, 8)), /granularity/);
  assert.throws(() => decodeSparseHeader(put(44, 0, 4)), /L2 table size/);
  assert.throws(() => decodeSparseHeader(put(12, 2 ** 50, 8)), /capacity/);
  assert.throws(() => decodeSparseHeader(put(0, 0x12345678, 4)), ImageError);
});

for (const sub of [
  "monolithicSparse",
  "monolithicFlat",
  "twoGbMaxExtentSparse",
  "twoGbMaxExtentFlat",
  "streamOptimized",
  "zeroed",
]) {
  test(`vmdk ${sub}: random writes read back by tsvirt and qemu-img`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "vmdk-"));
    try {
      const size = (3 << 20) + 512 * 5;
      const opts: Record<string, string> = sub === "zeroed" ? { zeroed_grain: "on" } : { subformat: sub };
      await createImage(join(dir, "a.vmdk"), "vmdk", size, opts);
      const img = await openImage(join(dir, "a.vmdk"));
      const model = new Uint8Array(size);
      await randomWrites(img, model, sub.length, 25, sub === "streamOptimized");
      if (sub === "zeroed") {
        await img.writeZeroes!(0, 128 * 1024);
        model.fill(0, 0, 128 * 1024);
      }
      await img.close();
      const again = await openImage(join(dir, "a.vmdk"), { readOnly: true });
      const got = new Uint8Array(size);
      await again.read(0, got);
      const st = await again.blockStatus(0, size);
      await again.close();
      assert.ok(Buffer.from(got).equals(Buffer.from(model)));
      assert.equal(
        st.reduce((s, e) => s + e.length, 0),
        size,
      );
      if (!QEMU) return t.skip("qemu-img not installed");
      writeFileSync(join(dir, "model.raw"), model);
      execFileSync("qemu-img", ["compare", join(dir, "model.raw"), join(dir, "a.vmdk")]);
      execFileSync("qemu-img", ["check", join(dir, "a.vmdk")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("vmdk stream-optimized with the grain directory in the footer", {
  skip: !QEMU && "qemu-img missing",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmdk-"));
  try {
    const size = 2 << 20;
    await createImage(join(dir, "s.vmdk"), "vmdk", size, { subformat: "streamOptimized" });
    const img = await openImage(join(dir, "s.vmdk"));
    const model = new Uint8Array(size);
    await randomWrites(img, model, 77, 10, true);
    await img.close();
    // Rewrite as VMware does: header gdOffset = GD_AT_END, then footer marker, footer, EOS.
    const bytes = readFileSync(join(dir, "s.vmdk"));
    const h = decodeSparseHeader(bytes.subarray(0, 512));
    const head = encodeSparseHeader({ ...h, gdOffset: GD_AT_END });
    const marker = new Uint8Array(512);
    new DataView(marker.buffer).setUint32(12, 3, true); // footer marker: sectors 1, type 3
    new DataView(marker.buffer).setBigUint64(0, 1n, true);
    const out = Buffer.concat([
      head,
      bytes.subarray(512),
      marker,
      encodeSparseHeader(h),
      new Uint8Array(512),
    ]);
    writeFileSync(join(dir, "f.vmdk"), out);
    const f = await openImage(join(dir, "f.vmdk"), { readOnly: true });
    const got = new Uint8Array(size);
    await f.read(0, got);
    await f.close();
    assert.ok(Buffer.from(got).equals(Buffer.from(model)));
    writeFileSync(join(dir, "model.raw"), model);
    execFileSync("qemu-img", ["compare", join(dir, "model.raw"), join(dir, "f.vmdk")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vmdk parent chain: partial grain writes copy from the parent", {
  skip: !QEMU && "qemu-img missing",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmdk-"));
  try {
    const base = new Uint8Array(1 << 20);
    for (let i = 0; i < base.length; i += 512) base[i] = (i >> 9) & 0xff;
    writeFileSync(join(dir, "base.raw"), base);
    execFileSync("qemu-img", ["convert", "-O", "vmdk", join(dir, "base.raw"), join(dir, "base.vmdk")]);
    await createImage(join(dir, "child.vmdk"), "vmdk", undefined, {
      backing_file: "base.vmdk",
      backing_fmt: "vmdk",
    });
    const parentCid = (await openImage(join(dir, "base.vmdk"), { readOnly: true }).then(async (i) => {
      const c = (i as VmdkImage).desc.cid;
      await i.close();
      return c;
    })) as number;
    const child = await openImage(join(dir, "child.vmdk"));
    assert.equal((child as VmdkImage).desc.parentCid, parentCid);
    const model = base.slice();
    await randomWrites(child, model, 5, 12);
    await child.close();
    writeFileSync(join(dir, "model.raw"), model);
    execFileSync("qemu-img", ["compare", join(dir, "model.raw"), join(dir, "child.vmdk")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vmdk fuzz: mutated sparse extents fail only with ImageError", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmdk-"));
  try {
    await createImage(join(dir, "a.vmdk"), "vmdk", 1 << 20, {});
    const img = await openImage(join(dir, "a.vmdk"));
    await img.write(100_000, new Uint8Array(70_000).fill(5));
    await img.close();
    const base = new Uint8Array(readFileSync(join(dir, "a.vmdk")));
    const r = rng(4242);
    const opts: FormatOpenOptions = {
      readOnly: true,
      backingChain: false,
      openBacking: async () => {
        throw new ImageError("not-found", "none");
      },
      openFile: async () => {
        throw new ImageError("not-found", "none");
      },
    };
    for (let i = 0; i < 150; i++) {
      const m = base.slice();
      for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++) {
        const at =
          r() < 0.4
            ? Math.floor(r() * 80)
            : r() < 0.5
              ? 512 + Math.floor(r() * 400)
              : Math.floor(r() * 40_000);
        m[at] = Math.floor(r() * 256);
      }
      try {
        const v = await VmdkImage.open(new MemoryIO(m, { readOnly: true, path: "a.vmdk" }), opts);
        const buf = new Uint8Array(Math.min(v.virtualSize, 2 << 20));
        await v.read(0, buf);
        await v.blockStatus(0, Math.min(v.virtualSize, 64 << 20));
        await v.check();
      } catch (e) {
        assert.ok(e instanceof ImageError, `iteration ${i}: ${e}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
