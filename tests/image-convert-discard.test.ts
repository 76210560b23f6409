// Clusters that qcow2 snapshot operations and unmapping zero writes free are deallocated in the
// file, as qemu-img does (its qcow2 driver passes snapshot discards through by default, and
// discard requests for images opened with discard=unmap, as commit and convert open theirs):
// after the same `snapshot -c / -a / -d` sequence, or the same commit, on copies of one image, the
// clusters holding data in each file (SEEK_DATA, rounded to clusters) are the same for qemu-img
// and tsvirt-img, the images compare equal and check finds nothing.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, openSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { nativeIO } from "../src/image/io/native.js";

const CLI = fileURLToPath(new URL("../dist/bin/tsvirt-img.js", import.meta.url));
const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/**
 * Indices of the clusters of `path` that hold data (file system extents). A partial cluster at
 * the end of the file is left out: qemu punches a freed last cluster whole (past EOF, keeping the
 * size), which deallocates its block; FileIO.discard clips the range to the file size, so that
 * block is zeroed but stays allocated (same contents, a few KiB more on disk).
 */
function dataClusters(path: string, cs: number): number[] {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const ext = nativeIO()!.extents(fd, 0, Math.floor(size / cs) * cs) ?? [];
    const out = new Set<number>();
    for (const e of ext)
      for (let c = Math.floor(e.offset / cs); c * cs < e.offset + e.length; c++) out.add(c);
    return [...out].sort((a, b) => a - b);
  } finally {
    closeSync(fd);
  }
}

test("snapshot create/apply/delete free clusters out of the file as qemu-img does", async (t) => {
  if (!have("qemu-img") || !have("qemu-io")) return t.skip("qemu-img/qemu-io not installed");
  if (!existsSync(CLI)) return t.skip("dist/bin/tsvirt-img.js is not built");
  if (!nativeIO()) return t.skip("native addon not built (no SEEK_DATA, no punch hole)");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-discard-"));
  const q = (...a: string[]) => execFileSync("qemu-img", a, { cwd: dir }).toString();
  const io = (img: string, cmd: string) => execFileSync("qemu-io", ["-c", cmd, img], { cwd: dir });
  const ts = (...a: string[]) => execFileSync("node", [CLI, ...a], { cwd: dir }).toString();
  try {
    for (const [opts, cs] of [
      ["cluster_size=65536", 65536],
      ["cluster_size=4096,compat=0.10", 4096],
      ["cluster_size=16384,refcount_bits=64", 16384],
    ] as const) {
      const a = join(dir, "a.qcow2");
      const b = join(dir, "b.qcow2");
      q("create", "-q", "-f", "qcow2", "-o", opts, "a.qcow2", "32M");
      io("a.qcow2", "write -P 1 0 6M");
      io("a.qcow2", "write -P 9 20M 1M");
      copyFileSync(a, b);
      const steps = [
        ["-c", "s1"],
        ["-c", "s2"],
        ["-d", "s1"],
        ["-c", "s3"],
        ["-a", "s2"],
        ["-d", "s2"],
        ["-d", "s3"],
      ];
      for (const [i, [op, name]] of steps.entries()) {
        // Rewrite some data between steps so snapshots own clusters of their own.
        const w = `write -P ${10 + i} ${i}M 2M`;
        io("a.qcow2", w);
        io("b.qcow2", w);
        q("snapshot", op!, name!, "a.qcow2");
        ts("snapshot", op!, name!, "b.qcow2");
        const label = `${opts}: snapshot ${op} ${name}`;
        assert.match(q("check", "b.qcow2"), /No errors were found/, label);
        q("compare", "a.qcow2", "b.qcow2");
        assert.equal(statSync(b).size, statSync(a).size, `${label}: file length`);
        assert.deepEqual(dataClusters(b, cs), dataClusters(a, cs), `${label}: clusters holding data`);
      }
      await rm(a);
      await rm(b);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("commit: base clusters the top's zero writes free are punched out, as qemu-img commit does", async (t) => {
  if (!have("qemu-img") || !have("qemu-io")) return t.skip("qemu-img/qemu-io not installed");
  if (!existsSync(CLI)) return t.skip("dist/bin/tsvirt-img.js is not built");
  if (!nativeIO()) return t.skip("native addon not built (no SEEK_DATA, no punch hole)");
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-discard-commit-"));
  try {
    for (const tool of ["q", "t"]) {
      const d = join(dir, tool);
      execFileSync("mkdir", ["-p", d]);
      const q = (...a: string[]) => execFileSync("qemu-img", a, { cwd: d }).toString();
      q("create", "-q", "-f", "qcow2", "base.qcow2", "32M");
      execFileSync("qemu-io", ["-c", "write -P 1 0 16M", "base.qcow2"], { cwd: d });
      q("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2");
      execFileSync(
        "qemu-io",
        ["-c", "write -z 0 4M", "-c", "write -z -u 4M 4M", "-c", "write -P 3 12M 1M", "top.qcow2"],
        { cwd: d },
      );
      if (tool === "q") q("commit", "top.qcow2");
      else execFileSync("node", [CLI, "commit", "top.qcow2"], { cwd: d });
    }
    const qb = join(dir, "q/base.qcow2");
    const tb = join(dir, "t/base.qcow2");
    execFileSync("qemu-img", ["compare", qb, tb]);
    assert.match(execFileSync("qemu-img", ["check", tb]).toString(), /No errors were found/);
    assert.equal(statSync(tb).size, statSync(qb).size);
    assert.deepEqual(dataClusters(tb, 65536), dataClusters(qb, 65536));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
