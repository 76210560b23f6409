// Crash persistence of the tsvirtd program: kill -9, restart on the same --root, and every
// persistent object (domains with autostart and snapshot metadata, networks, pools, autostart
// flags) must come back with identical XML. scripts/oracle/pylibvirt-persist.py populates and
// dumps through python-libvirt. test:///default keeps nothing (as libvirt's test driver), so it
// must come back in its initial state; qemu:///system is where persistence applies.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { REPO, startTsvirtd, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";
import { decodeHeader, readRecords } from "../src/state/xml-journal.js";
import { JOURNAL_FILE_NAME } from "../src/state/xml-journal-store.js";

const PY = "/usr/bin/python3";
const SCRIPT = join(REPO, "scripts/oracle/pylibvirt-persist.py");

function py(...args: string[]): Promise<any> {
  return new Promise((resolve, reject) =>
    execFile(PY, [SCRIPT, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pylibvirt-persist.py ${args[0]}: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    }),
  );
}

/** A python-libvirt client that opens `uri` and keeps the connection until it is killed. */
async function holdConnection(uri: string): Promise<ChildProcess> {
  const code =
    "import libvirt, sys; c = libvirt.open(sys.argv[1]); print('open', flush=True); sys.stdin.read()";
  const h = spawn(PY, ["-c", code, uri], { stdio: ["pipe", "pipe", "inherit"] });
  const opened = await new Promise<boolean>((resolve) => {
    h.stdout!.once("data", () => resolve(true));
    h.once("exit", () => resolve(false));
  });
  if (!opened) h.kill("SIGKILL");
  assert.ok(opened, "the holding client connected");
  return h;
}

const missing = (() => {
  try {
    execFileSync(PY, ["-c", "import libvirt"], { stdio: "ignore" });
    return tsvirtdUnavailable();
  } catch {
    return "python3-libvirt (via /usr/bin/python3) missing";
  }
})();

interface Daemon {
  uri(driver?: "test" | "qemu"): string;
}

/**
 * populate → dump → crash → restart → dump; returns what populate reported. Kinds the daemon
 * refuses are reported by the caller; what was created must be back, byte for byte.
 */
async function crashCycle(
  t: TestContext,
  start: () => Promise<Daemon>,
  crash: (d: Daemon) => Promise<void>,
  stop: (d: Daemon) => Promise<void>,
  poolDir: string,
): Promise<Record<string, unknown> | undefined> {
  const a = await start();
  let b: Daemon | undefined;
  try {
    const probe = await py("dump", a.uri("qemu"));
    if (probe.openError) {
      t.todo(`qemu:///system is not served: ${probe.openError[2]}`);
      return undefined;
    }
    const made = await py("populate", a.uri("qemu"), poolDir);
    const before = await py("dump", a.uri("qemu"));
    await crash(a);
    b = await start();
    const after = await py("dump", b.uri("qemu"));
    for (const [kind, r] of Object.entries(made))
      if (r !== "ok") t.diagnostic(`not created: ${kind}: ${JSON.stringify(r)}`);
    if (made.domain === "ok")
      assert.ok(before.domains["persist-d1"], "the domain was listed before the crash");
    if (made.network === "ok")
      assert.ok(before.networks["persist-net"], "the network was listed before the crash");
    if (made.pool === "ok") assert.ok(before.pools["persist-pool"], "the pool was listed before the crash");
    if (made.snapshot === "ok") {
      assert.equal(before.domains["persist-d1"].current, "s2");
      assert.deepEqual(Object.keys(before.domains["persist-d1"].snapshots).sort(), ["s1", "s2"]);
    }
    assert.deepEqual(after, before, "every persistent object is back with identical XML and flags");
    return made;
  } finally {
    await stop(b ?? a);
  }
}

test("tsvirtd restarts on its root after kill -9; test:///default comes back initial", {
  skip: missing ?? false,
  timeout: 30_000,
}, async () => {
  const first = await startTsvirtd();
  let holder: ChildProcess | undefined;
  try {
    const fresh = await py("dump", "test:///default");
    // test:///default ends with its last client (as libvirtd's): a client holding a connection
    // keeps the populated node alive across the populate and dump connections until the crash.
    holder = await holdConnection(first.uri("test"));
    const made = await py("populate", first.uri("test"), "/persist-pool");
    assert.equal(made.domain, "ok");
    const changed = await py("dump", first.uri("test"));
    assert.ok(changed.domains["persist-d1"], "defined before the crash");
    await first.stop("SIGKILL");
    const second = await startTsvirtd({ root: first.root });
    try {
      // The stale sockets of the killed daemon do not stop the new one from listening.
      assert.deepEqual(await py("dump", second.uri("test")), fresh);
    } finally {
      await second.stop();
    }
  } finally {
    // a holder left running would keep this test process alive
    holder?.kill("SIGKILL");
    await first.dispose();
  }
});

test("tsvirtd: kill -9 and restart keeps every persistent object of qemu:///system", {
  skip: missing ?? false,
  timeout: 90_000,
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tsvirtd-persist-"));
  const poolDir = join(root, "pool");
  mkdirSync(poolDir);
  try {
    const made = await crashCycle(
      t,
      () => startTsvirtd({ root }),
      (d) => (d as Awaited<ReturnType<typeof startTsvirtd>>).stop("SIGKILL"),
      (d) => (d as Awaited<ReturnType<typeof startTsvirtd>>).stop(),
      poolDir,
    );
    if (made) {
      // Snapshot metadata is stored as libvirt keeps it: one file per snapshot, <active> on the current.
      assert.equal(
        made.snapshot,
        "ok",
        `snapshot REDEFINE on qemu:///system: ${JSON.stringify(made.snapshot)}`,
      );
      const dir = join(root, "lib", "qemu", "snapshot", "persist-d1");
      assert.deepEqual(readdirSync(dir).sort(), ["s1.xml", "s2.xml"]);
      assert.match(readFileSync(join(dir, "s1.xml"), "utf8"), /<active>0<\/active>\n<\/domainsnapshot>\n$/);
      assert.match(
        readFileSync(join(dir, "s2.xml"), "utf8"),
        /<parent>\n {4}<name>s1<\/name>[\s\S]*<active>1<\/active>/,
      );
      const missingKinds = Object.entries(made).filter(([, r]) => r !== "ok");
      if (missingKinds.length) t.todo(`not supported yet: ${missingKinds.map(([k]) => k).join(", ")}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// The same check against real libvirtd 9.0 shows the check itself is sound (every kind is created
// and comes back identical). Opt-in: its first qemu:// connection probes QEMU (8-80 s here).
const lvWhy =
  missing ??
  libvirtdUnavailable() ??
  (process.env.TSVIRT_LIBVIRTD_QEMU === "1" ? null : "set TSVIRT_LIBVIRTD_QEMU=1 (probes QEMU, slow)");

test("libvirtd 9.0: the same crash cycle on qemu:///system (validates the check)", {
  skip: lvWhy ?? false,
  timeout: 300_000,
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "libvirtd-persist-"));
  const poolDir = join(root, "pool");
  mkdirSync(poolDir);
  try {
    type Peer = Awaited<ReturnType<typeof startLibvirtd>>;
    const made = await crashCycle(
      t,
      () => startLibvirtd({ root: join(root, "peer"), cacheDir: process.env.TSVIRT_LIBVIRTD_CACHE }),
      (d) => (d as Peer).kill("SIGKILL"),
      (d) => (d as Peer).stop(),
      poolDir,
    );
    assert.deepEqual(Object.values(made ?? {}), Array(7).fill("ok"), "libvirtd creates every kind");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// The QEMU driver's config store is journaled (src/state/xml-journal*.ts): a define returns once
// its journal record is on disk; the XML files are fsynced later. Killed right after the last
// define (by the client, so no checkpoint can run first), the daemon leaves records in the
// journal; with files missing or torn as a power loss could leave them, the restarted daemon must
// bring back every definition byte for byte. A SIGTERM stop then leaves the journal empty.
const DEFINE_AND_KILL = `
import json, os, signal, sys, libvirt
uri, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = libvirt.open(uri)
xml = "<domain type='qemu'><name>j%d</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>"
doms = [conn.defineXML(xml % i) for i in range(n - 1)]
out = {d.name(): d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) for d in doms}
# The last define and the kill follow each other within a millisecond: no checkpoint between.
last = conn.defineXML(xml % (n - 1))
out[last.name()] = last.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
os.kill(pid, signal.SIGKILL)
print(json.dumps(out))
`;
const DUMP = `
import json, sys, libvirt
conn = libvirt.open(sys.argv[1])
print(json.dumps({d.name(): d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) for d in conn.listAllDomains(0)}))
`;

function pyInline(code: string, ...args: string[]): Promise<any> {
  return new Promise((resolve, reject) =>
    execFile(PY, ["-c", code, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    }),
  );
}

test("tsvirtd: kill -9 right after defines, files lost as by a power loss: the journal brings them back", {
  skip: missing ?? false,
  timeout: 90_000,
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tsvirtd-journal-"));
  try {
    const a = await startTsvirtd({ root });
    const probe = await py("dump", a.uri("qemu"));
    if (probe.openError) {
      await a.stop();
      t.todo(`qemu:///system is not served: ${probe.openError[2]}`);
      return;
    }
    const before = await pyInline(DEFINE_AND_KILL, a.uri("qemu"), String(a.pid), "40");
    await a.stop(); // already dead: waits for the exit
    const cfg = join(root, "etc", "qemu");
    const journal = readFileSync(join(cfg, JOURNAL_FILE_NAME));
    const records = readRecords(journal, decodeHeader(journal)!).records;
    // A define records its intent (flushed before the reply); its config file is written after
    // the reply, with no record of its own (a deferred save: src/state/xml-journal-store.ts), and
    // the journal keeps the intent until a checkpoint has made that file durable.
    const defined = (r: { op: string; xml: string }) =>
      r.op === "intent" ? /<name>(j\d+)<\/name>/.exec(r.xml)?.[1] : undefined;
    const covered = records.map(defined).filter((n): n is string => n !== undefined);
    assert.equal(defined(records.at(-1)!), "j39", "the last record is the last define's intent");
    // What a power loss could leave of files written but not yet fsynced (only those the journal
    // covers: the others were fsynced by a checkpoint before it was reset): the last one not
    // written at all, two others torn and empty. The restarted daemon replays their intents.
    rmSync(join(cfg, "j39.xml"), { force: true });
    const others = covered.filter((n) => n !== "j39" && existsSync(join(cfg, `${n}.xml`))).slice(-2);
    if (others[0])
      writeFileSync(
        join(cfg, `${others[0]}.xml`),
        readFileSync(join(cfg, `${others[0]}.xml`)).subarray(0, 40),
      );
    if (others[1]) writeFileSync(join(cfg, `${others[1]}.xml`), "");
    const b = await startTsvirtd({ root });
    try {
      assert.deepEqual(await pyInline(DUMP, b.uri("qemu")), before, "every definition is back, identical");
    } finally {
      await b.stop();
    }
    const after = readFileSync(join(cfg, JOURNAL_FILE_NAME));
    assert.deepEqual(readRecords(after, decodeHeader(after)!).records, [], "SIGTERM flushed the journal");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
