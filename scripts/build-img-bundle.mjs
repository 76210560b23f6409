// Optional build step after tsc (`npm run build`): bundles tsvirt-img's CLI (dist/cli/img/main.js
// and everything it imports, dynamic imports included) into one CommonJS file next to the bin,
// dist/bin/tsvirt-img.cjs, and writes V8's code cache for it, taken after a training run of
// info and check, as dist/bin/tsvirt-img.cjs.cache. dist/bin/tsvirt-img.js loads that file when
// it is there and not older than itself; otherwise the CLI's ES modules load as before.
//
// Needs esbuild, which is only an indirect dev dependency (through tsx): without it this prints
// a note, removes a stale bundle and exits 0, so `npm run build` works with plain tsc output.
//
//   node scripts/build-img-bundle.mjs [--dist DIR] [--out DIR] [--no-cache]
//   (--out: where the bundle and a copy of the bin go, default DIST/bin; for tests)

import { spawnSync } from "node:child_process";
import {
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
const BUNDLE = join(OUT, "tsvirt-img.cjs");
const CACHE = `${BUNDLE}.cache`;

/** Must match the wrapper in src/bin/tsvirt-img.ts: V8 accepts a cache only for the same source. */
const wrap = (code) => `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const scriptOptions = (cachedData) => ({ filename: BUNDLE, cachedData });
/** Must match the bin's V8 flags too (a cache records the flags it was made with). */
setFlagsFromString("--interrupt-budget=1081344");

function removeOutputs() {
  rmSync(BUNDLE, { force: true });
  rmSync(CACHE, { force: true });
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
    plugins: [esmOnly],
  });

  if (OUT !== dirname(BIN)) {
    // A bin of its own next to a bundle elsewhere (tests): an ES module like dist's.
    copyFileSync(BIN, join(OUT, "tsvirt-img.js"));
    writeFileSync(join(OUT, "package.json"), '{ "type": "module" }\n');
  }
  // Any import() left would fail at run time (see esmOnly above).
  if (/\bimport\(/.test(readFileSync(tmpBundle, "utf8"))) throw new Error(`${tmpBundle}: import() left in the bundle`);
  renameSync(tmpBundle, BUNDLE);
  // The bin takes the bundle only when it is not older than the bin itself.
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
