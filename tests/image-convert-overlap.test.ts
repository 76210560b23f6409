// qcow2 writes issued without waiting (what convert's copy engine does): each request plans and
// allocates under the image's lock in call order and writes its data outside it. Checked over a
// BlockIO whose writes complete after random delays (out of order): the image reads back as the
// requests say, check finds nothing, and (without snapshots, whose entries hold the time) the
// file is byte for byte the one that one-at-a-time writes produce (same allocation order, so the same layout as qemu-img's in-order writes).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type BlockIO,
  createImage,
  ImageError,
  type Image,
  MemoryIO,
  openImage,
} from "../src/image/index.js";

/** Writes land after a random delay (seeded), so concurrent ones complete in any order. */
class DelayIO implements BlockIO {
  failAt = -1;
  writes = 0;
  constructor(
    readonly inner: MemoryIO,
    private seed: number,
  ) {}
  get readOnly() {
    return false;
  }
  private rand(): number {
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648;
  }
  read(o: number, b: Uint8Array) {
    return this.inner.read(o, b);
  }
  async write(o: number, b: Uint8Array) {
    const n = ++this.writes;
    // Large (data) writes wait longer than small (metadata) ones, in random amounts.
    const ms = b.length >= 4096 ? Math.floor(this.rand() * 4) : this.rand() < 0.2 ? 1 : 0;
    if (ms) await new Promise((r) => setTimeout(r, ms));
    if (n === this.failAt) throw new ImageError("io", `injected failure at write ${n}`);
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

const SIZE = 8 << 20;

type Op =
  | { kind: "write"; off: number; data: Uint8Array }
  | { kind: "zero"; off: number; len: number }
  | { kind: "compressed"; off: number; data: Uint8Array }
  | { kind: "snapshot"; name: string };

/** A seeded mix: cluster-aligned and unaligned writes (some overlapping), zeroes, compressed clusters, a snapshot. */
function workload(seed: number, cs: number, snapshots: boolean): Op[] {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
  const ops: Op[] = [];
  for (let i = 0; i < 120; i++) {
    const r = rand(100);
    if (r < 55) {
      // Runs like convert's: whole clusters, back to back.
      const off = rand(SIZE / cs - 40) * cs;
      const data = new Uint8Array((1 + rand(32)) * cs);
      for (let j = 0; j < data.length; j += 512) data[j] = 1 + rand(250);
      ops.push({ kind: "write", off, data });
    } else if (r < 80) {
      const off = rand(SIZE - 70_000);
      const data = new Uint8Array(1 + rand(65_000)).fill(1 + rand(250));
      ops.push({ kind: "write", off, data });
    } else if (r < 90) {
      ops.push({ kind: "zero", off: rand(SIZE / cs - 8) * cs, len: (1 + rand(6)) * cs });
    } else if (r < 98) {
      const data = new Uint8Array(cs).fill(7 + rand(3));
      ops.push({ kind: "compressed", off: rand(SIZE / cs) * cs, data });
    } else if (snapshots) ops.push({ kind: "snapshot", name: `s${i}` });
  }
  return ops;
}

function apply(img: Image, op: Op, ref: Uint8Array): Promise<void> {
  switch (op.kind) {
    case "write":
      ref.set(op.data, op.off);
      return img.write(op.off, op.data);
    case "zero":
      ref.fill(0, op.off, op.off + op.len);
      return img.writeZeroes!(op.off, op.len);
    case "compressed":
      ref.set(op.data, op.off);
      return img.writeCompressed!(op.off, op.data);
    case "snapshot":
      return img.snapshots!.create(op.name).then(() => {});
  }
}

async function run(opts: Record<string, string>, seed: number, concurrent: boolean, snapshots = false) {
  const mem = new MemoryIO();
  await createImage(mem, "qcow2", SIZE, opts);
  const io = new DelayIO(mem, seed + 1);
  const img = await openImage(io, { format: "qcow2" });
  const cs = Number(opts.cluster_size ?? 65536);
  const ref = new Uint8Array(SIZE);
  const jobs: Promise<void>[] = [];
  for (const op of workload(seed, cs, snapshots)) {
    const p = apply(img, op, ref);
    if (concurrent) jobs.push(p);
    else await p;
  }
  await Promise.all(jobs);
  const back = new Uint8Array(SIZE);
  await img.read(0, back);
  const r = await img.checker!.check();
  await img.close();
  const file = new Uint8Array(await mem.size());
  await mem.read(0, file);
  return { ref, back, r, file };
}

for (const [name, opts] of [
  ["64 KiB clusters, v3", { cluster_size: "65536" }],
  ["4 KiB clusters, v2", { cluster_size: "4096", compat: "0.10" }],
  ["16 KiB clusters, extended L2", { cluster_size: "16384", extended_l2: "on" }],
  ["512-byte clusters, 64-bit refcounts", { cluster_size: "512", refcount_bits: "64" }],
] as const) {
  test(`writes in flight together: same data and same file as one at a time (${name})`, async () => {
    for (const seed of [1, 2, 3]) {
      const a = await run(opts, seed, false);
      const b = await run(opts, seed, true);
      assert.ok(Buffer.from(a.back).equals(Buffer.from(a.ref)), `sequential read-back, seed ${seed}`);
      assert.ok(Buffer.from(b.back).equals(Buffer.from(b.ref)), `concurrent read-back, seed ${seed}`);
      for (const r of [a.r, b.r])
        assert.equal(r.corruptions + r.leaks + r.checkErrors, 0, r.messages.slice(0, 3).join("; "));
      assert.equal(b.file.length, a.file.length, `file length, seed ${seed}`);
      assert.ok(Buffer.from(b.file).equals(Buffer.from(a.file)), `same file bytes, seed ${seed}`);
    }
  });
}

test("writes in flight together with snapshots taken between them: same data, clean image", async () => {
  for (const opts of [{ cluster_size: "65536" }, { cluster_size: "16384", extended_l2: "on" }]) {
    for (const seed of [4, 5]) {
      const b = await run(opts, seed, true, true);
      assert.ok(Buffer.from(b.back).equals(Buffer.from(b.ref)), `read-back, seed ${seed}`);
      assert.equal(b.r.corruptions + b.r.leaks + b.r.checkErrors, 0, b.r.messages.slice(0, 3).join("; "));
    }
  }
});

test("a failed data write among writes in flight leaves at most leaks", async () => {
  const cs = 65536;
  for (const failAt of [40, 61, 95]) {
    const mem = new MemoryIO();
    await createImage(mem, "qcow2", SIZE, {});
    const io = new DelayIO(mem, failAt);
    const img = await openImage(io, { format: "qcow2" });
    io.failAt = failAt;
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const data = new Uint8Array(cs * (1 + (i % 3))).fill(i + 1);
      jobs.push(img.write(((i * 37) % 100) * cs, data));
    }
    const results = await Promise.allSettled(jobs);
    assert.ok(
      results.some((r) => r.status === "rejected"),
      `write ${failAt} failed`,
    );
    await img.close();
    const again = await openImage(mem, { format: "qcow2" });
    const r = await again.checker!.check();
    assert.equal(r.corruptions + r.checkErrors, 0, r.messages.slice(0, 3).join("; "));
    await again.close();
  }
});
