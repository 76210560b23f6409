// RpcServer behaviour that needs timing or raw frames: server keepalive pings and dropping a
// silent client, stream framing for @readstream/@writestream procedures, config and argv parsing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { parseDaemonArgs } from "../src/daemon/args.js";
import { parseDaemonConfig } from "../src/daemon/config.js";
import type { ByteStream, DriverSet } from "../src/driver/index.js";
import { isVirError } from "../src/errors/index.js";
import { RpcClient } from "../src/rpc/client/client.js";
import { KEEPALIVE_PROGRAM, MessageStatus, MessageType } from "../src/rpc/protocol/constants.js";
import { decodeFrame, encodeFrame, FrameDecoder } from "../src/rpc/protocol/frame.js";
import { procedureByName } from "../src/rpc/protocol/program.js";
import { RpcServer } from "../src/rpc/server/server.js";

const VOL = { pool: "p", name: "v", key: "/p/v" };
const uploaded: Buffer[] = [];

const drivers: DriverSet = {
  uri: "fake:///default",
  hypervisor: {
    name: "FAKE",
    connectGetHostname: async () => "h",
    // a console-like stream: both directions at once
    ...({
      async domainOpenConsole(_dom: unknown, _dev: unknown, stream: ByteStream, _flags: number) {
        for await (const c of stream.incoming)
          await stream.write(Buffer.from(`echo:${Buffer.from(c).toString()}`));
        await stream.close();
      },
    } as object),
  },
  storage: {
    name: "fake",
    // stream slots get a ByteStream at libvirt's position (after the volume)
    ...({
      async storageVolDownload(_vol: unknown, stream: ByteStream, offset: number, length: number) {
        await stream.write(Buffer.alloc(300000, 1));
        await stream.write(Buffer.from(`tail ${offset} ${length}`));
        await stream.close();
      },
      async storageVolUpload(_vol: unknown, stream: ByteStream) {
        for await (const c of stream.incoming) uploaded.push(Buffer.from(c));
      },
    } as object),
  },
};

let root: string;
let server: RpcServer;
const sock = () => join(root, "sock");

before(async () => {
  root = mkdtempSync(join(tmpdir(), "rpc-ka-"));
  server = new RpcServer({
    opener: async () => ({ drivers, release: async () => {} }),
    logger: pino({ level: "silent" }),
    keepaliveInterval: 0.1,
    keepaliveCount: 3,
  });
  await server.listenUnix(sock(), false);
});

after(async () => {
  await server.close(500);
  rmSync(root, { recursive: true, force: true });
});

function rawCall(s: Socket, name: string, args: unknown, serial: number) {
  const p = procedureByName(name);
  s.write(
    encodeFrame({ prog: 0x20008086, vers: 1, proc: p.num, type: MessageType.CALL, serial, status: 0 }, (w) =>
      p.args.encode(w, args),
    ),
  );
}

test("after the client asks for keepalive the server pings it; a live client stays", async () => {
  const c = await RpcClient.connect({ path: sock() });
  await c.call("CONNECT_SUPPORTS_FEATURE", { feature: 10 });
  await c.call("CONNECT_OPEN", { name: null, flags: 0 });
  await new Promise((r) => setTimeout(r, 500));
  // RpcClient answers the server's PINGs with PONGs, so it is still connected
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "h");
  c.close();
});

test("client keepalive: a silent server is given up on, a live one is kept", async () => {
  // a "server" that accepts and never answers
  const { createServer } = await import("node:net");
  const mute = createServer(() => {});
  const mutePath = join(root, "mute.sock");
  await new Promise<void>((r) => mute.listen(mutePath, r));
  const c = await RpcClient.connect({ path: mutePath });
  c.startKeepalive(0.05, 3);
  await assert.rejects(c.call("AUTH_LIST"), /keepalive timeout/);
  mute.close();
  // tsvirtd answers the client's pings, so a quiet but alive connection stays up
  const live = await RpcClient.connect({ path: sock() });
  live.startKeepalive(0.05, 3);
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(live.pongs >= 2);
  assert.deepEqual(await live.call("AUTH_LIST"), { types: [0] });
  live.close();
});

test("a client that stops talking is dropped after interval × count", async () => {
  const s = connect(sock());
  const dec = new FrameDecoder();
  let pings = 0;
  s.on("data", (b) => {
    for (const f of dec.push(b)) if (decodeFrame(f).header.prog === KEEPALIVE_PROGRAM) pings++;
  });
  rawCall(s, "CONNECT_SUPPORTS_FEATURE", { feature: 10 }, 1);
  const closed = await new Promise<boolean>((resolve) => {
    s.on("close", () => resolve(true));
    setTimeout(() => resolve(false), 3000);
  });
  assert.ok(closed, "silent client was dropped");
  assert.ok(pings >= 1, "server pinged before dropping");
});

test("read stream: reply, data packets (≤ 262120 bytes), an empty CONTINUE as end, OK confirms finish", async () => {
  const s = connect(sock());
  const dec = new FrameDecoder();
  const got: ReturnType<typeof decodeFrame>[] = [];
  s.on("data", (b) => {
    for (const f of dec.push(b)) got.push(decodeFrame(f));
  });
  const wait = async (pred: () => boolean) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  };
  const isStream = (g: ReturnType<typeof decodeFrame>) => g.header.type === MessageType.STREAM;
  rawCall(s, "CONNECT_OPEN", { name: null, flags: 0 }, 1);
  rawCall(s, "STORAGE_VOL_DOWNLOAD", { vol: VOL, offset: 5, length: 9, flags: 0 }, 2);
  await wait(() => got.some((g) => isStream(g) && g.body.length === 0));
  const stream = got.filter((g) => g.header.serial === 2);
  assert.equal(stream[0]!.header.type, MessageType.REPLY);
  const data = stream.filter((g) => isStream(g) && g.header.status === MessageStatus.CONTINUE);
  assert.ok(data.every((d) => d.body.length <= 262120));
  const all = Buffer.concat(data.map((d) => d.body));
  assert.equal(all.length, 300000 + "tail 5 9".length);
  assert.equal(all.subarray(300000).toString(), "tail 5 9");
  // the end of data is an empty CONTINUE (never an OK, which libvirt's client would reject)
  assert.equal(data.at(-1)!.body.length, 0);
  assert.ok(!stream.some((g) => isStream(g) && g.header.status === MessageStatus.OK));
  // virStreamFinish: the client's OK is confirmed with the server's OK
  const h = { prog: 0x20008086, vers: 1, proc: 209, type: MessageType.STREAM, serial: 2 };
  s.write(encodeFrame({ ...h, status: MessageStatus.OK }));
  await wait(() => got.some((g) => isStream(g) && g.header.status === MessageStatus.OK));
  assert.ok(got.some((g) => isStream(g) && g.header.serial === 2 && g.header.status === MessageStatus.OK));
  s.end();
});

test("write stream: data packets reach the driver, the server confirms the end", async () => {
  const s = connect(sock());
  const dec = new FrameDecoder();
  const got: ReturnType<typeof decodeFrame>[] = [];
  s.on("data", (b) => {
    for (const f of dec.push(b)) got.push(decodeFrame(f));
  });
  rawCall(s, "CONNECT_OPEN", { name: null, flags: 0 }, 1);
  rawCall(s, "STORAGE_VOL_UPLOAD", { vol: VOL, offset: 0, length: 0, flags: 0 }, 2);
  const h = { prog: 0x20008086, vers: 1, proc: 208, type: MessageType.STREAM, serial: 2 };
  for (let i = 0; i < 50 && !got.some((g) => g.header.serial === 2); i++)
    await new Promise((r) => setTimeout(r, 10));
  s.write(encodeFrame({ ...h, status: MessageStatus.CONTINUE }, (w) => w.raw(Buffer.from("hello "))));
  s.write(encodeFrame({ ...h, status: MessageStatus.CONTINUE }, (w) => w.raw(Buffer.from("world"))));
  s.write(encodeFrame({ ...h, status: MessageStatus.OK }));
  for (let i = 0; i < 100 && got.filter((g) => g.header.serial === 2).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const mine = got.filter((g) => g.header.serial === 2);
  assert.equal(mine[0]!.header.type, MessageType.REPLY);
  assert.equal(mine[1]!.header.type, MessageType.STREAM);
  assert.equal(mine[1]!.header.status, MessageStatus.OK);
  assert.equal(Buffer.concat(uploaded).toString(), "hello world");
  s.end();
});

/** A raw client with a console stream open at serial 2 (DOMAIN_OPEN_CONSOLE, proc 201). */
async function openRawConsole() {
  const s = connect(sock());
  const dec = new FrameDecoder();
  const got: ReturnType<typeof decodeFrame>[] = [];
  s.on("data", (b) => {
    for (const f of dec.push(b)) got.push(decodeFrame(f));
  });
  const wait = async (pred: () => boolean) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  };
  rawCall(s, "CONNECT_OPEN", { name: null, flags: 0 }, 1);
  const dom = { name: "d", uuid: "00000000-0000-0000-0000-000000000001", id: 1 };
  rawCall(s, "DOMAIN_OPEN_CONSOLE", { dom, dev_name: null, flags: 0 }, 2);
  await wait(() => got.some((g) => g.header.serial === 2));
  const h = { prog: 0x20008086, vers: 1, proc: 201, type: MessageType.STREAM, serial: 2 };
  return { s, got, wait, h };
}

test("bidirectional stream (console): data both ways, the client's finish ends both", async () => {
  const { s, got, wait, h } = await openRawConsole();
  s.write(encodeFrame({ ...h, status: MessageStatus.CONTINUE }, (w) => w.raw(Buffer.from("ls\n"))));
  await wait(() => got.some((g) => g.header.type === MessageType.STREAM && g.body.length > 0));
  const data = got.find((g) => g.header.type === MessageType.STREAM && g.body.length > 0)!;
  assert.equal(data.body.toString(), "echo:ls\n");
  s.write(encodeFrame({ ...h, status: MessageStatus.OK }));
  await wait(() =>
    got.some((g) => g.header.type === MessageType.STREAM && g.header.status === MessageStatus.OK),
  );
  assert.ok(got.some((g) => g.header.type === MessageType.STREAM && g.header.status === MessageStatus.OK));
  s.end();
});

test("the client's abort (virStreamAbort) is confirmed with an empty OK, and nothing follows it", async () => {
  const { s, got, wait, h } = await openRawConsole();
  s.write(encodeFrame({ ...h, status: MessageStatus.ERROR }));
  const isConfirm = (g: (typeof got)[number]) =>
    g.header.serial === 2 && g.header.type === MessageType.STREAM && g.header.status === MessageStatus.OK;
  await wait(() => got.some(isConfirm));
  const confirm = got.find(isConfirm);
  assert.ok(confirm, "abort confirmed");
  assert.equal(confirm.body.length, 0);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    got
      .filter((g) => g.header.serial === 2 && g.header.type === MessageType.STREAM)
      .map((g) => g.header.status),
    [MessageStatus.OK],
  );
  s.end();
});

test("RpcClient.openStream: console both ways, finish from either side", async () => {
  const c = await RpcClient.connect({ path: sock() });
  await c.call("CONNECT_OPEN", { name: null, flags: 0 });
  const dom = { name: "d", uuid: "00000000-0000-0000-0000-000000000001", id: 1 };
  const con = await c.openStream("DOMAIN_OPEN_CONSOLE", { dom, dev_name: null, flags: 0 });
  const it = con.incoming[Symbol.asyncIterator]();
  await con.send(Buffer.from("one"));
  assert.equal((await it.next()).value.toString(), "echo:one");
  await con.send(Buffer.from("two"));
  assert.equal((await it.next()).value.toString(), "echo:two");
  await con.finish();
  assert.equal((await it.next()).done, true);
  // the connection is still usable afterwards
  assert.equal((await c.call("CONNECT_GET_HOSTNAME")).hostname, "h");
  c.close();
});

test("config file: libvirtd.conf syntax, unknown keys reported, errors carry the line", () => {
  const { config, unknown } = parseDaemonConfig(
    'listen_tcp = 1\ntcp_port = "16509"\n# comment\nkeepalive_interval = 3\nunix_sock_group = "libvirt"\nx = [1, "a"]\n',
  );
  assert.deepEqual(config, { listen_tcp: true, tcp_port: "16509", keepalive_interval: 3 });
  assert.deepEqual(unknown, ["unix_sock_group", "x"]);
  assert.throws(
    () => parseDaemonConfig("a = 1\nb = oops\n", "t.conf"),
    (e: unknown) => isVirError(e) && /t\.conf:2/.test(e.message),
  );
});

test("daemon services start with the daemon and stop before its listeners", async () => {
  const { startDaemon } = await import("../src/daemon/daemon.js");
  const r = mkdtempSync(join(tmpdir(), "svc-"));
  const seen: string[] = [];
  const d = await startDaemon(
    { root: r, verbose: false, help: false, http: "127.0.0.1:0" },
    {
      logger: pino({ level: "silent" }),
      services: [
        {
          name: "probe",
          async start(ctx) {
            seen.push(`start ${ctx.http} ${ctx.paths.run === join(r, "run")}`);
            return { stop: async () => void seen.push("stop") };
          },
        },
      ],
    },
  );
  await d.stop(100);
  assert.deepEqual(seen, ["start 127.0.0.1:0 true", "stop"]);
  rmSync(r, { recursive: true, force: true });
});

test("argv: --root, --listen-tcp, --http off, --config", () => {
  assert.deepEqual(
    parseDaemonArgs(["--root", "/r", "--listen-tcp", "127.0.0.1:16509", "--http=off", "--config", "f"]),
    {
      verbose: false,
      help: false,
      root: "/r",
      listenTcp: { host: "127.0.0.1", port: 16509 },
      http: "off",
      config: "f",
    },
  );
  assert.throws(() => parseDaemonArgs(["--listen-tcp", "nope"]), /HOST:PORT/);
  assert.throws(() => parseDaemonArgs(["--bogus"]), /unknown option/);
});
