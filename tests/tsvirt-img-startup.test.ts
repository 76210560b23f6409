// tsvirt-img's start-up cost is mostly module loading (issue 5: info/check within Node's start-up
// time of qemu-img's). This runs the real entry (src/bin/tsvirt-img-cli.cts under tsx) with a module
// hook that records every module our sources import, and fails when `info`/`check` load code
// they do not need: other formats, the qcow2 write path, node:zlib/crypto/worker_threads, npm
// packages, the image layer's index, or more modules than the budget. The last test builds the
// one-file bundle `npm run build` makes (scripts/build-img-bundle.mjs) and runs the same commands
// through it and through the built ES modules: outputs and exit codes must be identical.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { createImage } from "../src/image/open.js";

const ROOT = resolve(import.meta.dirname, "..");
const SRC = `${pathToFileURL(join(ROOT, "src")).href}/`;
let dir = "";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsvirt-img-startup-"));
  await createImage(join(dir, "d.raw"), "raw", 1 << 20);
  await createImage(join(dir, "base.qcow2"), "qcow2", 1 << 30);
  await createImage(join(dir, "mid.qcow2"), "qcow2", undefined, {
    backing_file: "base.qcow2",
    backing_fmt: "qcow2",
  });
  await createImage(join(dir, "top.qcow2"), "qcow2", undefined, {
    backing_file: "mid.qcow2",
    backing_fmt: "qcow2",
  });
  await createImage(join(dir, "d.vmdk"), "vmdk", 1 << 30);
  await createImage(join(dir, "d.qcow"), "qcow", 1 << 30);
  await createImage(join(dir, "d.vdi"), "vdi", 1 << 30);
  // The hook runs on the loader thread; it appends "parent -> resolved" for imports made by src/.
  writeFileSync(
    join(dir, "hook.mjs"),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const from = context.parentURL ?? "";
  if (from.startsWith(${JSON.stringify(SRC)})) appendFileSync(process.env.STARTUP_TRACE, from + " -> " + r.url + "\\n");
  return r;
}
`,
  );
  writeFileSync(
    join(dir, "register.mjs"),
    `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hook.mjs")).href)});\n`,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Trace {
  code: number;
  out: string;
  /** src/ modules loaded (paths relative to src/), the entry included. */
  modules: Set<string>;
  /** Everything else src/ imported: node: builtins and packages. */
  external: Set<string>;
}

/** Runs tsvirt-img with `argv`; the last argument names an image in the test directory. */
function run(...argv: string[]): Trace {
  argv[argv.length - 1] = join(dir, argv[argv.length - 1]!);
  const trace = join(
    dir,
    `trace-${argv
      .join("-")
      .replace(/[^\w.-]/g, "_")
      .slice(-80)}.txt`,
  );
  writeFileSync(trace, "");
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--import",
      join(dir, "register.mjs"),
      join(ROOT, "src/bin/tsvirt-img-cli.cts"),
      ...argv,
    ],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, STARTUP_TRACE: trace } },
  );
  const modules = new Set(["bin/tsvirt-img-cli.cts"]);
  const external = new Set<string>();
  for (const line of readFileSync(trace, "utf8").split("\n")) {
    const url = line.split(" -> ")[1];
    if (!url) continue;
    if (url.startsWith(SRC)) modules.add(url.slice(SRC.length).replace(/\?.*$/, ""));
    else external.add(url);
  }
  return { code: r.status ?? -1, out: r.stdout + r.stderr, modules, external };
}

const ALWAYS_DENIED_EXTERNAL = ["node:zlib", "node:crypto", "node:worker_threads", "node:child_process"];

/** Deny-list checks shared by every case; `allowedFormat` is the one format directory it may load. */
function assertLean(t: Trace, allowedFormat: string, budget: number): void {
  assert.equal(t.code, 0, t.out);
  const mods = [...t.modules].sort();
  // The hook saw the run (else every other assertion here would pass vacuously).
  assert.ok(t.modules.has("cli/img/main.ts") && t.modules.has("image/open.ts"), mods.join(" "));
  assert.ok(
    mods.some((m) => m.startsWith(`image/formats/${allowedFormat}/`)),
    `${allowedFormat} not loaded: ${mods.join(" ")}`,
  );
  for (const ext of t.external) {
    assert.ok(ext.startsWith("node:"), `package loaded: ${ext}`);
    assert.ok(!ALWAYS_DENIED_EXTERNAL.includes(ext), `${ext} loaded`);
  }
  const denied = mods.filter(
    (m) =>
      (m.startsWith("image/formats/") && !m.startsWith(`image/formats/${allowedFormat}/`)) ||
      m === "image/index.ts" ||
      m.startsWith("image/io/memory-io") ||
      m.startsWith("image/io/lazy-truncate-io") ||
      /^image\/formats\/qcow2\/(write-path|compress|amend|resize|snapshots|snapshot-refcount|create|create-finish|preallocate|crypto|luks|luks-create|block-status)\.ts$/.test(
        m,
      ) ||
      (m.startsWith("cli/") &&
        !/^cli\/img\/(main|context|getopt|qdict|units|cmd-info|cmd-check)\.ts$/.test(m)),
  );
  assert.deepEqual(denied, [], `modules loaded that the command does not need: ${denied.join(" ")}`);
  // Each ESM module costs Node 20 about 0.35 ms of CPU at start-up: a new module on this path
  // should replace one, or the budget be raised knowingly.
  assert.ok(mods.length <= budget, `${mods.length} modules loaded (budget ${budget}): ${mods.join(" ")}`);
}

test("info of a qcow2 in a backing chain loads the qcow2 read path only", () => {
  const t = run("info", "--backing-chain", "top.qcow2");
  assert.match(t.out, /image: \S*\/base\.qcow2\n/);
  assertLean(t, "qcow2", 24);
  assert.ok(!t.modules.has("cli/img/cmd-check.ts"));
  assert.ok(!t.modules.has("image/formats/qcow2/check.ts"));
});

test("check of a qcow2 loads the checker but not the write path", () => {
  const t = run("check", "top.qcow2");
  assert.match(t.out, /No errors were found/);
  assertLean(t, "qcow2", 27);
  assert.ok(t.modules.has("image/formats/qcow2/check.ts"));
  assert.ok(!t.modules.has("cli/img/cmd-info.ts"));
});

test("info of raw and vmdk images loads neither qcow2 nor zlib/crypto", () => {
  const raw = run("info", "--output=json", "d.raw");
  assert.match(raw.out, /"format": "raw"/);
  assertLean(raw, "raw", 16);
  const vmdk = run("info", "d.vmdk");
  assert.match(vmdk.out, /file format: vmdk/);
  assertLean(vmdk, "vmdk", 20);
});

test("info of qcow (v1) and vdi images loads neither zlib nor crypto", () => {
  const qcow = run("info", "d.qcow");
  assert.match(qcow.out, /file format: qcow\n/);
  assertLean(qcow, "qcow", 17);
  const vdi = run("info", "d.vdi");
  assert.match(vdi.out, /file format: vdi\n/);
  assertLean(vdi, "vdi", 17);
});

const DIST_BIN = join(ROOT, "dist/bin/tsvirt-img.js");

async function haveEsbuild(): Promise<boolean> {
  try {
    await import("esbuild");
    return true;
  } catch {
    return false;
  }
}

test("the bundled CLI (npm run build) answers as the ES modules do", async (t) => {
  if (!existsSync(join(ROOT, "dist/cli/img/main.js")) || !existsSync(DIST_BIN)) {
    t.skip("dist is not built (npx tsc -p .)");
    return;
  }
  if (!(await haveEsbuild())) {
    t.skip("esbuild is not installed: the build makes no bundle");
    return;
  }
  const out = join(dir, "bundle/bin");
  const b = spawnSync(process.execPath, [join(ROOT, "scripts/build-img-bundle.mjs"), "--out", out], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, "", "the build step reported a failure");
  for (const f of [
    "tsvirt-img.js",
    "tsvirt-img-cli.cjs",
    "tsvirt-img.cjs",
    "tsvirt-img.cjs.cache",
    "tsvirt-img-start.cjs",
    "tsvirt-img.pack",
  ])
    assert.ok(existsSync(join(out, f)), f);
  // Evaluating the bundle (every start does) loads no Node built-in that info and check do not
  // call: node:fs/promises and node:module are stand-ins that load on first call.
  const bundleFile = join(out, "tsvirt-img.cjs");
  const loaded = spawnSync(
    process.execPath,
    [
      "-e",
      `const vm = require("node:vm"), fs = require("node:fs"), path = require("node:path");
const before = new Set(process.moduleLoadList), f = ${JSON.stringify(bundleFile)}, m = { exports: {} };
new vm.Script("(function (exports, require, module, __filename, __dirname) {" + fs.readFileSync(f, "latin1") + "\\n})", { filename: f })
  .runInThisContext()(m.exports, require, m, f, path.dirname(f));
if (typeof m.exports.runCli !== "function") throw new Error("no runCli");
fs.writeSync(1, process.moduleLoadList.filter((x) => !before.has(x)).join("\\n"));`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.doesNotMatch(
    loaded.stdout,
    /^NativeModule (fs\/promises|module|internal\/readline\/interface|internal\/modules\/esm\/loader)$/m,
  );
  // Each tool works in its own copy of the images, so file names in the outputs agree.
  const work = (name: string): string => {
    const w = join(dir, name);
    mkdirSync(w);
    for (const f of ["d.raw", "base.qcow2", "mid.qcow2", "top.qcow2", "d.vmdk", "d.qcow", "d.vdi"])
      cpSync(join(dir, f), join(w, f));
    const data = Buffer.alloc(3 << 20);
    for (let i = 0; i < data.length; i += 512) data.writeUInt32LE(i + 7, i);
    writeFileSync(join(w, "data.raw"), data);
    return w;
  };
  const esmDir = work("via-esm");
  const bundleDir = work("via-bundle");
  const cases = [
    ["convert", "-O", "qcow2", "data.raw", "data.qcow2"],
    ["info", "data.qcow2"],
    ["info", "--backing-chain", "--output=json", "top.qcow2"],
    ["info", "d.vmdk"],
    ["info", "d.qcow"],
    ["info", "--output=json", "d.vdi"],
    ["info", "d.raw"],
    ["check", "data.qcow2"],
    ["check", "--output=json", "top.qcow2"],
    ["check", "d.raw"],
    ["map", "--output=json", "data.qcow2"],
    // import() of node:zlib / node:crypto inside the bundle
    ["convert", "-c", "-O", "qcow", "data.raw", "c.qcow"],
    ["compare", "data.raw", "c.qcow"],
    ["create", "-f", "vdi", "new.vdi", "1M"],
    ["info", "missing.qcow2"],
    ["check", "-r", "bogus", "data.qcow2"],
    ["nosuchcommand"],
  ];
  const env = { ...process.env, TSVIRT_IMG_NO_BUNDLE: "1" };
  for (const argv of cases) {
    const e = spawnSync(process.execPath, [DIST_BIN, ...argv], { cwd: esmDir, encoding: "utf8", env });
    // The copied bin has no ES modules next to it: it can only have run the bundle.
    const u = spawnSync(process.execPath, [join(out, "tsvirt-img.js"), ...argv], {
      cwd: bundleDir,
      encoding: "utf8",
    });
    const what = argv.join(" ");
    assert.equal(u.stderr, e.stderr, `stderr of ${what}`);
    assert.equal(u.stdout, e.stdout, `stdout of ${what}`);
    assert.equal(u.status, e.status, `exit code of ${what}`);
  }
  assert.match(
    spawnSync(process.execPath, [join(out, "tsvirt-img.js"), "check", "data.qcow2"], {
      cwd: bundleDir,
      encoding: "utf8",
    }).stdout,
    /No errors were found on the image/,
  );
  // A bundle older than tsvirt-img-cli.cjs (tsc ran after the build) is not used: the copied bin
  // then looks for the ES modules, which are not there.
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(out, "tsvirt-img-cli.cjs"), later, later);
  const stale = spawnSync(process.execPath, [join(out, "tsvirt-img.js"), "info", "d.raw"], {
    cwd: bundleDir,
    encoding: "utf8",
  });
  assert.notEqual(stale.status, 0);
  assert.match(stale.stderr, /ERR_MODULE_NOT_FOUND|Cannot find module/);
});
