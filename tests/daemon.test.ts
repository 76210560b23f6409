// tsvirtd over its real sockets with a fake driver (a real HypervisorDriver implementation):
// open/auth, calls in flight, read-only refusal, unknown procedures, hostile bytes, keepalive,
// events, and a shutdown that lets in-flight calls finish.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import type { DomainEvent, DriverSet, HypervisorDriver } from "../src/driver/index.js";
import { registerConnectionDriver, unregisterConnectionDriver } from "../src/driver/index.js";
import { ErrorCode, isVirError, virError, ErrorDomain } from "../src/errors/index.js";
import { type RunningDaemon, startDaemon } from "../src/daemon/daemon.js";
import { RpcClient } from "../src/rpc/client/client.js";
import { eventMessages } from "../src/rpc/protocol/procs-events.js";
import { XdrReader } from "../src/rpc/xdr/index.js";

const DOM = { name: "fake1", uuid: "11111111-2222-3333-4444-555555555555", id: 1 };

function fakeDriver(): DriverSet {
  let cbs: { id: number; cb: (e: DomainEvent) => void }[] = [];
  let nextId = 10;
  let opens = 0;
  const hv: HypervisorDriver & { emit(e: DomainEvent): void; opens(): number } = {
    name: "FAKE",
    emit: (e) => {
      for (const c of cbs) c.cb(e);
    },
    opens: () => opens,
    async connectGetHostname() {
      return "fakehost";
    },
    async connectGetSysinfo(flags: number) {
      await new Promise((r) => setTimeout(r, 300));
      return `slow ${flags}`;
    },
    async domainLookupByName(name: string) {
      if (name !== DOM.name)
        throw virError(ErrorCode.NO_DOMAIN, ErrorDomain.TEST, `no domain with matching name '${name}'`);
      return DOM;
    },
    async domainGetInfo() {
      return { state: 1, maxMem: 1048576, memory: 524288, nrVirtCpu: 2, cpuTime: 123456789012 };
    },
    async domainDestroyFlags() {},
    async connectGetCapabilities() {
      throw new Error("x".repeat(5_000_000));
    },
    async connectListAllDomains() {
      return [DOM];
    },
    async domainIsActive() {
      return true;
    },
    async connectDomainEventRegisterAny(_dom, _eventId, cb) {
      const id = nextId++;
      cbs.push({ id, cb });
      return id;
    },
    async connectDomainEventDeregisterAny(id) {
      cbs = cbs.filter((c) => c.id !== id);
    },
  };
  opens++;
  return { uri: "fake:///default", hypervisor: hv };
}

let root: string;
let daemon: RunningDaemon;
let shared: DriverSet;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "tsvirtd-test-"));
  shared = fakeDriver();
  registerConnectionDriver({
    name: "fake",
    accepts: (u) => u.driver === "fake",
    open: async () => shared,
  });
  daemon = await startDaemon(
    { root, verbose: false, help: false, listenTcp: { host: "127.0.0.1", port: 0 } },
    { logger: pino({ level: "silent" }) },
  );
});

after(async () => {
  await daemon.stop(1000);
  unregisterConnectionDriver("fake");
  rmSync(root, { recursive: true, force: true });
});

async function open(path = daemon.paths.sock, uri = "fake:///default"): Promise<RpcClient> {
  const c = await RpcClient.connect({ path });
  assert.deepEqual(await c.call("AUTH_LIST"), { types: [0] });
  await c.call("CONNECT_OPEN", { name: uri, flags: 0 });
  return c;
}

test("open, simple calls, typed results", async () => {
  const c = await open();
  assert.deepEqual(await c.call("CONNECT_GET_HOSTNAME"), { hostname: "fakehost" });
  const { dom } = await c.call("DOMAIN_LOOKUP_BY_NAME", { name: "fake1" });
  assert.deepEqual(dom, DOM);
  assert.deepEqual(await c.call("DOMAIN_GET_INFO", { dom }), {
    state: 1,
    maxMem: 1048576,
    memory: 524288,
    nrVirtCpu: 2,
    cpuTime: 123456789012,
  });
  assert.deepEqual(await c.call("CONNECT_LIST_ALL_DOMAINS", { need_results: 1, flags: 0 }), {
    domains: [DOM],
    ret: 1,
  });
  assert.deepEqual(await c.call("DOMAIN_IS_ACTIVE", { dom }), { active: true });
  assert.deepEqual(await c.call("CONNECT_SUPPORTS_FEATURE", { feature: 10 }), { supported: 1 });
  c.close();
});

test("driver errors and unsupported procedures come back as errors; the connection lives on", async () => {
  const c = await open();
  await assert.rejects(c.call("DOMAIN_LOOKUP_BY_NAME", { name: "nope" }), (e: unknown) => {
    assert.ok(isVirError(e));
    assert.equal(e.code, ErrorCode.NO_DOMAIN);
    assert.match(e.message, /no domain with matching name 'nope'/);
    return true;
  });
  // a slot the driver lacks
  await assert.rejects(c.call("DOMAIN_GET_OS_TYPE", { dom: DOM }), (e: unknown) => {
    assert.ok(isVirError(e));
    assert.equal(e.code, ErrorCode.NO_SUPPORT);
    assert.match(e.message, /virDomainGetOSType/);
    return true;
  });
  // a procedure number that is not in the table at all
  const { encodeFrame } = await import("../src/rpc/protocol/frame.js");
  const got = new Promise<Buffer>((resolve) => {
    (c as any).socket.once("data", resolve);
  });
  c.writeRaw(encodeFrame({ prog: 0x20008086, vers: 1, proc: 9999, type: 0, serial: 77, status: 0 }));
  const reply = await got;
  assert.equal(reply.readUInt32BE(4 + 16), 77); // serial
  assert.equal(reply.readUInt32BE(4 + 20), 1); // status ERROR
  assert.equal(reply.readInt32BE(28), ErrorCode.NO_SUPPORT);
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  c.close();
});

test("a driver throwing a foreign, oversized error still gets a clipped INTERNAL_ERROR reply", async () => {
  const c = await open();
  await assert.rejects(c.call("CONNECT_GET_CAPABILITIES"), (e: unknown) => {
    assert.ok(isVirError(e));
    assert.equal(e.code, ErrorCode.INTERNAL_ERROR);
    assert.ok(e.message.length <= 65536);
    return true;
  });
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  c.close();
});

test("a call with a non-OK status or another program version gets libvirt's RPC error", async () => {
  const c = await open();
  const { encodeFrame } = await import("../src/rpc/protocol/frame.js");
  const sock = (c as any).socket as import("node:net").Socket;
  for (const [h, text] of [
    [{ prog: 0x20008086, vers: 1, proc: 59, type: 0, serial: 90, status: 2 }, /Unexpected message status 2/],
    [{ prog: 0x20008086, vers: 2, proc: 59, type: 0, serial: 91, status: 0 }, /cannot find program/],
  ] as const) {
    const got = new Promise<Buffer>((resolve) => sock.once("data", resolve));
    c.writeRaw(encodeFrame(h));
    const reply = await got;
    assert.equal(reply.readUInt32BE(4 + 20), 1); // status ERROR
    assert.equal(reply.readInt32BE(28), ErrorCode.RPC);
    assert.match(reply.toString("latin1"), text);
  }
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  c.close();
});

test("calls before CONNECT_OPEN are refused", async () => {
  const c = await RpcClient.connect({ path: daemon.paths.sock });
  await assert.rejects(c.call("CONNECT_GET_HOSTNAME"), /connection not open/);
  c.close();
});

test("several calls in flight on one client; replies matched by serial", async () => {
  const c = await open();
  const t0 = Date.now();
  const slow = c.call("CONNECT_GET_SYSINFO", { flags: 3 });
  const fast = await c.call("CONNECT_GET_HOSTNAME");
  assert.equal(fast.hostname, "fakehost");
  assert.ok(Date.now() - t0 < 250, "fast call was not held up by the slow one");
  assert.equal((await slow).sysinfo, "slow 3");
  const many = await Promise.all(Array.from({ length: 40 }, () => c.call("CONNECT_GET_HOSTNAME")));
  assert.equal(many.length, 40);
  c.close();
});

test("read-only socket refuses write procedures with libvirt's error", async () => {
  const c = await open(daemon.paths.sockRo);
  assert.equal((await c.call("DOMAIN_GET_INFO", { dom: DOM })).state, 1);
  await assert.rejects(c.call("DOMAIN_DESTROY", { dom: DOM }), (e: unknown) => {
    assert.ok(isVirError(e));
    assert.equal(e.code, ErrorCode.OPERATION_DENIED);
    assert.equal(e.message, "operation forbidden: read only access prevents virDomainDestroy");
    return true;
  });
  c.close();
  // VIR_CONNECT_RO on the read-write socket does the same
  const c2 = await RpcClient.connect({ path: daemon.paths.sock });
  await c2.call("CONNECT_OPEN", { name: "fake:///default", flags: 1 });
  await assert.rejects(c2.call("DOMAIN_DESTROY_FLAGS", { dom: DOM, flags: 0 }), /read only access/);
  c2.close();
});

test("TCP listener serves the same protocol", async () => {
  const c = await RpcClient.connect({ host: "127.0.0.1", port: daemon.tcpPort! });
  await c.call("CONNECT_OPEN", { name: "fake:///default", flags: 0 });
  assert.deepEqual(await c.call("CONNECT_IS_SECURE"), { secure: false });
  c.close();
});

test("hostile bytes drop only that client; the daemon keeps serving", async () => {
  const garbage = [
    Buffer.from([0, 0, 0, 0]),
    Buffer.from([0x7f, 0xff, 0xff, 0xff]),
    Buffer.from([0, 0, 0, 3, 1, 2, 3]),
    Buffer.concat([Buffer.from([0, 0, 0, 40]), Buffer.alloc(36, 0xff)]),
  ];
  for (const g of garbage) {
    const c = await RpcClient.connect({ path: daemon.paths.sock });
    c.writeRaw(g);
    await new Promise((r) => setTimeout(r, 20));
    c.close();
  }
  // a frame with a valid header but garbage args gets an error reply, not a drop
  const c = await open();
  const { encodeFrame } = await import("../src/rpc/protocol/frame.js");
  c.writeRaw(
    encodeFrame({ prog: 0x20008086, vers: 1, proc: 23, type: 0, serial: 5, status: 0 }, (w) =>
      w.uint(0xffffff),
    ),
  );
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  c.close();
  const ok = await open();
  assert.equal((await ok.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  ok.close();
});

test("bounded fuzz: random args for every procedure get a reply, never a crash", async () => {
  const { encodeFrame, FrameDecoder, decodeFrame } = await import("../src/rpc/protocol/frame.js");
  const { remoteProcedures } = await import("../src/rpc/protocol/program.js");
  const c = await open();
  const sock = (c as any).socket as import("node:net").Socket;
  const dec = new FrameDecoder();
  const replies = new Map<number, number>();
  sock.on("data", (b: Buffer) => {
    for (const f of dec.push(b)) {
      const { header } = decodeFrame(f);
      if (header.type === 1) replies.set(header.serial, header.status);
    }
  });
  const procs = [...remoteProcedures.keys()].filter((n) => n !== 2);
  let seed = 4242;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const N = 400;
  for (let i = 0; i < N; i++) {
    const len = rnd() % 48;
    const body = Buffer.alloc(len);
    for (let j = 0; j < len; j++) body[j] = rnd() % 5 === 0 ? rnd() & 0xff : 0;
    const proc = i % 10 === 0 ? rnd() % 500 : procs[rnd() % procs.length]!;
    sock.write(
      encodeFrame({ prog: 0x20008086, vers: 1, proc, type: 0, serial: 1000 + i, status: 0 }, (w) =>
        w.raw(body),
      ),
    );
  }
  for (let t = 0; t < 200 && replies.size < N; t++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(replies.size, N, "every call got a reply");
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  c.close();
});

test("keepalive: PING is answered with PONG", async () => {
  const c = await open();
  c.ping();
  await c.call("CONNECT_GET_HOSTNAME");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.pongs, 1);
  c.close();
});

test("domain events reach the client that registered, with its callbackID", async () => {
  const c = await open();
  const msgs: { proc: number; body: Buffer }[] = [];
  c.onMessage((proc, body) => msgs.push({ proc, body }));
  const { callbackID } = await c.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", {
    eventID: 0,
    dom: null,
  });
  (shared.hypervisor as any).emit({ eventId: 0, dom: DOM, event: 2, detail: 0 });
  await c.call("CONNECT_GET_HOSTNAME");
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0]!.proc, 318);
  const def = eventMessages.find((m) => m.proc === 318)!;
  assert.deepEqual(def.codec.decode(new XdrReader(msgs[0]!.body)), {
    callbackID,
    msg: { dom: DOM, event: 2, detail: 0 },
  });
  await c.call("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", { callbackID });
  (shared.hypervisor as any).emit({ eventId: 0, dom: DOM, event: 5, detail: 1 });
  await c.call("CONNECT_GET_HOSTNAME");
  assert.equal(msgs.length, 1);
  c.close();
});

test("a second daemon on the same root refuses to steal the sockets", async () => {
  await assert.rejects(
    startDaemon({ root, verbose: false, help: false }, { logger: pino({ level: "silent" }) }),
    /already listening/,
  );
  const c = await open();
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "fakehost");
  c.close();
});

test("shutdown lets calls in flight finish and removes the sockets", async () => {
  const r2 = mkdtempSync(join(tmpdir(), "tsvirtd-stop-"));
  const d = await startDaemon(
    { root: r2, verbose: false, help: false },
    { logger: pino({ level: "silent" }) },
  );
  const c = await RpcClient.connect({ path: d.paths.sock });
  await c.call("CONNECT_OPEN", { name: "fake:///default", flags: 0 });
  const slow = c.call("CONNECT_GET_SYSINFO", { flags: 0 });
  await new Promise((r) => setTimeout(r, 50));
  await d.stop(5000);
  assert.equal((await slow).sysinfo, "slow 0");
  const { existsSync } = await import("node:fs");
  assert.equal(existsSync(d.paths.sock), false);
  rmSync(r2, { recursive: true, force: true });
});
