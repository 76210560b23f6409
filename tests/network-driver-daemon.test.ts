// tsvirtd's qemu:///system network calls end to end with the real virsh 9.0 client: the daemon
// runs in a private network namespace (unshare --net), so the bridge, dnsmasq and nftables rules
// it makes never reach the host. Under --root it defines no default network and autostarts none.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { withParentDeathSignal } from "../bench/peers/libvirtd.js";
import { TSVIRTD_JS, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

// TSVIRT_TSVIRTD_JS runs another build of the daemon (e.g. one with local wiring changes).
const DAEMON_JS = process.env.TSVIRT_TSVIRTD_JS ?? TSVIRTD_JS;
const why =
  tsvirtdUnavailable() ??
  (process.getuid?.() !== 0 ? "needs root" : null) ??
  ["/usr/bin/virsh", "/usr/sbin/dnsmasq", "/usr/sbin/nft", "/usr/bin/unshare", "/usr/bin/nsenter"].find(
    (p) => !existsSync(p),
  ) ??
  null;

const canConnect = (path: string) =>
  new Promise<boolean>((done) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });

test("virsh net-* against tsvirtd running in its own network namespace", {
  skip: why ?? false,
  timeout: 40_000,
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tsvirt-netd-"));
  chmodSync(root, 0o755);
  const log = join(root, "tsvirtd.log");
  const argv = [
    ...withParentDeathSignal("TERM"),
    "/usr/bin/unshare",
    "--net",
    "--",
    process.execPath,
    DAEMON_JS,
    "--root",
    root,
    "--http",
    "off",
  ];
  const fd = openSync(log, "a", 0o600);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", fd, fd] });
  const sock = join(root, "run", "libvirt-sock");
  const uri = `qemu+unix:///system?socket=${sock}`;
  const virsh = (...args: string[]) => {
    const r = spawnSync("virsh", ["-c", uri, ...args], { encoding: "utf8", timeout: 15_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const inDaemonNs = (...args: string[]) =>
    spawnSync("nsenter", ["-t", String(child.pid), "-n", ...args], { encoding: "utf8" });
  try {
    for (let i = 0; !(existsSync(sock) && (await canConnect(sock))); i++) {
      if (i > 1000 || child.exitCode !== null)
        throw new Error(`tsvirtd did not start:\n${readFileSync(log, "utf8")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const list = virsh("net-list", "--all");
    if (list.code !== 0 && /no network driver|not supported/i.test(list.err)) {
      t.skip("tsvirtd does not serve networks on qemu:///system yet");
      return;
    }
    assert.equal(list.code, 0, list.err);
    assert.doesNotMatch(list.out, /default/, "no default network under --root");

    const xmlFile = join(root, "tnet.xml");
    writeFileSync(
      xmlFile,
      "<network><name>tnet</name><forward mode='nat'/><bridge stp='off'/><ip address='10.91.0.1' netmask='255.255.255.0'><dhcp><range start='10.91.0.2' end='10.91.0.50'/></dhcp></ip></network>",
    );
    let r = virsh("net-define", xmlFile);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Network tnet defined from /);
    r = virsh("net-start", "tnet");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), "Network tnet started");
    r = virsh("net-dumpxml", "tnet");
    assert.match(r.out, /<bridge name='virbr0' stp='off' delay='0'\/>/);
    assert.match(r.out, /<mac address='52:54:00:/);
    r = virsh("net-info", "tnet");
    assert.match(r.out, /Active:\s+yes/);
    assert.match(r.out, /Bridge:\s+virbr0/);
    assert.match(inDaemonNs("ip", "-o", "addr", "show", "dev", "virbr0").stdout, /10\.91\.0\.1\/24/);
    assert.match(
      inDaemonNs("nft", "list", "table", "inet", "tsvirt_net").stdout,
      /masquerade to :1024-65535/,
    );
    r = virsh("net-dhcp-leases", "tnet");
    assert.equal(r.code, 0, r.err);
    r = virsh("net-start", "tnet");
    assert.equal(r.code, 1);
    assert.match(r.err, /error: Requested operation is not valid: network is already active/);
    r = virsh("net-destroy", "tnet");
    assert.equal(r.out.trim(), "Network tnet destroyed");
    assert.notEqual(inDaemonNs("ip", "link", "show", "dev", "virbr0").status, 0);
    r = virsh("net-undefine", "tnet");
    assert.equal(r.out.trim(), "Network tnet has been undefined");
    r = virsh("net-info", "tnet");
    assert.match(r.err, /error: Network not found: no network with matching name 'tnet'/);
  } finally {
    // A network left running keeps dnsmasq (and with it the namespace) alive: stop it by pidfile.
    const pidFile = join(root, "run", "network", "tnet.pid");
    if (existsSync(pidFile)) {
      const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
      if (pid > 1 && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(root))
        process.kill(pid, "SIGKILL");
    }
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    rmSync(root, { recursive: true, force: true });
  }
});
