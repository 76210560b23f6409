// The daemon's connection opener and the server's release paths: test:///default is one node
// shared by the connections holding it and dropped with the last release (libvirtd 9.0's
// lifetime, compared with real virsh in daemon-test-default-lifetime.test.ts); a release counts
// once however often it is called; a client that goes away releases its connection exactly once,
// whether it sent CONNECT_CLOSE, dropped the socket, or dropped it while its CONNECT_OPEN was
// still being served; and the daemon still stops promptly with clients connected.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { createOpener } from "../src/daemon/opener.js";
import type { HypervisorDriver } from "../src/driver/index.js";
import { registerTestDriver } from "../src/drivers/test/index.js";
import { RpcClient } from "../src/rpc/client/client.js";
import type { ConnectionOpener, OpenedConnection } from "../src/rpc/server/connection-opener.js";
import { RpcServer } from "../src/rpc/server/server.js";

registerTestDriver();

const TEST_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f";

async function state(c: OpenedConnection): Promise<number> {
  const dom = await c.drivers.hypervisor.domainLookupByUUID!(TEST_UUID);
  return (await c.drivers.hypervisor.domainGetInfo!(dom)).state;
}

async function destroy(c: OpenedConnection): Promise<void> {
  const hv: HypervisorDriver = c.drivers.hypervisor;
  await hv.domainDestroyFlags!(await hv.domainLookupByUUID!(TEST_UUID), 0);
}

const RUNNING = 1;
const SHUTOFF = 5;

test("test:///default: shared while held, pristine after the last release", async () => {
  const opener = createOpener("test:///default");
  const a = await opener("test:///default", false);
  const b = await opener("test:///default", true);
  assert.equal(await state(a), RUNNING);
  await destroy(a);
  assert.equal(await state(b), SHUTOFF, "a read-only connection shares the node");
  await a.release();
  const c = await opener("test:///default", false);
  assert.equal(await state(c), SHUTOFF, "still held by b");
  await b.release();
  await c.release();
  const d = await opener("test:///default", false);
  assert.equal(await state(d), RUNNING, "the last release dropped the node");
  await d.release();
  await opener.closeAll();
});

test("a release counts once, however often it is called", async () => {
  const opener = createOpener("test:///default");
  const a = await opener("test:///default", false);
  const b = await opener("test:///default", false);
  await destroy(a);
  await a.release();
  await a.release();
  await a.release();
  const c = await opener("test:///default", false);
  assert.equal(await state(c), SHUTOFF, "b and c still hold the node");
  await b.release();
  await c.release();
  await c.release();
  const d = await opener("test:///default", false);
  assert.equal(await state(d), RUNNING);
  await d.release();
  await opener.closeAll();
});

test("an open under way holds the node against a release meanwhile", async () => {
  const opener = createOpener("test:///default");
  const a = await opener("test:///default", false);
  await destroy(a);
  const pending = opener("test:///default", false);
  await a.release();
  const b = await pending;
  assert.equal(await state(b), SHUTOFF);
  await b.release();
  await opener.closeAll();
});

test("after closeAll, releases of old connections leave a new instance alone", async () => {
  const opener = createOpener("test:///default");
  const a = await opener("test:///default", false);
  await destroy(a);
  await opener.closeAll();
  // after closeAll a release of an old connection must not close the new instance
  const b = await opener("test:///default", false);
  assert.equal(await state(b), RUNNING);
  await a.release();
  const c = await opener("test:///default", false);
  await destroy(c);
  assert.equal(await state(b), SHUTOFF, "b and c share the new node; a's late release left it alone");
  await b.release();
  await c.release();
  await opener.closeAll();
});

/**
 * An opener over the real test:///default opener that counts opens and releases per connection
 * and can hold CONNECT_OPEN back (the driver being slow to open).
 */
function countingOpener() {
  const inner = createOpener("test:///default");
  const stats = { opens: 0, releases: 0, doubleReleases: 0 };
  let gate: Promise<void> = Promise.resolve();
  const opener: ConnectionOpener = async (uri, ro) => {
    await gate;
    const c = await inner(uri, ro);
    stats.opens++;
    let done = false;
    return {
      drivers: c.drivers,
      release: async () => {
        if (done) stats.doubleReleases++;
        done = true;
        stats.releases++;
        await c.release();
      },
    };
  };
  return {
    opener,
    inner,
    stats,
    hold(): () => void {
      let open = () => {};
      gate = new Promise((r) => (open = r));
      return open;
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

async function withServer(
  f: (sock: string, o: ReturnType<typeof countingOpener>, server: RpcServer) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tsvirtd-opener-"));
  const o = countingOpener();
  const server = new RpcServer({ opener: o.opener, logger: pino({ level: "silent" }) });
  const sock = join(dir, "sock");
  await server.listenUnix(sock, false);
  try {
    await f(sock, o, server);
  } finally {
    await server.close(1000);
    await o.inner.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function client(sock: string): Promise<RpcClient> {
  const c = await RpcClient.connect({ path: sock });
  await c.call("CONNECT_OPEN", { name: "test:///default", flags: 0 });
  return c;
}

test("the server releases each connection once: CONNECT_CLOSE, dropped socket, both", async () => {
  await withServer(async (sock, o) => {
    // CONNECT_CLOSE: released before the reply, and not again when the socket closes
    const a = await client(sock);
    await a.call("CONNECT_CLOSE");
    assert.equal(o.stats.releases, 1);
    a.close();
    // a dropped socket without CONNECT_CLOSE
    const b = await client(sock);
    b.close();
    await until(() => o.stats.releases === 2, "the dropped client was released");
    // CONNECT_CLOSE then an immediate drop
    const c = await client(sock);
    const closing = c.call("CONNECT_CLOSE").catch(() => {});
    c.close();
    await closing;
    await until(() => o.stats.releases === 3, "the closing client was released");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(o.stats, { opens: 3, releases: 3, doubleReleases: 0 });
    // and after all that the node is pristine again
    const d = await client(sock);
    const { dom } = await d.call("DOMAIN_LOOKUP_BY_NAME", { name: "test" });
    assert.equal((await d.call("DOMAIN_GET_INFO", { dom })).state, RUNNING);
    await d.call("CONNECT_CLOSE");
    d.close();
  });
});

test("a client gone while its CONNECT_OPEN is served is released when the open completes", async () => {
  await withServer(async (sock, o) => {
    const a = await client(sock);
    const { dom } = await a.call("DOMAIN_LOOKUP_BY_NAME", { name: "test" });
    await a.call("DOMAIN_DESTROY", { dom });
    const release = o.hold();
    const b = await RpcClient.connect({ path: sock });
    const opening = b.call("CONNECT_OPEN", { name: "test:///default", flags: 0 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    b.close();
    await opening;
    await new Promise((r) => setTimeout(r, 50));
    release();
    await until(() => o.stats.releases === 1, "the late open was released");
    assert.equal(o.stats.opens, 2);
    await a.call("CONNECT_CLOSE");
    a.close();
    await until(() => o.stats.releases === 2, "a was released");
    assert.equal(o.stats.doubleReleases, 0);
    // nothing holds test:///default any more: the next client finds "test" running
    const c = await client(sock);
    const r = await c.call("DOMAIN_LOOKUP_BY_NAME", { name: "test" });
    assert.equal((await c.call("DOMAIN_GET_INFO", { dom: r.dom })).state, RUNNING);
    await c.call("CONNECT_CLOSE");
    c.close();
  });
});

test("shutdown with clients connected finishes promptly and releases them", async () => {
  await withServer(async (sock, o, server) => {
    const clients = await Promise.all([client(sock), client(sock), client(sock)]);
    const events = await clients[0]!.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", {
      eventID: 0,
      dom: null,
    });
    assert.ok(events.callbackID > 0);
    const t0 = Date.now();
    await server.close(5000);
    assert.ok(Date.now() - t0 < 2000, `server.close took ${Date.now() - t0} ms`);
    await until(() => o.stats.releases === 3, "every client was released");
    assert.equal(o.stats.doubleReleases, 0);
    for (const c of clients) c.close();
  });
});
