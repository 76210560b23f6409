// Uncompressed convert's fast paths against qemu-img: several qcow2 writes in flight, the
// target's early write-out (NativeIO.writeback, TSVIRT_NO_WRITEBACK=1 turns it off) and the
// pure-JS fallback (TSVIRT_NO_NATIVE=1) all give the same files, which qemu-img finds clean,
// identical to the source and laid out as its own convert's output.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { nativeIO } from "../src/image/io/native.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/bin/tsvirt-img.js");
const MiB = 1 << 20;
const QEMU = spawnSync("sh", ["-c", "command -v qemu-img"]).status === 0;

test("writeback queues write-out for an open file and refuses a closed descriptor", async (t) => {
  const n = nativeIO();
  if (!n) return t.skip("native addon not built");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-wb-"));
  try {
    const p = join(dir, "f");
    await writeFile(p, Buffer.alloc(4 * MiB, 0x5a));
    const fd = openSync(p, "r");
    assert.equal(n.writeback(fd, 0, 0), true);
    assert.equal(n.writeback(fd, MiB, MiB), true);
    closeSync(fd);
    assert.equal(n.writeback(fd, 0, 0), false);
    assert.ok(readFileSync(p).equals(Buffer.alloc(4 * MiB, 0x5a)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Per 2 MiB stripe: 512 KiB random, 256 KiB text, 256 KiB written zeros, 256 KiB random, a hole; odd tail. */
async function mixedSource(p: string, size: number): Promise<void> {
  await writeFile(p, "");
  const fd = openSync(p, "r+");
  let x = 0x9e3779b9;
  const rnd = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
  try {
    const text = Buffer.from("lorem ipsum dolor sit amet ".repeat(10_000)).subarray(0, 256 * 1024);
    for (let s = 0; s + 2 * MiB <= size; s += 2 * MiB) {
      writeSync(fd, rnd(512 * 1024), 0, 512 * 1024, s);
      writeSync(fd, text, 0, text.length, s + 512 * 1024);
      writeSync(fd, Buffer.alloc(256 * 1024), 0, 256 * 1024, s + 768 * 1024);
      // Unaligned to clusters: zero runs cut clusters, data runs start mid-cluster.
      writeSync(fd, rnd(256 * 1024 - 4096), 0, 256 * 1024 - 4096, s + 1024 * 1024 + 4096);
    }
    writeSync(fd, rnd(3000), 0, 3000, size - 3000);
  } finally {
    closeSync(fd);
  }
  await truncate(p, size);
}

test("convert raw<->qcow2: in flight, with and without write-out and the addon, same files as qemu-img's layout", async (t) => {
  if (!existsSync(CLI)) return t.skip("dist/bin/tsvirt-img.js is not built");
  if (!QEMU) return t.skip("qemu-img not installed");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-wbconv-"));
  const q = (...a: string[]) => execFileSync("qemu-img", a, { cwd: dir }).toString();
  const ts = (env: Record<string, string>, ...a: string[]) =>
    execFileSync("node", [CLI, ...a], { cwd: dir, env: { ...process.env, ...env } }).toString();
  try {
    const size = 24 * MiB + 3 * 512;
    await mixedSource(join(dir, "src.raw"), size);
    q("convert", "-O", "qcow2", "src.raw", "ref.qcow2");
    const refMap = q("map", "--output=json", "ref.qcow2");
    const variants: [string, Record<string, string>][] = [
      ["default", {}],
      ["no-writeback", { TSVIRT_NO_WRITEBACK: "1" }],
      ["no-native", { TSVIRT_NO_NATIVE: "1" }],
    ];
    for (const cs of ["65536", "4096", "2097152"]) {
      const ref = cs === "65536" ? "ref.qcow2" : `ref-${cs}.qcow2`;
      if (cs !== "65536") q("convert", "-O", "qcow2", "-o", `cluster_size=${cs}`, "src.raw", ref);
      const qMap = cs === "65536" ? refMap : q("map", "--output=json", ref);
      let first: Buffer | undefined;
      for (const [name, env] of variants) {
        const out = `t-${name}-${cs}.qcow2`;
        ts(env, "convert", "-O", "qcow2", "-o", `cluster_size=${cs}`, "src.raw", out);
        assert.match(q("check", out), /No errors were found/, `${name} ${cs}`);
        q("compare", "src.raw", out);
        assert.equal(q("map", "--output=json", out), qMap, `${name} ${cs}: layout as qemu-img's`);
        const bytes = readFileSync(join(dir, out));
        if (first) assert.ok(bytes.equals(first), `${name} ${cs}: same file as the default run`);
        else first = bytes;
      }
    }
    for (const [name, env] of variants) {
      const out = `t-${name}.raw`;
      ts(env, "convert", "-O", "raw", "ref.qcow2", out);
      assert.ok(readFileSync(join(dir, out)).equals(readFileSync(join(dir, "src.raw"))), name);
      // Holes stay holes, as in qemu-img's output.
      q("convert", "-O", "raw", "ref.qcow2", `q-${name}.raw`);
      assert.equal(
        q("map", "--output=json", "-f", "raw", out),
        q("map", "--output=json", "-f", "raw", `q-${name}.raw`),
        name,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
