// virsh 9.0 through tsvirtd against virsh on libvirt's in-process test:///default: each line is
// one virsh process (a fresh default node on both sides: the daemon drops its node when the last
// client leaves), and its output and exit status must be identical. The lines reach the RPC paths
// python-libvirt does not: virsh's own count queries (blkdeviotune asks with no disk), the calls
// no tsvirt driver offers (block jobs, migration tuning, guest agent, backups, host suspend, page
// allocation, network ports, nwfilter bindings), the listings and lifecycle a session goes
// through. tsvirtd runs from the source tree. Lines whose output depends on the clock (CPU time,
// statistics, creation times) or on the URI are left out.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { withParentDeathSignal } from "../bench/peers/libvirtd.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHOT = join(tmpdir(), `tsvirt-virsh-daemon-${process.pid}.png`);

const LINES = [
  "list --all; domstate test --reason; domid test; domuuid test; domname 1; domname test; domid nosuch",
  "dumpxml test --inactive; vcpucount test; vcpupin test; emulatorpin test; iothreadinfo test",
  "domblklist test --details; domiflist test; domblkinfo test vda; schedinfo test; blkiotune test; memtune test",
  "numatune test; domjobinfo test; domfsinfo test; domhostname test; domblkerror test; domcontrol test; perf test",
  "desc test; desc test --title; metadata test http://x/",
  "setmaxmem test 4G --config; setmem test 1G; setvcpus test 2 --live; suspend test; domstate test; resume test",
  "reboot test; reset test; shutdown test; domstate test --reason; start test --paused; domstate test --reason",
  "blkdeviotune test vda; blkdeviotune test nosuch; blkdeviotune test vda --total-bytes-sec 10 --live",
  "blkdeviotune test vda --config; destroy test; blkdeviotune test vda",
  "domiftune test testnet0; domiftune test testnet0 --inbound 100; domiftune test testnet0",
  "blockresize test vda 1G; blockjob test vda; blockjob test vda --abort; blockpull test vda",
  "blockcommit test vda; blockcopy test vda /nonexistent/x.img",
  "migrate-getspeed test; migrate-setspeed test 10; migrate-getmaxdowntime test; migrate-setmaxdowntime test 10",
  "guestinfo test; get-user-sshkeys test root; guest-agent-timeout test --timeout 5; domjobabort test",
  "domblkthreshold test vda 100; detach-device-alias test ua-x; domdirtyrate-calc test; backup-dumpxml test",
  "nodesuspend mem 60; allocpages 4K 1; nwfilter-binding-list; net-port-list default; nodesevinfo",
  // (not dump: virsh watches its job from a thread, and when the failure shows differs run to run)
  "vcpupin test 0 0; vcpupin test; vcpupin test 1 0-1 --config; vcpupin test --config",
  "net-list --all; net-info default; net-dumpxml default; net-autostart default --disable; net-info default",
  "net-destroy default; net-start default; net-dumpxml default --inactive",
  "pool-list --all --details; pool-info default-pool; vol-create-as default-pool v1 1M; vol-info v1 --pool default-pool",
  "vol-create-as default-pool v1 1M; vol-resize v1 2M --pool default-pool; vol-delete v1 --pool default-pool",
  "find-storage-pool-sources logical; find-storage-pool-sources-as netfs h1; pool-capabilities",
  "iface-list --all; iface-dumpxml eth1; iface-mac eth1; iface-destroy eth1; iface-list --all; iface-begin",
  "nodedev-list; nodedev-list --tree; nodedev-dumpxml computer; nodeinfo; capabilities; sysinfo; maxvcpus",
  "snapshot-create-as test s1 --description d; snapshot-list test --name; snapshot-current test --name",
  "checkpoint-list test; secret-list; nwfilter-list; autostart test; autostart test --disable",
  "iothreadadd test 5; iothreadinfo test; iothreaddel test 5; domlaunchsecinfo test",
  "update-device test /dev/null; attach-interface test network default --config; domiflist test --inactive",
  // the image's bytes are compared below
  `screenshot test ${SHOT}`,
  `destroy test; screenshot test ${SHOT} --screen 1`,
];

const ENV = { ...process.env, LC_ALL: "C" };

function virsh(uri: string, line: string): Promise<string> {
  return new Promise((resolve) => {
    execFile("virsh", ["-c", uri, line], { env: ENV, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve(`${stdout}${stderr}[exit ${code}]\n`);
    });
  });
}

/** tsvirtd from the source tree on a fresh root; stop() ends that PID. */
async function sourceDaemon(): Promise<{ uri: string; stop: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), "tsvirt-virsh-daemon-"));
  const argv = [
    ...withParentDeathSignal("TERM"),
    process.execPath,
    "--import",
    "tsx",
    join(REPO, "src", "bin", "tsvirtd.ts"),
    "--root",
    root,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: "ignore", cwd: REPO });
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  const sock = join(root, "run", "libvirt-sock");
  for (let i = 0; !existsSync(sock); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error("tsvirtd did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    uri: `test+unix:///default?socket=${sock}`,
    stop: async () => {
      child.kill("SIGTERM");
      await gone;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const noVirsh = (() => {
  try {
    execFileSync("virsh", ["--version"], { stdio: "ignore" });
    return null;
  } catch {
    return "virsh not installed";
  }
})();

test("virsh through tsvirtd answers as virsh on libvirt's test:///default", {
  skip: noVirsh ?? false,
  timeout: 300_000,
}, async (t) => {
  const d = await sourceDaemon();
  const diffs: string[] = [];
  try {
    for (const line of LINES) {
      const run = (uri: string) => virsh(uri, line);
      rmSync(SHOT, { force: true });
      const want = await run("test:///default");
      const wantShot = existsSync(SHOT) ? readFileSync(SHOT) : undefined;
      rmSync(SHOT, { force: true });
      const got = await run(d.uri);
      const gotShot = existsSync(SHOT) ? readFileSync(SHOT) : undefined;
      rmSync(SHOT, { force: true });
      if (want !== got) diffs.push(`${line}\n--- libvirt\n${want}--- tsvirtd\n${got}`);
      else if (wantShot && !gotShot?.equals(wantShot)) diffs.push(`${line}: the images differ`);
    }
  } finally {
    await d.stop();
  }
  t.diagnostic(`${LINES.length - diffs.length}/${LINES.length} virsh lines identical through tsvirtd`);
  assert.deepEqual(diffs, []);
});
