// Differential: virsh's host counters, domain getters, small operations (NMI, block resize and
// threshold, dirty rate, balloon period, lifecycle actions, perf events, rename, core dumps),
// libvirt-qemu calls (qemu-monitor-command) and guest-agent calls on one running TCG guest,
// against tsvirtd and a private libvirtd 9.0 (bench/peers/libvirtd.ts) running the same domain
// XML (src/drivers/qemu/driver-info.ts, driver-qemu-api.ts, driver-ops.ts, domain-dump.ts).
// Output, errors and exit status must be identical; what legitimately differs is made equal:
// each side's directory, the id of a QMP reply (each daemon numbers its own commands), and the
// host's CPU time and free memory, which move between the two calls (their lines are compared
// without the numbers).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildGuest } from "./guest/build-guest.js";
import { type LivePeers, livePeersUnavailable, QEMU, startLivePeers } from "./guest/live-peers.js";
import { virsh } from "./guest/root-daemon.js";

const skipWhy = livePeersUnavailable();

const MAC = "52:54:00:12:34:57";

const xml = (dir: string, g: ReturnType<typeof buildGuest>) => `<domain type='qemu'>
  <name>info1</name>
  <uuid>0b7c5a7e-4f6e-4a1d-9d4e-6a7f8e9d0c33</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
  <devices>
    <emulator>${QEMU}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/vda.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='user'><mac address='${MAC}'/><model type='virtio'/>
      <bandwidth><inbound average='1000' peak='2000'/></bandwidth></interface>
    <serial type='pty'/><console type='pty'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <memballoon model='virtio'/>
  </devices>
</domain>`;

/** Commands in order (some change state: metadata, suspend/resume, destroy). */
const COMMANDS: string[][] = [
  ["nodeinfo"],
  ["nodecpustats"],
  ["nodecpustats", "--cpu", "0"],
  ["nodememstats"],
  ["nodememstats", "--cell", "0"],
  ["nodememstats", "--cell", "9"],
  ["domcontrol", "info1"],
  ["domjobinfo", "info1"],
  ["domjobinfo", "info1", "--completed"],
  ["domblkerror", "info1"],
  ["domiftune", "info1", MAC],
  ["domiftune", "info1", MAC, "--config"],
  ["domiftune", "info1", "52:54:00:12:34:58"],
  ["iothreadinfo", "info1"],
  ["iothreadinfo", "info1", "--config"],
  ["domlaunchsecinfo", "info1"],
  ["checkpoint-list", "info1"],
  ["metadata", "info1", "http://example.org/x/"],
  ["metadata", "info1", "http://example.org/x/", "--key", "x", "--set", "<a b='1'/>"],
  ["metadata", "info1", "http://example.org/x/"],
  ["metadata", "info1", "http://example.org/x/", "--config"],
  ["desc", "info1", "--title", "--new-desc", "T1"],
  ["desc", "info1", "--title"],
  ["qemu-monitor-command", "info1", "--hmp", "info status"],
  ["qemu-monitor-command", "info1", '{"execute":"query-status"}'],
  ["qemu-monitor-command", "info1", "--pretty", '{"execute":"query-name"}'],
  ["qemu-monitor-command", "info1", '{"execute":"nosuch"}'],
  ["qemu-monitor-command", "info1", "query-kvm"],
  ["qemu-agent-command", "info1", '{"execute":"guest-ping"}'],
  ["domifaddr", "info1"],
  ["domifaddr", "info1", "--source", "lease", "--full"],
  ["domifaddr", "info1", "--source", "agent"],
  ["domfsinfo", "info1"],
  ["domhostname", "info1"],
  ["domtime", "info1"],
  ["guestvcpus", "info1"],
  ["domfstrim", "info1"],
  ["screenshot", "info1", "@D@/shot.img"],
  ["inject-nmi", "info1"],
  ["blockresize", "info1", "vda", "32M"],
  ["domblkinfo", "info1", "vda"],
  ["blockresize", "info1", "hdc", "1M"],
  ["blockresize", "info1", "nosuch", "1M"],
  ["domblkthreshold", "info1", "vda", "1M"],
  ["domblkthreshold", "info1", "nosuch", "1M"],
  ["domdirtyrate-calc", "info1", "--seconds", "1"],
  ["domdirtyrate-calc", "info1", "--seconds", "99"],
  ["blockjob", "info1", "vda", "--info"],
  ["blockjob", "info1", "nosuch", "--info"],
  ["dommemstat", "info1", "--period", "2"],
  ["dumpxml", "info1", "--xpath", "//memballoon"],
  ["dommemstat", "info1", "--period", "-1"],
  ["dommemstat", "info1", "--period", "0", "--config"],
  ["perf", "info1"],
  ["perf", "info1", "--config"],
  ["perf", "info1", "--live", "--config"],
  ["iothreadinfo", "info1", "--live", "--config"],
  ["set-lifecycle-action", "info1", "reboot", "destroy"],
  ["set-lifecycle-action", "info1", "poweroff", "preserve"],
  ["set-lifecycle-action", "info1", "reboot", "rename-restart"],
  ["set-lifecycle-action", "info1", "poweroff", "restart"],
  ["set-lifecycle-action", "info1", "poweroff", "coredump-destroy"],
  ["set-lifecycle-action", "info1", "crash", "coredump-restart", "--config"],
  ["dumpxml", "info1", "--xpath", "//on_poweroff|//on_reboot|//on_crash"],
  ["dumpxml", "info1", "--inactive", "--xpath", "//on_poweroff|//on_reboot|//on_crash"],
  // back to restart: the dump --reset below resets the guest
  ["set-lifecycle-action", "info1", "reboot", "restart"],
  ["suspend", "info1"],
  ["domtime", "info1"],
  ["domcontrol", "info1"],
  ["resume", "info1"],
  ["qemu-attach", "123"],
  ["dump", "info1", "@D@/m.core", "--memory-only"],
  ["dump", "info1", "@D@/z.core", "--memory-only", "--format", "kdump-zlib"],
  ["dump", "info1", "@D@/w.core", "--memory-only", "--format", "win-dmp"],
  ["dump", "info1", "@D@/k.core", "--format", "kdump-zlib"],
  ["dump", "info1", "@D@/full.core"],
  ["dump", "info1", "@D@/l.core", "--live", "--crash"],
  ["dump", "info1", "@D@/nosuchdir/x.core", "--memory-only"],
  ["dump", "info1", "@D@/r.core", "--memory-only", "--reset"],
  ["domstate", "info1", "--reason"],
  ["dump", "info1", "@D@/c.core", "--memory-only", "--crash"],
  ["domstate", "info1", "--reason"],
  ["domcontrol", "info1"],
  ["domjobinfo", "info1"],
  ["domblkerror", "info1"],
  ["qemu-monitor-command", "info1", "--hmp", "info status"],
  ["qemu-agent-command", "info1", '{"execute":"guest-ping"}'],
  ["domtime", "info1"],
  ["domifaddr", "info1"],
  ["inject-nmi", "info1"],
  ["blockjob", "info1", "vda", "--info"],
  ["dommemstat", "info1", "--period", "3", "--config"],
  ["dumpxml", "info1", "--xpath", "//memballoon"],
  ["metadata", "info1", "http://example.org/x/"],
  ["iothreadinfo", "info1"],
  ["domrename", "info1", "info1"],
  ["domrename", "info1", "info2"],
  ["list", "--all"],
  ["autostart", "info2"],
  ["domrename", "info2", "info1"],
  ["list", "--all", "--autostart"],
  ["autostart", "--disable", "info1"],
];

function normalise(dir: string, cmd: string[], out: string): string {
  let t = out
    .split(dir)
    .join("@D@")
    .replace(/"id": ?"(libvirt|tsvirt)-\d+"/g, '"id":"N"');
  // host CPU time and free memory move between the two calls: keep the lines and their names
  if (cmd[0] === "nodecpustats") t = t.replace(/ +\d+$/gm, " N");
  if (cmd[0] === "nodememstats") t = t.replace(/^(free|buffers|cached)( *: +)\d+/gm, "$1: N");
  return t;
}

let peers: LivePeers | undefined;
after(async () => {
  await peers?.dispose(["info1"]);
});

test("host counters, domain getters, qemu-monitor-command and agent calls match libvirtd 9.0 on a running guest", {
  skip: skipWhy ?? false,
  timeout: 300_000,
}, async (t) => {
  const g = buildGuest();
  peers = await startLivePeers("info-diff");
  const { ts, lv, base } = peers;
  const sides = [
    { uri: lv.uri("qemu"), dir: join(base, "lv-side") },
    { uri: ts.uri, dir: join(base, "ts-side") },
  ];
  for (const s of sides) {
    mkdirSync(s.dir, { recursive: true });
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(s.dir, "vda.qcow2"), "16M"]);
    writeFileSync(join(s.dir, "info1.xml"), xml(s.dir, g));
    const d = await virsh(s.uri, ["define", join(s.dir, "info1.xml")]);
    assert.equal(d.code, 0, d.err);
    const r = await virsh(s.uri, ["start", "info1"]);
    assert.equal(r.code, 0, r.err);
  }
  const diffs: string[] = [];
  for (const cmd of COMMANDS) {
    const [a, b] = await Promise.all(
      sides.map(async (s) => {
        const r = await virsh(
          s.uri,
          cmd.map((a) => a.replaceAll("@D@", s.dir)),
        );
        return normalise(s.dir, cmd, `${r.code}\n${r.out}${r.err}`);
      }),
    );
    if (a !== b)
      diffs.push(`${cmd.join(" ")}\n  libvirtd: ${JSON.stringify(a)}\n  tsvirtd:  ${JSON.stringify(b)}`);
  }
  for (const s of sides) await virsh(s.uri, ["undefine", "info1"]);
  t.diagnostic(`identical ${COMMANDS.length - diffs.length}/${COMMANDS.length}`);
  assert.deepEqual(diffs, []);
});
