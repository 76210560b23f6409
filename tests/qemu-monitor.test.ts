// QMP client against a real QEMU (-machine none): negotiation, commands, error text, events, EOF.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type QmpEvent, QmpClient } from "../src/drivers/qemu/monitor/index.js";
import { killPid } from "../src/host/kill.js";
import { spawnProcess, waitForSocket } from "../src/host/spawn.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const dir = mkdtempSync(join(tmpdir(), "qmp-real-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("real QEMU: commands, errors, events, quit", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const sock = join(dir, "q.sock");
  const p = await spawnProcess(
    [
      QEMU,
      "-machine",
      "none,accel=tcg",
      "-nodefaults",
      "-nographic",
      "-S",
      "-qmp",
      `unix:${sock},server=on,wait=off`,
    ],
    { logPath: join(dir, "q.log") },
  );
  try {
    await waitForSocket(sock, { timeoutMs: 10_000, alive: p.running });
    const c = await QmpClient.connect(sock, { timeoutMs: 5000 });
    assert.deepEqual(c.greeting?.capabilities, ["oob"]);
    assert.equal((await c.execute<{ status: string }>("query-status")).status, "prelaunch");
    await assert.rejects(
      c.execute("no-such-command"),
      /internal error: unable to execute QEMU command 'no-such-command': The command no-such-command has not been found$/,
    );
    await assert.rejects(
      c.execute("query-command-line-options", { option: "nope" }),
      /unable to execute QEMU command 'query-command-line-options': /,
    );
    const events: string[] = [];
    c.on("event", (e: QmpEvent) => events.push(e.event));
    await c.execute("cont");
    const pending = c.execute("quit");
    await pending;
    await c.waitClosed();
    const { code } = await p.exited;
    assert.equal(code, 0);
    assert.ok(events.includes("RESUME"));
    assert.ok(events.includes("SHUTDOWN"));
  } finally {
    await killPid(p.pid, { graceMs: 500, exited: p.exited });
  }
});
