// virsh save / restore / save-image-dumpxml / managedsave through tsvirtd with a TCG test guest:
// the guest's tick counter (serial log, appended) continues where it stopped, not from 1.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildGuest, GUEST_READY, guestUnavailable } from "./guest/build-guest.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
let root: string | undefined;
let daemon: ChildProcess | undefined;

after(() => {
  if (!root) return;
  const pidfile = join(root, "run", "qemu", "sv1.pid");
  if (existsSync(pidfile)) {
    try {
      process.kill(Number(readFileSync(pidfile, "utf8").trim()), "SIGKILL");
    } catch {}
  }
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function virsh(uri: string, args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    execFile("virsh", ["-c", uri, ...args], { env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) =>
      resolve({ out: stdout + stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

const ticks = (log: string) => [...log.matchAll(/TSVIRT-TICK (\d+)/g)].map((m) => Number(m[1]));

async function waitFor(fn: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("virsh save/restore and managedsave keep the guest's state", async (t) => {
  const why = !existsSync(QEMU) ? "qemu-system-x86_64 not installed" : guestUnavailable();
  if (why) return t.skip(why);
  root = mkdtempSync(join(tmpdir(), "tsvirtd-save-"));
  daemon = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "../src/bin/tsvirtd.ts"), "--root", root, "--http", "off"],
    { stdio: ["ignore", "ignore", "pipe"], cwd: join(import.meta.dirname, "..") },
  );
  daemon.stderr!.resume();
  for (let i = 0; i < 300 && !existsSync(join(root, "run", "libvirt-sock-ro")); i++)
    await new Promise((r) => setTimeout(r, 50));
  const mode = process.getuid?.() === 0 ? "system" : "session";
  const uri = `qemu+unix:///${mode}?socket=${join(root, "run", "libvirt-sock")}`;
  const g = buildGuest();
  const serial = join(root, "serial.log");
  const xmlFile = join(root, "sv1.xml");
  writeFileSync(
    xmlFile,
    `<domain type='qemu'><name>sv1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices><serial type='file'><source path='${serial}' append='on'/><target port='0'/></serial>
<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`,
  );
  const ok = async (args: string[], want?: RegExp) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}`);
    if (want) assert.match(r.out, want, `virsh ${args.join(" ")}`);
    return r.out;
  };
  const log = () => (existsSync(serial) ? readFileSync(serial, "latin1") : "");
  await ok(["define", xmlFile]);
  await ok(["start", "sv1"]);
  await waitFor(() => ticks(log()).some((n) => n >= 2), "tick 2");
  const stats = await ok(["domstats", "sv1", "--state", "--cpu-total", "--balloon", "--vcpu"]);
  for (const f of [
    /state\.state=1\n/,
    /cpu\.time=[1-9]\d*\n/,
    /balloon\.maximum=131072\n/,
    /vcpu\.current=1\n/,
  ])
    assert.match(stats, f);

  // save → shut off (saved); the image names the domain; restore → counter goes on
  const image = join(root, "sv1.img");
  await ok(["save", "sv1", image], /Domain 'sv1' saved/);
  await ok(["domstate", "sv1", "--reason"], /shut off \(saved\)/);
  const last = Math.max(...ticks(log()));
  assert.equal(readFileSync(image).subarray(0, 16).toString("latin1"), "LibvirtQemudSave");
  await ok(["save-image-dumpxml", image], /<name>sv1<\/name>/);
  await ok(["restore", image], /Domain restored from/);
  await ok(["domstate", "sv1", "--reason"], /running \(restored\)/);
  await waitFor(() => Math.max(...ticks(log())) > last + 1, "ticks after restore");
  const seq = ticks(log());
  assert.equal(seq[seq.indexOf(last) + 1], last + 1, `counter continues after ${last}: ${seq.join(",")}`);
  assert.equal(log().split(GUEST_READY).length, 2, "booted once only");

  // managedsave → dominfo says so → start resumes the saved guest and drops the image
  await ok(["managedsave", "sv1"], /Domain 'sv1' state saved by libvirt/);
  await ok(["dominfo", "sv1"], /Managed save:\s+yes/);
  await ok(["list", "--all", "--with-managed-save", "--name"], /^sv1$/m);
  await ok(["list", "--all", "--managed-save"], /sv1\s+saved/);
  const last2 = Math.max(...ticks(log()));
  await ok(["start", "sv1"], /Domain 'sv1' started/);
  await ok(["dominfo", "sv1"], /Managed save:\s+no/);
  await waitFor(() => Math.max(...ticks(log())) > last2, "ticks after managed start");
  const seq2 = ticks(log());
  assert.equal(seq2[seq2.lastIndexOf(last2) + 1], last2 + 1);

  // managedsave-remove: the next start boots afresh; undefine refuses while an image exists
  await ok(["managedsave", "sv1"]);
  const refused = await virsh(uri, ["undefine", "sv1"]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, /Refusing to undefine while domain managed save image exists/);
  await ok(["managedsave-remove", "sv1"], /Removed managedsave image for domain 'sv1'/);
  await ok(["dominfo", "sv1"], /Managed save:\s+no/);
  await ok(["start", "sv1"]);
  await waitFor(() => log().split(GUEST_READY).length === 3, "a fresh boot");
  await ok(["destroy", "sv1"]);
  await ok(["undefine", "sv1"]);
});
