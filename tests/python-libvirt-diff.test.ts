// Differential test through python-libvirt 9.0: scripts/oracle/pylibvirt-diff.py runs one
// sequence (listing flags, lifecycle, XML, snapshots, networks, pools, volumes, errors, read-only
// refusals, lifecycle events through the default event loop) against libvirt's in-process
// test:///default and against the tsvirtd program's test+unix:///default, and every check must
// print the same JSON. The private libvirtd peer shows the oracle is transport-independent.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { REPO, startTsvirtd, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

const PY = "/usr/bin/python3";
const SCRIPT = join(REPO, "scripts/oracle/pylibvirt-diff.py");

type Check = [name: string, value: unknown];

/**
 * Checks where tsvirtd is known to differ from libvirt 9.0, with the reason. The main test
 * tolerates exactly these; the todo test below fails (as todo) until each one is fixed.
 */
const KNOWN: Record<string, string> = {};

/**
 * Checks whose answer depends on the transport: a daemon must answer as libvirtd 9.0 does, which
 * differs from in-process libvirt. Without a libvirtd peer to prove it they are tolerated.
 */
const VIA_DAEMON: Record<string, string> = {
  "typed.freePages":
    "virNodeGetFreePages: the test driver returns 0 counts; in-process that is {}, libvirtd's dispatcher fails it",
};

function pythonLibvirtMissing(): string | null {
  try {
    execFileSync(PY, ["-c", "import libvirt"], { stdio: "ignore" });
    return null;
  } catch {
    return "python3-libvirt (via /usr/bin/python3) missing";
  }
}

function runSeq(rw: string, ro: string): Promise<Check[]> {
  return new Promise((resolve, reject) =>
    execFile(PY, [SCRIPT, rw, ro], { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pylibvirt-diff.py ${rw}: ${err.message}\n${stderr}`));
      resolve((JSON.parse(stdout) as { checks: Check[] }).checks);
    }),
  );
}

interface Diff {
  name: string;
  ours: string;
  theirs: string;
}

function compare(theirs: Check[], ours: Check[]): { same: number; diffs: Diff[] } {
  assert.deepEqual(
    ours.map((c) => c[0]),
    theirs.map((c) => c[0]),
    "both runs made the same checks in the same order",
  );
  const diffs: Diff[] = [];
  let same = 0;
  for (let i = 0; i < theirs.length; i++) {
    const a = JSON.stringify(theirs[i]![1]);
    const b = JSON.stringify(ours[i]![1]);
    if (a === b) same++;
    else diffs.push({ name: theirs[i]![0], ours: b, theirs: a });
  }
  return { same, diffs };
}

const missing = pythonLibvirtMissing();
let oracle: Promise<Check[]> | undefined;
const getOracle = () => (oracle ??= runSeq("test:///default", "test:///default"));
let tsvirtdRuns: Promise<{ first: Check[]; second: Check[] }> | undefined;
const whyLv = missing ?? libvirtdUnavailable();
let peerRun: Promise<Check[] | undefined> | undefined;

/** The same sequence through a real libvirtd 9.0 over test+unix:// (undefined where it cannot run). */
function getPeerRun() {
  peerRun ??= (async () => {
    if (whyLv) return undefined;
    const peer = await startLibvirtd();
    try {
      return await runSeq(peer.uri("test"), peer.uri("test", true));
    } finally {
      await peer.stop();
    }
  })();
  return peerRun;
}

/** Two runs on one fresh tsvirtd: the second proves the shared instance ended where it started. */
function getTsvirtdRuns() {
  tsvirtdRuns ??= (async () => {
    const d = await startTsvirtd();
    try {
      const first = await runSeq(d.uri("test"), d.uri("test", true));
      const second = await runSeq(d.uri("test"), d.uri("test", true));
      return { first, second };
    } finally {
      await d.dispose();
    }
  })();
  return tsvirtdRuns;
}

const whyTs = missing ?? tsvirtdUnavailable();

test("python-libvirt sees tsvirtd's test:///default as libvirt's own", {
  skip: whyTs ?? false,
  timeout: 60_000,
}, async (t) => {
  const theirs = await getOracle();
  const { first } = await getTsvirtdRuns();
  const { same, diffs: all } = compare(theirs, first);
  t.diagnostic(`${same}/${theirs.length} checks identical with libvirt 9.0's in-process test:///default`);
  // Where in-process libvirt and libvirtd differ (the answer depends on the transport), the
  // daemon's answer is the one a daemon must give.
  const peer = await getPeerRun();
  const viaDaemon = new Map(peer?.map(([n, v]) => [n, JSON.stringify(v)]));
  const diffs = all.filter((d) => viaDaemon.get(d.name) !== d.ours);
  if (peer) {
    t.diagnostic(
      `${theirs.length - diffs.length}/${theirs.length} identical with libvirt in-process or libvirtd 9.0 over test+unix://`,
    );
  }
  for (const d of diffs) {
    t.diagnostic(`differs: ${d.name}${KNOWN[d.name] ? ` (known: ${KNOWN[d.name]})` : ""}`);
    t.diagnostic(`  libvirt: ${d.theirs.slice(0, 300)}`);
    t.diagnostic(`  tsvirtd: ${d.ours.slice(0, 300)}`);
  }
  assert.ok(theirs.length > 350, "the sequence ran to its end");
  // Floor: a regression anywhere shows up here even when it hides behind a known difference.
  const floor = peer ? 450 : 449;
  assert.ok(theirs.length - diffs.length >= floor, `at least ${floor} checks identical`);
  assert.deepEqual(
    Object.keys(KNOWN).filter((n) => !all.some((d) => d.name === n)),
    [],
    "every known difference still differs (fixed ones leave the list)",
  );
  assert.deepEqual(
    diffs.map((d) => d.name).filter((n) => !KNOWN[n] && !(VIA_DAEMON[n] && !peer)),
    [],
    "only the known differences remain",
  );
  const sentinel = first.find((c) => c[0] === "events.sentinel");
  assert.equal(sentinel?.[1], true, "every lifecycle event reached the python callback");
});

/**
 * A daemon hands out domain IDs from a counter that never goes back (libvirt's does the same), so
 * a second run sees other IDs; everything else must be as in the first run.
 */
function withoutIds(checks: Check[]): Check[] {
  return checks.map(([name, v]): Check => {
    if (name.endsWith(".listIDs") && Array.isArray(v)) return [name, v.length];
    if (name.endsWith(".ids") && Array.isArray(v)) return [name, ["ID", ...v.slice(1)]];
    if (typeof v === "string") return [name, v.replace(/^(<domain type='test') id='\d+'/, "$1 id='ID'")];
    return [name, v];
  });
}

test("the sequence leaves tsvirtd's shared instance as it found it", {
  skip: whyTs ?? false,
  timeout: 60_000,
}, async () => {
  const { first, second } = await getTsvirtdRuns();
  const { diffs } = compare(withoutIds(first), withoutIds(second));
  assert.deepEqual(
    diffs.map((d) => d.name),
    [],
  );
});

test("known differences with libvirt are fixed", {
  skip: whyTs ?? false,
  todo: [...new Set(Object.values(KNOWN))].join("; ") || false,
  timeout: 60_000,
}, async () => {
  const { diffs } = compare(await getOracle(), (await getTsvirtdRuns()).first);
  assert.deepEqual(
    diffs.map((d) => d.name).filter((n) => !VIA_DAEMON[n]),
    [],
  );
});

test("the oracle is (nearly) transport-independent: a real libvirtd over test+unix:// answers as in-process libvirt", {
  skip: whyLv ?? false,
  timeout: 60_000,
}, async (t) => {
  const viaDaemon = (await getPeerRun())!;
  const { same, diffs } = compare(await getOracle(), viaDaemon);
  t.diagnostic(`${same}/${viaDaemon.length} checks identical between libvirtd 9.0 and in-process libvirt`);
  for (const d of diffs)
    t.diagnostic(
      `differs: ${d.name}: in-process ${d.theirs.slice(0, 200)}; libvirtd ${d.ours.slice(0, 200)}`,
    );
  // virNodeGetFreePages: in-process the test driver answers {}, through libvirtd the same call fails
  // ("Library function returned error but did not set virError").
  assert.deepEqual(
    diffs.map((d) => d.name),
    ["typed.freePages"],
  );
});
