// The private libvirtd 9.0 peer (bench/peers/libvirtd.ts): its generated config, and a live run
// that python-libvirt reaches through test+unix:// on its own sockets, that keeps its state out of
// the host's paths, refuses writes on the read-only socket, and is gone after stop().
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { test } from "node:test";
import {
  libvirtdConf,
  namespaceScript,
  peerLayout,
  privateMounts,
  qemuConf,
  shQuote,
  withQemuAccount,
} from "../bench/peers/libvirtd-config.js";
import { libvirtdUnavailable, rssKiB, startLibvirtd } from "../bench/peers/libvirtd.js";

const PY = "/usr/bin/python3";

function py(code: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(PY, ["-c", code, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

test("libvirtd.conf puts sockets in our dir, no TCP, no auth", () => {
  const c = libvirtdConf("/tmp/x/sock");
  assert.match(c, /^unix_sock_dir = "\/tmp\/x\/sock"$/m);
  assert.match(c, /^listen_tcp = 0$/m);
  assert.match(c, /^auth_unix_rw = "none"$/m);
  assert.match(qemuConf(), /^security_driver = "none"$/m);
});

test("the libvirt-qemu account is added once, only to the private copies", () => {
  const a = withQemuAccount("root:x:0:0::/root:/bin/sh", "root:x:0:\n");
  assert.match(a.passwd, /^root:x:0:0::\/root:\/bin\/sh\nlibvirt-qemu:x:64055:64055:/);
  assert.match(a.group, /\nlibvirt-qemu:x:64055:\n$/);
  assert.deepEqual(withQemuAccount(a.passwd, a.group), a);
});

test("namespace script binds every system path before starting libvirtd, quoting paths", () => {
  const l = peerLayout("/tmp/it's");
  const s = namespaceScript(l, "/usr/sbin/libvirtd");
  for (const [, dst] of privateMounts(l)) assert.ok(s.includes(`${shQuote(dst)}\n`), dst);
  assert.ok(s.includes(`mount --bind '/tmp/it'\\''s/run' '/run/libvirt'`));
  const tail = s.trimEnd().split("\n").slice(-2);
  assert.ok(tail[0]!.startsWith("'/usr/sbin/libvirtd' --config /etc/libvirt/libvirtd.conf"));
  assert.ok(tail[0]!.endsWith(" &"));
  assert.equal(tail[1], "wait $!"); // the shell stays PID 1 and reaps orphans
});

const why =
  libvirtdUnavailable() ??
  (() => {
    try {
      execFileSync(PY, ["-c", "import libvirt"], { stdio: "ignore" });
      return null;
    } catch {
      return "python3-libvirt (via /usr/bin/python3) missing";
    }
  })();

test("a private libvirtd serves test+unix:// and leaves the host's paths alone", {
  skip: why ?? false,
  timeout: 40_000,
}, async () => {
  const hostRun = existsSync("/run/libvirt") ? readdirSync("/run/libvirt").sort() : [];
  const peer = await startLibvirtd();
  try {
    assert.ok((rssKiB(peer.pid) ?? 0) > 1024);
    const out = await py(
      [
        "import libvirt, sys, json",
        "libvirt.registerErrorHandler(lambda *a: None, None)",
        "c = libvirt.open(sys.argv[1])",
        "d = c.defineXML(\"<domain type='test'><name>peer-probe</name><memory>1024</memory><os><type>hvm</type></os></domain>\")",
        "names = sorted(x.name() for x in c.listAllDomains(0))",
        "d.undefine()",
        "r = libvirt.openReadOnly(sys.argv[2])",
        "try:\n  r.defineXML('<domain/>'); err = None\nexcept libvirt.libvirtError as e:\n  err = e.get_error_code()",
        "print(json.dumps([c.getType(), c.getLibVersion(), names, err, c.getHostname()]))",
      ].join("\n"),
      peer.uri("test"),
      peer.uri("test", true),
    );
    const [type, libVersion, names, roErr, host] = JSON.parse(out);
    assert.equal(type, "TEST");
    assert.equal(libVersion, 9000000);
    assert.deepEqual(names, ["peer-probe", "test"]);
    assert.equal(roErr, 29, "VIR_ERR_OPERATION_DENIED on the read-only socket");
    assert.equal(host, execFileSync("hostname").toString().trim());
    // The peer's driver state went to its private run dir, not the host's /run/libvirt.
    assert.ok(readdirSync(peer.layout.run).length > 0, "private /run/libvirt used");
    assert.deepEqual(existsSync("/run/libvirt") ? readdirSync("/run/libvirt").sort() : [], hostRun);
  } finally {
    await peer.stop();
  }
  assert.equal(rssKiB(peer.pid), undefined, "libvirtd gone after stop()");
  assert.equal(existsSync(peer.layout.root), false, "temp root removed");
});
