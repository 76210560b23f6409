// qcow2 header fixtures built byte by byte: a minimal valid image opens; changing one field at
// a time to a bad value is refused with the right error kind (and qemu-img refuses it too).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ImageError, type ImageErrorKind, MemoryIO, openImage } from "../src/image/index.js";
import { zstdAvailable } from "../src/image/io/native.js";

const CS = 4096;
const haveQemu = spawnSync("qemu-img", ["--version"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "tsvirt-qcow2-hdr-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Field = { off: number; len: 1 | 2 | 4 | 8 };
const F = {
  magic: { off: 0, len: 4 },
  version: { off: 4, len: 4 },
  backingOffset: { off: 8, len: 8 },
  backingSize: { off: 16, len: 4 },
  clusterBits: { off: 20, len: 4 },
  size: { off: 24, len: 8 },
  crypt: { off: 32, len: 4 },
  l1Size: { off: 36, len: 4 },
  l1Offset: { off: 40, len: 8 },
  rtOffset: { off: 48, len: 8 },
  rtClusters: { off: 56, len: 4 },
  nbSnapshots: { off: 60, len: 4 },
  snapOffset: { off: 64, len: 8 },
  incompat: { off: 72, len: 8 },
  compat: { off: 80, len: 8 },
  autoclear: { off: 88, len: 8 },
  refcountOrder: { off: 96, len: 4 },
  headerLength: { off: 100, len: 4 },
  compressionType: { off: 104, len: 1 },
} satisfies Record<string, Field>;

function put(b: Uint8Array, f: Field, v: bigint | number): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  if (f.len === 1) dv.setUint8(f.off, Number(v));
  else if (f.len === 2) dv.setUint16(f.off, Number(v));
  else if (f.len === 4) dv.setUint32(f.off, Number(v));
  else dv.setBigUint64(f.off, BigInt(v));
}

/** 1 MiB, 4 KiB clusters: header 0, reftable 1, refblock 2, L1 3 (one entry), 16-bit refcounts. */
function minimal(): Uint8Array {
  const b = new Uint8Array(4 * CS);
  put(b, F.magic, 0x514649fb);
  put(b, F.version, 3);
  put(b, F.clusterBits, 12);
  put(b, F.size, 1 << 20);
  put(b, F.l1Size, 1);
  put(b, F.l1Offset, 3 * CS);
  put(b, F.rtOffset, CS);
  put(b, F.rtClusters, 1);
  put(b, F.refcountOrder, 4);
  put(b, F.headerLength, 112);
  put(b, { off: CS, len: 8 }, 2 * CS); // reftable[0] → refblock
  for (let c = 0; c < 4; c++) put(b, { off: 2 * CS + c * 2, len: 2 }, 1);
  return b;
}

async function openBytes(b: Uint8Array, readOnly = true) {
  return openImage(new MemoryIO(b, { readOnly }), { format: "qcow2", readOnly, backingChain: false });
}

test("the hand-built minimal image opens, reads zeros and checks clean", async (t) => {
  const img = await openBytes(minimal());
  assert.equal(img.virtualSize, 1 << 20);
  const r = await img.checker!.check();
  assert.equal(r.corruptions + r.leaks + r.checkErrors, 0);
  await img.close();
  if (!haveQemu) return t.skip("qemu-img not installed");
  const p = join(dir, "ok.qcow2");
  writeFileSync(p, minimal());
  assert.equal(spawnSync("qemu-img", ["check", p]).status, 0);
});

const bad: {
  name: string;
  set: [Field, bigint | number][];
  kind: ImageErrorKind;
  msg: RegExp;
  qemuRefuses?: boolean;
  /** qemu-img refuses it with this very message. */
  qemuSays?: boolean;
}[] = [
  {
    name: "bad magic",
    set: [[F.magic, 0x514649fa]],
    kind: "format",
    msg: /not in qcow2 format/,
    qemuRefuses: true,
  },
  { name: "version 1", set: [[F.version, 1]], kind: "unsupported", msg: /Unsupported qcow2 version 1/ },
  {
    name: "version 4",
    set: [[F.version, 4]],
    kind: "unsupported",
    msg: /Unsupported qcow2 version 4/,
    qemuRefuses: true,
  },
  {
    name: "cluster_bits 8",
    set: [[F.clusterBits, 8]],
    kind: "format",
    msg: /Unsupported cluster size: 2\^8/,
    qemuRefuses: true,
  },
  {
    name: "cluster_bits 22",
    set: [[F.clusterBits, 22]],
    kind: "format",
    msg: /Unsupported cluster size: 2\^22/,
    qemuRefuses: true,
  },
  {
    name: "header_length < 104",
    set: [[F.headerLength, 96]],
    kind: "format",
    msg: /header too short/,
    qemuRefuses: true,
  },
  {
    name: "header_length > cluster",
    set: [[F.headerLength, CS + 8]],
    kind: "format",
    msg: /exceeds cluster size/,
    qemuRefuses: true,
  },
  {
    name: "unknown incompatible bit",
    set: [[F.incompat, 1n << 5n]],
    kind: "unsupported",
    msg: /^Unsupported qcow2 feature\(s\): Unknown incompatible feature: 20$/,
    qemuSays: true,
    qemuRefuses: true,
  },
  {
    name: "high incompatible bit",
    set: [[F.incompat, 1n << 40n]],
    kind: "unsupported",
    msg: /^Unsupported qcow2 feature\(s\): Unknown incompatible feature: 10000000000$/,
    qemuSays: true,
    qemuRefuses: true,
  },
  {
    name: "refcount_order 7",
    set: [[F.refcountOrder, 7]],
    kind: "format",
    msg: /width too large/,
    qemuRefuses: true,
  },
  {
    name: "crypt_method 3",
    set: [[F.crypt, 3]],
    kind: "format",
    msg: /^Unsupported encryption method 3$/,
    qemuSays: true,
    qemuRefuses: true,
  },
  {
    name: "L1 too large",
    set: [[F.l1Size, 0x2000000 / 8 + 1]],
    kind: "format",
    msg: /Active L1 table too large/,
    qemuRefuses: true,
  },
  {
    name: "L1 too small for the size",
    set: [[F.size, 1n << 40n]],
    kind: "format",
    msg: /L1 table is too small/,
    qemuRefuses: true,
  },
  {
    name: "L1 offset unaligned",
    set: [[F.l1Offset, 3 * CS + 8]],
    kind: "format",
    msg: /Active L1 table offset invalid/,
    qemuRefuses: true,
  },
  {
    name: "no refcount table",
    set: [[F.rtClusters, 0]],
    kind: "format",
    msg: /does not contain a reference count table/,
    qemuRefuses: true,
  },
  {
    name: "refcount table too large",
    set: [[F.rtClusters, 0x800000 / CS + 1]],
    kind: "format",
    msg: /Reference count table too large/,
    qemuRefuses: true,
  },
  {
    name: "refcount table unaligned",
    set: [[F.rtOffset, CS + 512]],
    kind: "format",
    msg: /Reference count table offset invalid/,
    qemuRefuses: true,
  },
  {
    name: "too many snapshots",
    set: [
      [F.nbSnapshots, 65537],
      [F.snapOffset, CS],
    ],
    kind: "format",
    msg: /Too many snapshots/,
    qemuRefuses: true,
  },
  {
    name: "snapshot table unaligned",
    set: [
      [F.nbSnapshots, 1],
      [F.snapOffset, CS + 8],
    ],
    kind: "format",
    msg: /Snapshot table offset invalid/,
    qemuRefuses: true,
  },
  {
    name: "backing name too long",
    set: [
      [F.backingOffset, 512],
      [F.backingSize, 1024],
    ],
    kind: "format",
    msg: /Backing file name too long/,
    qemuRefuses: true,
  },
  {
    name: "backing name past the cluster",
    set: [
      [F.backingOffset, CS - 4],
      [F.backingSize, 8],
    ],
    kind: "format",
    msg: /Backing file name too long/,
    qemuRefuses: true,
  },
  {
    name: "unknown compression type",
    set: [
      [F.compressionType, 2],
      [F.incompat, 8],
    ],
    kind: "format",
    msg: /^qcow2: unknown compression type: 2$/,
    qemuSays: true,
    qemuRefuses: true,
  },
  {
    name: "compression type without its bit",
    set: [[F.compressionType, 1]],
    kind: "format",
    msg: /^qcow2: Compression type incompatible feature bit must be set$/,
    qemuSays: true,
    qemuRefuses: true,
  },
  {
    name: "extended L2 with 4 KiB clusters",
    set: [[F.incompat, 16]],
    kind: "format",
    msg: /Extended L2/,
    qemuRefuses: true,
  },
  {
    name: "data-file bit without a name",
    set: [[F.incompat, 4]],
    kind: "format",
    msg: /data file/,
  },
  {
    name: "size past 2^53",
    set: [[F.size, 1n << 60n]],
    kind: "format",
    msg: /^Image is too big$/,
    qemuSays: true,
    qemuRefuses: true,
  },
];

for (const c of bad) {
  test(`header: ${c.name} is refused`, async (t) => {
    const b = minimal();
    for (const [f, v] of c.set) put(b, f, v);
    let message = "";
    await assert.rejects(openBytes(b), (e: unknown) => {
      assert.ok(e instanceof ImageError, `not an ImageError: ${e}`);
      assert.equal(e.kind, c.kind, e.message);
      assert.match(e.message, c.msg);
      message = e.message;
      return true;
    });
    if (!c.qemuRefuses) return;
    if (!haveQemu) return t.skip("qemu-img not installed");
    const p = join(dir, `${c.name.replace(/\W+/g, "-")}.qcow2`);
    writeFileSync(p, b);
    const r = spawnSync("qemu-img", ["info", "-f", "qcow2", p], { encoding: "utf8" });
    assert.notEqual(r.status, 0, `qemu-img accepted it: ${r.stdout}`);
    // qemu-img's own words (it prints "qemu-img: Could not open 'FILE': MESSAGE")
    if (c.qemuSays) assert.ok(r.stderr.trimEnd().endsWith(`: ${message}`), r.stderr);
  });
}

test("header: an L1 table past EOF (truncated file) reads as zeros, as qemu-img reads it", async (t) => {
  const b = minimal();
  put(b, F.l1Offset, 100 * CS);
  const img = await openBytes(b);
  const buf = new Uint8Array(4096).fill(1);
  await img.read(0, buf);
  assert.ok(buf.every((x) => x === 0));
  await img.close();
  if (!haveQemu) return t.skip("qemu-img not installed");
  const p = join(dir, "l1-past-eof.qcow2");
  writeFileSync(p, b);
  const r = spawnSync("qemu-img", ["info", "-f", "qcow2", p], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("corrupt bit: read-only open works, read-write open is refused", async () => {
  const b = minimal();
  put(b, F.incompat, 2);
  const ro = await openBytes(b, true);
  await ro.close();
  await assert.rejects(openBytes(b, false), /Image is corrupt; cannot be opened read\/write/);
});

test("zstd images open; a compressed cluster that is no zstd frame reads as EIO (as qemu's), or 'unsupported' without libzstd", async () => {
  const b = minimal();
  put(b, F.incompat, 8);
  put(b, F.compressionType, 1);
  // L1[0] → L2 at cluster 4; L2[0] compressed descriptor at 5*CS.
  const img = new Uint8Array(6 * CS);
  img.set(b);
  put(img, { off: 3 * CS, len: 8 }, 0x8000000000000000n | BigInt(4 * CS));
  const x = 62n - (12n - 8n);
  put(img, { off: 4 * CS, len: 8 }, (1n << 62n) | (0n << x) | BigInt(5 * CS));
  for (let c = 4; c < 6; c++) put(img, { off: 2 * CS + c * 2, len: 2 }, 1);
  const o = await openBytes(img);
  const info = await o.info();
  assert.equal(info.formatSpecific?.data["compression-type"], "zstd");
  // (the descriptor's data are zeros: no zstd frame)
  const kind = zstdAvailable() ? "io" : "unsupported";
  await assert.rejects(o.read(0, new Uint8Array(512)), (e) => e instanceof ImageError && e.kind === kind);
  await o.close();
});
