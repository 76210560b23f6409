// The test guest boots under TCG with plain qemu-system-x86_64: ready marker, console echo,
// ACPI power button → poweroff → QEMU exits.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QmpClient } from "../src/drivers/qemu/monitor/index.js";
import { killPid } from "../src/host/kill.js";
import { spawnProcess, waitForSocket } from "../src/host/spawn.js";
import { buildGuest, GUEST_POWERBUTTON, GUEST_READY, guestUnavailable } from "./guest/build-guest.js";
import { SerialConsole } from "./guest/serial-console.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const dir = mkdtempSync(join(tmpdir(), "guest-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("test guest boots under TCG, echoes input, powers off on the ACPI button", async (t) => {
  const why = !existsSync(QEMU) ? "qemu-system-x86_64 not installed" : guestUnavailable();
  if (why) return t.skip(why);
  const g = buildGuest();
  const qmp = join(dir, "qmp.sock");
  const ser = join(dir, "serial.sock");
  const t0 = Date.now();
  const p = await spawnProcess(
    [
      QEMU,
      "-machine",
      "q35,accel=tcg",
      "-nodefaults",
      "-nographic",
      "-m",
      "256",
      "-kernel",
      g.kernel,
      "-initrd",
      g.initrd,
      "-append",
      g.cmdline,
      "-chardev",
      `socket,id=ser0,path=${ser},server=on,wait=off`,
      "-serial",
      "chardev:ser0",
      "-qmp",
      `unix:${qmp},server=on,wait=off`,
      "-no-reboot",
    ],
    { logPath: join(dir, "qemu.log") },
  );
  try {
    await waitForSocket(qmp, { timeoutMs: 30_000, alive: p.running });
    const mon = await QmpClient.connect(qmp, { timeoutMs: 5000 });
    const con = await SerialConsole.connect(ser);
    await con.waitFor(new RegExp(GUEST_READY), 90_000);
    const bootMs = Date.now() - t0;
    t.diagnostic(`guest ready after ${bootMs} ms`);
    con.write("hello tsvirt\n");
    await con.waitFor(/TSVIRT-ECHO: hello tsvirt/, 30_000);
    await con.waitFor(/TSVIRT-TICK 1/, 30_000);
    await mon.execute("system_powerdown");
    await con.waitFor(new RegExp(GUEST_POWERBUTTON), 30_000);
    let timer: NodeJS.Timeout | undefined;
    const ex = await Promise.race([
      p.exited,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error("QEMU did not exit")), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(ex.code, 0);
    con.close();
  } finally {
    await killPid(p.pid, { graceMs: 500, exited: p.exited });
  }
});
