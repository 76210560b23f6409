// Real virsh 9.0 against tsvirtd: each command's output and exit code through
// `test+unix:///default?socket=<root>/run/libvirt-sock` must equal virsh on the in-process
// test:///default (libvirt's own test driver). tsvirtd runs as the real program (src/bin).
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

const haveVirsh = (() => {
  try {
    execFileSync("virsh", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

let root: string;
let daemon: ChildProcess;
let sock: string;
let tcpPort = 0;
/** The daemon's debug log (pino JSON lines): tests wait on it instead of sleeping. */
let log = "";

function virsh(uri: string, args: string[], extra: string[] = []): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      "virsh",
      [...extra, "-c", uri, ...args],
      { env: { ...process.env, LC_ALL: "C" } },
      (err, stdout, stderr) => {
        resolve({ out: stdout + stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
      },
    );
  });
}

/** Time-dependent values (the test driver's CPU time follows the clock). */
function normalize(s: string): string {
  return s.replace(/^CPU time:.*$/gm, "CPU time: <t>");
}

async function compare(args: string[], extra: string[] = [], ro = false) {
  const ours = await virsh(`test+unix:///default?socket=${ro ? `${sock}-ro` : sock}`, args, extra);
  const theirs = await virsh("test:///default", args, ro ? ["-r", ...extra] : extra);
  assert.equal(normalize(ours.out), normalize(theirs.out), `virsh ${args.join(" ")}`);
  assert.equal(ours.code, theirs.code, `exit code of virsh ${args.join(" ")}`);
  return ours;
}

before(async () => {
  if (!haveVirsh) return;
  root = mkdtempSync(join(tmpdir(), "tsvirtd-virsh-"));
  sock = join(root, "run", "libvirt-sock");
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
      "--listen-tcp",
      "127.0.0.1:0",
      "-v",
    ],
    { stdio: ["ignore", "ignore", "pipe"], cwd: join(import.meta.dirname, "..") },
  );
  // pino JSON lines on stderr; the TCP listener logs the port it bound
  daemon.stderr!.on("data", (b: Buffer) => {
    log += b.toString();
    const m = /"msg":"listening on tcp"/.test(b.toString()) ? /"port":(\d+)/.exec(b.toString()) : null;
    if (m) tcpPort = Number(m[1]);
  });
  for (let i = 0; i < 200 && !existsSync(`${sock}-ro`); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(sock), "tsvirtd created its socket");
});

after(() => {
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  if (root) rmSync(root, { recursive: true, force: true });
});

const READ_ONLY_COMMANDS = [
  ["hostname"],
  ["list", "--all"],
  ["list"],
  ["list", "--name", "--all"],
  ["dominfo", "test"],
  ["domstate", "test", "--reason"],
  ["domid", "test"],
  ["domuuid", "test"],
  ["domname", "6695eb01-f6a4-8304-79aa-97f2502e193f"],
  ["dumpxml", "test"],
  ["dumpxml", "--inactive", "test"],
  ["dominfo", "nosuchdomain"],
  ["nodeinfo"],
  ["capabilities"],
  ["sysinfo"],
  ["net-list", "--all"],
  ["net-dumpxml", "default"],
  ["net-info", "default"],
  ["pool-list", "--all"],
  ["pool-info", "default-pool"],
  ["vol-list", "default-pool"],
  ["schedinfo", "test"],
  ["snapshot-list", "test"],
  ["iface-list", "--all"],
  ["nodedev-list"],
  ["nodedev-list", "--tree"],
  ["nodedev-dumpxml", "computer"],
  ["iface-dumpxml", "eth1"],
  ["vcpupin", "test"],
  ["vcpucount", "test"],
  ["maxvcpus"],
  ["freecell", "--all"],
  ["domcontrol", "test"],
  ["domfsinfo", "test"],
  ["memtune", "test"],
  ["blkiotune", "test"],
  ["numatune", "test"],
  ["nodecpumap"],
  ["pool-capabilities"],
  ["domcapabilities"],
  ["emulatorpin", "test"],
  ["iothreadinfo", "test"],
  ["domifaddr", "test"],
  ["net-dhcp-leases", "default"],
  ["domblkinfo", "test", "vda"],
  ["domblklist", "test"],
  ["domiflist", "test"],
  ["perf", "test"],
  ["version"],
];

test("read-only commands: tsvirtd and libvirt's test driver answer alike", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  for (const args of READ_ONLY_COMMANDS) await compare(args);
});

test("virsh over TCP (auth none)", { skip: !haveVirsh && "virsh not installed" }, async () => {
  assert.ok(tcpPort > 0);
  const r = await virsh(`test+tcp://127.0.0.1:${tcpPort}/default`, ["list", "--all"]);
  const theirs = await virsh("test:///default", ["list", "--all"]);
  assert.equal(r.out, theirs.out);
  assert.equal(r.code, 0);
});

test("the read-only socket refuses changes as libvirt does", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  const r = await compare(["destroy", "test"], [], true);
  assert.match(r.out, /operation forbidden: read only access prevents virDomainDestroy/);
  await compare(["dominfo", "test"], [], true);
  const sec = await compare(["dumpxml", "--security-info", "test"], [], true);
  assert.match(sec.out, /virDomainGetXMLDesc with secure flag/);
});

test("configuration changes in one virsh session", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  const seq =
    "snapshot-create-as test s1; snapshot-list test --name; snapshot-current test --name; " +
    "metadata test --uri http://example.org/x --key x --set '<a/>'; metadata test --uri http://example.org/x; " +
    "desc test --title --new-desc Hello; desc test --title; setmem test 1048576; dominfo test; " +
    "net-autostart default --disable; net-info default; pool-autostart default-pool; pool-info default-pool; " +
    "snapshot-delete test s1; snapshot-list test --name";
  const r = await compare([seq]);
  assert.match(r.out, /Domain snapshot s1 created/);
});

test("lifecycle: destroy, start, suspend, resume in one virsh session", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  const seq =
    "destroy test; list --all; domstate test --reason; start test; list --all; dominfo test; " +
    "suspend test; domstate test --reason; resume test; domstate test --reason; start test";
  const r = await compare([seq]);
  assert.match(r.out, /Domain 'test' destroyed/);
  assert.match(r.out, /Domain 'test' started/);
  // as libvirtd 9.0: test:///default ends with its last client, so the next one finds the
  // pristine node ("test" running with id 1, not the restarted id 2)
  const after = await compare(["domid", "test"]);
  assert.equal(after.out.trim(), "1");
});

test("virsh event/net-event/pool-event see changes made by another client", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  const uri = `test+unix:///default?socket=${sock}`;
  const loop = ["--loop", "--timeout", "3"];
  const registered = (proc: string) => log.split(`"proc":"${proc}"`).length - 1;
  const before = [
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    "CONNECT_NETWORK_EVENT_REGISTER_ANY",
    "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY",
  ].map(registered);
  const doms = virsh(uri, ["event", "--domain", "test", "--all", ...loop]);
  const nets = virsh(uri, ["net-event", "--event", "lifecycle", ...loop]);
  const pools = virsh(uri, ["pool-event", "--event", "lifecycle", ...loop]);
  // wait until the three watchers have registered their callbacks with the daemon
  for (let i = 0; i < 300; i++) {
    const now = [
      "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
      "CONNECT_NETWORK_EVENT_REGISTER_ANY",
      "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY",
    ].map(registered);
    if (now.every((n, k) => n > before[k]!)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const change = await virsh(uri, [
    "suspend test; resume test; metadata test --uri http://example.org/e --key e --set '<e/>'; " +
      "net-destroy default; net-start default; pool-destroy default-pool; pool-start default-pool",
  ]);
  assert.equal(change.code, 0, change.out);
  assert.equal(
    (await doms).out,
    "event 'lifecycle' for domain 'test': Suspended Paused\n" +
      "event 'lifecycle' for domain 'test': Resumed Unpaused\n" +
      "event 'metadata-change' for domain 'test': type element, uri http://example.org/e\n" +
      "event loop timed out\n" +
      "events received: 3\n\n",
  );
  assert.equal(
    (await nets).out,
    "event 'lifecycle' for network default: Stopped\n" +
      "event 'lifecycle' for network default: Started\n" +
      "event loop timed out\nevents received: 2\n\n",
  );
  assert.equal(
    (await pools).out,
    "event 'lifecycle' for storage pool default-pool: Stopped\n" +
      "event 'lifecycle' for storage pool default-pool: Started\n" +
      "event loop timed out\nevents received: 2\n\n",
  );
});

test("SIGTERM stops tsvirtd cleanly and removes its sockets", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  const exited = new Promise<number | null>((r) => daemon.once("exit", (code) => r(code)));
  daemon.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.equal(existsSync(sock), false);
});
