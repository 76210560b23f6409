// tsvirtd's resident memory: the program's shebang keeps Node from loading what the daemon never
// uses (NODE_EXTRA_CA_CERTS's CA bundle), and bench/peers/tsvirtd.ts starts the daemon exactly as
// that shebang does, so the benchmark's RSS figure is the installed command's; the daemon logs
// pino's lines without loading pino.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Logger, pino } from "pino";
import {
  shebangCommand,
  shebangNodeOptions,
  startTsvirtd,
  TSVIRTD_JS,
  tsvirtdUnavailable,
} from "../bench/peers/tsvirtd.js";
import { PY, runClient } from "../bench/rpc-define.js";
import { daemonLogger } from "../src/daemon/log.js";

const ENV = "/usr/bin/env";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

function shebangArgument(file: string): string {
  // The kernel passes everything after the interpreter path as one argument (env -S splits it).
  const first = readFileSync(file, "utf8").split("\n", 1)[0]!;
  const m = /^#!(\S+) (.*)$/.exec(first);
  assert.ok(m, first);
  assert.equal(m[1], ENV);
  return m[2]!;
}

test("the peer reads tsvirtd's shebang as the system's env runs it", {
  skip: tsvirtdUnavailable() ?? (existsSync(ENV) ? false : `${ENV} missing`),
}, () => {
  const parsed = shebangCommand(TSVIRTD_JS);
  assert.ok(parsed.unset.includes("NODE_EXTRA_CA_CERTS"), JSON.stringify(parsed));
  // Run the shebang's command line through the real env, with a script instead of the program,
  // with each removed variable set: it must reach node unset, and node gets exactly these options.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of parsed.unset) env[name] = CA_BUNDLE;
  const script = `process.stdout.write(JSON.stringify({ execArgv: process.execArgv, set: ${JSON.stringify(parsed.unset)}.filter((n) => n in process.env) }))`;
  const out = JSON.parse(
    execFileSync(ENV, [shebangArgument(TSVIRTD_JS), "-e", script], { env, encoding: "utf8" }),
  );
  assert.deepEqual(out.execArgv.slice(0, parsed.nodeOptions.length), parsed.nodeOptions);
  assert.deepEqual(out.set, []);
});

test("a daemon started by the peer does not get NODE_EXTRA_CA_CERTS", {
  skip: tsvirtdUnavailable() ?? (existsSync(CA_BUNDLE) ? false : `${CA_BUNDLE} missing`),
}, async () => {
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = CA_BUNDLE;
  try {
    const d = await startTsvirtd({ args: ["--http", "off"] });
    try {
      const environ = readFileSync(`/proc/${d.pid}/environ`, "utf8").split("\0");
      assert.ok(
        environ.some((kv) => kv.startsWith("PATH=")),
        "the daemon's environment is readable",
      );
      assert.equal(environ.filter((kv) => kv.startsWith("NODE_EXTRA_CA_CERTS=")).length, 0);
      const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, "utf8").split("\0");
      for (const o of shebangNodeOptions(TSVIRTD_JS)) assert.ok(cmdline.includes(o), cmdline.join(" "));
    } finally {
      await d.dispose();
    }
  } finally {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
  }
});

function pythonLibvirtMissing(): string | null {
  try {
    execFileSync(PY, ["-c", "import libvirt"], { stdio: "ignore" });
    return null;
  } catch {
    return `python3-libvirt (via ${PY}) missing`;
  }
}

// Issue 3's memory target, measured as bench/rpc-define.ts does (python-libvirt over
// qemu+unix:///system, the daemon's VmRSS with 500 domains defined): at most 64 MiB.
test("tsvirtd's RSS with 500 domains defined is at most 64 MiB", {
  skip: tsvirtdUnavailable() ?? pythonLibvirtMissing() ?? false,
  timeout: 120_000,
}, async (t) => {
  const d = await startTsvirtd({ args: ["--http", "off"] });
  try {
    const f = await runClient(d.uri("qemu"), d.pid, 500, 1, "qemu");
    assert.equal(f.domainsWithDefined, f.domainsBefore + 500);
    assert.equal(f.domainsAfter, f.domainsBefore);
    const mib = (k: number) => (k / 1024).toFixed(1);
    t.diagnostic(`RSS before ${mib(f.rssKiBBefore)} MiB, with 500 defined ${mib(f.rssKiBDefined)} MiB`);
    assert.ok(f.rssKiBDefined > 16 * 1024, "VmRSS read from /proc");
    assert.ok(f.rssKiBDefined <= 64 * 1024, `RSS with 500 defined: ${mib(f.rssKiBDefined)} MiB`);
  } finally {
    await d.dispose();
  }
});

// The daemon's own logger (src/daemon/log.ts, so that pino's modules stay out of the daemon)
// writes the lines pino writes for the same calls: pino is the oracle, `time` aside.
test("the daemon's log lines are pino's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "daemon-log-"));
  try {
    const calls = (log: Logger) => {
      log.info({ path: "/run/x", readOnly: false }, "listening on unix socket");
      log.info("tsvirtd ready");
      log.debug({ proc: 1 }, "not written at info");
      log.warn({ keys: ["a", "b"], n: 12n, nested: { q: '"quoted"\n' } }, "ignoring unknown config keys");
      const child = log.child({ client: 7 });
      child.info({ transport: "unix" }, "client connected");
      child.error({ err: "boom", msg: "own msg field" }, "call failed");
      child.child({ sub: "x" }).warn("nested child");
      log.error({});
      assert.equal(log.isLevelEnabled("debug"), false);
      assert.equal(log.isLevelEnabled("warn"), true);
      log.flush();
    };
    const lines = (file: string) =>
      readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => {
          const o = JSON.parse(l) as Record<string, unknown>;
          assert.equal(typeof o.time, "number");
          o.time = 0;
          return JSON.stringify(o);
        });
    const pinoFile = join(dir, "pino.log");
    const oursFile = join(dir, "ours.log");
    const pfd = openSync(pinoFile, "w");
    const ofd = openSync(oursFile, "w");
    calls(pino({ name: "tsvirtd", level: "info" }, pino.destination({ fd: pfd, sync: true })));
    calls(daemonLogger("tsvirtd", "info", ofd));
    closeSync(pfd);
    closeSync(ofd);
    const ours = lines(oursFile);
    assert.equal(ours.length, 7);
    assert.deepEqual(ours, lines(pinoFile));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
