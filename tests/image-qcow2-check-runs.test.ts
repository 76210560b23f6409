// qcow2 check's counting of runs of entries (check.ts checkL2: entries that continue the one
// before, each the next cluster, counted at once when none of their clusters is referenced yet;
// refcounts.ts nextNonZero/zeroBytes: empty stretches of tables passed in doubling steps) against
// qemu-img on images made to break a run: a cluster referenced again inside a run, a run through
// the L2 table's own cluster, a run past the end of the file, a snapshot sharing a run, COPIED
// cleared on a run, a run that starts at the same cluster as another table's run, a table used
// at its end or only in the middle, and a file grown past its last cluster (zero counts where
// the refcount comparison looks for the last cluster in use). Text and JSON outputs and exit
// codes must agree.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

const ROOT = resolve(import.meta.dirname, "..");
const HAVE_QEMU = spawnSync("sh", ["-c", "command -v qemu-img && command -v qemu-io"]).status === 0;
const TSX = import.meta.resolve("tsx");
const COPIED = 1n << 63n;
const OFFSET = 0x00fffffffffffe00n;
const CS = 65536;
let dir = "";

const p = (f: string) => join(dir, f);
const qemuImg = (...a: string[]) => execFileSync("qemu-img", a, { cwd: dir, stdio: "pipe" });
const qemuIo = (f: string, cmd: string) =>
  execFileSync("qemu-io", ["-f", "qcow2", "-c", cmd, p(f)], { cwd: dir, stdio: "pipe" });

function u64(f: string, off: number): bigint {
  const b = Buffer.alloc(8);
  const fd = openSync(p(f), "r");
  try {
    readSync(fd, b, 0, 8, off);
  } finally {
    closeSync(fd);
  }
  return b.readBigUInt64BE(0);
}
function putU64(f: string, off: number, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  const fd = openSync(p(f), "r+");
  try {
    writeSync(fd, b, 0, 8, off);
  } finally {
    closeSync(fd);
  }
}
const l2Of = (f: string, i = 0) => Number(u64(f, Number(u64(f, 40)) + i * 8) & OFFSET);
const entry = (f: string, i: number) => u64(f, l2Of(f) + i * 8);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvirt-check-runs-"));
  if (!HAVE_QEMU) return;
  // 8 MiB written in order: one run of 128 entries (64 KiB clusters).
  qemuImg("create", "-q", "-f", "qcow2", p("base.qcow2"), "1G");
  qemuIo("base.qcow2", "write -P 1 0 8M");
  const copy = (to: string, from = "base.qcow2") => {
    copyFileSync(p(from), p(to));
    return to;
  };
  // Entry 70 points at entry 20's cluster (the run splits there; entry 70's cluster leaks).
  let f = copy("dup-inside.qcow2");
  putU64(f, l2Of(f) + 70 * 8, entry(f, 20));
  // Entries 10..19 continue from the L2 table's own cluster (metadata inside a data run).
  f = copy("through-l2.qcow2");
  for (let i = 10; i < 20; i++) putU64(f, l2Of(f) + i * 8, COPIED | BigInt(l2Of(f) + (i - 10) * CS));
  // The file ends in the middle of the run.
  f = copy("truncated.qcow2");
  truncateSync(p(f), Number(entry(f, 100) & OFFSET) + 5 * CS + 512);
  // An internal snapshot shares the run (no COPIED, refcount 2); then COPIED set on half of it.
  f = copy("snap.qcow2");
  qemuImg("snapshot", "-c", "s1", p(f));
  f = copy("snap-copied.qcow2", "snap.qcow2");
  for (let i = 0; i < 64; i++) putU64(f, l2Of(f) + i * 8, entry(f, i) | COPIED);
  // COPIED cleared on a whole run of refcount-1 clusters.
  f = copy("no-copied.qcow2");
  for (let i = 30; i < 90; i++) putU64(f, l2Of(f) + i * 8, entry(f, i) & ~COPIED);
  // A second L2 table (guest offset 512 MiB) whose run starts at the first table's run.
  f = copy("two-tables.qcow2");
  qemuIo(f, "write -P 2 512M 1M");
  for (let i = 0; i < 16; i++) putU64(f, l2Of(f, 1) + i * 8, entry(f, 40 + i));
  // A table used only at entry 1600 (inside the 1024-entry stretch 960..1983 that the doubling
  // steps test at once, past its first 4 KiB).
  qemuImg("create", "-q", "-f", "qcow2", p("mid.qcow2"), "1G");
  qemuIo("mid.qcow2", `write -P 4 ${1600 * CS} ${CS}`);
  // The file grown by 10 MiB past its last cluster (zero counts at the end of the refcount block).
  f = copy("grown.qcow2");
  truncateSync(p(f), Number(entry(f, 127) & OFFSET) + CS + 10 * 1024 * 1024);
  // A table used only at its last entries (the empty stretch before them is skipped).
  qemuImg("create", "-q", "-f", "qcow2", p("tail.qcow2"), "1G");
  qemuIo("tail.qcow2", `write -P 3 ${512 * 1024 * 1024 - 3 * CS} ${3 * CS}`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const IMAGES = [
  "base.qcow2",
  "dup-inside.qcow2",
  "through-l2.qcow2",
  "truncated.qcow2",
  "snap.qcow2",
  "snap-copied.qcow2",
  "no-copied.qcow2",
  "two-tables.qcow2",
  "tail.qcow2",
  "grown.qcow2",
  "mid.qcow2",
];

test("check's verdicts on runs of entries are qemu-img's", (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img/qemu-io not installed");
  const status = new Map<string, number | null>();
  for (const f of IMAGES) {
    for (const out of [[], ["--output=json"]]) {
      const q = spawnSync("qemu-img", ["check", ...out, f], { cwd: dir, encoding: "utf8" });
      const o = spawnSync(
        process.execPath,
        ["--import", TSX, join(ROOT, "src/bin/tsvirt-img-cli.cts"), "check", ...out, f],
        { cwd: dir, encoding: "utf8" },
      );
      const what = `check ${[...out, f].join(" ")}`;
      assert.equal(o.stdout, q.stdout, `stdout of ${what}`);
      assert.equal(o.stderr.replaceAll("tsvirt-img:", "qemu-img:"), q.stderr, `stderr of ${what}`);
      assert.equal(o.status, q.status, `exit code of ${what}`);
      status.set(f, q.status);
    }
  }
  // The broken images are broken for qemu-img too (else only clean images were compared).
  for (const f of ["dup-inside", "through-l2", "truncated", "snap-copied", "no-copied", "two-tables"])
    assert.notEqual(status.get(`${f}.qcow2`), 0, `${f}: qemu-img found nothing`);
  for (const f of ["base", "snap", "tail", "grown"])
    assert.equal(status.get(`${f}.qcow2`), 0, `${f}: not clean`);
});
