// Differential: real virsh 9.0 and tsvirsh (the built dist/bin/tsvirsh.js) against one tsvirtd
// whose QEMU driver runs a TCG test guest: the commands tsvirsh used to refuse without calling
// (qemu-monitor-command and qemu-agent-command over libvirt-qemu's program, nodememstats,
// blockresize, domblkthreshold, domdirtyrate-calc, blockjob --info, domjobinfo, guestvcpus,
// pool-capabilities), their option errors and read-only refusals; then the same commands against
// test:///default, in-process and through the same tsvirtd, where both fail as virsh does against
// a driver without the call.
// virsh runs first: a state-changing line is one both can run in turn (the same size twice) or
// waits `settle` ms in between. What legitimately differs is normalised: QMP reply ids (the
// daemon numbers its commands) and the host's free/buffers/cached memory.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";
import { haveVirsh, RootDaemon, virsh } from "./guest/root-daemon.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const TSVIRSH = join(import.meta.dirname, "../dist/bin/tsvirsh.js");

const skipWhy = !haveVirsh()
  ? "virsh not installed"
  : !existsSync(QEMU)
    ? "qemu-system-x86_64 not installed"
    : !existsSync(TSVIRSH)
      ? "dist/bin/tsvirsh.js not built"
      : guestUnavailable();

interface Line {
  args: string[];
  /** ms to wait after virsh's run and after tsvirsh's (a measurement one started must end first) */
  settle?: number;
}

const q = (...args: string[]): Line => ({ args });
const json = (o: unknown) => JSON.stringify(o);

/** Lines against the running guest `g1` (@D@: its directory). */
const LIVE: Line[] = [
  // libvirt-qemu's monitor command: QMP as given, HMP, reformatted replies, wrapped non-JSON text
  q("qemu-monitor-command", "g1", json({ execute: "query-status" })),
  q("qemu-monitor-command", "g1", "--pretty", json({ execute: "query-status" })),
  q("qemu-monitor-command", "g1", "--return-value", json({ execute: "query-status" })),
  q("qemu-monitor-command", "g1", "--pretty", "--return-value", json({ execute: "query-version" })),
  q("qemu-monitor-command", "g1", "--pretty", json({ execute: "query-block-jobs" })),
  q("qemu-monitor-command", "g1", "--return-value", "--pretty", json({ execute: "query-block-jobs" })),
  q("qemu-monitor-command", "g1", "--pretty", json({ execute: "query-cpus-fast" })),
  q("qemu-monitor-command", "g1", "--pretty", json({ execute: "qom-list", arguments: { path: "/machine/unattached" } })),
  q("qemu-monitor-command", "g1", "--return-value", "query-kvm"),
  q("qemu-monitor-command", "g1", "--hmp", "info status"),
  q("qemu-monitor-command", "g1", "--hmp", "info", "version"),
  q("qemu-monitor-command", "g1", "--hmp", "bogus"),
  q("qemu-monitor-command", "g1", "--hmp", ""),
  q("qemu-monitor-command", "g1", "query-status"),
  q("qemu-monitor-command", "g1", "query-status x"),
  q("qemu-monitor-command", "g1", 'a"b'),
  q("qemu-monitor-command", "g1", ""),
  q("qemu-monitor-command", "g1", "[1]"),
  q("qemu-monitor-command", "g1", '{"execute":', '"query-status"}'),
  q("qemu-monitor-command", "g1", ` ${json({ execute: "query-status" })} `),
  q("qemu-monitor-command", "g1", "query-block", '"x":1'),
  q("qemu-monitor-command", "g1", "query-status", '"x":1', '"y":2'),
  q("qemu-monitor-command", "g1", "--return-value", "query-block", '"x":1'),
  q("qemu-monitor-command", "g1", json({ execute: "query-status" }), "extra"),
  q("qemu-monitor-command", "g1", "query-status", "x", "y"),
  q("qemu-monitor-command", "g1", "query-status", '"a":-'),
  q("qemu-monitor-command", "g1", "query-status", '"a":1}'),
  // arguments that do not wrap: libvirt's JSON parser (yajl) errors, with their arrows
  ...[
    '"a":{',
    '"a":[1',
    '"a"',
    '"a":',
    '"a":1,',
    '"a":"x',
    '"a":1 2',
    '"a":[1 2]',
    '"a":nul',
    '"a":truex',
    "1:2",
    '"a":1.',
    '"a":01',
    '"a":1e',
    '"a":[1,',
    '"a":"\\q"',
    '"a":1 "b"',
    '"a":"\\u12"',
    "true:1",
  ].map((a) => q("qemu-monitor-command", "g1", "query-status", a)),
  q("qemu-monitor-command", "g1", "--hmp", "--pretty", "info status"),
  q("qemu-monitor-command", "g1", "--pass-fds", "x", "query-status"),
  q("-r", "qemu-monitor-command", "g1", "--hmp", "info status"),
  q("qemu-monitor-command", "nosuch", "query-status"),
  // the guest agent is not connected (the test guest runs none)
  q("qemu-agent-command", "g1", json({ execute: "guest-ping" })),
  q("qemu-agent-command", "g1", "--pretty", "--timeout", "1", json({ execute: "guest-ping" })),
  q("qemu-agent-command", "g1", "--async", "x"),
  q("qemu-agent-command", "g1", "--block", "x"),
  q("qemu-agent-command", "g1", "--timeout", "0", "x"),
  q("qemu-agent-command", "g1", "--timeout", "1", "--block", "x"),
  q("-r", "qemu-agent-command", "g1", "x"),
  q("guestvcpus", "g1"),
  q("guestvcpus", "g1", "--enable", "--cpulist", "0"),
  q("guestvcpus", "g1", "--cpulist", "0"),
  q("-r", "guestvcpus", "g1", "--disable", "--cpulist", "0"),
  // getters tsvirtd's QEMU driver does not have: virsh's own first lines, then the refusal
  q("schedinfo", "g1"),
  q("memtune", "g1"),
  q("blkiotune", "g1"),
  q("numatune", "g1"),
  // virDomainBlockStatsFlags' fields (counters of a guest that reads nothing more by now)
  q("domblkstat", "g1", "vda"),
  q("domblkstat", "g1", "vda", "--human"),
  q("domblkstat", "g1", "vdz"),
  // libvirt-lxc's program, which tsvirtd does not serve
  q("lxc-enter-namespace", "g1", "/bin/true"),
  q("-r", "lxc-enter-namespace", "g1", "/bin/true"),
  // the storage driver's pool capabilities
  q("pool-capabilities"),
  q("-r", "pool-capabilities"),
  // host memory
  q("nodememstats"),
  q("nodememstats", "--cell", "0"),
  q("nodememstats", "--cell", "7"),
  q("nodememstats", "--cell", "-2"),
  q("-r", "nodememstats"),
  // block devices: resizes to the same size twice, thresholds, (no) block jobs
  q("blockresize", "g1", "vda", "32M"),
  q("blockresize", "g1", "@D@/vda.qcow2", "48M"),
  q("blockresize", "g1", "vda", "50331649b"),
  q("blockresize", "g1", "vdz", "32M"),
  q("blockresize", "g1", "hdc", "1M"),
  q("-r", "blockresize", "g1", "vda", "48M"),
  q("domblkthreshold", "g1", "vda", "100M"),
  q("domblkthreshold", "g1", "vdz", "1"),
  q("domblkthreshold", "g1", "hdc", "1"),
  q("-r", "domblkthreshold", "g1", "vda", "1"),
  q("blockjob", "g1", "vda"),
  q("blockjob", "g1", "vda", "--info"),
  q("blockjob", "g1", "vda", "--raw"),
  q("blockjob", "g1", "vda", "--bytes"),
  q("blockjob", "g1", "vdz", "--info"),
  q("blockjob", "g1", "hdc"),
  q("-q", "blockjob", "g1", "vda"),
  q("-r", "blockjob", "g1", "vda"),
  // jobs and the dirty-rate measurement (one second, over before the second client starts one)
  q("domjobinfo", "g1"),
  q("domjobinfo", "g1", "--completed"),
  q("domjobinfo", "g1", "--rawstats"),
  q("domjobinfo", "g1", "--completed", "--keep-completed"),
  q("-r", "domjobinfo", "g1"),
  { args: ["domdirtyrate-calc", "g1", "--seconds", "1"], settle: 2500 },
  { args: ["domdirtyrate-calc", "g1", "--seconds", "1", "--mode", "page-sampling"], settle: 2500 },
  q("domdirtyrate-calc", "g1", "--mode", "bogus"),
  q("-r", "domdirtyrate-calc", "g1"),
];

/** Lines against test:///default's `test` domain (no such calls in libvirt's test driver). */
const TEST_DRIVER: Line[] = [
  q("nodememstats"),
  q("nodememstats", "--cell", "-2"),
  q("blockresize", "test", "vda", "1M"),
  q("blockresize", "test", "vda", "1x"),
  q("domblkthreshold", "test", "vda", "1"),
  q("domdirtyrate-calc", "test"),
  q("domdirtyrate-calc", "test", "--mode", "x"),
  q("blockjob", "test", "vda"),
  q("blockjob", "test", "vda", "--raw", "--info"),
  q("domjobinfo", "test"),
  q("domjobinfo", "test", "--rawstats"),
  q("qemu-monitor-command", "test", "x"),
  q("qemu-monitor-command", "test", "--hmp", "x"),
  q("qemu-monitor-command", "test", "x", "y"),
  q("-r", "qemu-monitor-command", "test", "x"),
  q("qemu-agent-command", "test", "x"),
  q("guestvcpus", "test"),
  q("guestvcpus", "test", "--enable", "--cpulist", "0"),
  q("guestvcpus", "test", "--cpulist", "0"),
  q("pool-capabilities"),
  q("qemu-agent-command", "test", "--timeout", "0", "x"),
];

interface Out {
  code: number;
  out: string;
  err: string;
}

function run(bin: string, args: string[]): Promise<Out> {
  const [file, pre] = bin === "virsh" ? ["virsh", []] : [process.execPath, [TSVIRSH]];
  return new Promise((resolve) => {
    execFile(file, [...pre, ...args], { env: { ...process.env, LC_ALL: "C" } }, (e, out, err) =>
      resolve({ out, err, code: e ? ((e as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

const normalise = (s: string) =>
  s.replace(/"tsvirt-\d+"/g, '"<id>"').replace(/^(free|buffers|cached)( *): *\d+ KiB$/gm, "$1$2: <n> KiB");

/** Global options first (-r, -q), then -c URI, then the command. */
function withUri(uri: string, args: string[]): string[] {
  const n = args.findIndex((x) => !x.startsWith("-"));
  return [...args.slice(0, n), "-c", uri, ...args.slice(n)];
}

async function compare(uri: string, lines: Line[], dir = ""): Promise<string[]> {
  const diffs: string[] = [];
  for (const l of lines) {
    const args = withUri(
      uri,
      l.args.map((a) => a.replaceAll("@D@", dir)),
    );
    const want = await run("virsh", args);
    if (l.settle) await new Promise((r) => setTimeout(r, l.settle));
    const got = await run("tsvirsh", args);
    if (l.settle) await new Promise((r) => setTimeout(r, l.settle));
    const w = { ...want, out: normalise(want.out), err: normalise(want.err) };
    const g = { ...got, out: normalise(got.out), err: normalise(got.err) };
    if (JSON.stringify(w) !== JSON.stringify(g))
      diffs.push(`${l.args.join(" ")}\n  virsh:   ${JSON.stringify(w)}\n  tsvirsh: ${JSON.stringify(g)}`);
  }
  return diffs;
}

let daemon: RootDaemon | undefined;
let dir: string | undefined;
after(() => {
  daemon?.killAll(["g1"]);
  if (daemon) rmSync(daemon.root, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("tsvirsh and virsh 9.0 against tsvirtd's QEMU driver with a running guest", {
  skip: skipWhy ?? false,
  timeout: 600_000,
}, async () => {
  const g = buildGuest();
  daemon = new RootDaemon(mkdtempSync(join(tmpdir(), "tsvirtd-vqd-")));
  await daemon.start();
  dir = mkdtempSync(join(tmpdir(), "vqd-"));
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(dir, "vda.qcow2"), "16M"]);
  // the serial console keeps the guest's init reading (it powers off at the end of its input)
  writeFileSync(
    join(dir, "g1.xml"),
    `<domain type='qemu'><name>g1</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
  <devices><emulator>${QEMU}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/vda.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <serial type='pty'/><console type='pty'/>
    <interface type='user'><mac address='52:54:00:12:34:5a'/><model type='virtio'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices></domain>`,
  );
  for (const args of [["define", join(dir, "g1.xml")], ["start", "g1"]]) {
    const r = await virsh(daemon.uri, args);
    assert.equal(r.code, 0, `${args[0]}: ${r.err}`);
  }
  const diffs = await compare(daemon.uri, LIVE, dir);
  const state = await virsh(daemon.uri, ["domstate", "g1"]);
  assert.equal(state.out.trim(), "running", "the guest ran through every line");
  const sock = daemon.uri.replace(/^.*socket=/, "");
  diffs.push(...(await compare(`test+unix:///default?socket=${sock}`, TEST_DRIVER)));
  diffs.push(...(await compare("test:///default", TEST_DRIVER)));
  await virsh(daemon.uri, ["destroy", "g1"]);
  assert.deepEqual(diffs, [], `${diffs.length} of ${LIVE.length + 2 * TEST_DRIVER.length} lines differ`);
});
