// virsh start/create --autodestroy through tsvirtd: the guest dies with the connection that started
// it, a guest started without the flag keeps running; virsh domstats --block --interface fields.
// The daemon runs in a private network namespace (unshare -n) so the guest's tap never touches the host.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const QEMU = "/usr/bin/qemu-system-x86_64";
let root: string | undefined;
let daemon: ChildProcess | undefined;

after(() => {
  if (!root) return;
  const run = join(root, "run", "qemu");
  for (const f of existsSync(run) ? readdirSync(run).filter((x) => x.endsWith(".pid")) : []) {
    try {
      process.kill(Number(readFileSync(join(run, f), "utf8").trim()), "SIGKILL");
    } catch {}
  }
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function canUnshare(): boolean {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/unshare")) return false;
  try {
    execFileSync("unshare", ["-n", "true"]);
    return true;
  } catch {
    return false;
  }
}

function virsh(uri: string, args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    execFile("virsh", ["-c", uri, ...args], { env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) =>
      resolve({ out: stdout + stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

const domainXml = (name: string, disk: string, nic: string) =>
  `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
${nic}<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;

test("autodestroy guests die with their connection; domstats block and interface groups", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  if (!existsSync("/usr/bin/virsh")) return t.skip("virsh not installed");
  if (!canUnshare()) return t.skip("needs root and unshare -n for the guest's tap");
  root = mkdtempSync(join(tmpdir(), "tsvirtd-ad-"));
  daemon = spawn(
    "unshare",
    [
      "-n",
      process.execPath,
      "--import",
      "tsx",
      join(import.meta.dirname, "../src/bin/tsvirtd.ts"),
      "--root",
      root,
      "--http",
      "off",
    ],
    { stdio: ["ignore", "ignore", "pipe"], cwd: join(import.meta.dirname, "..") },
  );
  daemon.stderr!.resume();
  for (let i = 0; i < 300 && !existsSync(join(root, "run", "libvirt-sock-ro")); i++)
    await new Promise((r) => setTimeout(r, 50));
  const uri = `qemu+unix:///system?socket=${join(root, "run", "libvirt-sock")}`;
  const ok = async (args: string[], want?: RegExp) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}`);
    if (want) assert.match(r.out, want, `virsh ${args.join(" ")}`);
    return r.out;
  };
  const waitFor = async (args: string[], want: RegExp, ms = 5000) => {
    const end = Date.now() + ms;
    let out = "";
    while (Date.now() < end) {
      out = (await virsh(uri, args)).out;
      if (want.test(out)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`virsh ${args.join(" ")}: wanted ${want}, last: ${out}`);
  };
  const files: Record<string, string> = {};
  for (const n of ["ad1", "ad2", "ad3"]) {
    const disk = join(root, `${n}.qcow2`);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "16M"]);
    const nic = n === "ad2" ? "<interface type='ethernet'><target dev='tstap0'/></interface>" : "";
    files[n] = join(root, `${n}.xml`);
    writeFileSync(files[n]!, domainXml(n, disk, nic));
  }
  await ok(["define", files.ad1!]);
  await ok(["define", files.ad2!]);

  // virsh start --autodestroy: virsh's connection closes as it exits, and the guest goes with it.
  await ok(["start", "ad1", "--autodestroy"], /Domain 'ad1' started/);
  await ok(["start", "ad2"], /Domain 'ad2' started/);
  await waitFor(["domstate", "ad1", "--reason"], /shut off \(destroyed\)/);
  // A transient guest created with the flag disappears altogether.
  await ok(["create", files.ad3!, "--autodestroy"], /Domain 'ad3' created/);
  await waitFor(["list", "--all", "--name"], /^(?![\s\S]*\bad3\b)/);
  await ok(["domstate", "ad2", "--reason"], /running \(booted\)/);

  // python-libvirt: the guest outlives other connections and dies only when its own closes.
  if (existsSync("/usr/bin/python3")) {
    const py = `
import libvirt, sys, time
uri = sys.argv[1]
c1 = libvirt.open(uri); c2 = libvirt.open(uri)
c1.lookupByName("ad1").createWithFlags(libvirt.VIR_DOMAIN_START_AUTODESTROY)
time.sleep(0.5)
d2 = c2.lookupByName("ad1")
print("open", d2.state())
c1.close()
for _ in range(50):
    if d2.state()[0] != libvirt.VIR_DOMAIN_RUNNING: break
    time.sleep(0.1)
print("closed", d2.state())
`;
    const r = execFileSync("/usr/bin/python3", ["-c", py, uri], { encoding: "utf8" });
    assert.match(r, /^open \[1, 1\]$/m, r);
    assert.match(r, /^closed \[5, 2\]$/m, r);
  }

  // domstats --block --interface: libvirt's field names, numbers that parse.
  const out = await ok(["domstats", "ad2", "--block", "--interface"]);
  const fields = new Map(
    out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
  assert.equal(fields.get("net.count"), "1");
  assert.equal(fields.get("net.0.name"), "tstap0");
  for (const dir of ["rx", "tx"])
    for (const k of ["bytes", "pkts", "errs", "drop"])
      assert.match(fields.get(`net.0.${dir}.${k}`) ?? "", /^\d+$/);
  assert.equal(fields.get("block.count"), "1");
  assert.equal(fields.get("block.0.name"), "vda");
  assert.equal(fields.get("block.0.path"), join(root, "ad2.qcow2"));
  for (const k of [
    "rd.reqs",
    "rd.bytes",
    "rd.times",
    "wr.reqs",
    "wr.bytes",
    "wr.times",
    "fl.reqs",
    "fl.times",
  ])
    assert.match(fields.get(`block.0.${k}`) ?? "", /^\d+$/, k);
  assert.equal(fields.get("block.0.capacity"), String(16 * 1024 * 1024));
  assert.match(fields.get("block.0.allocation") ?? "", /^\d+$/);
  assert.match(fields.get("block.0.physical") ?? "", /^[1-9]\d*$/);
  // A shut-off guest, as libvirt 9.0 reports it: no interface group, the disks' names, paths and
  // the sizes read from the image files, no I/O counters.
  const off = await ok(["domstats", "ad1", "--block", "--interface"]);
  assert.doesNotMatch(off, /net\.count/);
  assert.match(
    off,
    /block\.count=1\n\s*block\.0\.name=vda\n\s*block\.0\.path=.*\n\s*block\.0\.allocation=\d+\n/,
  );
  assert.match(off, /block\.0\.capacity=16777216\n/);
  assert.doesNotMatch(off, /rd\.reqs/);

  await ok(["destroy", "ad2"]);
  await ok(["undefine", "ad1"]);
  await ok(["undefine", "ad2"]);
});
