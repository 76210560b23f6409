// virDomainOpenConsole through tsvirtd: python-libvirt opens the console stream of a TCG test
// guest (serial pty), reads its tick counter, types a line and reads the guest's echo back.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const PY = "/usr/bin/python3";
const havePyLibvirt = (() => {
  try {
    execFileSync(PY, ["-c", "import libvirt"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

let root: string | undefined;
let daemon: ChildProcess | undefined;

after(() => {
  if (!root) return;
  const pidfile = join(root, "run", "qemu", "con1.pid");
  if (existsSync(pidfile)) {
    try {
      process.kill(Number(readFileSync(pidfile, "utf8").trim()), "SIGKILL");
    } catch {}
  }
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

// Runs in the system python (the one with libvirt bindings): console session checks.
const SCRIPT = String.raw`
import libvirt, sys, time
c = libvirt.open(sys.argv[1])
d = c.createXML(sys.argv[2], 0)
def session(flags=0):
    st = c.newStream(0)
    d.openConsole(None, st, flags)
    return st
def read_until(st, text, secs=60):
    buf = b""; end = time.time() + secs
    while text not in buf:
        if time.time() > end: raise SystemExit("timeout waiting for %r; got %r" % (text, buf[-300:]))
        chunk = st.recv(4096)
        if isinstance(chunk, int): continue
        if not chunk: raise SystemExit("console ended early; got %r" % buf[-300:])
        buf += chunk
    return buf
st = session()
read_until(st, b"TSVIRT-TICK")
print("TICK-SEEN")
# a second session is refused while one is open...
try:
    session(); print("SECOND-OPENED")
except libvirt.libvirtError as e:
    print("SECOND-REFUSED:", e.get_error_message())
st.send(b"echo hi\n")
read_until(st, b"TSVIRT-ECHO: echo hi")
print("ECHO-SEEN")
# ...but FORCE takes over, and the new session works
st2 = session(libvirt.VIR_DOMAIN_CONSOLE_FORCE)
st2.send(b"second\n")
read_until(st2, b"TSVIRT-ECHO: second")
print("FORCE-ECHO-SEEN")
# send-key: linux and xt codes reach QEMU's send-key; a code with no qnum is refused
d.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 0, [29, 56, 103], 3, 0)
d.sendKey(libvirt.VIR_KEYCODE_SET_XT, 10, [0x1c, 0xe048], 2, 0)
print("SENDKEY-OK")
try:
    d.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 0, [600], 1, 0); print("SENDKEY-BAD-ACCEPTED")
except libvirt.libvirtError as e:
    print("SENDKEY-REFUSED:", e.get_error_message())
st2.finish()
print("FINISHED")
d.destroy()
`;

test("python-libvirt openConsole over tsvirtd: guest output, input echo, FORCE takeover", async (t) => {
  const why = !existsSync(QEMU)
    ? "qemu-system-x86_64 not installed"
    : !havePyLibvirt
      ? "python3-libvirt not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  root = mkdtempSync(join(tmpdir(), "tsvirtd-console-"));
  daemon = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "../src/bin/tsvirtd.ts"), "--root", root, "--http", "off"],
    { stdio: ["ignore", "ignore", "pipe"], cwd: join(import.meta.dirname, "..") },
  );
  daemon.stderr!.resume();
  const ro = join(root, "run", "libvirt-sock-ro");
  for (let i = 0; i < 300 && !existsSync(ro); i++) await new Promise((r) => setTimeout(r, 50));
  const mode = process.getuid?.() === 0 ? "system" : "session";
  const uri = `qemu+unix:///${mode}?socket=${join(root, "run", "libvirt-sock")}`;
  const g = buildGuest();
  const xml = `<domain type='qemu'><name>con1</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices><serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>
<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(PY, ["-c", SCRIPT, uri, xml], { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
  assert.match(out, /TICK-SEEN/);
  assert.match(out, /SECOND-REFUSED: .*Active console session exists for this domain/);
  assert.match(out, /ECHO-SEEN/);
  assert.match(out, /FORCE-ECHO-SEEN/);
  assert.match(out, /FINISHED/);
  assert.match(out, /SENDKEY-OK/);
  assert.match(out, /SENDKEY-REFUSED: .*cannot translate keycode 600/);
});
