// Records what real qemu-system-x86_64 answers to the QMP commands of device hotplug, one file per
// scenario (tests/data/qmp/hotplug-<scenario>.json), for the fake QMP server to replay in
// tests/qemu-hotplug-qmp.test.ts. The command lists are written here by hand from libvirt's
// sequence (qemu_hotplug.c), not taken from tsvirt's code.
// Run: node --import tsx scripts/oracle/qemu-record-hotplug-qmp.ts
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const binary = process.env.QEMU ?? "/usr/bin/qemu-system-x86_64";
const outDir = "tests/data/qmp";

type Cmd = { execute: string; arguments?: Record<string, unknown> };

/** The image every scenario opens; the test's fake replays the answers whatever path it is given. */
const IMG = "/tmp/tsvirt-hotplug-record.raw";

const storage = (n: number) => ({
  driver: "file",
  filename: IMG,
  "node-name": `libvirt-${n}-storage`,
  "auto-read-only": true,
  discard: "unmap",
});
const format = (n: number, ro = false) => ({
  "node-name": `libvirt-${n}-format`,
  "read-only": ro,
  driver: "raw",
  file: `libvirt-${n}-storage`,
});

/** Scenario → commands after qmp_capabilities. Each runs against a fresh QEMU. */
const scenarios: Record<string, Cmd[]> = {
  // SCSI disk in, then out: SCSI unplug needs no guest, QEMU reports DEVICE_DELETED at once.
  "disk-scsi": [
    { execute: "query-named-block-nodes", arguments: { flat: true } },
    { execute: "blockdev-add", arguments: storage(1) },
    { execute: "blockdev-add", arguments: format(1) },
    {
      execute: "device_add",
      arguments: {
        driver: "scsi-hd",
        bus: "scsi0.0",
        channel: 0,
        "scsi-id": 0,
        lun: 1,
        device_id: "drive-scsi0-0-0-1",
        drive: "libvirt-1-format",
        id: "scsi0-0-0-1",
      },
    },
    { execute: "query-block" },
    { execute: "device_del", arguments: { id: "scsi0-0-0-1" } },
    { execute: "blockdev-del", arguments: { "node-name": "libvirt-1-format" } },
    { execute: "blockdev-del", arguments: { "node-name": "libvirt-1-storage" } },
  ],
  // virtio-blk on the PCI root bus: the address QEMU picked comes back from query-pci.
  "disk-virtio": [
    { execute: "query-named-block-nodes", arguments: { flat: true } },
    { execute: "blockdev-add", arguments: storage(1) },
    { execute: "blockdev-add", arguments: format(1) },
    {
      execute: "device_add",
      arguments: { driver: "virtio-blk-pci", drive: "libvirt-1-format", id: "virtio-disk1" },
    },
    { execute: "query-pci" },
  ],
  // A user-mode virtio NIC in (ids past the highest netN of qom-list; query-pci for its address).
  nic: [
    { execute: "qom-list", arguments: { path: "/machine/peripheral" } },
    { execute: "netdev_add", arguments: { type: "user", id: "hostnet0" } },
    {
      execute: "device_add",
      arguments: { driver: "virtio-net-pci", netdev: "hostnet0", id: "net0", mac: "52:54:00:12:34:56" },
    },
    { execute: "query-pci" },
  ],
  // A NIC from the command line found by MAC through QOM, then device_del (a paused pc guest never
  // acknowledges the ACPI unplug, so no DEVICE_DELETED is recorded: the test plays the guest).
  "nic-detach": [
    { execute: "qom-list", arguments: { path: "/machine/peripheral" } },
    { execute: "qom-get", arguments: { path: "/machine/peripheral/scsi0", property: "mac" } },
    { execute: "qom-get", arguments: { path: "/machine/peripheral/net0", property: "mac" } },
    { execute: "qom-get", arguments: { path: "/machine/peripheral/net0", property: "netdev" } },
    { execute: "set_link", arguments: { name: "net0", up: false } },
    { execute: "device_del", arguments: { id: "net0" } },
    { execute: "netdev_del", arguments: { id: "hostnet0" } },
  ],
  // The CD-ROM tray: open, remove, insert a new medium, close.
  cdrom: [
    { execute: "query-block" },
    { execute: "blockdev-open-tray", arguments: { id: "scsi0-0-0-0", force: false } },
    { execute: "blockdev-remove-medium", arguments: { id: "scsi0-0-0-0" } },
    { execute: "query-named-block-nodes", arguments: { flat: true } },
    { execute: "blockdev-add", arguments: storage(2) },
    { execute: "blockdev-add", arguments: format(2, true) },
    { execute: "blockdev-insert-medium", arguments: { id: "scsi0-0-0-0", "node-name": "libvirt-2-format" } },
    { execute: "blockdev-close-tray", arguments: { id: "scsi0-0-0-0" } },
    { execute: "blockdev-del", arguments: { "node-name": "libvirt-1-format" } },
    { execute: "blockdev-del", arguments: { "node-name": "libvirt-1-storage" } },
  ],
};

/** Extra argv per scenario (the cdrom one starts with a medium in the tray). */
const extraArgs: Record<string, string[]> = {
  "nic-detach": [
    "-netdev",
    JSON.stringify({ type: "user", id: "hostnet0" }),
    "-device",
    JSON.stringify({ driver: "virtio-net-pci", netdev: "hostnet0", id: "net0", mac: "52:54:00:12:34:56" }),
  ],
  cdrom: [
    "-blockdev",
    JSON.stringify({ ...storage(1) }),
    "-blockdev",
    JSON.stringify(format(1, true)),
    "-device",
    JSON.stringify({
      driver: "scsi-cd",
      bus: "scsi0.0",
      channel: 0,
      "scsi-id": 0,
      lun: 0,
      device_id: "drive-scsi0-0-0-0",
      drive: "libvirt-1-format",
      id: "scsi0-0-0-0",
    }),
  ],
};

async function main(): Promise<void> {
  writeFileSync(IMG, Buffer.alloc(1 << 20));
  try {
    for (const [name, commands] of Object.entries(scenarios)) {
      const rec = await runScenario(commands, extraArgs[name] ?? []);
      const out = join(outDir, `hotplug-${name}.json`);
      writeFileSync(
        out,
        `${JSON.stringify({ binary, recordedWith: "qemu-record-hotplug-qmp.ts", ...rec }, null, 1)}\n`,
      );
      console.log(`wrote ${out}`);
    }
  } finally {
    rmSync(IMG, { force: true });
  }
}

async function runScenario(commands: Cmd[], extra: string[]): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "qmp-hp-rec-"));
  const sockPath = join(dir, "qmp.sock");
  const child = spawn(
    binary,
    [
      "-machine",
      "pc,accel=tcg",
      "-nodefaults",
      "-nographic",
      "-S",
      "-device",
      JSON.stringify({ driver: "virtio-scsi-pci", id: "scsi0" }),
      ...extra,
      "-qmp",
      `unix:${sockPath},server=on,wait=on`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  try {
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        return await record(await connect(sockPath), commands);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ECONNREFUSED") throw e;
      }
    }
    throw new Error("QEMU did not open its QMP socket");
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

async function record(s: net.Socket, commands: Cmd[]): Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  let buf = "";
  let ended = false;
  s.on("data", (d) => {
    buf += d.toString("utf8");
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) queue.push(JSON.parse(line));
      nl = buf.indexOf("\n");
    }
    wake?.();
  });
  s.on("close", () => {
    ended = true;
    wake?.();
  });
  const next = async (): Promise<Record<string, unknown> | undefined> => {
    while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
    return queue.shift();
  };
  const greeting = await next();
  const exchanges: unknown[] = [];
  const all: Cmd[] = [{ execute: "qmp_capabilities" }, ...commands];
  for (let i = 0; i < all.length; i++) {
    const cmd = all[i]!;
    s.write(`${JSON.stringify({ ...cmd, id: i })}\r\n`);
    const events: unknown[] = [];
    let reply: Record<string, unknown> | undefined;
    for (;;) {
      const m = await next();
      if (!m) break;
      if ("event" in m) events.push(m);
      else {
        reply = m;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 150));
    while (queue.length > 0 && "event" in queue[0]!) events.push(queue.shift());
    if (reply) delete reply.id;
    exchanges.push({ command: cmd, reply, events });
  }
  s.destroy();
  return { greeting, exchanges };
}

await main();
