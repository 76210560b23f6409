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
