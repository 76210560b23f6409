// The installed tsvirt-img (package.json "bin": dist/bin/tsvirt-img): the launcher that
// scripts/build-img-bundle.mjs builds (native/tsvirt-img-launcher.c, or a shell script without a C
// compiler) and the bundle start-up it runs (tsvirt-img-start.cjs: the CLI's one-file bundle with
// V8's code cache, both read from tsvirt-img.pack). Built here into directories of their own
// (--out), one per launcher, then:
// - the bundle answers every command line as the ES modules do (outputs, exit codes);
// - what must be read at run time is: environment variables (TSVIRT_NO_NATIVE,
//   TSVIRT_IMG_TRACE_START), the native addon (loaded by the run), stdout being a terminal or not,
//   the working directory; NODE_EXTRA_CA_CERTS is not passed on to Node;
// - the launcher passes the V8 flags the code cache was made under (V8 takes the cache: the start-up
//   traces no "code cache not used");
// - the launcher runs the first `node` on PATH (the Node that built it when PATH has none), keeps
//   the bundle with a V8 flag in NODE_OPTIONS (the code cache is then rejected, the run works), works
//   through npm's bin symlink and after the directory moved, and runs the ES modules when the bundle
//   is older than tsc's output or missing, or with TSVIRT_IMG_NO_BUNDLE=1;
// - without a working C compiler the build writes the shell launcher.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
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
/** The build with the compiled launcher (the shell one when this machine has no C compiler). */
let out = "";
/** The build with the shell launcher (--sh-launcher). */
let outSh = "";
let skip = "";

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** This Node first on PATH (the launcher runs the first `node` there). */
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

function build(to: string, ...extra: string[]): { stdout: string; stderr: string } {
  const b = spawnSync(process.execPath, [join(ROOT, "scripts/build-img-bundle.mjs"), "--out", to, ...extra], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, "", "the build step reported a failure");
  return b;
}

const isElf = (f: string) => readFileSync(f).subarray(0, 4).toString("latin1") === "\x7fELF";

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
    skip = "esbuild is not installed: the build makes no bundle";
    return;
  }
  out = join(dir, "bin");
  outSh = join(dir, "bin-sh");
  const b = build(out);
  build(outSh, "--sh-launcher");
  for (const o of [out, outSh])
    for (const f of [
      "tsvirt-img",
      "tsvirt-img-cli.cjs",
      "tsvirt-img.cjs",
      "tsvirt-img.cjs.cache",
      "tsvirt-img-start.cjs",
      "tsvirt-img.pack",
    ])
      assert.ok(existsSync(join(o, f)), join(o, f));
  assert.match(readFileSync(join(outSh, "tsvirt-img"), "latin1"), /^#!\/bin\/sh\n/);
  // With a working C compiler (it builds a program here) the launcher is the compiled one (the
  // build names which it wrote).
  writeFileSync(join(dir, "probe.c"), "int main(void) { return 0; }\n");
  const cc =
    spawnSync(process.env.CC || "cc", ["-o", join(dir, "probe"), join(dir, "probe.c")]).status === 0 &&
    spawnSync(join(dir, "probe")).status === 0;
  assert.equal(isElf(join(out, "tsvirt-img")), cc, b.stdout);
  assert.match(b.stdout, cc ? /launcher \S+ \(C(, static)?\)/ : /launcher \S+ \(sh\)/);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Both launchers: [name, its build directory]. */
const launchers = (): [string, string][] => [
  ["launcher", out],
  ["sh launcher", outSh],
];

test("the bundle answers as the ES modules do, through either launcher", (t) => {
  if (skip) return t.skip(skip);
  const viaEsm = images("esm");
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
    // Node's own options after the entry are the CLI's
    ["--help"],
    ["-V"],
    ["--version"],
    [],
  ];
  const want = cases.map((argv) => esm(argv, viaEsm));
  for (const [name, o] of launchers()) {
    const w = images(`via-${name.replace(" ", "-")}`);
    for (const [i, argv] of cases.entries()) {
      const e = want[i]!;
      const s = launch(join(o, "tsvirt-img"), argv, w);
      const what = `${name}: ${argv.join(" ")}`;
      assert.equal(s.via, "bundle", what);
      assert.equal(s.stderr, e.stderr, `stderr of ${what}`);
      assert.equal(s.stdout, e.stdout, `stdout of ${what}`);
      assert.equal(s.status, e.status, `exit code of ${what}`);
    }
    assert.match(
      launch(join(o, "tsvirt-img"), ["check", "data.qcow2"], w).stdout,
      /No errors were found on the image/,
    );
    assert.deepEqual(readFileSync(join(w, "back.raw")), readFileSync(join(w, "data.raw")));
  }
});

test("the environment, the addon and the terminal are read at run time", (t) => {
  if (skip) return t.skip(skip);
  const launcher = join(out, "tsvirt-img");
  const w = images("runtime");
  // The working directory is the run's: a relative name resolves there.
  const info = launch(launcher, ["info", "data.raw"], w);
  assert.equal(info.via, "bundle");
  assert.match(info.stdout, /^image: data\.raw\nfile format: raw\n/);
  // Without the variable the run does not trace.
  const quiet = spawnSync(launcher, ["info", "data.raw"], { cwd: w, encoding: "utf8", env: baseEnv() });
  assert.equal(quiet.stderr, "");
  assert.equal(quiet.stdout, info.stdout);
  // NODE_EXTRA_CA_CERTS is not passed on (no TLS here; Node would parse the file at start-up): a
  // missing file would make Node warn on stderr. Both launchers, both start-up paths.
  for (const [, o] of launchers())
    for (const env of [{}, { TSVIRT_IMG_NO_BUNDLE: "1" }]) {
      const ca = spawnSync(join(o, "tsvirt-img"), ["info", "data.raw"], {
        cwd: w,
        encoding: "utf8",
        env: { ...baseEnv(), NODE_EXTRA_CA_CERTS: join(w, "no-such-ca.pem"), ...env },
      });
      // (the ES modules are not in this copy: that run fails, but not about the CA file)
      assert.doesNotMatch(ca.stderr, /no-such-ca|extra certs/i, `${o} ${JSON.stringify(env)}`);
      if (!env.TSVIRT_IMG_NO_BUNDLE) {
        assert.equal(ca.status, 0, ca.stderr);
        assert.equal(ca.stderr, "");
      }
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

test("the launchers run PATH's node and fall back to the ES modules when the bundle is stale", (t) => {
  if (skip) return t.skip(skip);
  const w = images("fallback");
  for (const [name, o] of launchers()) {
    const launcher = join(o, "tsvirt-img");
    const want = launch(launcher, ["info", "data.raw"], w);
    assert.equal(want.via, "bundle", name);
    assert.equal(want.status, 0, want.stderr);
    // (stderr "": the start-up traced no "code cache not used", i.e. V8 took the build's cache)
    const same = (r: Run, via: string, what: string, stderr = "") => {
      assert.equal(r.via, via, `${name}: ${what}`);
      assert.equal(r.stdout, want.stdout, `${name}: ${what}`);
      assert.equal(r.stderr, stderr, `${name}: ${what}`);
      assert.equal(r.status, 0, `${name}: ${what}`);
    };
    // A V8 flag in NODE_OPTIONS: V8 rejects the code cache (made under other flags), the bundle
    // compiles from its source and answers the same.
    same(
      launch(launcher, ["info", "data.raw"], w, { NODE_OPTIONS: "--max-old-space-size=500" }),
      "bundle",
      "NODE_OPTIONS",
      "tsvirt-img: code cache not used\n",
    );
    // Another node first on PATH (a wrapper around this one that leaves a mark) is the one run.
    const other = join(dir, `other-node-${name.replace(" ", "-")}`);
    mkdirSync(other);
    const mark = join(other, "ran");
    writeFileSync(join(other, "node"), `#!/bin/sh\n: > ${mark}\nexec ${process.execPath} "$@"\n`, {
      mode: 0o755,
    });
    same(launch(launcher, ["info", "data.raw"], w, { PATH: `${other}:${PATH}` }), "bundle", "another node");
    assert.ok(existsSync(mark), `${name}: PATH's node was not run`);
    // No node on PATH: the Node that built the launcher.
    same(
      launch(launcher, ["info", "data.raw"], w, { PATH: join(dir, "no-such-dir") }),
      "bundle",
      "no node on PATH",
    );
    // npm's bin is a symlink to the launcher.
    const links = join(dir, `node_modules-${name.replace(" ", "-")}/.bin`);
    mkdirSync(links, { recursive: true });
    symlinkSync(launcher, join(links, "tsvirt-img"));
    same(launch(join(links, "tsvirt-img"), ["info", "data.raw"], w), "bundle", "symlink");
    // TSVIRT_IMG_NO_BUNDLE=1: the ES modules, which this copy does not have.
    const noBundle = launch(launcher, ["info", "data.raw"], w, { TSVIRT_IMG_NO_BUNDLE: "1" });
    assert.equal(noBundle.via, "modules", name);
    assert.notEqual(noBundle.status, 0);
    assert.match(noBundle.stderr, /ERR_MODULE_NOT_FOUND|Cannot find module/);
    // The directory moved after the build: the launcher finds its files next to its real path.
    const moved = join(dir, "moved");
    renameSync(o, moved);
    try {
      const links2 = join(dir, `links2-${name.replace(" ", "-")}`);
      mkdirSync(links2);
      symlinkSync(join(moved, "tsvirt-img"), join(links2, "tsvirt-img"));
      same(launch(join(links2, "tsvirt-img"), ["info", "data.raw"], w), "bundle", "moved");
    } finally {
      renameSync(moved, o);
    }
    // tsc ran after the build (tsvirt-img-cli.cjs newer than the bundle): not the bundle; this copy
    // has no ES modules, so the run fails, which shows the old bundle unused.
    const cli = join(o, "tsvirt-img-cli.cjs");
    const later = new Date(Date.now() + 60_000);
    const { atime, mtime } = statSync(cli);
    utimesSync(cli, later, later);
    const stale = launch(launcher, ["info", "data.raw"], w);
    assert.equal(stale.via, "modules", `${name}: stale`);
    assert.notEqual(stale.status, 0);
    utimesSync(cli, atime, mtime);
    // No start entry (a build by an older version of the script): tsvirt-img-cli.cjs, which takes
    // the bundle itself.
    renameSync(join(o, "tsvirt-img-start.cjs"), join(o, "start.bak"));
    same(launch(launcher, ["info", "data.raw"], w), "bundle", "no start entry");
    renameSync(join(o, "start.bak"), join(o, "tsvirt-img-start.cjs"));
    same(launch(launcher, ["info", "data.raw"], w), "bundle", "restored");
  }
});

test("without a working C compiler the build writes the shell launcher", (t) => {
  if (skip) return t.skip(skip);
  const o = join(dir, "bin-no-cc");
  const b = spawnSync(
    process.execPath,
    [join(ROOT, "scripts/build-img-bundle.mjs"), "--out", o, "--no-cache"],
    {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, CC: "false" },
    },
  );
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, "");
  assert.match(readFileSync(join(o, "tsvirt-img"), "latin1"), /^#!\/bin\/sh\n/);
  const w = images("no-cc");
  const r = launch(join(o, "tsvirt-img"), ["info", "data.raw"], w);
  assert.equal(r.via, "bundle");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^image: data\.raw\nfile format: raw\n/);
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
  // the bundle (this test's build), and the ES modules (dist's launcher)
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
