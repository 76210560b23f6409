// Crash consistency: a BlockIO that fails the N-th host write, for every N across a workload
// (allocating writes, COW of shared clusters, snapshots, refcount-table growth, resize). After
// each failure the image, reopened, may leak clusters but never has corruptions.

import assert from "node:assert/strict";
import { test } from "node:test";
import { type BlockIO, createImage, ImageError, MemoryIO, openImage } from "../src/image/index.js";

class FailingIO implements BlockIO {
  writes = 0;
  constructor(
    readonly inner: MemoryIO,
    readonly failAt: number,
  ) {}
  get readOnly() {
    return false;
  }
  read(o: number, b: Uint8Array) {
    return this.inner.read(o, b);
  }
  async write(o: number, b: Uint8Array) {
    if (++this.writes === this.failAt) throw new ImageError("io", `injected failure at write ${this.writes}`);
    return this.inner.write(o, b);
  }
  size() {
    return this.inner.size();
  }
  truncate(n: number) {
    return this.inner.truncate(n);
  }
  flush() {
    return this.inner.flush();
  }
  async close() {}
}

async function workload(io: BlockIO): Promise<void> {
  const img = await openImage(io, { format: "qcow2" });
  await img.write(3000, new Uint8Array(40_000).fill(1));
  await img.snapshots!.create("a");
  await img.write(10_000, new Uint8Array(20_000).fill(2)); // COW of shared L2 and data
  await img.write(200_000, new Uint8Array(60_000).fill(3));
  await img.writeZeroes!(0, 8192);
  await img.snapshots!.create("b");
  await img.snapshots!.apply("a");
  await img.snapshots!.delete("b");
  await img.resizable!.resize(3 << 20);
  await img.write((3 << 20) - 5000, new Uint8Array(5000).fill(4));
  await img.close();
}

async function fresh(): Promise<MemoryIO> {
  const mem = new MemoryIO();
  // 512-byte clusters and 64-bit refcounts: refcount blocks and the table fill up quickly.
  await createImage(mem, "qcow2", 1 << 20, { cluster_size: "512", refcount_bits: "64" });
  return mem;
}

test("a failed host write at any point leaves at most leaks", async () => {
  // Count the workload's writes once, then fail each one in turn (sampled to bound run time).
  const probe = new FailingIO(await fresh(), -1);
  await workload(probe);
  const total = probe.writes;
  assert.ok(total > 50, `workload did ${total} writes`);
  const step = Math.max(1, Math.floor(total / 80));
  let failures = 0;
  for (let n = 1; n <= total; n += step) {
    const mem = await fresh();
    const io = new FailingIO(mem, n);
    try {
      await workload(io);
    } catch (e) {
      assert.ok(e instanceof ImageError, String(e));
      failures++;
    }
    // An interrupted snapshot operation leaves the dirty bit: the next read-write open repairs.
    const dirty = ((await mem.bytes())[79]! & 1) !== 0;
    if (dirty) await (await openImage(new FailingIO(mem, -1), { format: "qcow2" })).close();
    const img = await openImage(mem, { format: "qcow2", readOnly: true });
    assert.equal((await img.info()).dirtyFlag, false);
    const r = await img.checker!.check();
    assert.equal(r.corruptions, 0, `failing write ${n}/${total}: ${r.messages.slice(0, 4).join("; ")}`);
    assert.equal(r.checkErrors, 0);
    await img.close();
  }
  assert.ok(failures > 0);
});
