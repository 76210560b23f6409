// type='bridge' interfaces: QEMU creates the tap, the driver plugs it into the bridge before the
// guest runs, the tap goes away with QEMU, and a missing bridge fails the start cleanly. All of it
// runs in a private network namespace (unshare -n), so the host's links are never touched.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { guestUnavailable } from "./guest/build-guest.js";

const root = mkdtempSync(join(tmpdir(), "qbridge-"));
after(() => rmSync(root, { recursive: true, force: true }));

function canUnshare(): boolean {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/unshare") || !existsSync("/usr/sbin/ip"))
    return false;
  try {
    execFileSync("unshare", ["-n", "true"]);
    return true;
  } catch {
    return false;
  }
}

test("bridge NIC: tap plugged into the bridge, removed on destroy; missing bridge refused", (t) => {
  const why = !existsSync("/usr/bin/qemu-system-x86_64")
    ? "qemu-system-x86_64 not installed"
    : (guestUnavailable() ?? (canUnshare() ? undefined : "needs root and unshare -n"));
  if (why) return t.skip(why);
  const r = spawnSync(
    "unshare",
    ["-n", process.execPath, "--import", "tsx", join("tests", "guest", "bridge-scenario.ts"), root],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.error, undefined);
  assert.equal(out.master, "br0");
  assert.equal(out.operstateUp, true);
  assert.match(out.dumpxml, /<interface type='bridge'>[\s\S]*<target dev='vnet0'\/>/);
  assert.equal(out.rxFilter[0]["main-mac"], "52:54:00:00:00:01");
  assert.equal(out.tapGoneAfterDestroy, true);
  assert.match(
    out.badBridge,
    /^operation failed: cannot attach vnet0 to bridge 'nobr': bridge 'nobr' does not exist$/,
  );
  assert.deepEqual(out.leftover, []);
  assert.equal(out.tapGoneAfterFailure, true);
});
