// The installed tsvirt-img (package.json "bin": dist/bin/tsvirt-img), the shell launcher that
// scripts/build-img-bundle.mjs writes, and the V8 startup snapshot it starts Node from
// (tsvirt-img.blob). Built here into a directory of its own (--out), then:
// - the snapshot answers every command line as the ES modules do (outputs, exit codes);
// - what a snapshot could freeze at build time is read at run time instead: environment variables
//   (TSVIRT_NO_NATIVE, TSVIRT_IMG_TRACE_START), the native addon (loaded by the run, not the
//   build), stdout being a terminal or not, the working directory;
// - the launcher falls back to tsvirt-img-cli.cjs (bundle) when the snapshot cannot be used:
//   NODE_OPTIONS set, a snapshot older than tsc's output, another `node` first on PATH, a Node
//   replaced after the build (its file or its directory newer than the snapshot), and runs
//   the ES modules with TSVIRT_IMG_NO_BUNDLE=1; it works through npm's bin symlink and after the
//   directory moved.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";

const ROOT = resolve(import.meta.dirname, "..");
const DIST_BIN = join(ROOT, "dist/bin/tsvirt-img.js");
let dir = "";
let out = "";
let skip = "";

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** This Node first on PATH: the launcher uses the snapshot only for the Node that built it. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;
const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH };
  delete env.NODE_OPTIONS;
  delete env.TSVIRT_IMG_NO_BUNDLE;
  delete env.TSVIRT_NO_NATIVE;
  return env;
};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The start-up path the run reported (TSVIRT_IMG_TRACE_START=1). */
  via: string | undefined;
}

/** Runs `prog` (the launcher or a link to it) with TSVIRT_IMG_TRACE_START=1; the trace line is split off stderr. */
function launch(prog: string, argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(prog, argv, {
    cwd,
    encoding: "utf8",
    env: { ...baseEnv(), TSVIRT_IMG_TRACE_START: "1", ...env },
  });
  const m = /^tsvirt-img: start-up via (\w+)\n/m.exec(r.stderr);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: m ? r.stderr.replace(m[0], "") : r.stderr,
    via: m?.[1],
  };
}

function esm(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [DIST_BIN, ...argv], {
    cwd,
    encoding: "utf8",
    env: { ...baseEnv(), TSVIRT_IMG_NO_BUNDLE: "1", ...env },
  });
}

function images(name: string): string {
  const w = join(dir, name);
  mkdirSync(w);
  const data = Buffer.alloc(3 << 20);
  for (let i = 0; i < data.length; i += 512) data.writeUInt32LE(i + 7, i);
  writeFileSync(join(w, "data.raw"), data);
  return w;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsvirt-img-launcher-"));
  if (
    !existsSync(join(ROOT, "dist/bin/tsvirt-img-cli.cjs")) ||
    !existsSync(join(ROOT, "dist/cli/img/main.js"))
  ) {
    skip = "dist is not built (npx tsc -p .)";
    return;
  }
  try {
    await import("esbuild");
  } catch {
    skip = "esbuild is not installed: the build makes no bundle and no snapshot";
    return;
  }
  out = join(dir, "bin");
  const b = spawnSync(process.execPath, [join(ROOT, "scripts/build-img-bundle.mjs"), "--out", out], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, "", "the build step reported a failure");
  for (const f of ["tsvirt-img", "tsvirt-img-cli.cjs", "tsvirt-img.cjs", "tsvirt-img.blob"])
    assert.ok(existsSync(join(out, f)), f);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("the snapshot answers as the ES modules do", (t) => {
  if (skip) return t.skip(skip);
  const launcher = join(out, "tsvirt-img");
  const viaEsm = images("esm");
  const viaSnap = images("snap");
  const cases = [
    ["convert", "-O", "qcow2", "data.raw", "data.qcow2"],
    ["create", "-q", "-f", "qcow2", "-b", "data.qcow2", "-F", "qcow2", "top.qcow2"],
    ["info", "data.qcow2"],
    ["info", "--backing-chain", "--output=json", "top.qcow2"],
    ["info", "data.raw"],
    ["check", "data.qcow2"],
    ["check", "--output=json", "top.qcow2"],
    ["check", "data.raw"],
    ["map", "--output=json", "top.qcow2"],
    ["convert", "-c", "-O", "qcow", "data.raw", "c.qcow"],
    ["compare", "data.raw", "c.qcow"],
    ["convert", "-p", "-O", "raw", "top.qcow2", "back.raw"],
    ["compare", "data.raw", "back.raw"],
    ["create", "-f", "vdi", "new.vdi", "1M"],
    ["info", "missing.qcow2"],
    ["check", "-r", "bogus", "data.qcow2"],
    ["nosuchcommand"],
    // Node's own options after the launcher's `--` are the CLI's
    ["--help"],
    ["-V"],
    ["--version"],
    [],
  ];
  for (const argv of cases) {
    const e = esm(argv, viaEsm);
    const s = launch(launcher, argv, viaSnap);
    const what = argv.join(" ");
    assert.equal(s.via, "snapshot", what);
    assert.equal(s.stderr, e.stderr, `stderr of ${what}`);
    assert.equal(s.stdout, e.stdout, `stdout of ${what}`);
    assert.equal(s.status, e.status, `exit code of ${what}`);
  }
  assert.match(
    launch(launcher, ["check", "data.qcow2"], viaSnap).stdout,
    /No errors were found on the image/,
  );
  assert.deepEqual(readFileSync(join(viaSnap, "back.raw")), readFileSync(join(viaSnap, "data.raw")));
});

test("the snapshot reads the environment, the addon and the terminal at run time", (t) => {
  if (skip) return t.skip(skip);
  const launcher = join(out, "tsvirt-img");
  const w = images("runtime");
  // The working directory is the run's: a relative name resolves there.
  const info = launch(launcher, ["info", "data.raw"], w);
  assert.equal(info.via, "snapshot");
  assert.match(info.stdout, /^image: data\.raw\nfile format: raw\n/);
  // Without the variable the run does not trace.
  const quiet = spawnSync(launcher, ["info", "data.raw"], { cwd: w, encoding: "utf8", env: baseEnv() });
  assert.equal(quiet.stderr, "");
  assert.equal(quiet.stdout, info.stdout);
  // NODE_EXTRA_CA_CERTS is not passed on (no TLS here; Node would parse the file at start-up): a
  // missing file would make Node warn on stderr. Both start-up paths.
  for (const env of [{}, { NODE_OPTIONS: "--max-old-space-size=4096" }]) {
    const ca = spawnSync(launcher, ["info", "data.raw"], {
      cwd: w,
      encoding: "utf8",
      env: { ...baseEnv(), NODE_EXTRA_CA_CERTS: join(w, "no-such-ca.pem"), ...env },
    });
    assert.equal(ca.status, 0, ca.stderr);
    assert.equal(ca.stderr, "");
  }

  if (have("strace") && existsSync(join(ROOT, "build/tsvirt_io.node"))) {
    // The addon is opened by the run (convert copies through it), and not with TSVIRT_NO_NATIVE=1.
    const opened = (env: NodeJS.ProcessEnv): boolean => {
      const log = join(w, "strace.log");
      const r = spawnSync(
        "strace",
        ["-f", "-e", "trace=openat", "-o", log, launcher, "convert", "-O", "raw", "data.raw", "copy.raw"],
        { cwd: w, encoding: "utf8", env: { ...baseEnv(), ...env } },
      );
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(log, "utf8").includes("tsvirt_io.node");
    };
    assert.equal(opened({}), true, "the addon was not loaded at run time");
    assert.equal(opened({ TSVIRT_NO_NATIVE: "1" }), false, "TSVIRT_NO_NATIVE=1 was not seen at run time");
  }

  // convert -p: qemu-img's "(x/100%)" lines into a pipe, a drawn bar on a terminal.
  const piped = launch(launcher, ["convert", "-p", "-O", "raw", "data.raw", "p.raw"], w);
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /\(100\.00\/100%\)\r\n$/);
  if (have("script")) {
    const tty = (cmd: string) =>
      spawnSync("script", ["-qec", cmd, "/dev/null"], { cwd: w, encoding: "utf8", env: baseEnv() }).stdout;
    const s = tty(`${launcher} convert -p -O raw data.raw t1.raw`);
    const e = tty(`TSVIRT_IMG_NO_BUNDLE=1 ${process.execPath} ${DIST_BIN} convert -p -O raw data.raw t2.raw`);
    for (const o of [s, e]) {
      assert.match(o, /\[[^\]]*\] 100%/, JSON.stringify(o));
      assert.doesNotMatch(o, /\/100%\)/);
    }
  }
});

test("the launcher falls back when the snapshot cannot be used", (t) => {
  if (skip) return t.skip(skip);
  const launcher = join(out, "tsvirt-img");
  const w = images("fallback");
  const want = launch(launcher, ["info", "data.raw"], w);
  assert.equal(want.via, "snapshot");
  const same = (r: Run, via: string, what: string) => {
    assert.equal(r.via, via, what);
    assert.equal(r.stdout, want.stdout, what);
    assert.equal(r.status, 0, what);
  };
  // Any V8 flag in NODE_OPTIONS makes Node refuse a snapshot: NODE_OPTIONS set, no snapshot.
  same(
    launch(launcher, ["info", "data.raw"], w, { NODE_OPTIONS: "--max-old-space-size=500" }),
    "bundle",
    "NODE_OPTIONS",
  );
  // Another node first on PATH (here a wrapper script around this one).
  const other = join(dir, "other-node");
  mkdirSync(other);
  writeFileSync(join(other, "node"), `#!/bin/sh\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
  same(launch(launcher, ["info", "data.raw"], w, { PATH: `${other}:${PATH}` }), "bundle", "another node");
  // npm's bin is a symlink to the launcher.
  const links = join(dir, "node_modules/.bin");
  mkdirSync(links, { recursive: true });
  symlinkSync(launcher, join(links, "tsvirt-img"));
  same(launch(join(links, "tsvirt-img"), ["info", "data.raw"], w), "snapshot", "symlink");
  // TSVIRT_IMG_NO_BUNDLE=1: the ES modules, which this copy does not have.
  const noBundle = launch(launcher, ["info", "data.raw"], w, { TSVIRT_IMG_NO_BUNDLE: "1" });
  assert.equal(noBundle.via, "modules");
  assert.notEqual(noBundle.status, 0);
  assert.match(noBundle.stderr, /ERR_MODULE_NOT_FOUND|Cannot find module/);
  // The directory moved after the build: the launcher finds its files next to its real path.
  const moved = join(dir, "moved");
  renameSync(out, moved);
  const links2 = join(dir, "links2");
  mkdirSync(links2);
  symlinkSync(join(moved, "tsvirt-img"), join(links2, "tsvirt-img"));
  same(launch(join(links2, "tsvirt-img"), ["info", "data.raw"], w), "bundle", "moved");
  renameSync(moved, out);
  // tsc ran after the build (tsvirt-img-cli.cjs newer than the snapshot): neither snapshot nor
  // bundle; this copy has no ES modules, so the run fails, which shows the old snapshot unused.
  const later = new Date(Date.now() + 60_000);
  cpSync(join(out, "tsvirt-img-cli.cjs"), join(out, "tsvirt-img-cli.cjs.bak"));
  utimesSync(join(out, "tsvirt-img-cli.cjs"), later, later);
  const stale = launch(launcher, ["info", "data.raw"], w);
  assert.equal(stale.via, "modules");
  assert.notEqual(stale.status, 0);
  // Only the snapshot older than tsc's output (the bundle made after it): the bundle.
  utimesSync(join(out, "tsvirt-img.cjs"), later, later);
  same(launch(launcher, ["info", "data.raw"], w), "bundle", "stale snapshot");
});

test("a Node replaced after the build is not given the snapshot", (t) => {
  if (skip) return t.skip(skip);
  // A copy of this Node in a directory of its own, both older than the build, builds a snapshot.
  const nodeDir = join(dir, "node-bin");
  mkdirSync(nodeDir);
  const node = join(nodeDir, "node");
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(node, past, past);
  utimesSync(nodeDir, past, past);
  const out2 = join(dir, "bin-copied-node");
  const b = spawnSync(node, [join(ROOT, "scripts/build-img-bundle.mjs"), "--out", out2], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(b.status, 0, b.stderr);
  assert.match(readFileSync(join(out2, "tsvirt-img"), "utf8"), new RegExp(`^n='${node}'$`, "m"));
  const w = images("replaced");
  const env = { PATH: `${nodeDir}:${PATH}` };
  const first = launch(join(out2, "tsvirt-img"), ["info", "data.raw"], w, env);
  assert.equal(first.via, "snapshot");
  assert.equal(first.status, 0, first.stderr);
  // A package manager's upgrade: the new binary renamed into place with an old mtime (a Node of
  // another version would refuse the snapshot with exit 14). The directory is now newer.
  copyFileSync(node, `${node}.new`);
  chmodSync(`${node}.new`, 0o755);
  utimesSync(`${node}.new`, past, past);
  renameSync(`${node}.new`, node);
  const after = launch(join(out2, "tsvirt-img"), ["info", "data.raw"], w, env);
  assert.equal(after.via, "bundle");
  assert.equal(after.stdout, first.stdout);
  assert.equal(after.status, 0);
  // Replaced by a copy (new mtime, same directory entry).
  utimesSync(nodeDir, past, past);
  assert.equal(launch(join(out2, "tsvirt-img"), ["info", "data.raw"], w, env).via, "snapshot");
  copyFileSync(process.execPath, node);
  assert.equal(launch(join(out2, "tsvirt-img"), ["info", "data.raw"], w, env).via, "bundle");
});

/** Runs `cmd`, its stdout a pipe whose reading end is closed at once: how it ends, and its stderr. */
function readerGone(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((done, fail) => {
    const c = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    c.stdout.destroy();
    let stderr = "";
    c.stderr.on("data", (d) => (stderr += d));
    c.on("error", fail);
    c.on("close", (code, signal) => done({ code, signal, stderr }));
  });
}

test("output into a pipe whose reader is gone is dropped quietly, and the status is qemu-img's", async (t) => {
  if (skip) return t.skip(skip);
  const w = images("pipe");
  const img = join(w, "data.raw");
  // qemu-img ignores SIGPIPE and its failed writes: status 0, nothing on stderr
  const want = { code: 0, signal: null, stderr: "" };
  if (have("qemu-img"))
    assert.deepEqual(await readerGone("qemu-img", ["map", "--output=json", img], baseEnv()), want);
  // the snapshot (this test's build), and the ES modules (dist's launcher)
  for (const [prog, env] of [
    [join(out, "tsvirt-img"), {}],
    [join(ROOT, "dist/bin/tsvirt-img"), { TSVIRT_IMG_NO_BUNDLE: "1" }],
  ] as const) {
    const r = await readerGone(prog, ["map", "--output=json", img], { ...baseEnv(), ...env });
    assert.deepEqual(r, want, prog);
  }
  // A failing command keeps its own status and message.
  const bad = await readerGone(join(out, "tsvirt-img"), ["info", join(w, "missing")], baseEnv());
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Could not open/);
});
