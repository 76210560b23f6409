// Real virsh 9.0 driving a TCG guest through tsvirtd's qemu:///system (or session) socket:
// define, start, state, suspend/resume, destroy, undefine — the QEMU driver behind the wire.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const haveVirsh = (() => {
  try {
    execFileSync("virsh", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

let root: string | undefined;
let daemon: ChildProcess | undefined;

after(() => {
  if (!root) return;
  // never leave a guest behind, even when an assertion failed half way
  const pidfile = join(root, "run", "qemu", "vm1.pid");
  if (existsSync(pidfile)) {
    try {
      process.kill(Number(readFileSync(pidfile, "utf8").trim()), "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

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

/** Starts one tsvirtd for the file's tests; returns the qemu:// URI of its socket. */
async function startOnce(): Promise<string> {
  if (!root) {
    root = mkdtempSync(join(tmpdir(), "tsvirtd-qemu-"));
    daemon = spawn(
      process.execPath,
      [
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
    const ro = join(root, "run", "libvirt-sock-ro");
    for (let i = 0; i < 300 && !existsSync(ro); i++) await new Promise((r) => setTimeout(r, 50));
  }
  const mode = process.getuid?.() === 0 ? "system" : "session";
  return `qemu+unix:///${mode}?socket=${join(root, "run", "libvirt-sock")}`;
}

test("virsh vol-upload / vol-download stream through tsvirtd's storage pool", async (t) => {
  if (!haveVirsh) return t.skip("virsh not installed");
  const uri = await startOnce();
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  const input = join(root!, "in.bin");
  writeFileSync(input, data);
  const ok = async (args: string[]) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}`);
  };
  await ok(["vol-create-as", "default", "streamvol", "1M", "--format", "raw"]);
  await ok(["vol-upload", "--pool", "default", "streamvol", input]);
  await ok(["vol-download", "--pool", "default", "streamvol", join(root!, "out.bin")]);
  assert.ok(readFileSync(join(root!, "out.bin")).equals(data));
  await ok([
    "vol-download",
    "--pool",
    "default",
    "streamvol",
    join(root!, "part.bin"),
    "--offset",
    "1000",
    "--length",
    "5000",
  ]);
  assert.ok(readFileSync(join(root!, "part.bin")).equals(data.subarray(1000, 6000)));
  await ok(["vol-delete", "--pool", "default", "streamvol"]);
});

test("virsh runs a TCG guest through tsvirtd", async (t) => {
  const why = !haveVirsh
    ? "virsh not installed"
    : !existsSync(QEMU)
      ? "qemu-system-x86_64 not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  const uri = await startOnce();

  const g = buildGuest();
  const xml = join(root!, "vm1.xml");
  writeFileSync(
    xml,
    `<domain type='qemu'>
  <name>vm1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
  <features><acpi/></features>
  <devices><serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console></devices>
</domain>
`,
  );
  const step = async (args: string[], want: RegExp) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}`);
    assert.match(r.out, want, `virsh ${args.join(" ")}`);
    return r.out;
  };
  await step(["define", xml], /Domain 'vm1' defined from/);
  await step(["list", "--all"], /-\s+vm1\s+shut off/);
  await step(["start", "vm1"], /Domain 'vm1' started/);
  await step(["domstate", "vm1", "--reason"], /running \(booted\)/);
  await step(["list"], /\d+\s+vm1\s+running/);
  const info = await step(["dominfo", "vm1"], /State:\s+running/);
  assert.match(info, /Max memory:\s+262144 KiB/);
  await step(["suspend", "vm1"], /Domain 'vm1' suspended/);
  await step(["domstate", "vm1"], /paused/);
  await step(["resume", "vm1"], /Domain 'vm1' resumed/);
  await step(["dumpxml", "vm1"], /<domain type='qemu' id='\d+'>/);
  await step(["destroy", "vm1"], /Domain 'vm1' destroyed/);
  await step(["domstate", "vm1", "--reason"], /shut off \(destroyed\)/);
  await step(["undefine", "vm1"], /Domain 'vm1' has been undefined/);
  const gone = await virsh(uri, ["dominfo", "vm1"]);
  assert.equal(gone.code, 1);
  assert.match(gone.out, /failed to get domain 'vm1'/);
});
