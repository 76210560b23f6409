// Optional build step after tsc (`npm run build`), for tsvirt-img's start-up. Writes, in DIST/bin:
//
// - tsvirt-img: the installed program (package.json "bin"), a launcher that runs
//   `node FLAGS tsvirt-img-start.cjs ARGS` when the bundle below is there and not older than tsc's
//   output (tsvirt-img-cli.cjs), else `node FLAGS tsvirt-img-cli.cjs ARGS`, without
//   NODE_EXTRA_CA_CERTS (see native/tsvirt-img-launcher.c; FLAGS below, src/bin/tsvirt-img-cli.cts
//   says why each). It is that C file compiled with the system's C compiler (statically when it
//   can: no dynamic loader at each start), or, without a compiler (or with --sh-launcher), a shell
//   script doing the same. Written even without esbuild (it then always takes the second way).
// - tsvirt-img.cjs: tsvirt-img's CLI (dist/cli/img/main.js and everything it imports, dynamic
//   imports included) in one CommonJS file, and tsvirt-img.cjs.cache, V8's code cache for it,
//   taken after a training run of info and check.
// - tsvirt-img.pack: both in one file (see writePack), and tsvirt-img-start.cjs, the launcher's
//   entry: loads the pack (no staleness checks: the launcher made them) and runs the CLI. tsvirt-img-cli.cjs (tsc's output of src/bin/tsvirt-img-cli.cts,
//   what `node dist/bin/tsvirt-img.js` runs) loads them too when they are not older than itself;
//   otherwise the CLI's ES modules load as before.
//
// Until 2026-11-26 the launcher started Node from a V8 startup snapshot of the CLI (4.7 MB) when it
// could: fewer instructions than the code cache (~4 M of ~105 M), but Node reads the whole blob and
// deserializes a second heap at each start (2,100 more page faults than the code-cache way), so the
// snapshot start measured no faster, mostly slower, and needed a launcher that checks the Node
// binary, PATH and NODE_OPTIONS (a V8 flag there makes Node refuse a snapshot). Removed.
//
// Needs esbuild, which is only an indirect dev dependency (through tsx): without it this prints
// a note, removes stale outputs and exits 0, so `npm run build` works with plain tsc output.
//
//   node scripts/build-img-bundle.mjs [--dist DIR] [--out DIR] [--no-cache] [--sh-launcher]
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
const START = join(OUT, "tsvirt-img-start.cjs");
const PACK = join(OUT, "tsvirt-img.pack");
const LAUNCHER_C = join(ROOT, "native/tsvirt-img-launcher.c");
/**
 * The V8 flags the code cache is made with; the launchers pass the same (the C file has them too),
 * tsvirt-img-cli.cts sets them (see there for why each).
 */
const FLAGS = ["--no-rehash-snapshot", "--interrupt-budget=1081344"];

/** Must match the wrapper in src/bin/tsvirt-img-cli.cts: V8 accepts a cache only for the same source. */
const wrap = (code) => `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const scriptOptions = (cachedData) => ({ filename: BUNDLE, cachedData });
/** Must match the bin's V8 flags too (a cache records the flags it was made with). */
for (const f of FLAGS) setFlagsFromString(f);

function removeOutputs() {
  rmSync(BUNDLE, { force: true });
  rmSync(CACHE, { force: true });
  rmSync(START, { force: true });
  rmSync(PACK, { force: true });
  // The V8 startup snapshot earlier builds made (see the header): no longer used.
  rmSync(join(OUT, "tsvirt-img.blob"), { force: true });
}

/** A word for sh: single-quoted. */
const shq = (s) => `'${s.replaceAll("'", "'\\''")}'`;

/** Writes `text` to `file` through a temporary file and a rename (running launchers never see half a file). */
function writeAtomic(file, text, mode) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  if (mode !== undefined) chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/**
 * The shell launcher, for machines without a C compiler: what native/tsvirt-img-launcher.c does.
 * Baked in: OUT and this Node's path. Every test is a shell built-in (dash, bash and busybox sh
 * have -nt); the readlink, for a checkout moved after the build, is the only fork.
 */
function shLauncher() {
  return `#!/bin/sh
# tsvirt-img: written by scripts/build-img-bundle.mjs (npm run build) for this checkout, as no C
# compiler was found to build native/tsvirt-img-launcher.c (which does the same, faster); see both.
# TSVIRT_IMG_NO_BUNDLE=1: the CLI's ES modules.
d=${shq(OUT)}
[ -f "$d/tsvirt-img-cli.cjs" ] || { s=$(readlink -f -- "$0") && d=\${s%/*}; }
# tsvirt-img opens no TLS connection and starts no program, yet Node reads and parses the CA file
# NODE_EXTRA_CA_CERTS names at every start (~30 ms of a 50 ms start here): not for this process.
unset NODE_EXTRA_CA_CERTS
e=tsvirt-img-cli.cjs
[ "\${TSVIRT_IMG_NO_BUNDLE-}" != 1 ] && [ -f "$d/tsvirt-img.pack" ] && [ -f "$d/tsvirt-img-start.cjs" ] &&
  ! [ "$d/tsvirt-img-cli.cjs" -nt "$d/tsvirt-img.pack" ] && e=tsvirt-img-start.cjs
command -v node >/dev/null 2>&1 || exec ${shq(process.execPath)} ${FLAGS.join(" ")} "$d/$e" "$@"
exec node ${FLAGS.join(" ")} "$d/$e" "$@"
`;
}

/** C string literal of `s` (paths: no control characters expected; escaped anyway). */
const cq = (s) => JSON.stringify(s);

/**
 * The installed program: native/tsvirt-img-launcher.c compiled (static first, then dynamic), or the
 * shell launcher when there is no compiler, it fails, or --sh-launcher. Returns which.
 */
function writeLauncher() {
  mkdirSync(OUT, { recursive: true });
  if (!args.includes("--sh-launcher")) {
    const tmp = `${LAUNCHER}.tmp-${process.pid}`;
    const cc = process.env.CC || "cc";
    const defs = [`-DTSVIRT_DIR=${cq(OUT)}`, `-DTSVIRT_NODE=${cq(process.execPath)}`];
    for (const link of [["-static"], []]) {
      const r = spawnSync(cc, ["-O2", "-Wall", "-std=gnu11", ...link, ...defs, "-o", tmp, LAUNCHER_C], {
        encoding: "utf8",
      });
      if (r.status === 0) {
        chmodSync(tmp, 0o755);
        renameSync(tmp, LAUNCHER);
        return link.length ? "C, static" : "C";
      }
      rmSync(tmp, { force: true });
    }
  }
  writeAtomic(LAUNCHER, shLauncher(), 0o755);
  return "sh";
}

/**
 * tsvirt-img.pack: what the start entry reads, in one read: a header of two little-endian 32-bit
 * lengths, the bundle already in the CommonJS wrapper (the text V8 compiles: no concatenation, no
 * second copy of the string at start), zeros up to a multiple of 8, V8's code cache (none: length
 * 0). About 0.6 M instructions and 65 page faults fewer than reading tsvirt-img.cjs and its
 * .cache and wrapping the text (callgrind, perf stat).
 */
function writePack(code, cache) {
  const src = Buffer.from(wrap(code), "latin1");
  const head = Buffer.alloc(8);
  head.writeUInt32LE(src.length, 0);
  head.writeUInt32LE(cache?.length ?? 0, 4);
  const pad = Buffer.alloc((8 - ((8 + src.length) % 8)) % 8);
  writeAtomic(PACK, Buffer.concat([head, src, pad, cache ?? Buffer.alloc(0)]));
}

/** The launcher's entry: the pack's bundle with its code cache, nothing else (see the header). */
function writeStart() {
  writeAtomic(
    START,
    `"use strict";
// tsvirt-img's start-up from the CLI's bundle and V8's code cache (tsvirt-img.pack): written by
// scripts/build-img-bundle.mjs with them; the launcher (dist/bin/tsvirt-img) runs this when they
// are not older than tsc's output. Like src/bin/tsvirt-img-cli.cts's bundled(), without its checks.
const { openSync, fstatSync, readSync, closeSync } = require("node:fs");
const { Script } = require("node:vm");
const flags = ${JSON.stringify(FLAGS)};
if (!flags.every((f) => process.execArgv.includes(f))) for (const f of flags) require("node:v8").setFlagsFromString(f);
const trace = process.env.TSVIRT_IMG_TRACE_START === "1";
if (trace) process.stderr.write("tsvirt-img: start-up via bundle\\n");
// One read (with the fs functions the CLI calls anyway: fewer of Node's own to compile at start)
const fd = openSync(\`\${__dirname}/tsvirt-img.pack\`, "r");
const pack = new Uint8Array(fstatSync(fd).size);
for (let n = 0; n < pack.length; ) n += readSync(fd, pack, n, pack.length - n, n) || pack.length;
closeSync(fd);
const head = new DataView(pack.buffer, 0, 8);
const n = head.getUint32(0, true);
const c = head.getUint32(4, true);
// ASCII (the build's charset): a latin1 slice is the one-byte string, without decoding
// (latin1Slice: Buffer's undocumented native method behind toString("latin1"))
const code = Buffer.prototype.latin1Slice
  ? Buffer.prototype.latin1Slice.call(pack, 8, 8 + n)
  : Buffer.from(pack.buffer, 8, n).toString("latin1");
const start = (8 + n + 7) & ~7;
const file = \`\${__dirname}/tsvirt-img.cjs\`;
const script = new Script(code, { filename: file, cachedData: c ? pack.subarray(start, start + c) : undefined });
// (V8 rejects a cache made by another V8 or under other V8 flags: NODE_OPTIONS, another node on PATH)
if (trace && script.cachedDataRejected !== false) process.stderr.write("tsvirt-img: code cache not used\\n");
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, file, __dirname);
void mod.exports.runCli(process.argv.slice(2)).then((rc) => {
  process.exitCode = rc;
});
`,
  );
}

try {
  statSync(BIN_CJS);
} catch {
  console.error(`build-img-bundle: ${BIN_CJS} is missing: run tsc first`);
  process.exit(1);
}
const launcherKind = writeLauncher();
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
//   bundle's directory at run time; `fileURLToPath(new URL("REL", import.meta.url))` (native.js's
//   addon path, computed at module top level) becomes that path computed with node:path, which
//   spares every start compiling node:url's URL parser and getters (~1 M instructions);
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
      text = text.replace(
        /\bfileURLToPath\(new URL\(("[\w./-]+"), import\.meta\.url\)\)/g,
        (_, p) => `__tsvirtModulePath(${rel}, ${p})`,
      );
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
    // Minified (no comments or indentation, short local names, shorter syntax): less to read and
    // a smaller code cache to deserialize (callgrind, info raw: -1.4 M instructions of ~18 M over
    // Node's own start); and ASCII only (escaped strings), so V8 keeps the source as a one-byte
    // string. Names the CLI prints are data, not function or class names (the bundle-vs-modules
    // tests compare outputs); only a crash's stack trace shows the short names.
    minify: true,
    charset: "ascii",
    banner: {
      js: [
        'const __tsvirtModuleUrl = (p) => require("node:url").pathToFileURL(require("node:path").resolve(__dirname, p)).href;',
        'const __tsvirtModulePath = (m, p) => require("node:path").resolve(__dirname, m, "..", p);',
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

  if (args.includes("--no-cache")) {
    writePack(readFileSync(BUNDLE, "latin1"), undefined);
    writeStart();
    return;
  }

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
    writeAtomic(CACHE, cache);
    writePack(code, cache);
    writeStart();
    console.log(
      `build-img-bundle: ${relative(ROOT, BUNDLE)} (${statSync(BUNDLE).size} bytes), code cache ${cache.length} bytes, launcher ${relative(ROOT, LAUNCHER)} (${launcherKind})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
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
