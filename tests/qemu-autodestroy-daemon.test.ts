// VIR_DOMAIN_START_AUTODESTROY and the daemon's own end: a python-libvirt client keeps the
// connection that started the guest open; a clean daemon stop (SIGTERM) closes that connection and
// the guest goes with it; after kill -9 the restarted daemon destroys the guest, because no client
// connection outlives a daemon restart. A guest started without the flag survives both. Also
// virDomainIsUpdated over a domain's life, against what libvirt 9.0 answered (is-updated.libvirt.txt).
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pidAlive } from "../src/host/spawn.js";
import { RootDaemon, virsh as runVirsh } from "./guest/root-daemon.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const PY = "/usr/bin/python3";
const DATA = join(import.meta.dirname, "data", "qemu-live-xml");
const root = mkdtempSync(join(tmpdir(), "tsvirtd-autodestroy-"));
const daemons = new RootDaemon(root);
const children = daemons.children;

function pidOf(name: string): number | undefined {
  const f = join(root, "run", "qemu", `${name}.pid`);
  return existsSync(f) ? Number(readFileSync(f, "utf8").trim()) : undefined;
}

after(() => {
  daemons.killAll(["ad-keep", "ad-term", "ad-kill"]);
  rmSync(root, { recursive: true, force: true });
});

function havePythonLibvirt(): boolean {
  try {
    return (
      spawnSyncOk(PY, ["-c", "import libvirt"]) && spawnSyncOk("virsh", ["--version"]) && existsSync(QEMU)
    );
  } catch {
    return false;
  }
}

function spawnSyncOk(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

/** virsh's stdout and stderr together, and whether it succeeded. */
async function virsh(uri: string, args: string[]): Promise<{ out: string; code: number }> {
  const r = await runVirsh(uri, args);
  return { out: r.out + r.err, code: r.code === 0 ? 0 : 1 };
}

const domXml = (name: string, uuid: string) =>
  `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
  `<os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`;

/** A python-libvirt client that starts `name` (paused, AUTODESTROY) and keeps its connection open. */
async function holdAutodestroy(uri: string, name: string, uuid: string): Promise<ChildProcess> {
  const script = [
    "import sys, libvirt",
    "c = libvirt.open(sys.argv[1])",
    "d = c.createXML(sys.argv[2], libvirt.VIR_DOMAIN_START_PAUSED | libvirt.VIR_DOMAIN_START_AUTODESTROY)",
    "print('started', d.ID(), flush=True)",
    "sys.stdin.read()",
  ].join("\n");
  const p = spawn(PY, ["-c", script, uri, domXml(name, uuid)], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(p);
  p.stderr!.resume();
  await new Promise<void>((resolve, reject) => {
    let out = "";
    p.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("started")) resolve();
    });
    p.once("exit", (c) => reject(new Error(`python client exited (${c}) before starting ${name}`)));
  });
  return p;
}

async function gone(pid: number, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !pidAlive(pid);
}

test("autodestroy guests end with the daemon (SIGTERM) and are destroyed after kill -9 + restart", async (t) => {
  if (!havePythonLibvirt()) return t.skip("python3-libvirt, virsh or qemu-system-x86_64 missing");
  const uri = daemons.uri;
  writeFileSync(join(root, "keep.xml"), domXml("ad-keep", "5a0e3f4e-8f4f-4a43-9a55-0d3e2b1c0a01"));
  let daemon = await daemons.start();
  // A plain transient guest: survives both daemon ends.
  assert.equal((await virsh(uri, ["create", join(root, "keep.xml"), "--paused"])).code, 0);
  const keep = pidOf("ad-keep")!;

  // 1. Clean stop: the daemon closes the client's connection, the guest is destroyed with it.
  const c1 = await holdAutodestroy(uri, "ad-term", "5a0e3f4e-8f4f-4a43-9a55-0d3e2b1c0a02");
  const term = pidOf("ad-term")!;
  assert.ok(pidAlive(term));
  daemon.kill("SIGTERM");
  await new Promise((r) => daemon.once("exit", r));
  assert.ok(await gone(term), "the autodestroy guest outlived a clean daemon stop");
  assert.ok(pidAlive(keep), "a guest started without autodestroy must survive the daemon stop");
  c1.stdin!.end();

  // 2. kill -9: the restarted daemon destroys the guest whose client connection is gone.
  daemon = await daemons.start();
  assert.match((await virsh(uri, ["list", "--name"])).out, /ad-keep/);
  const c2 = await holdAutodestroy(uri, "ad-kill", "5a0e3f4e-8f4f-4a43-9a55-0d3e2b1c0a03");
  const killed = pidOf("ad-kill")!;
  daemon.kill("SIGKILL");
  await new Promise((r) => daemon.once("exit", r));
  assert.ok(pidAlive(killed), "QEMU outlives a daemon crash");
  c2.stdin!.end();
  daemon = await daemons.start();
  // (tsvirtd opens the QEMU driver, and reconnects to its guests, on the first qemu:// client.)
  const list = (await virsh(uri, ["list", "--all", "--name"])).out;
  assert.ok(await gone(killed), "the restarted daemon kept an autodestroy guest");
  assert.doesNotMatch(list, /ad-kill/);
  assert.match(list, /ad-keep/);
  assert.ok(pidAlive(keep));
  assert.equal((await virsh(uri, ["destroy", "ad-keep"])).code, 0);
  daemon.kill("SIGTERM");
  await new Promise((r) => daemon.once("exit", r));
});

test("virDomainIsUpdated through a domain's life answers as libvirt 9.0's QEMU driver", async (t) => {
  if (!havePythonLibvirt()) return t.skip("python3-libvirt, virsh or qemu-system-x86_64 missing");
  const uri = daemons.uri;
  const daemon = await daemons.start();
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(PY, [join(DATA, "is-updated.py"), uri], (e, stdout, stderr) =>
        e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    assert.equal(out, readFileSync(join(DATA, "is-updated.libvirt.txt"), "utf8"));
  } finally {
    daemon.kill("SIGTERM");
    await new Promise((r) => daemon.once("exit", r));
  }
});
