// Guests outlive tsvirtd: start a TCG guest through virsh, SIGKILL the daemon, start a new one
// on the same root, and find the guest still running, controllable and then destroyable.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isZombie, pidAlive } from "../src/host/spawn.js";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";
import { haveVirsh, RootDaemon, virsh as runVirsh } from "./guest/root-daemon.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const root = mkdtempSync(join(tmpdir(), "tsvirtd-restart-"));
const daemons = new RootDaemon(root);
let guestPid: number | undefined;

after(() => {
  if (guestPid !== undefined && pidAlive(guestPid) && !isZombie(guestPid)) process.kill(guestPid, "SIGKILL");
  daemons.killAll();
  rmSync(root, { recursive: true, force: true });
});

/** virsh's stdout and stderr together, and its status. */
async function virsh(uri: string, args: string[]): Promise<{ out: string; code: number }> {
  const r = await runVirsh(uri, args);
  return { out: r.out + r.err, code: r.code };
}

/** Why these tests cannot run here, or undefined. */
function missing(): string | undefined {
  if (!haveVirsh()) return "virsh not installed";
  if (!existsSync(QEMU)) return "qemu-system-x86_64 not installed";
  return guestUnavailable();
}

test("a guest keeps running across a tsvirtd crash and is taken over by the next daemon", async (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const uri = daemons.uri;
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

  const first = await daemons.start();
  await step(["define", xml], /Domain 'keep' defined/);
  await step(["start", "keep", "--paused"], /Domain 'keep' started/);
  const id = /(\d+)\s+keep\s+paused/.exec(await step(["list"], /keep\s+paused/))![1];
  guestPid = Number(readFileSync(join(root, "run", "qemu", "keep.pid"), "utf8").trim());

  first.kill("SIGKILL");
  await new Promise((r) => first.once("exit", r));
  assert.ok(pidAlive(guestPid), "QEMU survives the daemon");

  await daemons.start();
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
  const why = missing();
  if (why) return t.skip(why);
  const uri = daemons.uri;
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
  await daemons.stopAll();
  const d = await daemons.start();
  await ok(["define", xml]);
  await ok(["autostart", "boot"]);
  d.kill("SIGTERM");
  await new Promise((r) => d.once("exit", r));

  // The next daemon is only asked test:/// questions (startDaemon's readiness check): the
  // guest's pidfile must still appear, as libvirtd autostarts at its own start.
  await daemons.start();
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
