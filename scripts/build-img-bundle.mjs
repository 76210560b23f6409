// Optional build step after tsc (`npm run build`), for tsvirt-img's start-up. Writes, in DIST/bin:
//
// - tsvirt-img: the installed program (package.json "bin"), a shell launcher that knows this
//   checkout's paths and the Node that built the snapshot below. When the snapshot is there, not
//   older than tsc's output, made by the first `node` on PATH (the one `#!/usr/bin/env node` would
//   run) and NODE_OPTIONS is empty (any V8 flag there makes Node refuse a snapshot), it runs
//   `node --snapshot-blob tsvirt-img.blob -- ARGS`; else `node --interrupt-budget=… tsvirt-img-cli.cjs
//   ARGS` (the V8 flag tsvirt-img-cli.cjs would otherwise set through node:v8). Written
//   even without esbuild (it then always takes the second way). Only shell built-ins on the
//   first way: no fork before Node starts.
// - tsvirt-img.cjs: tsvirt-img's CLI (dist/cli/img/main.js and everything it imports, dynamic
//   imports included) in one CommonJS file, and tsvirt-img.cjs.cache, V8's code cache for it,
//   taken after a training run of info and check. tsvirt-img-cli.cjs (tsc's output of
//   src/bin/tsvirt-img-cli.cts) loads them when they are not older than itself; otherwise the
//   CLI's ES modules load as before.
// - tsvirt-img.blob: a V8 startup snapshot (`node --build-snapshot`) of a Node that evaluated the
//   bundle and ran the same training commands: Node starts with the CLI's code, the built-in
//   modules it requires and its compiled functions already in the heap. Only the Node binary that
//   made it can load it (the launcher checks). Nothing in the CLI reads the environment, the
//   working directory, the terminal or the clock at module top level (a snapshot would freeze
//   it); the native addon loads on first use (an addon loaded while building makes V8 abort:
//   then no blob), and the training runs never touch process.stdout/stderr (they write through
//   the CLI's own fs.writeSync sinks, fd 1 being /dev/null in the building process).
//
// Needs esbuild, which is only an indirect dev dependency (through tsx): without it this prints
// a note, removes stale outputs and exits 0, so `npm run build` works with plain tsc output.
//
//   node scripts/build-img-bundle.mjs [--dist DIR] [--out DIR] [--no-cache] [--no-snapshot]
//   (--out: where the outputs and copies of the bins go, default DIST/bin; for tests)

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { Script } from "node:vm";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = resolve(opt("--dist") ?? join(ROOT, "dist"));
const OUT = resolve(opt("--out") ?? join(DIST, "bin"));
const ENTRY = join(DIST, "cli/img/main.js");
const BIN = join(DIST, "bin/tsvirt-img.js");
const BIN_CJS = join(DIST, "bin/tsvirt-img-cli.cjs");
const LAUNCHER = join(OUT, "tsvirt-img");
const BUNDLE = join(OUT, "tsvirt-img.cjs");
const CACHE = `${BUNDLE}.cache`;
const BLOB = join(OUT, "tsvirt-img.blob");

/** Must match the wrapper in src/bin/tsvirt-img-cli.cts: V8 accepts a cache only for the same source. */
const wrap = (code) => `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const scriptOptions = (cachedData) => ({ filename: BUNDLE, cachedData });
/** Must match the bin's V8 flags too (a cache records the flags it was made with). */
setFlagsFromString("--interrupt-budget=1081344");

function removeOutputs() {
  rmSync(BUNDLE, { force: true });
  rmSync(CACHE, { force: true });
  rmSync(BLOB, { force: true });
}

/** A word for sh: single-quoted. */
const shq = (s) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The installed program. Baked in: OUT and this Node's path. Every test on the snapshot's way is
 * a shell built-in (dash, bash and busybox sh have -nt and -ef); the last line, for a checkout
 * moved after the build, is the only one that forks (readlink: npm's bin is a symlink). A Node
 * replaced after the build would refuse the snapshot (exit 14): a package manager renames the new
 * binary into place with the package's (older) mtime, but the rename makes the directory newer
 * than the blob, which the launcher takes as stale too (any install into that directory does:
 * the next build makes a new blob).
 */
function writeLauncher() {
  mkdirSync(OUT, { recursive: true });
  const text = `#!/bin/sh
# tsvirt-img: written by scripts/build-img-bundle.mjs (npm run build) for this checkout and this
# Node; see that script. TSVIRT_IMG_NO_BUNDLE=1: the CLI's ES modules (no snapshot, no bundle).
n=${shq(process.execPath)}
d=${shq(OUT)}
# tsvirt-img opens no TLS connection and starts no program, yet Node reads and parses the CA file
# NODE_EXTRA_CA_CERTS names at every start (~30 ms of a 50 ms start here): not for this process.
unset NODE_EXTRA_CA_CERTS
if [ -z "\${NODE_OPTIONS-}" ] && [ "\${TSVIRT_IMG_NO_BUNDLE-}" != 1 ] && [ -f "$d/tsvirt-img.blob" ] &&
  ! [ "$d/tsvirt-img-cli.cjs" -nt "$d/tsvirt-img.blob" ] && ! [ "$n" -nt "$d/tsvirt-img.blob" ] &&
  ! [ "\${n%/*}" -nt "$d/tsvirt-img.blob" ]; then
  o=$IFS
  IFS=:
  for p in $PATH; do
    if [ -f "\${p:-.}/node" ] && [ -x "\${p:-.}/node" ]; then
      [ "\${p:-.}/node" -ef "$n" ] && exec "$n" --snapshot-blob "$d/tsvirt-img.blob" -- "$@"
      break
    fi
  done
  IFS=$o
fi
[ -f "$d/tsvirt-img-cli.cjs" ] && exec node --interrupt-budget=1081344 "$d/tsvirt-img-cli.cjs" "$@"
s=$(readlink -f -- "$0") && exec node --interrupt-budget=1081344 "\${s%/*}/tsvirt-img-cli.cjs" "$@"
`;
  const tmp = `${LAUNCHER}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  chmodSync(tmp, 0o755);
  renameSync(tmp, LAUNCHER);
}

try {
  statSync(BIN_CJS);
} catch {
  console.error(`build-img-bundle: ${BIN_CJS} is missing: run tsc first`);
  process.exit(1);
}
writeLauncher();
if (OUT !== dirname(BIN)) {
  // Bins of their own next to the outputs elsewhere (tests): ES module and CommonJS like dist's.
  copyFileSync(BIN, join(OUT, "tsvirt-img.js"));
  copyFileSync(BIN_CJS, join(OUT, "tsvirt-img-cli.cjs"));
  writeFileSync(join(OUT, "package.json"), '{ "type": "module" }\n');
}

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  removeOutputs();
  console.log("build-img-bundle: esbuild not found; tsvirt-img runs from its ES modules (slower start-up)");
  process.exit(0);
}
try {
  statSync(ENTRY);
} catch {
  console.error(`build-img-bundle: ${ENTRY} is missing: run tsc first`);
  process.exit(1);
}

// What a CommonJS file compiled by vm.Script lacks, rewritten in each module's text:
// - import.meta.url names each module's own file: it becomes that file's URL, computed from the
//   bundle's directory at run time (the addon is found relative to native.js);
// - import() of a Node built-in (node:zlib, node:crypto) would need a dynamic-import callback,
//   which a script compiled from a code cache does not get in Node 20: require() it instead
//   (the built-ins' CommonJS exports carry the same named exports).
const esmOnly = {
  name: "esm-only",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (a) => {
      let text = readFileSync(a.path, "utf8");
      if (!text.includes("import.meta") && !text.includes('import("node:')) return undefined;
      const rel = JSON.stringify(relative(OUT, a.path));
      text = text.replaceAll("import.meta.url", `__tsvirtModuleUrl(${rel})`);
      text = text.replaceAll('import("node:', '__tsvirtImportBuiltin("node:');
      if (text.includes("import.meta")) throw new Error(`${a.path}: import.meta other than .url`);
      return { contents: text, loader: "js" };
    });
  },
};

// Node built-ins that only commands other than info/check call, yet that modules on their path
// import at top level (the image layer's open.ts and cow for create's stat/unlink, native.ts and
// progress.ts for createRequire): required at top level, they and what they load (node:fs/promises
// brings readline's interface, fs watchers and dir; node:module the ES module loader and source
// maps, ~220 KB of heap) sit in the snapshot, which every start deserializes and rehashes (about
// 3 M instructions of info's start-up, measured with callgrind). In the bundle each is a stand-in
// whose functions require the real module on first call. Only function exports are provided: an
// import of anything else fails the build (esbuild: no matching export), not the run.
const LAZY_BUILTINS = ["node:fs/promises", "node:module"];
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    const names = new Set(LAZY_BUILTINS);
    b.onResolve({ filter: /^node:/ }, (a) => {
      if (!names.has(a.path)) return undefined;
      // The stand-in's own require() of the module is left to run time.
      if (a.namespace === "lazy-builtin") return { path: a.path, external: true };
      return { path: a.path, namespace: "lazy-builtin" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (a) => {
      const real = createRequire(import.meta.url)(a.path);
      const lines = ["let m;", `const load = () => (m ??= require(${JSON.stringify(a.path)}));`];
      for (const n of Object.keys(real)) {
        if (typeof real[n] !== "function" || !/^[A-Za-z_$][\w$]*$/.test(n)) continue;
        lines.push(
          `export function ${n}(...a) { return new.target ? Reflect.construct(load().${n}, a, new.target) : load().${n}.apply(this, a); }`,
        );
      }
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

async function build() {
  mkdirSync(OUT, { recursive: true });
  const tmpBundle = `${BUNDLE}.tmp-${process.pid}`;
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile: tmpBundle,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    logLevel: "warning",
    legalComments: "none",
    // No comments, no indentation: less to read and scan, and ASCII only (escaped strings), so V8
    // keeps the source as a one-byte string.
    minifyWhitespace: true,
    charset: "ascii",
    banner: {
      js: [
        'const __tsvirtModuleUrl = (p) => require("node:url").pathToFileURL(require("node:path").resolve(__dirname, p)).href;',
        "const __tsvirtImportBuiltin = (m) => Promise.resolve().then(() => require(m));",
      ].join("\n"),
    },
    plugins: [esmOnly, lazyBuiltins],
  });

  // Any import() left would fail at run time (see esmOnly above).
  if (/\bimport\(/.test(readFileSync(tmpBundle, "utf8"))) throw new Error(`${tmpBundle}: import() left in the bundle`);
  renameSync(tmpBundle, BUNDLE);
  // tsvirt-img-cli.cjs takes the bundle only when it is not older than itself.
  const now = new Date();
  utimesSync(BUNDLE, now, now);

  if (args.includes("--no-cache")) return;

  // Training images, made by the CLI in a child process (create/convert code stays out of the cache).
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-img-bundle-"));
  try {
    const cli = (...a) => {
      const r = spawnSync(process.execPath, [join(OUT, "tsvirt-img.js"), ...a], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`tsvirt-img ${a.join(" ")}: ${r.stderr}`);
    };
    const data = Buffer.alloc(4 << 20);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i + 1, i);
    writeFileSync(join(dir, "d.raw"), data);
    cli("convert", "-O", "qcow2", join(dir, "d.raw"), join(dir, "base.qcow2"));
    cli("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", join(dir, "top.qcow2"));

    const code = readFileSync(BUNDLE, "utf8");
    const script = new Script(wrap(code), scriptOptions(undefined));
    const mod = { exports: {} };
    script.runInThisContext()(mod.exports, createRequire(BUNDLE), mod, BUNDLE, dirname(BUNDLE));
    const quiet = { out() {}, err() {}, isTTY: false };
    const runs = [
      ["info", join(dir, "d.raw")],
      ["info", join(dir, "top.qcow2")],
      ["info", "--output=json", join(dir, "top.qcow2")],
      ["info", "--backing-chain", join(dir, "top.qcow2")],
      ["check", join(dir, "base.qcow2")],
      ["check", "--output=json", join(dir, "top.qcow2")],
    ];
    for (const argv of runs) {
      const rc = await mod.exports.runCli(argv, quiet);
      if (rc !== 0) throw new Error(`training run ${argv.join(" ")} exited ${rc}`);
    }
    const cache = script.createCachedData();
    // Sanity: this V8 takes the cache back for the same source.
    if (new Script(wrap(code), scriptOptions(cache)).cachedDataRejected) {
      throw new Error("V8 rejected the code cache it just made");
    }
    writeFileSync(`${CACHE}.tmp-${process.pid}`, cache);
    renameSync(`${CACHE}.tmp-${process.pid}`, CACHE);
    console.log(
      `build-img-bundle: ${relative(ROOT, BUNDLE)} (${statSync(BUNDLE).size} bytes), code cache ${cache.length} bytes`,
    );
    if (!args.includes("--no-snapshot")) buildSnapshot(code, runs, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * tsvirt-img.blob: `node --build-snapshot` of a script that evaluates the bundle as
 * tsvirt-img-cli.cjs would (the same __filename/__dirname: the addon is found relative to them),
 * runs the training commands (their functions are then compiled in the snapshot) and names the
 * snapshot's main function. A failure leaves no blob (the launcher then runs tsvirt-img-cli.cjs)
 * and is reported on stderr, but does not fail the build.
 */
function buildSnapshot(code, runs, dir) {
  const entry = join(dir, "snapshot-entry.js");
  const tmpBlob = `${BLOB}.tmp-${process.pid}`;
  writeFileSync(
    entry,
    `"use strict";
const __tsvirtCli = { exports: {} };
(function (exports, require, module, __filename, __dirname) {${code}
})(__tsvirtCli.exports, require, __tsvirtCli, ${JSON.stringify(BUNDLE)}, ${JSON.stringify(OUT)});
const { startupSnapshot, setFlagsFromString } = require("node:v8");
(async () => {
  for (const argv of ${JSON.stringify(runs)}) {
    // The real output path (fs.writeSync on fds 1 and 2; fd 1 is /dev/null here): its functions,
    // Node's writeSync and Buffer.from(string) among them, are then compiled in the snapshot too.
    const rc = await __tsvirtCli.exports.runCli(argv);
    if (rc !== 0) throw new Error("training run " + argv.join(" ") + " exited " + rc);
  }
})();
startupSnapshot.setDeserializeMainFunction(() => {
  // See tsvirt-img-cli.cts (set here, not on the command line: V8 flags must match the build's).
  setFlagsFromString("--interrupt-budget=1081344");
  if (process.env.TSVIRT_IMG_TRACE_START === "1") process.stderr.write("tsvirt-img: start-up via snapshot\\n");
  __tsvirtCli.exports.runCli(process.argv.slice(1)).then((rc) => {
    process.exitCode = rc;
  });
});
`,
  );
  try {
    // --no-warnings: Node notes that node:module (the addon's createRequire) is "not yet fully
    // verified" in snapshots; the addon is loaded only at run time (the tests run it so).
    const b = spawnSync(process.execPath, ["--no-warnings", "--snapshot-blob", tmpBlob, "--build-snapshot", entry], {
      cwd: dir,
      encoding: "utf8",
      // The training runs' output goes to /dev/null (a pipe could fill up and make the CLI fall
      // back to process.stdout, a stream that must not be in the snapshot).
      stdio: ["ignore", "ignore", "pipe"],
    });
    if (b.status !== 0) throw new Error(`node --build-snapshot exited ${b.status ?? b.signal}: ${b.stderr}`);
    // The blob answers like the bundle before it is used.
    const r = spawnSync(process.execPath, ["--snapshot-blob", tmpBlob, "--", ...runs[0]], { encoding: "utf8" });
    if (r.status !== 0 || !/^file format: raw$/m.test(r.stdout))
      throw new Error(`the snapshot does not run: ${r.status} ${r.stdout}${r.stderr}`);
    renameSync(tmpBlob, BLOB);
    console.log(`build-img-bundle: ${relative(ROOT, BLOB)} (${statSync(BLOB).size} bytes, for ${process.execPath})`);
  } catch (e) {
    rmSync(tmpBlob, { force: true });
    rmSync(BLOB, { force: true });
    console.error(`build-img-bundle: no snapshot (tsvirt-img runs the bundle): ${e?.message ?? e}`);
  }
}

// Optional: a failure leaves no bundle (the bin then loads its ES modules) and does not fail the
// build; tests/tsvirt-img-startup.test.ts runs this script and fails on it.
removeOutputs();
try {
  await build();
} catch (e) {
  removeOutputs();
  for (const f of readdirSync(OUT, { withFileTypes: true }))
    if (f.name.includes(".tmp-")) rmSync(join(OUT, f.name), { force: true });
  console.error(`build-img-bundle: no bundle (tsvirt-img runs from its ES modules): ${e?.stack ?? e}`);
}
