// QMP client against the fake server replaying real QEMU 7.2 replies (tests/data/qmp/).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ErrorCode, ErrorDomain, VirError } from "../../../errors/index.js";
import { type QmpEvent, QmpClient } from "./qmp-client.js";
import { QmpCommandError } from "./qmp-errors.js";
import { FakeQmpServer, type FakeQmpBehaviour, loadTranscript } from "./testing/fake-qmp-server.js";

const transcript = loadTranscript(
  new URL("../../../../tests/data/qmp/qemu-7.2-x86_64-machine-none.json", import.meta.url).pathname,
);
const dir = mkdtempSync(join(tmpdir(), "qmp-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function withServer(b: FakeQmpBehaviour, fn: (srv: FakeQmpServer, path: string) => Promise<void>) {
  const path = join(dir, `s${n++}.sock`);
  const srv = new FakeQmpServer(transcript, b);
  await srv.listen(path);
  try {
    await fn(srv, path);
  } finally {
    await srv.close();
  }
}

test("greeting, negotiation and id-matched commands", async () => {
  await withServer({}, async (srv, path) => {
    const c = await QmpClient.connect(path);
    assert.equal(c.greeting?.version.qemu.major, 7);
    const [v, st] = await Promise.all([
      c.execute<{ qemu: { major: number } }>("query-version"),
      c.execute<{ status: string }>("query-status"),
    ]);
    assert.equal(v.qemu.major, 7);
    assert.equal(st.status, "prelaunch");
    assert.equal(srv.received[0]!.execute, "qmp_capabilities");
    c.close();
  });
});

test("QMP error reply maps to libvirt's internal error text", async () => {
  await withServer({}, async (_srv, path) => {
    const c = await QmpClient.connect(path);
    const err = await c.execute("no-such-command").then(
      () => assert.fail("expected error"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof QmpCommandError);
    assert.ok(err instanceof VirError);
    assert.equal(err.code, ErrorCode.INTERNAL_ERROR);
    assert.equal(err.domain, ErrorDomain.QEMU);
    assert.equal(err.qmpClass, "CommandNotFound");
    assert.equal(
      err.message,
      "internal error: unable to execute QEMU command 'no-such-command': The command no-such-command has not been found",
    );
    c.close();
  });
});

test("events are emitted; quit ends the connection", async () => {
  await withServer({}, async (_srv, path) => {
    const c = await QmpClient.connect(path);
    const events: QmpEvent[] = [];
    c.on("event", (e: QmpEvent) => events.push(e));
    await c.execute("cont");
    await c.execute("quit");
    await c.waitClosed();
    assert.deepEqual(
      events.map((e) => e.event),
      ["RESUME", "SHUTDOWN"],
    );
    assert.equal(events[1]!.data?.reason, "host-qmp-quit");
    await assert.rejects(c.execute("query-status"), /End of file from qemu monitor/);
  });
});

test("per-command timeout rejects; a late connection stays usable", async () => {
  await withServer({ silent: new Set(["query-kvm"]) }, async (_srv, path) => {
    const c = await QmpClient.connect(path, { timeoutMs: 5000 });
    const t0 = Date.now();
    const err = await c.execute("query-kvm", undefined, 100).catch((e: VirError) => e);
    assert.ok(err instanceof VirError);
    assert.equal(err.code, ErrorCode.OPERATION_TIMEOUT);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal((await c.execute<{ status: string }>("query-status")).status, "prelaunch");
    c.close();
  });
});

test("pending commands reject when the socket drops (no unhandled ECONNRESET)", async () => {
  await withServer({ hangUpOn: new Set(["stop"]) }, async (_srv, path) => {
    const c = await QmpClient.connect(path);
    const closed = new Promise<Error>((r) => c.once("close", r));
    const p1 = c.execute("stop");
    await assert.rejects(p1, /End of file from qemu monitor/);
    await closed;
    assert.ok(c.isClosed);
  });
  await withServer({ silent: new Set(["query-kvm"]) }, async (srv, path) => {
    const c = await QmpClient.connect(path);
    const p = c.execute("query-kvm");
    srv.dropClients();
    await assert.rejects(p, (e: VirError) => e.code === ErrorCode.INTERNAL_ERROR);
  });
});

test("hostile input: over-long line and non-JSON close the monitor with an error", async () => {
  await withServer({ silent: new Set(["query-kvm"]) }, async (srv, path) => {
    const c = await QmpClient.connect(path, { maxLine: 1024 });
    const p = c.execute("query-kvm");
    srv.sendRaw(Buffer.alloc(4096, 0x41));
    await assert.rejects(p, /exceeds buffer size \(1024 bytes\)/);
  });
  await withServer({ silent: new Set(["query-kvm"]) }, async (srv, path) => {
    const c = await QmpClient.connect(path);
    const p = c.execute("query-kvm");
    srv.sendRaw("this is not json\r\n");
    await assert.rejects(p, /cannot parse json/);
  });
});

test("server-sent events arrive between replies; unknown ids are ignored", async () => {
  await withServer({}, async (srv, path) => {
    const c = await QmpClient.connect(path);
    const got = new Promise<QmpEvent>((r) => c.once("event", r));
    srv.sendRaw(`${JSON.stringify({ return: {}, id: "not-ours" })}\r\n`);
    srv.sendEvent("STOP");
    assert.equal((await got).event, "STOP");
    assert.equal((await c.execute<{ status: string }>("query-status")).status, "prelaunch");
    c.close();
  });
});

test("connect to a missing socket fails cleanly", async () => {
  await assert.rejects(QmpClient.connect(join(dir, "absent.sock")), (e: VirError) => e instanceof VirError);
});
