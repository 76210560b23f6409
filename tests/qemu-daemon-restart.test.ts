// Guests outlive tsvirtd: start a TCG guest through virsh, SIGKILL the daemon, start a new one
// on the same root, and find the guest still running, controllable and then destroyable.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isZombie, pidAlive } from "../src/host/spawn.js";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const root = mkdtempSync(join(tmpdir(), "tsvirtd-restart-"));
const daemons: ChildProcess[] = [];
let guestPid: number | undefined;

after(() => {
  if (guestPid !== undefined && pidAlive(guestPid) && !isZombie(guestPid)) process.kill(guestPid, "SIGKILL");
  for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function haveVirsh(): boolean {
  try {
    execFileSync("virsh", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

function virsh(uri: string, args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      "virsh",
      ["-c", uri, ...args],
      { env: { ...process.env, LC_ALL: "C" } },
      (err, stdout, stderr) => {
        resolve({ out: stdout + stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
      },
    );
  });
}

async function startDaemon(sock: string): Promise<ChildProcess> {
  const d = spawn(
    process.execPath,
    ["--import", "tsx", "src/bin/tsvirtd.ts", "--root", root, "--http", "off"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  daemons.push(d);
  d.stderr!.resume();
  // The read-only socket is created last; a previous daemon's stale one is replaced.
  for (let i = 0; i < 400; i++) {
    if (existsSync(`${sock}-ro`) && (await virsh(`test+unix:///default?socket=${sock}`, ["uri"])).code === 0)
      return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("tsvirtd did not come up");
}

test("a guest keeps running across a tsvirtd crash and is taken over by the next daemon", async (t) => {
  const why = !haveVirsh()
    ? "virsh not installed"
    : !existsSync(QEMU)
      ? "qemu-system-x86_64 not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  const sock = join(root, "run", "libvirt-sock");
  const uri = `qemu+unix:///${process.getuid?.() === 0 ? "system" : "session"}?socket=${sock}`;
  const g = buildGuest();
  const xml = join(root, "keep.xml");
  writeFileSync(
    xml,
    `<domain type='qemu'><name>keep</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices><serial type='pty'/><console type='pty'/></devices></domain>`,
  );
  const step = async (args: string[], want: RegExp) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}`);
    assert.match(r.out, want, `virsh ${args.join(" ")}: ${r.out}`);
    return r.out;
  };

  const first = await startDaemon(sock);
  await step(["define", xml], /Domain 'keep' defined/);
  await step(["start", "keep", "--paused"], /Domain 'keep' started/);
  const id = /(\d+)\s+keep\s+paused/.exec(await step(["list"], /keep\s+paused/))![1];
  guestPid = Number(readFileSync(join(root, "run", "qemu", "keep.pid"), "utf8").trim());

  first.kill("SIGKILL");
  await new Promise((r) => first.once("exit", r));
  assert.ok(pidAlive(guestPid), "QEMU survives the daemon");

  await startDaemon(sock);
  await step(["list"], new RegExp(`${id}\\s+keep\\s+paused`));
  await step(["resume", "keep"], /Domain 'keep' resumed/);
  await step(["domstate", "keep"], /running/);
  await step(["destroy", "keep"], /Domain 'keep' destroyed/);
  await step(["domstate", "keep", "--reason"], /shut off \(destroyed\)/);
  // Its first parent is gone, so it may linger as a zombie until init reaps it.
  assert.ok(!pidAlive(guestPid) || isZombie(guestPid), "QEMU gone after destroy");
  await step(["undefine", "keep"], /has been undefined/);
});

test("an autostart guest boots when tsvirtd starts, before any qemu:// client connects", async (t) => {
  const why = !haveVirsh()
    ? "virsh not installed"
    : !existsSync(QEMU)
      ? "qemu-system-x86_64 not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  const sock = join(root, "run", "libvirt-sock");
  const uri = `qemu+unix:///${process.getuid?.() === 0 ? "system" : "session"}?socket=${sock}`;
  const g = buildGuest();
  const xml = join(root, "boot.xml");
  writeFileSync(
    xml,
    `<domain type='qemu'><name>boot</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os></domain>`,
  );
  const ok = async (args: string[]) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}`);
    return r.out;
  };
  // The previous test leaves its second daemon running on the same root.
  for (const prev of daemons) {
    if (prev.exitCode !== null || prev.signalCode !== null) continue;
    prev.kill("SIGTERM");
    await new Promise((r) => prev.once("exit", r));
  }
  const d = await startDaemon(sock);
  await ok(["define", xml]);
  await ok(["autostart", "boot"]);
  d.kill("SIGTERM");
  await new Promise((r) => d.once("exit", r));

  // The next daemon is only asked test:/// questions (startDaemon's readiness check): the
  // guest's pidfile must still appear, as libvirtd autostarts at its own start.
  await startDaemon(sock);
  const pidfile = join(root, "run", "qemu", "boot.pid");
  for (let i = 0; i < 300 && !existsSync(pidfile); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(pidfile), "autostart guest started without a qemu:// client");
  guestPid = Number(readFileSync(pidfile, "utf8").trim());
  assert.ok(pidAlive(guestPid), "its QEMU runs");
  assert.match(await ok(["domstate", "boot", "--reason"]), /running \(booted\)/);
  await ok(["destroy", "boot"]);
  await ok(["autostart", "--disable", "boot"]);
  await ok(["undefine", "boot"]);
});
