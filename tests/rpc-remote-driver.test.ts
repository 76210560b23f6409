// The remote driver against a real tsvirtd socket: driver slots become RPC calls, results come
// back in the driver shapes, errors keep libvirt's code, events reach the registered callback.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { openConnection } from "../src/api/index.js";
import { type RunningDaemon, startDaemon } from "../src/daemon/daemon.js";
import { remoteConnectionDriver } from "../src/drivers/remote/remote-driver.js";
import { clientPki, remoteTarget, serverUri } from "../src/drivers/remote/remote-uri.js";
import type { ByteStream, DomainEvent, DriverSet, HypervisorDriver } from "../src/driver/index.js";
import {
  openDriverSet,
  parseConnectUri,
  registerConnectionDriver,
  unregisterConnectionDriver,
} from "../src/driver/index.js";
import { ErrorCode, ErrorDomain, isVirError, virError } from "../src/errors/index.js";

const DOM = { name: "vm1", uuid: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", id: -1 };
let emit: (e: DomainEvent) => void = () => {};
const calls: unknown[][] = [];

const hv: HypervisorDriver = {
  name: "FAKE",
  async connectGetHostname() {
    return "remotehost";
  },
  async connectListAllDomains(flags) {
    calls.push(["listAll", flags]);
    return [DOM];
  },
  async domainLookupByName(name) {
    if (name !== "vm1")
      throw virError(ErrorCode.NO_DOMAIN, ErrorDomain.TEST, `no domain with matching name '${name}'`);
    return DOM;
  },
  async domainGetInfo() {
    return { state: 5, maxMem: 2048, memory: 1024, nrVirtCpu: 1, cpuTime: 0 };
  },
  async domainSave(dom, to, dxml, flags) {
    calls.push(["save", dom.name, to, dxml, flags]);
  },
  async domainOpenConsole(_dom, _dev, stream, _flags) {
    for await (const c of stream.incoming)
      await stream.write(Buffer.from(Buffer.from(c).toString().toUpperCase()));
    await stream.close();
  },
  async domainGetAutostart() {
    return true;
  },
  async connectDomainEventRegisterAny(_dom, _id, cb) {
    emit = cb;
    return 7;
  },
  async connectDomainEventDeregisterAny() {
    emit = () => {};
  },
};

const uploads: Buffer[] = [];
const storage = {
  name: "fake",
  async storageVolDownload(_vol: unknown, stream: ByteStream, offset: number, length: number) {
    await stream.write(Buffer.alloc(600000, 7));
    await stream.write(Buffer.from(`end ${offset}+${length}`));
    await stream.close();
  },
  async storageVolUpload(_vol: unknown, stream: ByteStream) {
    for await (const c of stream.incoming) uploads.push(Buffer.from(c));
  },
};

/** A caller-side ByteStream: what the caller feeds in, and what arrived for it. */
function byteStream(input: Uint8Array[] = []) {
  const received: Buffer[] = [];
  let closed = false;
  const stream: ByteStream = {
    incoming: (async function* () {
      for (const c of input) yield c;
    })(),
    write: async (c) => void received.push(Buffer.from(c)),
    close: async () => {
      closed = true;
    },
  };
  return { stream, received, closed: () => closed };
}

/** Slots whose wire form differs from the driver's: results must come back identical. */
const shaped: Partial<HypervisorDriver> = {
  async domainGetVcpus() {
    return {
      info: [
        { number: 0, state: 1, cpuTime: 1000, cpu: 3 },
        { number: 1, state: 1, cpuTime: 2000, cpu: 5 },
      ],
      cpumaps: [new Uint8Array([0xff, 0x01]), new Uint8Array([0x0f, 0x00])],
    };
  },
  async domainGetVcpuPinInfo() {
    return [new Uint8Array([1, 2]), new Uint8Array([3, 4])];
  },
  async nodeGetCPUMap() {
    return { cpumap: new Uint8Array([0b101]), online: 2, cpus: 3 };
  },
  async domainGetIOThreadInfo() {
    return [{ iothreadId: 1, cpumap: new Uint8Array([7]) }];
  },
  async domainGetFSInfo() {
    return [{ mountpoint: "/", name: "vda1", fstype: "ext4", devAliases: ["vda"] }];
  },
  async domainBlockStats() {
    return { rdReq: 1, rdBytes: 2, wrReq: 3, wrBytes: 4, errs: 5 };
  },
  async domainInterfaceStats() {
    return { rxBytes: 1, rxPackets: 2, rxErrs: 3, rxDrop: 4, txBytes: 5, txPackets: 6, txErrs: 7, txDrop: 8 };
  },
  async domainGetEmulatorPinInfo() {
    return new Uint8Array([9]);
  },
  async domainGetMemoryParameters() {
    return [
      { field: "hard_limit", type: 4, value: 9007199254740991 },
      { field: "flag", type: 6, value: true },
    ];
  },
  async domainGetSecurityLabel() {
    return { label: "lbl", enforcing: true };
  },
  async domainScreenshot() {
    return { mime: "image/x-portable-pixmap", data: new Uint8Array(Buffer.from("P6\n1 1\n255\nabc")) };
  },
};
Object.assign(hv, shaped);

let root: string;
let daemon: RunningDaemon;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "tsvirt-remote-"));
  registerConnectionDriver({
    name: "fake",
    accepts: (u) => u.driver === "fake" && !u.transport,
    open: async (): Promise<DriverSet> => ({
      uri: "fake:///default",
      hypervisor: hv,
      storage: storage as any,
    }),
  });
  registerConnectionDriver(remoteConnectionDriver);
  daemon = await startDaemon({ root, verbose: false, help: false }, { logger: pino({ level: "silent" }) });
});

after(async () => {
  await daemon.stop(1000);
  unregisterConnectionDriver("fake");
  unregisterConnectionDriver("remote");
  rmSync(root, { recursive: true, force: true });
});

test("the server URI drops transport and client-only parameters", () => {
  assert.equal(serverUri(parseConnectUri("test+unix:///default?socket=/x/y")), "test:///default");
  assert.equal(serverUri(parseConnectUri("qemu+tcp://host:1234/system")), "qemu:///system");
});

test("driver slots over the wire", async () => {
  const uri = `fake+unix:///default?socket=${daemon.paths.sock}`;
  const d = await openDriverSet(uri);
  const h = d.hypervisor as any;
  assert.equal(await h.connectGetHostname(), "remotehost");
  assert.deepEqual(await h.connectListAllDomains(0), [DOM]);
  assert.deepEqual(await h.domainLookupByName("vm1"), DOM);
  assert.deepEqual(await h.domainGetInfo(DOM), {
    state: 5,
    maxMem: 2048,
    memory: 1024,
    nrVirtCpu: 1,
    cpuTime: 0,
  });
  assert.equal(await h.domainGetAutostart(DOM), true);
  await h.domainSave(DOM, "/tmp/x", null, 4);
  assert.deepEqual(calls.at(-1), ["save", "vm1", "/tmp/x", null, 4]);
  assert.equal(await h.connectGetURI(), uri);
  await assert.rejects(
    h.domainLookupByName("zz"),
    (e: unknown) => isVirError(e) && e.code === ErrorCode.NO_DOMAIN,
  );
  const got: DomainEvent[] = [];
  const id = await h.connectDomainEventRegisterAny(null, 0, (e: DomainEvent) => got.push(e));
  emit({ eventId: 0, dom: DOM, event: 2, detail: 0 });
  await h.connectGetHostname();
  assert.deepEqual(got, [{ eventId: 0, dom: DOM, event: 2, detail: 0 }]);
  await h.connectDomainEventDeregisterAny(id);
  await h.connectClose();
});

test("volume download and upload stream over the wire", async () => {
  const d = await openDriverSet(`fake+unix:///default?socket=${daemon.paths.sock}`);
  const st = d.storage as any;
  const vol = { pool: "p", name: "v", key: "/p/v" };
  const down = byteStream();
  await st.storageVolDownload(vol, down.stream, 3, 4, 0);
  const all = Buffer.concat(down.received);
  assert.equal(all.length, 600000 + "end 3+4".length);
  assert.equal(all.subarray(600000).toString(), "end 3+4");
  assert.ok(down.closed());
  const up = byteStream([Buffer.alloc(300000, 1), Buffer.from("bye")]);
  await st.storageVolUpload(vol, up.stream, 0, 0, 0);
  assert.equal(Buffer.concat(uploads).length, 300003);
  assert.equal(Buffer.concat(uploads).subarray(300000).toString(), "bye");
  await (d.hypervisor as any).connectClose();
});

test("console stream both ways through the remote driver", async () => {
  const d = await openDriverSet(`fake+unix:///default?socket=${daemon.paths.sock}`);
  const con = byteStream([Buffer.from("hello "), Buffer.from("world")]);
  await (d.hypervisor as any).domainOpenConsole(DOM, null, con.stream, 0);
  assert.equal(Buffer.concat(con.received).toString(), "HELLO WORLD");
  assert.ok(con.closed());
  await (d.hypervisor as any).connectClose();
});

test("slots with their own wire shapes come back exactly as the driver returned them", async () => {
  const d = await openDriverSet(`fake+unix:///default?socket=${daemon.paths.sock}`);
  const remote = d.hypervisor as any;
  const calls: [string, unknown[]][] = [
    ["domainGetVcpus", [DOM, 2, 2]],
    ["domainGetVcpuPinInfo", [DOM, 2, 2, 0]],
    ["nodeGetCPUMap", [0]],
    ["domainGetIOThreadInfo", [DOM, 0]],
    ["domainGetFSInfo", [DOM, 0]],
    ["domainBlockStats", [DOM, "vda"]],
    ["domainInterfaceStats", [DOM, "vnet0"]],
    ["domainGetEmulatorPinInfo", [DOM, 1, 0]],
    ["domainGetMemoryParameters", [DOM, 0]],
    ["domainGetSecurityLabel", [DOM]],
    ["domainScreenshot", [DOM, 0, 0]],
  ];
  for (const [slot, args] of calls) {
    const direct = await (hv as any)[slot](...args);
    assert.deepEqual(await remote[slot](...args), direct, slot);
  }
  await remote.connectClose();
});

test("the public API over the remote driver", async () => {
  const conn = await openConnection(`fake+unix:///default?socket=${daemon.paths.sock}`);
  assert.equal(await conn.getHostname(), "remotehost");
  const doms = await conn.listAllDomains();
  assert.deepEqual(
    doms.map((x) => x.ref),
    [DOM],
  );
  await conn.close();
});

test("default sockets: a read-only open of the system daemon goes to libvirt-sock-ro, as virsh -r", () => {
  const env = { HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1000" };
  const at = (uri: string, uid: number, ro: boolean) => remoteTarget(parseConnectUri(uri), env, uid, ro);
  assert.deepEqual(at("qemu+unix:///system", 1000, false), { path: "/run/tsvirt/libvirt-sock" });
  assert.deepEqual(at("qemu+unix:///system", 1000, true), { path: "/run/tsvirt/libvirt-sock-ro" });
  assert.deepEqual(at("test+unix:///default", 0, true), { path: "/run/tsvirt/libvirt-sock-ro" });
  // the session daemon has one socket for both
  assert.deepEqual(at("qemu+unix:///session", 1000, true), { path: "/run/user/1000/tsvirt/libvirt-sock" });
  // socket= is used as given
  assert.deepEqual(at("qemu+unix:///system?socket=/x/s", 0, true), { path: "/x/s" });
});

test("TLS client files as libvirt's: an unreadable CA is refused with its text, a missing certificate is optional", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pki-"));
  try {
    const uri = parseConnectUri(`qemu+tls://127.0.0.1:1/system?pkipath=${dir}`);
    assert.throws(
      () => clientPki(uri, {}, 0),
      (e) =>
        isVirError(e) &&
        e.code === ErrorCode.SYSTEM_ERROR &&
        e.message === `Cannot read CA certificate '${dir}/cacert.pem': No such file or directory`,
    );
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "cacert.pem"), "CA");
    assert.deepEqual(clientPki(uri, {}, 0), { ca: Buffer.from("CA") });
    writeFileSync(join(dir, "clientcert.pem"), "C");
    assert.deepEqual(
      clientPki(uri, {}, 0),
      { ca: Buffer.from("CA") },
      "a certificate without its key is not used",
    );
    writeFileSync(join(dir, "clientkey.pem"), "K");
    assert.deepEqual(clientPki(uri, {}, 0), {
      ca: Buffer.from("CA"),
      cert: Buffer.from("C"),
      key: Buffer.from("K"),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
