// qcow2 interop with real qemu-img/qemu-io, both ways: images qemu writes read identically
// through us (map included); images we write pass `qemu-img check` and compare equal.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createImage, type Image, openImage } from "../src/image/index.js";

const have = ["qemu-img", "qemu-io"].every((c) => spawnSync(c, ["--version"]).status === 0);
const dir = mkdtempSync(join(tmpdir(), "tsvirt-qcow2-interop-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const P = (n: string) => join(dir, n);
const qimg = (...a: string[]) => execFileSync("qemu-img", a, { encoding: "utf8" });
const qio = (file: string, ...cmds: string[]) =>
  execFileSync("qemu-io", [...cmds.flatMap((c) => ["-c", c]), file], { encoding: "utf8" });

async function readAll(img: Image): Promise<Buffer> {
  const b = new Uint8Array(img.virtualSize);
  await img.read(0, b);
  return Buffer.from(b);
}

/** Our full read equals qemu-img convert -O raw of the same image. */
async function assertReadsLikeQemu(file: string, opts: { imageOpts?: string[] } = {}): Promise<Image> {
  const raw = `${file}.raw`;
  qimg("convert", ...(opts.imageOpts ?? []), "-O", "raw", file, raw);
  const img = await openImage(file, { readOnly: true });
  const ours = await readAll(img);
  assert.ok(ours.equals(readFileSync(raw)), `contents of ${file} differ from qemu-img's`);
  return img;
}

function qemuMap(file: string): {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
}[] {
  return JSON.parse(qimg("map", "--output=json", file));
}

function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = seed * 2654435761;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// qemu-img map also asks the host file system for holes (SEEK_DATA) and reports sparse but
// allocated clusters as zero; Node cannot ask, so map is compared where that cannot arise.
const variants: [string, string, boolean?][] = [
  ["v3", ""],
  ["v2", "compat=0.10"],
  ["c512", "cluster_size=512"],
  ["c2m", "cluster_size=2M"],
  ["r1", "refcount_bits=1"],
  ["r64", "refcount_bits=64,cluster_size=4096"],
  ["extl2", "extended_l2=on,cluster_size=64k"],
  ["extl2-2m", "extended_l2=on,cluster_size=2M"],
  ["lazy", "lazy_refcounts=on"],
  ["prealloc", "preallocation=metadata", false],
];

for (const [name, o, compareMap = true] of variants) {
  test(`qemu-written ${name} image reads identically and maps the same`, async (t) => {
    if (!have) return t.skip("qemu-img/qemu-io not installed");
    const f = P(`q-${name}.qcow2`);
    qimg("create", "-q", "-f", "qcow2", ...(o ? ["-o", o] : []), f, "3M");
    qio(
      f,
      "write -P 0x11 0 100k",
      "write -P 0x22 1M 4k",
      "write -P 0x33 1500k 3k",
      "write -z 2M 64k",
      "write -P 0x44 3000k 72k",
    );
    const img = await assertReadsLikeQemu(f);
    const ours = (await img.blockStatus(0, img.virtualSize)).map((e) => ({
      start: e.start,
      length: e.length,
      depth: e.depth,
      present: e.present,
      zero: e.zero,
      data: e.data,
      ...(e.offset !== undefined ? { offset: e.offset } : {}),
    }));
    if (compareMap) assert.deepEqual(ours, qemuMap(f));
    await img.close();
  });
}

test("compressed clusters written by qemu-img convert -c read identically", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const src = P("c-src.raw");
  const data = new Uint8Array(1 << 20);
  data.set(
    pattern(300_000, 1).map((v) => v & 0x0f),
    0,
  ); // compressible
  data.set(pattern(100_000, 2), 600_000); // not compressible
  writeFileSync(src, data);
  const f = P("c.qcow2");
  qimg("convert", "-c", "-f", "raw", "-O", "qcow2", src, f);
  const img = await assertReadsLikeQemu(f);
  const st = await img.blockStatus(0, img.virtualSize);
  assert.ok(
    st.some((e) => e.compressed),
    "some clusters are compressed",
  );
  await img.close();
  // Overwriting inside a compressed cluster decompresses it (COW) and frees its sectors.
  const w = await openImage(f);
  await w.write(1000, new Uint8Array(10).fill(0xee));
  await w.close();
  data.fill(0xee, 1000, 1010);
  writeFileSync(src, data);
  assert.match(qimg("check", f), /No errors were found/);
  assert.match(qimg("compare", "-f", "raw", "-F", "qcow2", src, f), /Images are identical/);
});

test("backing chains of depth 3 with backing formats read and map like qemu", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const base = P("chain0.raw");
  writeFileSync(base, pattern(2 << 20, 3));
  qimg("create", "-q", "-f", "qcow2", "-b", "chain0.raw", "-F", "raw", P("chain1.qcow2"));
  qio(P("chain1.qcow2"), "write -P 0x55 64k 64k", "write -z 512k 64k");
  qimg(
    "create",
    "-q",
    "-f",
    "qcow2",
    "-o",
    "compat=0.10",
    "-b",
    "chain1.qcow2",
    "-F",
    "qcow2",
    P("chain2.qcow2"),
    "3M",
  );
  qio(P("chain2.qcow2"), "write -P 0x66 100k 10k");
  qimg("create", "-q", "-f", "qcow2", "-b", P("chain2.qcow2"), "-F", "qcow2", P("chain3.qcow2"));
  qio(P("chain3.qcow2"), "write -P 0x77 2900k 4k");
  const img = await assertReadsLikeQemu(P("chain3.qcow2"));
  const info = await img.info();
  assert.equal(info.backingFilename, P("chain2.qcow2"));
  assert.equal(info.backingFilenameFormat, "qcow2");
  const ours = (await img.blockStatus(0, img.virtualSize)).map((e) => [
    e.start,
    e.length,
    e.depth,
    e.data,
    e.zero,
  ]);
  const theirs = qemuMap(P("chain3.qcow2")).map((e) => [e.start, e.length, e.depth, e.data, e.zero]);
  assert.deepEqual(ours, theirs);
  await img.close();
  // Opened without the chain, unallocated ranges read as zeros.
  const alone = await openImage(P("chain3.qcow2"), { readOnly: true, backingChain: false });
  const b = new Uint8Array(4);
  await alone.read(0, b);
  assert.deepEqual([...b], [0, 0, 0, 0]);
  await alone.close();
});

const writeVariants: [string, Record<string, string>][] = [
  ["v3", {}],
  ["v2", { compat: "0.10" }],
  ["c512-r1", { cluster_size: "512", refcount_bits: "1" }],
  ["c4k-r64", { cluster_size: "4096", refcount_bits: "64" }],
  ["c8k-r32", { cluster_size: "8192", refcount_bits: "32" }],
  ["c2m-r8", { cluster_size: "2M", refcount_bits: "8" }],
  ["extl2", { extended_l2: "on", cluster_size: "32k" }],
  ["extl2-2m-v3", { extended_l2: "on", cluster_size: "2M", refcount_bits: "32" }],
  ["r2", { refcount_bits: "2", cluster_size: "1024" }],
  ["metadata", { preallocation: "metadata" }],
  ["full-r4", { preallocation: "full", refcount_bits: "4", cluster_size: "512" }],
];

for (const [name, o] of writeVariants) {
  test(`images we write (${name}) pass qemu-img check and compare equal`, async (t) => {
    if (!have) return t.skip("qemu-img/qemu-io not installed");
    const f = P(`w-${name}.qcow2`);
    const size = 3 * 1024 * 1024 + 512;
    await createImage(f, "qcow2", size, o);
    const img = await openImage(f);
    const ref = new Uint8Array(size);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 40; i++) {
      const off = rnd() % size;
      const d = pattern(Math.min(size - off, rnd() % 200_000), i);
      await img.write(off, d);
      ref.set(d, off);
      if (i % 6 === 0) {
        const zo = rnd() % size;
        const zl = Math.min(size - zo, rnd() % 150_000);
        await img.writeZeroes!(zo, zl);
        ref.fill(0, zo, zo + zl);
      }
    }
    assert.ok(Buffer.from(await readAll(img)).equals(Buffer.from(ref)));
    await img.close();
    writeFileSync(`${f}.ref`, ref);
    assert.match(qimg("check", f), /No errors were found/);
    assert.match(qimg("compare", "-f", "raw", "-F", "qcow2", `${f}.ref`, f), /Images are identical/);
  });
}

test("we create overlays on qemu-made backing files; qemu reads them", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  qimg("create", "-q", "-f", "qcow2", P("b0.qcow2"), "1M");
  qio(P("b0.qcow2"), "write -P 0x12 0 1M");
  await createImage(P("b1.qcow2"), "qcow2", undefined, { backing_file: "b0.qcow2", backing_fmt: "qcow2" });
  const img = await openImage(P("b1.qcow2"));
  assert.equal(img.virtualSize, 1 << 20);
  await img.write(70_000, new Uint8Array(1000).fill(0x34)); // partial cluster: COW from the backing file
  await img.close();
  qio(P("b1.qcow2"), "read -P 0x12 0 70000", "read -P 0x34 70000 1000", "read -P 0x12 71000 977576");
  assert.match(qimg("check", P("b1.qcow2")), /No errors were found/);
  const info = JSON.parse(qimg("info", "--output=json", P("b1.qcow2")));
  assert.equal(info["backing-filename"], "b0.qcow2");
  assert.equal(info["backing-filename-format"], "qcow2");
});

test("snapshots made by either tool are listed and applied by the other", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("snap.qcow2");
  qimg("create", "-q", "-f", "qcow2", f, "1M");
  qio(f, "write -P 1 0 300k");
  qimg("snapshot", "-c", "theirs", f);
  qio(f, "write -P 2 64k 64k");
  let img = await openImage(f);
  assert.deepEqual(
    (await img.snapshots!.list()).map((s) => [s.id, s.name]),
    [["1", "theirs"]],
  );
  await img.snapshots!.create("ours");
  await img.write(200_000, new Uint8Array(5000).fill(3));
  await img.close();
  assert.match(qimg("check", f), /No errors were found/);
  const listed = qimg("snapshot", "-l", f);
  assert.match(listed, /1\s+theirs/);
  assert.match(listed, /2\s+ours/);
  img = await openImage(f);
  await img.snapshots!.apply("theirs");
  await img.close();
  qio(f, "read -P 1 0 300k");
  qimg("snapshot", "-a", "ours", f);
  img = await openImage(f, { readOnly: true });
  const b = new Uint8Array(64 * 1024);
  await img.read(64 * 1024, b);
  assert.ok(b.every((v) => v === 2));
  await img.close();
  img = await openImage(f);
  await img.snapshots!.delete("1");
  await img.close();
  assert.match(qimg("check", f), /No errors were found/);
  assert.doesNotMatch(qimg("snapshot", "-l", f), /theirs/);
  qimg("snapshot", "-d", "ours", f);
  img = await openImage(f, { readOnly: true });
  assert.equal((await img.snapshots!.list()).length, 0);
  const r = await img.checker!.check();
  assert.equal(r.corruptions + r.leaks, 0);
  await img.close();
});

test("resize grow and shrink agree with qemu-img", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("rs.qcow2");
  await createImage(f, "qcow2", 1 << 20, { cluster_size: "4096" });
  let img = await openImage(f);
  await img.write(0, pattern(1 << 20, 9));
  await img.resizable!.resize(300 << 20); // needs a bigger L1 table
  await img.write((300 << 20) - 4096, new Uint8Array(4096).fill(5));
  await img.close();
  assert.match(qimg("check", f), /No errors were found/);
  assert.equal(JSON.parse(qimg("info", "--output=json", f))["virtual-size"], 300 << 20);
  qio(f, "read -P 5 314568704 4096");
  img = await openImage(f);
  await img.resizable!.resize(512 * 1024, { shrink: true });
  await img.close();
  assert.match(qimg("check", f), /No errors were found/);
  const want = pattern(1 << 20, 9).subarray(0, 512 * 1024);
  img = await openImage(f, { readOnly: true });
  assert.ok(Buffer.from(await readAll(img)).equals(Buffer.from(want)));
  await img.close();
});

test("info() reports qemu-img's format-specific keys", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  for (const [n, o] of [
    ["i3", "lazy_refcounts=on,extended_l2=on"],
    ["i2", "compat=0.10"],
  ] as const) {
    const f = P(`${n}.qcow2`);
    qimg("create", "-q", "-f", "qcow2", "-o", o, f, "1M");
    const q = JSON.parse(qimg("info", "--output=json", f));
    const img = await openImage(f, { readOnly: true });
    const info = await img.info();
    assert.deepEqual(info.formatSpecific, q["format-specific"]);
    assert.equal(info.clusterSize, q["cluster-size"]);
    assert.equal(info.dirtyFlag, q["dirty-flag"]);
    await img.close();
  }
});

test("LUKS: images we encrypt are read and written by qemu, and the other way", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("luks.qcow2");
  const secrets = { sec0: "hunter2" };
  await createImage(
    f,
    "qcow2",
    1 << 20,
    { "encrypt.format": "luks", "encrypt.key-secret": "sec0", "encrypt.iter-time": "10" },
    { secrets },
  );
  let img = await openImage(f, { secrets });
  await img.write(1000, new Uint8Array(70_000).fill(0x5a));
  await img.close();
  // Ciphertext only on disk.
  assert.equal(readFileSync(f).indexOf(Buffer.alloc(4096, 0x5a)), -1);
  const opts = [
    "--object",
    "secret,id=sec0,data=hunter2",
    "--image-opts",
    `driver=qcow2,file.filename=${f},encrypt.key-secret=sec0`,
  ];
  assert.match(qimg("check", ...opts), /No errors were found/);
  execFileSync("qemu-io", [
    ...opts.slice(0, 3),
    opts[3]!,
    "-c",
    "read -P 0x5a 1000 70000",
    "-c",
    "write -P 0x77 300k 5k",
  ]);
  const info = JSON.parse(qimg("info", "--output=json", ...opts));
  img = await openImage(f, { secrets, readOnly: true });
  assert.deepEqual((await img.info()).formatSpecific, info["format-specific"]);
  const b = new Uint8Array(5 * 1024);
  await img.read(300 * 1024, b);
  assert.ok(b.every((v) => v === 0x77));
  await img.close();
  await assert.rejects(openImage(f, { secrets: { sec0: "wrong" } }), /Invalid password/);
  const locked = await openImage(f, { readOnly: true });
  await assert.rejects(locked.read(0, new Uint8Array(512)), /key secret/);
  await locked.close();
});

test("legacy AES-CBC images written by qemu read through us, and ours read by qemu", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("aes.qcow2");
  qimg(
    "create",
    "-q",
    "-f",
    "qcow2",
    "--object",
    "secret,id=sec0,data=pw",
    "-o",
    "encrypt.format=aes,encrypt.key-secret=sec0",
    f,
    "1M",
  );
  execFileSync("qemu-io", [
    "--object",
    "secret,id=sec0,data=pw",
    "--image-opts",
    `driver=qcow2,file.filename=${f},encrypt.key-secret=sec0`,
    "-c",
    "write -P 0x42 4096 10000",
  ]);
  const img = await openImage(f, { readOnly: true, secrets: { sec0: "pw" } });
  const b = new Uint8Array(16384);
  await img.read(0, b);
  assert.ok(b.subarray(4096, 14096).every((v) => v === 0x42));
  assert.ok(b.subarray(0, 4096).every((v) => v === 0));
  await img.close();
  // Written through us (as qemu 7.2 still writes them), qemu reads it back.
  const w = await openImage(f, { secrets: { sec0: "pw" } });
  await w.write(65536, new Uint8Array(4096).fill(0x24));
  await w.close();
  const out = execFileSync(
    "qemu-io",
    [
      "--object",
      "secret,id=sec0,data=pw",
      "--image-opts",
      `driver=qcow2,file.filename=${f},encrypt.key-secret=sec0`,
      "-c",
      "read -P 0x24 65536 4096",
      "-c",
      "read -P 0x42 4096 10000",
    ],
    { encoding: "utf8" },
  );
  assert.doesNotMatch(out, /fail/i);
  assert.equal(out.match(/^read /gm)?.length, 2);
});

test("external data files (plain and raw) interoperate with qemu", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  for (const raw of [false, true]) {
    const f = P(`df-${raw}.qcow2`);
    await createImage(f, "qcow2", 1 << 20, {
      data_file: P(`df-${raw}.data`),
      ...(raw ? { data_file_raw: "on" } : {}),
    });
    const img = await openImage(f);
    await img.write(0, new Uint8Array(5000).fill(0x31)); // guest cluster 0 lives at host offset 0
    await img.write(200_000, new Uint8Array(100_000).fill(0x32));
    await img.close();
    assert.match(qimg("check", f), /No errors were found/);
    qio(
      f,
      "read -P 0x31 0 5000",
      "read -P 0 5000 195000",
      "read -P 0x32 200000 100000",
      "write -P 0x33 600k 10k",
    );
    const info = JSON.parse(qimg("info", "--output=json", f));
    assert.equal(info["format-specific"].data["data-file-raw"], raw);
    const back = await assertReadsLikeQemu(f);
    assert.deepEqual((await back.info()).formatSpecific, info["format-specific"]);
    await back.close();
  }
});

test("persistent bitmaps are kept, accounted by check and flagged in-use when we write", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("bitmap.qcow2");
  qimg("create", "-q", "-f", "qcow2", f, "1M");
  qimg("bitmap", "--add", f, "b0");
  qio(f, "write -P 1 0 64k");
  const img = await openImage(f);
  const r = await img.checker!.check();
  assert.equal(r.leaks + r.corruptions, 0, r.messages.join("; "));
  await img.write(300_000, new Uint8Array(1000).fill(9));
  await img.close();
  assert.match(qimg("check", f), /No errors were found/);
  const bm = JSON.parse(qimg("info", "--output=json", f))["format-specific"].data.bitmaps;
  assert.equal(bm[0].name, "b0");
  assert.ok(bm[0].flags.includes("in-use"));
  const again = await openImage(f, { readOnly: true });
  assert.deepEqual(
    (await again.info()).formatSpecific,
    JSON.parse(qimg("info", "--output=json", f))["format-specific"],
  );
  await again.close();
});

test("writeCompressed produces clusters qemu reads, checks and compares equal", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  for (const cs of [65536, 4096]) {
    const f = P(`wc-${cs}.qcow2`);
    await createImage(f, "qcow2", 1 << 20, { cluster_size: String(cs) });
    const img = await openImage(f);
    const ref = new Uint8Array(1 << 20);
    for (let c = 0; c < (1 << 20) / cs; c++) {
      const d = c % 5 === 4 ? pattern(cs, c) : pattern(cs, c).map((v) => v & 3);
      await img.writeCompressed!(c * cs, d);
      ref.set(d, c * cs);
    }
    await img.write(cs + 10, new Uint8Array(100).fill(1)); // COW out of a compressed cluster
    ref.fill(1, cs + 10, cs + 110);
    await img.close();
    writeFileSync(`${f}.ref`, ref);
    const chk = qimg("check", f);
    assert.match(chk, /No errors were found/);
    assert.match(chk, /[1-9][\d.]*% compressed clusters/);
    assert.match(qimg("compare", "-f", "raw", "-F", "qcow2", `${f}.ref`, f), /Images are identical/);
  }
});

test("a dirty image (lazy refcounts, writer killed) is repaired on read-write open", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("dirty.qcow2");
  qimg("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", f, "1M");
  spawnSync("qemu-io", ["-c", "write -P 9 0 200k", "-c", "abort", f]);
  const ro = await openImage(f, { readOnly: true });
  assert.equal((await ro.info()).dirtyFlag, true);
  const b = new Uint8Array(200 * 1024);
  await ro.read(0, b);
  assert.ok(b.every((v) => v === 9));
  await ro.close();
  const rw = await openImage(f);
  assert.equal((await rw.info()).dirtyFlag, false);
  await rw.close();
  assert.match(qimg("check", f), /No errors were found/);
  qio(f, "read -P 9 0 200k");
});

test("create options give the same qemu-img info as qemu-img create with them", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const optionSets: Record<string, string>[] = [
    {},
    { compat: "0.10" },
    { compat: "1.1", lazy_refcounts: "on", refcount_bits: "64", cluster_size: "4096" },
    { extended_l2: "on", cluster_size: "128k" },
    { refcount_bits: "1", cluster_size: "2M" },
    { compression_type: "zlib", preallocation: "metadata" },
    { preallocation: "falloc" },
    { preallocation: "full", cluster_size: "16k" },
  ];
  const pick = (j: Record<string, unknown>) => ({
    size: j["virtual-size"],
    cs: j["cluster-size"],
    fs: j["format-specific"],
    dirty: j["dirty-flag"],
  });
  for (const [i, o] of optionSets.entries()) {
    const ours = P(`opt-ours-${i}.qcow2`);
    const theirs = P(`opt-theirs-${i}.qcow2`);
    await createImage(ours, "qcow2", 3 * 1024 * 1024, o);
    const kv = Object.entries(o).map(([k, v]) => `${k}=${v}`);
    qimg("create", "-q", "-f", "qcow2", ...(kv.length ? ["-o", kv.join(",")] : []), theirs, "3M");
    assert.deepEqual(
      pick(JSON.parse(qimg("info", "--output=json", ours))),
      pick(JSON.parse(qimg("info", "--output=json", theirs))),
      `options ${kv.join(",")}`,
    );
    assert.match(qimg("check", ours), /No errors were found/);
    const img = await openImage(theirs, { readOnly: true });
    const info = await img.info();
    assert.deepEqual(
      info.formatSpecific,
      JSON.parse(qimg("info", "--output=json", theirs))["format-specific"],
    );
    await img.close();
  }
});

test("rewriting the header (rebase -u) keeps bitmaps and other extensions", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("rebase.qcow2");
  qimg("create", "-q", "-f", "qcow2", f, "1M");
  qimg("bitmap", "--add", f, "keep");
  writeFileSync(P("base.raw"), new Uint8Array(1 << 20));
  const img = await openImage(f);
  await img.backing!.setBacking("base.raw", "raw");
  await img.close();
  const j = JSON.parse(qimg("info", "--output=json", "-U", f));
  assert.equal(j["backing-filename"], "base.raw");
  assert.equal(j["backing-filename-format"], "raw");
  assert.equal(j["format-specific"].data.bitmaps[0].name, "keep");
  assert.match(qimg("check", f), /No errors were found/);
});

test("subcluster writes allocate only what they touch, mapping like qemu's own writes", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const ours = P("sub-ours.qcow2");
  const theirs = P("sub-theirs.qcow2");
  const o = { extended_l2: "on", cluster_size: "64k" };
  await createImage(ours, "qcow2", 1 << 20, o);
  qimg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=64k", theirs, "1M");
  const writes: [number, number, number][] = [
    [0x21, 1000, 3000],
    [0x22, 70_000, 2048],
    [0x23, 300_000, 40_000],
  ];
  const img = await openImage(ours);
  for (const [v, off, len] of writes) await img.write(off, new Uint8Array(len).fill(v));
  await img.close();
  qio(theirs, ...writes.map(([v, off, len]) => `write -P ${v} ${off} ${len}`));
  const shape = (f: string) => qemuMap(f).map((e) => [e.start, e.length, e.data, e.zero, e.present]);
  assert.deepEqual(shape(ours), shape(theirs));
  assert.match(qimg("compare", ours, theirs), /Images are identical/);
  assert.match(qimg("check", ours), /No errors were found/);
});

test("amend: compat, refcount_bits and lazy_refcounts match qemu-img amend", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const steps: Record<string, string>[] = [
    { refcount_bits: "1" },
    { refcount_bits: "64" },
    { refcount_bits: "16", lazy_refcounts: "on" },
    { lazy_refcounts: "off", compat: "0.10" },
    { compat: "1.1" },
  ];
  const ours = P("amend-ours.qcow2");
  const theirs = P("amend-theirs.qcow2");
  qimg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", ours, "2M");
  qio(ours, "write -P 3 0 300k", "write -z 100k 8k", "write -P 4 1M 20k");
  execFileSync("cp", [ours, theirs]);
  for (const o of steps) {
    const img = await openImage(ours);
    await (img as unknown as { amend(o: Record<string, string>): Promise<void> }).amend(o);
    await img.close();
    qimg(
      "amend",
      "-o",
      Object.entries(o)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
      theirs,
    );
    const a = JSON.parse(qimg("info", "--output=json", ours));
    const b = JSON.parse(qimg("info", "--output=json", theirs));
    assert.deepEqual(a["format-specific"], b["format-specific"], JSON.stringify(o));
    assert.match(qimg("check", ours), /No errors were found/);
    assert.match(qimg("compare", ours, theirs), /Images are identical/);
  }
});

test("amend refuses to narrow refcounts below a shared cluster's count", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("amend-narrow.qcow2");
  qimg("create", "-q", "-f", "qcow2", f, "1M");
  qio(f, "write -P 1 0 64k");
  qimg("snapshot", "-c", "s", f);
  const img = await openImage(f);
  await assert.rejects(
    (img as unknown as { amend(o: Record<string, string>): Promise<void> }).amend({ refcount_bits: "1" }),
    /Cannot decrease refcount entry width to 1 bits: Cluster at offset 0x[0-9a-f]+ has a refcount of 2/,
  );
  await img.close();
  assert.match(qimg("check", f), /No errors were found/);
});

test("LUKS with aes-128 and sha1: qemu reads it and reports the same encrypt info", async (t) => {
  if (!have) return t.skip("qemu-img/qemu-io not installed");
  const f = P("luks128.qcow2");
  const secrets = { k: "pw" };
  const o = {
    "encrypt.format": "luks",
    "encrypt.key-secret": "k",
    "encrypt.iter-time": "10",
    "encrypt.cipher-alg": "aes-128",
    "encrypt.hash-alg": "sha1",
  };
  await createImage(f, "qcow2", 1 << 20, o, { secrets });
  const img = await openImage(f, { secrets, options: { "encrypt.key-secret": "k" } });
  await img.write(4096, new Uint8Array(8192).fill(0x6b));
  const opts = [
    "--object",
    "secret,id=k,data=pw",
    "--image-opts",
    `driver=qcow2,file.filename=${f},encrypt.key-secret=k`,
  ];
  execFileSync("qemu-io", [...opts, "-c", "read -P 0x6b 4096 8192"]);
  assert.deepEqual(
    (await img.info()).formatSpecific,
    JSON.parse(qimg("info", "--output=json", ...opts))["format-specific"],
  );
  await img.close();
});
