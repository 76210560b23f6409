// The optional native addon (build/tsvirt_io.node) and the FileIO paths over it: extent maps
// against qemu-img's map, punch hole / zero range / copy_file_range, and the pure-JS fallback
// (TSVIRT_NO_NATIVE=1) giving the same image contents through the CLI.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { FileIO } from "../src/image/io/file-io.js";
import { nativeIO, nativeStatus } from "../src/image/io/native.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ADDON = join(ROOT, "build/tsvirt_io.node");
const CLI = join(ROOT, "dist/bin/tsvirt-img.js");
const KiB = 1024;
const MiB = 1 << 20;

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const QEMU = have("qemu-img");

/** A sparse file: data at [64K,192K), [1M,1M+4K) and [3M,4M), size 5 MiB (hole at the end). */
async function sparseFile(dir: string, name = "s.raw"): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, "");
  const fd = openSync(p, "r+");
  try {
    writeSync(fd, Buffer.alloc(128 * KiB, 0xa5), 0, 128 * KiB, 64 * KiB);
    writeSync(fd, Buffer.alloc(4 * KiB, 0x5a), 0, 4 * KiB, MiB);
    writeSync(fd, Buffer.alloc(MiB, 0x33), 0, MiB, 3 * MiB);
  } finally {
    closeSync(fd);
  }
  await truncate(p, 5 * MiB);
  return p;
}

/** qemu-img map's data runs of a raw file. */
function qemuDataRuns(p: string): { offset: number; length: number }[] {
  const map = JSON.parse(execFileSync("qemu-img", ["map", "-f", "raw", "--output=json", p]).toString()) as {
    start: number;
    length: number;
    data: boolean;
  }[];
  return map.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length }));
}

test("the addon is built wherever a C compiler and Node's headers are present", () => {
  if (process.env.TSVIRT_NO_NATIVE === "1") return;
  const canBuild = (have("cc") || have("gcc")) && existsSync("/usr/include/node/node_api.h");
  if (!canBuild) return;
  assert.ok(existsSync(ADDON), "build/tsvirt_io.node missing: run bash scripts/build-native.sh");
  assert.ok(nativeIO(), `addon did not load: ${nativeStatus()}`);
});

test("extents: SEEK_DATA/SEEK_HOLE runs match qemu-img map and the written layout", async (t) => {
  const n = nativeIO();
  if (!n) return t.skip(`no addon: ${nativeStatus()}`);
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-native-"));
  try {
    const p = await sparseFile(dir);
    const fd = openSync(p, "r");
    try {
      const all = n.extents(fd, 0, 5 * MiB);
      assert.deepEqual(all, [
        { offset: 64 * KiB, length: 128 * KiB },
        { offset: MiB, length: 4 * KiB },
        { offset: 3 * MiB, length: MiB },
      ]);
      if (QEMU) assert.deepEqual(all, qemuDataRuns(p));
      // Clipped to the asked range and to the file size.
      assert.deepEqual(n.extents(fd, 100 * KiB, MiB), [
        { offset: 100 * KiB, length: 92 * KiB },
        { offset: MiB, length: 4 * KiB },
      ]);
      assert.deepEqual(n.extents(fd, 3 * MiB + 10, 100 * MiB), [{ offset: 3 * MiB + 10, length: MiB - 10 }]);
      assert.deepEqual(n.extents(fd, 4 * MiB, MiB), []);
      assert.deepEqual(n.extents(fd, 6 * MiB, MiB), []);
      // A bad fd is an error answer, not a crash: the caller treats it as "cannot tell".
      assert.equal(n.extents(1 << 20, 0, 1), undefined);
    } finally {
      closeSync(fd);
    }
    // The same through FileIO, as raw images and convert see it.
    const io = await FileIO.open(p, { readOnly: true });
    try {
      assert.deepEqual(await io.dataRanges(0, 5 * MiB), [
        { offset: 64 * KiB, length: 128 * KiB },
        { offset: MiB, length: 4 * KiB },
        { offset: 3 * MiB, length: MiB },
      ]);
    } finally {
      await io.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("punch hole, zero range and copy range through FileIO", async (t) => {
  const n = nativeIO();
  if (!n) return t.skip(`no addon: ${nativeStatus()}`);
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-native-"));
  try {
    const p = join(dir, "f.raw");
    await writeFile(p, Buffer.alloc(2 * MiB, 0xff));
    const blocks0 = statSync(p).blocks;
    const io = await FileIO.open(p);
    try {
      await io.discard(256 * KiB, 512 * KiB);
      const b = Buffer.alloc(2 * MiB);
      await io.read(0, b);
      assert.ok(b.subarray(0, 256 * KiB).every((x) => x === 0xff));
      assert.ok(b.subarray(256 * KiB, 768 * KiB).every((x) => x === 0));
      assert.ok(b.subarray(768 * KiB).every((x) => x === 0xff));
      assert.equal(await io.size(), 2 * MiB, "punch hole keeps the size");
      assert.equal(statSync(p).blocks, blocks0 - (512 * KiB) / 512, "the range is deallocated");
      assert.deepEqual(await io.dataRanges(0, 2 * MiB), [
        { offset: 0, length: 256 * KiB },
        { offset: 768 * KiB, length: 1280 * KiB },
      ]);
      if (QEMU) assert.deepEqual(await io.dataRanges(0, 2 * MiB), qemuDataRuns(p));

      assert.equal(await io.zeroRange(MiB, 64 * KiB), true);
      assert.equal(await io.zeroRange(2 * MiB - 4 * KiB, 8 * KiB), true, "past EOF grows the file");
      assert.equal(await io.size(), 2 * MiB + 4 * KiB);
      await io.read(0, b);
      assert.ok(b.subarray(MiB, MiB + 64 * KiB).every((x) => x === 0));
      assert.ok(b.subarray(MiB + 64 * KiB, 2 * MiB - 4 * KiB).every((x) => x === 0xff));
      assert.ok(b.subarray(2 * MiB - 4 * KiB).every((x) => x === 0));
    } finally {
      await io.close();
    }
    const q = join(dir, "g.raw");
    await writeFile(q, "");
    const fi = openSync(p, "r");
    const fo = openSync(q, "r+");
    try {
      assert.equal(n.copyRange(fi, 0, fo, 4096, 300 * KiB), 300 * KiB);
      assert.equal(n.copyRange(fi, 2 * MiB, fo, 0, MiB), 4 * KiB, "short at the source's end");
    } finally {
      closeSync(fi);
      closeSync(fo);
    }
    const src = readFileSync(p);
    const dst = readFileSync(q);
    assert.deepEqual(dst.subarray(4096, 4096 + 300 * KiB), src.subarray(0, 300 * KiB));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("map/unmap: in-place views of a file; a file shrinking under a view reads zeros and reports EIO", async (t) => {
  const n = nativeIO();
  if (!n) return t.skip(`no addon: ${nativeStatus()}`);
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-native-"));
  try {
    const p = join(dir, "m.raw");
    const bytes = Buffer.alloc(2 * MiB);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 12)) & 0xff;
    await writeFile(p, bytes);
    const io = await FileIO.open(p, { readOnly: true });
    try {
      const v = await io.view(5000, MiB);
      assert.ok(v);
      assert.equal(Buffer.compare(Buffer.from(v.data), bytes.subarray(5000, 5000 + MiB)), 0);
      v.release();
      assert.equal(v.data.length, 0, "a released view is detached, never a dangling pointer");
      assert.equal(await io.view(MiB, 2 * MiB), undefined, "past EOF: not mapped (callers read)");
      const w = await io.view(0, 2 * MiB);
      assert.ok(w);
      await truncate(p, 64 * KiB);
      // Without the SIGBUS guard this access kills the process.
      assert.equal(w.data[MiB], 0);
      assert.equal(w.data[100], bytes[100]);
      assert.throws(() => w.release(), /shrank/);
    } finally {
      await io.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Plain reference for zeroRuns: g-aligned guest blocks, short edge blocks count as data. */
function refRuns(b: Uint8Array, offset: number, g: number) {
  const out: { start: number; end: number; data: boolean }[] = [];
  for (let pos = 0; pos < b.length; ) {
    const next = Math.min(b.length, Math.floor((offset + pos) / g) * g + g - offset);
    const data = next - pos < g || b.subarray(pos, next).some((x) => x !== 0);
    const last = out[out.length - 1];
    if (last && last.data === data) last.end = next;
    else out.push({ start: pos, end: next, data });
    pos = next;
  }
  return out;
}

test("zeroRuns: native scan equals a byte-by-byte reference", (t) => {
  const n = nativeIO();
  if (!n) return t.skip(`no addon: ${nativeStatus()}`);
  let x = 0x2545f491;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let iter = 0; iter < 200; iter++) {
    const len = (rnd() % (64 * KiB)) + 1;
    const b = new Uint8Array(len);
    // A few non-zero bytes, sometimes only at a block's last byte or first byte.
    for (let k = rnd() % 6; k > 0; k--) b[rnd() % len] = (rnd() % 255) + 1;
    const g = [512, 4096, 65536][rnd() % 3]!;
    const offset = (rnd() % 64) * 512 + (iter % 2 ? 0 : rnd() % 512);
    assert.deepEqual(n.zeroRuns(b, offset, g), refRuns(b, offset, g), `len ${len} offset ${offset} g ${g}`);
  }
  assert.deepEqual(n.zeroRuns(new Uint8Array(8192), 0, 4096), [{ start: 0, end: 8192, data: false }]);
});

test("deflater: the addon's threads give node:zlib's exact output (qcow2's raw deflate settings)", async (t) => {
  const n = nativeIO();
  if (!n) return t.skip(`no addon: ${nativeStatus()}`);
  const d = n.deflater(3, 6, -12, 9);
  assert.ok(d);
  const text = Buffer.alloc(64 * KiB);
  for (let i = 0; i < text.length; i++) text[i] = "qcow2 cluster text ".charCodeAt(i % 19);
  const noise = Buffer.alloc(64 * KiB);
  let x = 99;
  for (let i = 0; i < noise.length; i++) noise[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const inputs = [text, noise, Buffer.alloc(64 * KiB), text.subarray(7, 4103), Buffer.alloc(0)];
  const outs = await Promise.all(inputs.map((b) => d(b)));
  inputs.forEach((b, i) => {
    const ref = deflateRawSync(b, { level: 6, windowBits: 12, memLevel: 9 });
    const out = outs[i];
    if (ref.length >= b.length) assert.equal(out, undefined, `input ${i} does not shrink`);
    else {
      assert.ok(out, `input ${i}`);
      assert.equal(Buffer.compare(Buffer.from(out), ref), 0, `input ${i}`);
      assert.equal(Buffer.compare(inflateRawSync(out), b), 0);
    }
  });
});

test("CLI map and convert: addon and pure-JS fallback (TSVIRT_NO_NATIVE=1) agree on contents", async (t) => {
  if (!existsSync(CLI)) return t.skip("dist/bin/tsvirt-img.js is not built");
  if (!QEMU) return t.skip("qemu-img is not installed");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-native-"));
  try {
    const p = await sparseFile(dir);
    const cli = (env: NodeJS.ProcessEnv, args: string[]) =>
      execFileSync("node", [CLI, ...args], { cwd: dir, env: { ...process.env, ...env } }).toString();
    const fallback = { TSVIRT_NO_NATIVE: "1" };
    const qmap = execFileSync("qemu-img", ["map", "-f", "raw", "--output=json", p]).toString();
    if (nativeIO()) assert.equal(cli({}, ["map", "-f", "raw", "--output=json", p]), qmap);
    // Without SEEK_DATA a partly allocated file is one data extent (sound, not exact).
    const fb = JSON.parse(cli(fallback, ["map", "-f", "raw", "--output=json", p])) as { data: boolean }[];
    assert.deepEqual(
      fb.map((e) => e.data),
      [true],
    );
    // qcow2 -> raw reads data clusters in place (mapped): same bytes and same holes as qemu-img.
    const q2 = join(dir, "src.qcow2");
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", p, q2]);
    const qraw = join(dir, "q.raw");
    execFileSync("qemu-img", ["convert", "-O", "raw", q2, qraw]);
    for (const env of [{}, fallback]) {
      const out = join(dir, "t.raw");
      cli(env, ["convert", "-O", "raw", q2, out]);
      assert.deepEqual(readFileSync(out), readFileSync(qraw));
      if (nativeIO() && !("TSVIRT_NO_NATIVE" in env)) {
        const m = (f: string) =>
          execFileSync("qemu-img", ["map", "-f", "raw", "--output=json", f]).toString();
        assert.equal(m(out), m(qraw));
      }
      await rm(out);
    }
    // -c: a cluster holding any data is compressed whole (holes read as zeros), as qemu-img
    // does, even though SEEK_DATA now cuts the source's data at 4 KiB holes.
    const cref = join(dir, "cref.qcow2");
    execFileSync("qemu-img", ["convert", "-c", "-f", "raw", "-O", "qcow2", p, cref]);
    for (const env of [{}, fallback]) {
      const out = join(dir, "c.qcow2");
      cli(env, ["convert", "-c", "-f", "raw", "-O", "qcow2", p, out]);
      const m = (f: string) => execFileSync("qemu-img", ["map", "--output=json", f]).toString();
      assert.equal(m(out), m(cref));
      assert.equal(spawnSync("qemu-img", ["compare", "-f", "raw", p, out]).status, 0);
      await rm(out);
    }
    for (const fmt of ["qcow2", "raw"]) {
      const a = join(dir, `native.${fmt}`);
      const b = join(dir, `fallback.${fmt}`);
      cli({}, ["convert", "-f", "raw", "-O", fmt, p, a]);
      cli(fallback, ["convert", "-f", "raw", "-O", fmt, p, b]);
      for (const out of [a, b]) {
        const r = spawnSync("qemu-img", ["compare", "-f", "raw", "-F", fmt, p, out]);
        assert.equal(r.status, 0, `${out}: ${r.stdout}${r.stderr}`);
      }
      if (fmt === "qcow2" && nativeIO()) {
        // With holes visible the qcow2 maps exactly as qemu-img's own conversion does.
        const ref = join(dir, "ref.qcow2");
        execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", p, ref]);
        const m = (f: string) =>
          execFileSync("qemu-img", ["map", "--output=json", f])
            .toString()
            .replace(/"offset": \d+/g, "");
        assert.equal(m(a), m(ref));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("raw preallocation=falloc reserves blocks with fallocate: allocated, and mapped as qemu-img's", async (t) => {
  if (!existsSync(CLI)) return t.skip("dist/bin/tsvirt-img.js is not built");
  if (!QEMU) return t.skip("qemu-img is not installed");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-native-"));
  try {
    const map = (f: string) => execFileSync("qemu-img", ["map", "-f", "raw", "--output=json", f]).toString();
    const run = (tool: string, args: string[]) =>
      tool === "qemu"
        ? execFileSync("qemu-img", args, { cwd: dir })
        : execFileSync("node", [CLI, ...args], { cwd: dir });
    for (const tool of ["qemu", "tsvirt"]) {
      run(tool, ["create", "-q", "-f", "raw", "-o", "preallocation=falloc", `${tool}-c.raw`, "3M"]);
      run(tool, ["create", "-q", "-f", "raw", `${tool}-r.raw`, "1M"]);
      run(tool, ["resize", "-q", "-f", "raw", "--preallocation=falloc", `${tool}-r.raw`, "5M"]);
    }
    for (const f of ["c.raw", "r.raw"]) {
      const q = join(dir, `qemu-${f}`);
      const m = join(dir, `tsvirt-${f}`);
      assert.equal(statSync(m).blocks, statSync(q).blocks, `${f}: allocated blocks`);
      if (nativeIO()) assert.equal(map(m), map(q), `${f}: map`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
