// Every qemu-xml2argv case that builds an argv is started once in a real QEMU, paused (-S), so an
// argv QEMU would reject cannot hide in a golden file. Cases share image files (QEMU locks
// them), so they run one after another; each takes ~50 ms.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { qemuPaths, startQemu } from "../src/drivers/qemu/process.js";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";
import { IMAGE_DIR, listCases, runCase } from "./guest/xml2argv-cases.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
/**
 * Cases that need host side effects we do not make in tests (creating tap devices), or an fd of a
 * host device opened for QEMU (vsock: /dev/vhost-vsock, which libvirt opens and passes).
 */
const NOT_RUN = new Set(["net-network-tap", "net-bridge", "kvm-basic", "vsock-cid", "vsock-auto-pc"]);
const root = mkdtempSync(join(tmpdir(), "x2a-run-"));
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(IMAGE_DIR, { recursive: true, force: true });
});

function prepareImages(): void {
  rmSync(IMAGE_DIR, { recursive: true, force: true });
  mkdirSync(IMAGE_DIR, { recursive: true });
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(IMAGE_DIR, "disk0.qcow2"), "16M"]);
  writeFileSync(join(IMAGE_DIR, "disk1.raw"), Buffer.alloc(1024 * 1024));
  writeFileSync(join(IMAGE_DIR, "cd.iso"), Buffer.alloc(1024 * 1024));
  if (!guestUnavailable()) {
    const g = buildGuest();
    symlinkSync(g.kernel, join(IMAGE_DIR, "vmlinuz"));
    symlinkSync(g.initrd, join(IMAGE_DIR, "initrd.cpio"));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The NBD case reads export 'x' from 127.0.0.1:10809: serve it with qemu-nbd for that case. */
async function withNbd<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (name !== "disk-network-nbd") return fn();
  const nbd = spawn(
    "qemu-nbd",
    ["-f", "qcow2", "-x", "x", "-b", "127.0.0.1", "-p", "10809", "-t", join(IMAGE_DIR, "disk0.qcow2")],
    {
      stdio: "ignore",
    },
  );
  try {
    for (let i = 0; i < 100; i++) {
      if (await canConnectTcp(10809)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return await fn();
  } finally {
    nbd.kill("SIGTERM");
    await new Promise((r) => nbd.once("exit", r));
  }
}

function canConnectTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * As root, QEMU can run in a network namespace of its own (loopback up), where the fixed VNC/SPICE
 * ports some cases name cannot collide with other QEMUs on the host. The NBD case reaches qemu-nbd
 * on the host's loopback, so it stays outside.
 */
function inOwnNetns(name: string, argv: string[]): string[] {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/unshare") || !existsSync("/usr/sbin/ip")) return argv;
  if (name === "disk-network-nbd") return argv;
  return [
    "/usr/bin/unshare",
    "-n",
    "--",
    "/bin/sh",
    "-c",
    '/usr/sbin/ip link set lo up && exec "$0" "$@"',
    ...argv,
  ];
}

async function runOne(name: string): Promise<string | undefined> {
  return withNbd(name, () => runOneInner(name));
}

async function runOneInner(name: string): Promise<string | undefined> {
  const paths = qemuPaths(join(root, "lib"), join(root, "run"), name);
  const channelDir = join(root, "channel", name);
  mkdirSync(channelDir, { recursive: true });
  const memoryDir = join(root, "ram", name);
  mkdirSync(memoryDir, { recursive: true });
  const r = runCase(name, {
    monitorPath: paths.monitor,
    pidfile: paths.pidfile,
    channelDir,
    memoryDir,
    vncPort: await freePort(),
  });
  if (r.kind !== "args") return undefined;
  try {
    let qp: Awaited<ReturnType<typeof startQemu>>;
    const start = (argv: string[]) => startQemu({ name, argv, paths, paused: true, startTimeoutMs: 20_000 });
    try {
      qp = await start(r.argv);
    } catch (e) {
      // a fixed display port another QEMU on this host holds: again in a namespace of its own
      const netns = inOwnNetns(name, r.argv);
      if (!/Address already in use/.test((e as Error).message) || netns === r.argv) throw e;
      qp = await start(netns);
    }
    const st = await qp.monitor.execute<{ status: string }>("query-status");
    const blocks = await qp.monitor.execute<unknown[]>("query-block");
    await qp.destroy(500);
    if (st.status !== "prelaunch") return `${name}: status ${st.status}`;
    const disks = r.argv.filter((a) => a.startsWith('{"driver":"ide-') || a.includes('"drive":')).length;
    if (blocks.length < disks)
      return `${name}: query-block shows ${blocks.length} devices, argv has ${disks}`;
    return undefined;
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
}

test("QEMU accepts every golden argv (started paused)", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  if (!existsSync("/usr/bin/qemu-img")) return t.skip("qemu-img not installed (needed for the images)");
  prepareImages();
  const names = listCases().filter((n) => !NOT_RUN.has(n) && !n.startsWith("err-"));
  if (guestUnavailable()) names.splice(names.indexOf("test-guest"), 1);
  if (!existsSync("/usr/bin/qemu-nbd")) names.splice(names.indexOf("disk-network-nbd"), 1);
  const failures: string[] = [];
  let started = 0;
  for (const n of names) {
    const f = await runOne(n);
    if (f) failures.push(f);
    else started++;
  }
  t.diagnostic(`${started}/${names.length} cases started in QEMU`);
  assert.deepEqual(failures, []);
  assert.ok(started >= 15);
});
