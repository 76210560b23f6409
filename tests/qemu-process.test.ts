// QEMU process runner against real QEMU (-machine none, no guest): start paused/running, log
// header, QEMU's own error text on failure with nothing left behind, crash noticed at once.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type QemuExit, qemuPaths, startQemu } from "../src/drivers/qemu/process.js";
import { pidAlive } from "../src/host/spawn.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const root = mkdtempSync(join(tmpdir(), "qproc-"));
after(() => rmSync(root, { recursive: true, force: true }));

function argvFor(
  name: string,
  extra: string[] = [],
): { argv: string[]; paths: ReturnType<typeof qemuPaths> } {
  const paths = qemuPaths(join(root, "lib"), join(root, "run"), name);
  const argv = [
    QEMU,
    "-name",
    `guest=${name}`,
    "-machine",
    "none,accel=tcg",
    "-nodefaults",
    "-nographic",
    "-S",
    "-chardev",
    `socket,id=charmonitor,path=${paths.monitor},server=on,wait=off`,
    "-mon",
    "chardev=charmonitor,id=monitor,mode=control",
    "-pidfile",
    paths.pidfile,
    ...extra,
  ];
  return { argv, paths };
}

test("start running and paused, log header, destroy cleans up", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const { argv, paths } = argvFor("vm1");
  const qp = await startQemu({ name: "vm1", argv, paths });
  assert.equal((await qp.monitor.execute<{ status: string }>("query-status")).status, "running");
  assert.ok(existsSync(paths.pidfile) && existsSync(paths.monitor));
  assert.equal(Number(readFileSync(paths.pidfile, "utf8").trim()), qp.pid);
  const log = readFileSync(paths.log, "utf8");
  assert.match(log, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: starting up tsvirt version: /);
  assert.ok(log.includes(`LC_ALL=C \\\n${QEMU} \\\n-name guest=vm1 \\\n-machine none,accel=tcg \\\n`), log);
  const ex = await qp.destroy();
  assert.equal(ex.requested, true);
  assert.ok(!existsSync(paths.pidfile) && !existsSync(paths.monitor));
  assert.ok(!pidAlive(qp.pid));

  const b = argvFor("vm2");
  const paused = await startQemu({ name: "vm2", argv: b.argv, paths: b.paths, paused: true });
  assert.equal((await paused.monitor.execute<{ status: string }>("query-status")).status, "prelaunch");
  await paused.monitor.execute("quit");
  const ex2 = await paused.exited;
  assert.equal(ex2.code, 0);
  assert.equal(ex2.shutdownReason, "host-qmp-quit");
  assert.equal(ex2.requested, false);
});

test("failure reports QEMU's own error and leaves no process, socket or pidfile", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const { argv, paths } = argvFor("bad", ["-device", "no-such-device"]);
  const err = await startQemu({ name: "bad", argv, paths }).then(
    () => assert.fail("should fail"),
    (e: Error) => e,
  );
  assert.match(
    err.message,
    /^internal error: process exited while connecting to monitor: .*'no-such-device' is not a valid device model name/,
  );
  assert.ok(!existsSync(paths.pidfile));
  assert.ok(!existsSync(paths.monitor));
  assert.ok(readFileSync(paths.log, "utf8").includes("no-such-device"), "log keeps the error");
});

test("an external kill is noticed at once as a crash", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const { argv, paths } = argvFor("vm3");
  const qp = await startQemu({ name: "vm3", argv, paths });
  const exit = new Promise<QemuExit>((r) => qp.once("exit", r));
  const t0 = Date.now();
  process.kill(qp.pid, "SIGKILL");
  const ex = await exit;
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(ex.signal, "SIGKILL");
  assert.equal(ex.requested, false);
  assert.ok(!existsSync(paths.monitor));
  await assert.rejects(qp.monitor.execute("query-status"), /End of file from qemu monitor/);
});
