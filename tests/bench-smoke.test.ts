// CI runs every benchmark only in its small smoke mode: each must complete and print its figures.
// (rpc-define has its own smoke test, tests/python-libvirt-bench-smoke.test.ts.)
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { libvirtdUnavailable } from "../bench/peers/libvirtd.js";
import { tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";
import { guestUnavailable } from "./guest/build-guest.js";

const REPO = join(import.meta.dirname, "..");

function runBench(file: string, timeout = 120_000): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(REPO, "bench", file)],
      { cwd: REPO, env: { ...process.env, BENCH_SMOKE: "1" }, timeout },
      (err, stdout, stderr) => done({ code: err ? ((err.code as number) ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

test("bench/conf-define.ts smoke: parse and format figures", async () => {
  const r = await runBench("conf-define.ts");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /parseDomainXML \(all\)\s+\d+ ops\/s/);
  assert.match(r.out, /formatDomainXML\s+\d+ ops\/s/);
});

test("bench/image-convert.ts smoke: tsvirt-img and qemu-img side by side", async (t) => {
  if (!existsSync("/usr/bin/qemu-img")) return t.skip("qemu-img missing (Debian qemu-utils)");
  if (!existsSync(join(REPO, "dist/bin/tsvirt-img.js"))) return t.skip("dist/ not built");
  const r = await runBench("image-convert.ts");
  assert.equal(r.code, 0, r.out);
  for (const row of [
    "convert raw->qcow2",
    "convert qcow2->raw",
    "convert raw->qcow2 -c",
    "info qcow2",
    "check qcow2",
  ])
    assert.match(r.out, new RegExp(`${row.replace(/[>-]/g, "\\$&")}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+`));
  assert.match(r.out, /^target (MET |MISS) convert raw->qcow2 -c <= 0\.6x qemu-img/m);
});

test("bench/qemu-start.ts smoke: raw QEMU, tsvirtd and libvirtd start the same guest", async (t) => {
  const why = guestUnavailable() ?? tsvirtdUnavailable() ?? libvirtdUnavailable();
  if (why) return t.skip(why);
  // libvirtd's first qemu:// connection probes QEMU (seconds idle, minutes on a loaded machine).
  const r = await runBench("qemu-start.ts", 480_000);
  assert.equal(r.code, 0, r.out);
  for (const peer of ["raw qemu", "tsvirtd", "libvirtd 9.0"])
    assert.match(r.out, new RegExp(`^${peer}\\s+\\d+`, "m"));
  assert.match(r.out, /^target (MET |MISS) 4 at once/m);
});
