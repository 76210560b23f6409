// qcow2 check's COPIED pass against qemu-img. The pass reads the active L2 tables again only when
// the count pass saw something other than "every active entry COPIED, referenced once" (check.ts,
// CheckState.cop); these images put each way it can go wrong in front of both tools: a cluster
// shared by two COPIED entries with refcounts that agree (nothing for the refcount comparison to
// find), an internal snapshot sharing the clusters (COPIED cleared, or set where it must not be),
// COPIED missing on an L2 or an L1 entry, compressed clusters, extended L2 entries, an external
// data file, 1-bit refcounts, a backing chain. Text and JSON outputs and exit codes must agree.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

const ROOT = resolve(import.meta.dirname, "..");
const HAVE_QEMU = spawnSync("sh", ["-c", "command -v qemu-img && command -v qemu-io"]).status === 0;
/** tsx by URL: the runs' working directory is the image directory. */
const TSX = import.meta.resolve("tsx");
const COPIED = 1n << 63n;
const OFFSET = 0x00fffffffffffe00n;
let dir = "";

const p = (f: string) => join(dir, f);
const qemuImg = (...a: string[]) => execFileSync("qemu-img", a, { cwd: dir, stdio: "pipe" });
const qemuIo = (f: string, cmd: string) =>
  execFileSync("qemu-io", ["-f", "qcow2", "-c", cmd, p(f)], { cwd: dir, stdio: "pipe" });

function readAt(f: string, off: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync(p(f), "r");
  try {
    readSync(fd, b, 0, n, off);
  } finally {
    closeSync(fd);
  }
  return b;
}
function writeAt(f: string, off: number, b: Buffer): void {
  const fd = openSync(p(f), "r+");
  try {
    writeSync(fd, b, 0, b.length, off);
  } finally {
    closeSync(fd);
  }
}
const u64 = (f: string, off: number) => readAt(f, off, 8).readBigUInt64BE(0);
function putU64(f: string, off: number, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  writeAt(f, off, b);
}
function putU16(f: string, off: number, v: number): void {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  writeAt(f, off, b);
}
const l1Of = (f: string) => Number(u64(f, 40));
const l2Of = (f: string) => Number(u64(f, l1Of(f)) & OFFSET);
/** The first refcount block (16-bit refcounts, 64 KiB clusters: covers these small images). */
const refblockOf = (f: string) => Number(u64(f, Number(u64(f, 48))));
const clusterOf = (entry: bigint) => Number((entry & OFFSET) / 65536n);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvirt-check-copied-"));
  if (!HAVE_QEMU) return;
  qemuImg("create", "-q", "-f", "qcow2", p("base.qcow2"), "64M");
  qemuIo("base.qcow2", "write -P 1 0 256k");
  const copy = (to: string, from = "base.qcow2") => {
    copyFileSync(p(from), p(to));
    return to;
  };
  // Entries 0 and 3 share entry 0's cluster, both COPIED, refcount 2; entry 3's old cluster leaks.
  let f = copy("shared-leak.qcow2");
  let l2 = l2Of(f);
  putU64(f, l2 + 24, u64(f, l2));
  putU16(f, refblockOf(f) + clusterOf(u64(f, l2)) * 2, 2);
  // The same with the old cluster's refcount dropped: the refcounts agree, only COPIED is wrong.
  f = copy("shared.qcow2");
  l2 = l2Of(f);
  const e3 = u64(f, l2 + 24);
  putU64(f, l2 + 24, u64(f, l2));
  putU16(f, refblockOf(f) + clusterOf(u64(f, l2)) * 2, 2);
  putU16(f, refblockOf(f) + clusterOf(e3) * 2, 0);
  // ... and with COPIED cleared on both: consistent.
  f = copy("shared-ok.qcow2", "shared.qcow2");
  for (const i of [0, 3]) putU64(f, l2Of(f) + i * 8, u64(f, l2Of(f) + i * 8) & ~COPIED);
  // An internal snapshot; then COPIED set on an active entry whose cluster the snapshot shares.
  f = copy("snap.qcow2");
  qemuImg("snapshot", "-c", "s1", p(f));
  f = copy("snap-copied.qcow2", "snap.qcow2");
  putU64(f, l2Of(f), u64(f, l2Of(f)) | COPIED);
  // COPIED missing on an L2 entry, on the L1 entry.
  f = copy("l2-no-copied.qcow2");
  putU64(f, l2Of(f) + 8, u64(f, l2Of(f) + 8) & ~COPIED);
  f = copy("l1-no-copied.qcow2");
  putU64(f, l1Of(f), u64(f, l1Of(f)) & ~COPIED);
  // Other entry kinds and layouts, clean.
  qemuImg("convert", "-c", "-O", "qcow2", p("base.qcow2"), p("compressed.qcow2"));
  qemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", p("ext-l2.qcow2"), "64M");
  qemuIo("ext-l2.qcow2", "write -P 1 0 256k");
  qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=data.raw", p("data-file.qcow2"), "64M");
  qemuIo("data-file.qcow2", "write -P 1 0 256k");
  qemuImg("create", "-q", "-f", "qcow2", "-o", "refcount_bits=1", p("refcount-1.qcow2"), "64M");
  qemuIo("refcount-1.qcow2", "write -P 1 0 256k");
  qemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", p("overlay.qcow2"));
  qemuIo("overlay.qcow2", "write -P 2 64k 64k");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const IMAGES = [
  "base.qcow2",
  "shared-leak.qcow2",
  "shared.qcow2",
  "shared-ok.qcow2",
  "snap.qcow2",
  "snap-copied.qcow2",
  "l2-no-copied.qcow2",
  "l1-no-copied.qcow2",
  "compressed.qcow2",
  "ext-l2.qcow2",
  "data-file.qcow2",
  "refcount-1.qcow2",
  "overlay.qcow2",
];

test("check's COPIED verdicts are qemu-img's", (t) => {
  if (!HAVE_QEMU) return t.skip("qemu-img/qemu-io not installed");
  const errors: string[] = [];
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
      if (/OFLAG_COPIED/.test(q.stdout + q.stderr)) errors.push(f);
    }
  }
  // The images meant to break COPIED did (else this test would compare clean images only).
  for (const f of [
    "shared.qcow2",
    "shared-leak.qcow2",
    "snap-copied.qcow2",
    "l2-no-copied.qcow2",
    "l1-no-copied.qcow2",
  ])
    assert.ok(errors.includes(f), `${f}: qemu-img found no COPIED error`);
  assert.ok(!errors.includes("shared-ok.qcow2") && !errors.includes("snap.qcow2"));
});
