// tsvirt-img's JavaScript start-up (CommonJS: a CommonJS main module spares Node 20 setting up
// its ES module loader, about 4 ms of a 50 ms start). The installed `tsvirt-img` is
// dist/bin/tsvirt-img, a launcher built by scripts/build-img-bundle.mjs, which runs the build's
// tsvirt-img-start.cjs (the bundle below without this file's checks: the launcher made them) when
// it can and this file otherwise; dist/bin/tsvirt-img.js (an ES module, for
// `node dist/bin/tsvirt-img.js …`) runs this file too.
//
// Here: `npm run build` also writes dist/bin/tsvirt-img.cjs, the whole CLI in one CommonJS file
// (scripts/build-img-bundle.mjs), and tsvirt-img.cjs.cache, V8's code cache for it after info and
// check ran. Loading that file costs one read and one compile served from the cache, where
// Node 20's ESM loader resolves, reads (on libuv's thread pool) and compiles each of the CLI's
// modules. Without the bundle (plain `tsc` output, no esbuild), or when it is older than this
// file (tsc ran after it was made), the CLI's ES modules load as usual; TSVIRT_IMG_NO_BUNDLE=1
// forces that. TSVIRT_IMG_TRACE_START=1 names the path taken on stderr (for the benchmark).

import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Script } from "node:vm";

// V8 hands a function to TurboFan after about 64 KiB of its bytecode ran: check's loops over a
// 2 GiB image reach that within milliseconds, and the compiles on a background thread cost more
// CPU than the whole check (callgrind: 154 M instructions of 796 M), which the process then
// waits for at exit. Sixteen times the budget keeps such short commands in the interpreter and
// baseline code (2 M instructions of TurboFan left); long ones (convert, check of a large image)
// still tier up, a few milliseconds later.
//
// --no-rehash-snapshot: Node's start-up deserializes V8's heap from its built-in snapshot, then by
// default picks a random string-hash seed and rehashes every hash table in it (and Node 20.20
// derives that seed's secret by primality tests): ~15 M of the ~87 M instructions of `node -e 0`
// (callgrind). Without it the process keeps the snapshot's baked-in seed, which every Node of this
// version shares: string-keyed hash tables fed by an attacker could then be made to collide
// (hash flooding). tsvirt-img is a short-lived command whose string-keyed collections over file
// contents are small (its big tables are keyed by numbers, whose hashes are not seeded), so it
// takes the faster start; qemu-img's own dictionaries are not seeded either. This flag only acts
// on Node's command line (the launcher passes it); set here it only keeps V8's flag hash equal to
// the build's.
//
// scripts/build-img-bundle.mjs sets the same flags (a code cache is valid only under the flags it
// was made with). The launcher passes them on Node's command line, which spares loading node:v8
// (its heap utilities pull in node:stream: about 1 ms).
const FLAGS = ["--no-rehash-snapshot", "--interrupt-budget=1081344"];
if (!FLAGS.every((f) => process.execArgv.includes(f)))
  for (const f of FLAGS) (require("node:v8") as typeof import("node:v8")).setFlagsFromString(f);

type RunCli = typeof import("../cli/img/main.js").runCli;

function bundled(): RunCli | undefined {
  if (process.env.TSVIRT_IMG_NO_BUNDLE === "1") return undefined;
  let code: string;
  let cachedData: Buffer | undefined;
  const file = __filename.replace(/-cli\.c?[jt]s$/, ".cjs");
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st || st.mtimeMs < statSync(__filename).mtimeMs) return undefined;
    // One read of the known size; the bundle is ASCII, so a latin1 slice is the same one-byte
    // string without decoding (and without Buffer#toString's JavaScript: less to compile at start).
    // (latin1Slice: Buffer's undocumented native method behind toString("latin1"); kept if gone.)
    const b = readFileSync(file) as Buffer & { latin1Slice?: () => string };
    code = b.latin1Slice ? b.latin1Slice() : b.toString("latin1");
  } catch {
    return undefined;
  }
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  try {
    // The same wrapper as CommonJS modules get (and the build's cache run used).
    const script = new Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
      filename: file,
      cachedData,
    });
    const mod = { exports: {} as { runCli?: RunCli } };
    script.runInThisContext()(mod.exports, require, mod, file, dirname(file));
    return mod.exports.runCli;
  } catch {
    // A bundle that does not load (damaged, or built by another Node) leaves the ES modules.
    return undefined;
  }
}

function trace(path: string): void {
  if (process.env.TSVIRT_IMG_TRACE_START === "1") process.stderr.write(`tsvirt-img: start-up via ${path}\n`);
}

const fromBundle = bundled();
trace(fromBundle ? "bundle" : "modules");
// A rejection (the ES modules missing, say) is left to Node: printed, exit code 1, as the ES module
// entry's top-level await did.
void (fromBundle ? Promise.resolve(fromBundle) : import("../cli/img/main.js").then((m) => m.runCli))
  .then((run) => run(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
