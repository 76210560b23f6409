// The QMP sequences of live hot(un)plug, against the fake QMP server replaying what real QEMU 7.2
// answered (tests/data/qmp/hotplug-*.json, scripts/oracle/qemu-record-hotplug-qmp.ts): the commands
// and arguments libvirt sends (blockdev-add storage/format, device_add, device_del and its
// DEVICE_DELETED, blockdev-del, netdev_add/netdev_del, the CD-ROM tray), the live definition after
// each step, DEVICE_ADDED/REMOVED events, and the 5 s wait's pending and rejected outcomes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { formatDomainXML, parseDomainXML } from "../src/conf/domain/index.js";
import { type DomainEvent, VIR_DOMAIN_EVENT_ID } from "../src/driver/index.js";
import { binaryIdentity, capsCacheName } from "../src/drivers/qemu/capabilities.js";
import { newQemuDomain, type QemuDomain } from "../src/drivers/qemu/domain-obj.js";
import { qemuPostParse } from "../src/drivers/qemu/domain-post-parse.js";
import { QemuDriverState } from "../src/drivers/qemu/driver-state.js";
import { attachDiskLive, detachDiskLive, updateDiskLive } from "../src/drivers/qemu/hotplug-disk.js";
import { attachNetLive, detachNetLive } from "../src/drivers/qemu/hotplug-net.js";
import { dropUnpluggedDevices } from "../src/drivers/qemu/hotplug-reconnect.js";
import { updateDevice } from "../src/drivers/qemu/hotplug.js";
import { QmpClient } from "../src/drivers/qemu/monitor/index.js";
import { FakeQmpServer, loadTranscript } from "../src/drivers/qemu/monitor/testing/fake-qmp-server.js";
import type { QemuProcess } from "../src/drivers/qemu/process.js";
import { loadCaps } from "./guest/xml2argv-cases.js";

const dir = mkdtempSync(join(tmpdir(), "hotplug-qmp-"));
const clients: QmpClient[] = [];
const servers: FakeQmpServer[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The recorded x86_64 capabilities, for a stand-in binary whose cache entry is written up front,
 * so parsing device XML never probes a real QEMU. */
const fakeQemu = join(dir, "qemu-system-x86_64");
writeFileSync(fakeQemu, "");
const caps = { ...loadCaps("hotplug"), binary: fakeQemu };
function primeCapsCache(libDir: string): void {
  const cacheDir = join(libDir, "qemu", "capabilities");
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `${capsCacheName(fakeQemu)}.json`);
  writeFileSync(file, JSON.stringify({ identity: binaryIdentity(fakeQemu), caps }));
}

function domainXml(devices: string): string {
  return `<domain type='qemu'><name>hp</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<controller type='scsi' index='0' model='virtio-scsi'/>${devices}</devices></domain>`;
}

function parse(devices: string) {
  const xml = domainXml(devices);
  const def = parseDomainXML(xml, { noIfnames: true });
  qemuPostParse(def, caps, true);
  return def;
}

let serial = 0;
/** A running domain whose monitor is a fake QEMU replaying `scenario`. */
async function setup(scenario: string, devices = "") {
  const n = ++serial;
  const server = new FakeQmpServer(loadTranscript(`tests/data/qmp/hotplug-${scenario}.json`));
  servers.push(server);
  const sock = join(dir, `${n}.sock`);
  await server.listen(sock);
  const monitor = await QmpClient.connect(sock, { timeoutMs: 5000 });
  clients.push(monitor);
  primeCapsCache(join(dir, `lib${n}`));
  const st = new QemuDriverState({
    uri: "qemu:///system",
    configDir: join(dir, `etc${n}`),
    libDir: join(dir, `lib${n}`),
    runDir: join(dir, `run${n}`),
    emulators: [caps.binary],
    autostart: false,
  });
  const events: DomainEvent[] = [];
  for (const id of [
    VIR_DOMAIN_EVENT_ID.DEVICE_ADDED,
    VIR_DOMAIN_EVENT_ID.DEVICE_REMOVED,
    VIR_DOMAIN_EVENT_ID.DEVICE_REMOVAL_FAILED,
  ])
    st.events.register(id, null, (e) => events.push(e));
  const d: QemuDomain = newQemuDomain(parse(devices));
  d.id = 1;
  d.caps = caps;
  d.proc = { monitor, paths: { status: join(dir, `${n}.status.json`) } } as unknown as QemuProcess;
  // Commands after negotiation, as [execute, arguments].
  const sent = () => server.received.slice(1).map((c) => [c.execute, c.arguments ?? null]);
  return { server, st, d, sent, events };
}

/** The disk `<disk>` text parses to, in the context of an empty domain. */
function diskOf(text: string) {
  return parse(text).devices.disks[0]!;
}

/** A device without the PCI address the definition's post-parse gave it: QEMU chooses the slot. */
function unaddressed<T extends { address?: unknown }>(dev: T): T {
  delete dev.address;
  return dev;
}

/** An image that exists (the driver checks the source before QEMU sees it); QEMU's recorded
 * answers were for another path, which the fake replays whatever path it is given. */
const IMG = join(dir, "hp.raw");
writeFileSync(IMG, Buffer.alloc(1 << 20));

test("SCSI disk: blockdev-add storage+format, device_add scsi-hd; detach waits for DEVICE_DELETED, blockdev-del", async () => {
  const { st, d, sent, events } = await setup("disk-scsi");
  const disk = diskOf(
    `<disk type='file'><driver name='qemu' type='raw'/><source file='${IMG}'/><target dev='sdb' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>`,
  );
  await attachDiskLive(st, d, disk);
  assert.deepEqual(sent(), [
    ["query-named-block-nodes", { flat: true }],
    [
      "blockdev-add",
      {
        driver: "file",
        filename: IMG,
        "node-name": "libvirt-1-storage",
        "auto-read-only": true,
        discard: "unmap",
      },
    ],
    [
      "blockdev-add",
      { "node-name": "libvirt-1-format", "read-only": false, driver: "raw", file: "libvirt-1-storage" },
    ],
    [
      "device_add",
      {
        driver: "scsi-hd",
        bus: "scsi0.0",
        channel: 0,
        "scsi-id": 0,
        lun: 1,
        device_id: "drive-scsi0-0-0-1",
        drive: "libvirt-1-format",
        id: "scsi0-0-0-1",
      },
    ],
  ]);
  assert.deepEqual(
    d.def.devices.disks.map((x) => x.target.dev),
    ["sdb"],
  );
  assert.match(formatDomainXML(d.def), /<target dev='sdb' bus='scsi'\/>/);
  const before = sent().length;
  await detachDiskLive(st, d, "sdb");
  assert.deepEqual(sent().slice(before), [
    ["query-block", null],
    ["device_del", { id: "scsi0-0-0-1" }],
    ["blockdev-del", { "node-name": "libvirt-1-format" }],
    ["blockdev-del", { "node-name": "libvirt-1-storage" }],
  ]);
  assert.equal(d.def.devices.disks.length, 0);
  await new Promise((r) => setTimeout(r, 20)); // the event queue delivers asynchronously
  assert.deepEqual(
    events.map((e) => [e.eventId, e.data?.devAlias]),
    [
      [VIR_DOMAIN_EVENT_ID.DEVICE_ADDED, "scsi0-0-0-1"],
      [VIR_DOMAIN_EVENT_ID.DEVICE_REMOVED, "scsi0-0-0-1"],
    ],
  );
  await assert.rejects(
    detachDiskLive(st, d, "sdb"),
    (e: Error) => e.message === "device not found: disk sdb not found",
  );
});

test("virtio disk gets the PCI address QEMU chose (query-pci), node names past existing ones", async () => {
  const { st, d, sent, server } = await setup("disk-virtio");
  await attachDiskLive(
    st,
    d,
    unaddressed(
      diskOf(
        `<disk type='file'><driver name='qemu' type='raw'/><source file='${IMG}'/><target dev='vdb' bus='virtio'/></disk>`,
      ),
    ),
  );
  assert.deepEqual(
    sent().map(([c]) => c),
    ["query-named-block-nodes", "blockdev-add", "blockdev-add", "device_add", "query-pci"],
  );
  assert.deepEqual(sent()[3]![1], {
    driver: "virtio-blk-pci",
    drive: "libvirt-1-format",
    id: "virtio-disk1",
  });
  // The slot QEMU reported in the recorded query-pci for qdev_id virtio-disk1.
  const pci = server.received.length && loadTranscript("tests/data/qmp/hotplug-disk-virtio.json");
  const devs = (
    pci as { exchanges: { command: { execute: string }; reply: { return?: unknown } }[] }
  ).exchanges.find((e) => e.command.execute === "query-pci")!.reply.return as {
    devices: { qdev_id: string; slot: number }[];
  }[];
  const slot = devs[0]!.devices.find((x) => x.qdev_id === "virtio-disk1")!.slot;
  assert.match(
    formatDomainXML(d.def),
    new RegExp(
      `<target dev='vdb' bus='virtio'/>\\s*<alias name='virtio-disk1'/>\\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x${slot.toString(16).padStart(2, "0")}' function='0x0'/>`,
    ),
  );
});

test("virtio NIC: netdev_add user, device_add virtio-net-pci with the MAC, ids hostnet0/net0", async () => {
  const { st, d, sent, events } = await setup("nic");
  const net = unaddressed(
    parse("<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>")
      .devices.interfaces[0]!,
  );
  await attachNetLive(st, d, net);
  assert.deepEqual(sent(), [
    ["qom-list", { path: "/machine/peripheral" }],
    ["netdev_add", { type: "user", id: "hostnet0" }],
    ["device_add", { driver: "virtio-net-pci", netdev: "hostnet0", id: "net0", mac: "52:54:00:12:34:56" }],
    ["query-pci", null],
  ]);
  assert.equal(d.def.devices.interfaces.length, 1);
  assert.ok(d.def.devices.interfaces[0]!.address?.type === "pci");
  await new Promise((r) => setTimeout(r, 20)); // the event queue delivers asynchronously
  assert.deepEqual(
    events.map((e) => [e.eventId, e.data?.devAlias]),
    [[VIR_DOMAIN_EVENT_ID.DEVICE_ADDED, "net0"]],
  );
});

test("NIC detach: found by MAC through QOM; a guest that does not answer in time leaves it pending until DEVICE_DELETED", async () => {
  const { st, d, sent, server } = await setup(
    "nic-detach",
    "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>",
  );
  const net = d.def.devices.interfaces[0]!;
  const t0 = Date.now();
  await detachNetLive(st, d, net, 300);
  assert.ok(Date.now() - t0 >= 250, "waited for the guest");
  assert.deepEqual(sent(), [
    ["qom-list", { path: "/machine/peripheral" }],
    ["qom-get", { path: "/machine/peripheral/scsi0", property: "mac" }],
    ["qom-get", { path: "/machine/peripheral/net0", property: "mac" }],
    ["qom-get", { path: "/machine/peripheral/net0", property: "netdev" }],
    ["device_del", { id: "net0" }],
  ]);
  assert.equal(d.def.devices.interfaces.length, 1, "still in the live XML while the unplug is pending");
  server.sendEvent("DEVICE_DELETED", { device: "net0", path: "/machine/peripheral/net0" });
  for (let i = 0; i < 100 && d.def.devices.interfaces.length > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(d.def.devices.interfaces.length, 0);
  assert.deepEqual(sent().at(-1), ["netdev_del", { id: "hostnet0" }]);
});

test("NIC detach refused by the guest: libvirt's error, the NIC stays", async () => {
  const { st, d, server, events } = await setup(
    "nic-detach",
    "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>",
  );
  const p = detachNetLive(st, d, d.def.devices.interfaces[0]!, 5000);
  for (let i = 0; i < 200 && !server.received.some((c) => c.execute === "device_del"); i++)
    await new Promise((r) => setTimeout(r, 5));
  server.sendEvent("DEVICE_UNPLUG_GUEST_ERROR", { device: "net0", path: "/machine/peripheral/net0" });
  await assert.rejects(
    p,
    (e: Error) => e.message === "operation failed: unplug of device was rejected by the guest",
  );
  assert.equal(d.def.devices.interfaces.length, 1);
  assert.ok(!server.received.some((c) => c.execute === "netdev_del"));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    events.map((e) => [e.eventId, e.data?.devAlias]),
    [[VIR_DOMAIN_EVENT_ID.DEVICE_REMOVAL_FAILED, "net0"]],
  );
});

test("CD-ROM media change: open tray, remove, add the new nodes read-only, insert, close, drop the old nodes", async () => {
  const { st, d, sent } = await setup(
    "cdrom",
    `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/old.iso'/><target dev='sda' bus='scsi'/><readonly/></disk>`,
  );
  const next = diskOf(
    `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${IMG}'/><target dev='sda' bus='scsi'/><readonly/></disk>`,
  );
  await updateDiskLive(st, d, next, false);
  assert.deepEqual(sent(), [
    ["query-block", null],
    ["blockdev-open-tray", { id: "scsi0-0-0-0", force: false }],
    ["blockdev-remove-medium", { id: "scsi0-0-0-0" }],
    ["query-named-block-nodes", { flat: true }],
    [
      "blockdev-add",
      {
        driver: "file",
        filename: IMG,
        "node-name": "libvirt-2-storage",
        "auto-read-only": true,
        discard: "unmap",
      },
    ],
    [
      "blockdev-add",
      { "node-name": "libvirt-2-format", "read-only": true, driver: "raw", file: "libvirt-2-storage" },
    ],
    ["blockdev-insert-medium", { id: "scsi0-0-0-0", "node-name": "libvirt-2-format" }],
    ["blockdev-close-tray", { id: "scsi0-0-0-0" }],
    ["blockdev-del", { "node-name": "libvirt-1-format" }],
    ["blockdev-del", { "node-name": "libvirt-1-storage" }],
  ]);
  assert.match(
    formatDomainXML(d.def),
    new RegExp(`<source file='${IMG}' index='\\d+'/>\\s*<backingStore/>\\s*<target dev='sda' bus='scsi'/>`),
  );
});

test("after a daemon restart, devices QEMU no longer has leave the live XML (qom-list of peripherals)", async () => {
  const { d, sent } = await setup(
    "nic-detach",
    `<disk type='file'><driver name='qemu' type='raw'/><source file='${IMG}'/><target dev='vdb' bus='virtio'/></disk>
<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>
<interface type='user'><mac address='52:54:00:99:99:99'/><model type='virtio'/></interface>`,
  );
  assert.equal(await dropUnpluggedDevices(d), true);
  assert.deepEqual(d.def.devices.disks, [], "virtio-disk1 is not among QEMU's peripherals");
  assert.deepEqual(
    d.def.devices.interfaces.map((n) => n.mac),
    ["52:54:00:12:34:56"],
  );
  assert.ok(d.def.devices.controllers.some((c) => c.type === "scsi" && c.index === 0));
  assert.deepEqual(sent(), [
    ["qom-list", { path: "/machine/peripheral" }],
    ["qom-get", { path: "/machine/peripheral/net0", property: "mac" }],
  ]);
  assert.equal(await dropUnpluggedDevices(d), false);
});

test("update-device of a NIC's link state: set_link on its QEMU device, <link state> in the live XML; other changes refused", async () => {
  const { st, d, sent } = await setup(
    "nic-detach",
    "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>",
  );
  const down =
    "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/><link state='down'/></interface>";
  await updateDevice(st, d, down, 1);
  assert.deepEqual(sent().at(-1), ["set_link", { name: "net0", up: false }]);
  assert.match(formatDomainXML(d.def), /<model type='virtio'\/>\s*<link state='down'\/>/);
  await assert.rejects(
    updateDevice(
      st,
      d,
      "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='e1000'/></interface>",
      1,
    ),
    (e: Error) => e.message === "Operation not supported: live update of device 'interface' is not supported",
  );
});
