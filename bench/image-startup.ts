// Benchmark: tsvirt-img info/check against qemu-img's, next to `node -e 0` (Node's own start-up),
// in interleaved rounds (every tool once per round and case), min and median wall ms of each.
// Issue 5's target: info and check within Node's start-up time of qemu-img's, i.e.
// tsvirt-img ≤ qemu-img + (node -e 0), printed per case as MET / MISS (medians).
//
// tsvirt-img runs as a user runs it: dist/bin/tsvirt-img, package.json's "bin" (the launcher that
// scripts/build-img-bundle.mjs builds), executed directly. Before the rounds, each CLI runs once
// with TSVIRT_IMG_TRACE_START=1 and the start-up path it took is printed (bundle or modules; builds
// before 2026-11-26 could also say snapshot): a bundle older than tsc's output is not used, so
// build it after tsc.
//
//   npm run build (or npx tsc -p . && node scripts/build-img-bundle.mjs)
//   node --import tsx bench/image-startup.ts
//   BENCH_ROUNDS=25 (default)   BENCH_DIR=dir (reuse/keep the images there)
//   BENCH_CPU=1: CPU time instead of wall time (each run under `perf stat -e task-clock`: the
//   process's user+system time over all its threads), which waiting for a busy machine's cores
//   does not inflate as it does wall time; the same table and verdicts, in CPU ms
//   BENCH_CLIS='old=/path/a/tsvirt-img.js,new=/path/b/tsvirt-img' (compare builds in one run; a
//   path ending in .js/.cjs/.mjs runs as `node PATH`, any other is executed itself)
//
// Images: a 1 GiB raw file (empty), a 3-deep qcow2 backing chain (4 MiB written in each), and
// a 2 GiB-virtual qcow2 converted by qemu-img from image-convert.ts's mixed raw image (1 GiB
// allocated in the raw; random, text, zeros, holes).

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MiB = 1 << 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 25);
const DEFAULT_CLI = fileURLToPath(new URL("../dist/bin/tsvirt-img", import.meta.url));

/** How a CLI path runs: a script through node, the launcher (or any program) by itself. */
function cliCommand(cli: string, args: string[]): [string, string[]] {
  return /\.[cm]?js$/.test(cli) ? ["node", [cli, ...args]] : [cli, args];
}

function buildMixedRaw(path: string, virtual: number): void {
  const STRIPE = 8 * MiB;
  const fd = openSync(path, "w");
  try {
    const text = Buffer.alloc(MiB);
    const words = "the quick brown fox jumps over the lazy dog 0123456789 ";
    for (let i = 0; i < MiB; i++) text[i] = words.charCodeAt(i % words.length);
    const zeros = Buffer.alloc(MiB);
    for (let s = 0; s < virtual; s += STRIPE) {
      writeSync(fd, randomBytes(MiB), 0, MiB, s);
      text.writeUInt32LE(s / STRIPE, 0);
      writeSync(fd, text, 0, MiB, s + MiB);
      writeSync(fd, zeros, 0, MiB, s + 2 * MiB);
      writeSync(fd, randomBytes(MiB), 0, MiB, s + 3 * MiB);
    }
  } finally {
    closeSync(fd);
  }
  execFileSync("truncate", ["-s", String(virtual), path]);
}

function prepare(dir: string): void {
  const p = (f: string) => join(dir, f);
  if (!existsSync(p("small.raw")))
    execFileSync("qemu-img", ["create", "-q", "-f", "raw", p("small.raw"), "1G"]);
  if (!existsSync(p("top.qcow2"))) {
    let backing: string | undefined;
    for (const [i, f] of ["base.qcow2", "mid.qcow2", "top.qcow2"].entries()) {
      const args = ["create", "-q", "-f", "qcow2"];
      if (backing) args.push("-b", backing, "-F", "qcow2");
      execFileSync("qemu-img", [...args, p(f), "1G"]);
      execFileSync("qemu-io", ["-f", "qcow2", "-c", `write -P ${i + 1} ${i}M 4M`, p(f)]);
      backing = f;
    }
  }
  if (!existsSync(p("big.qcow2"))) {
    buildMixedRaw(p("src.raw"), 2048 * MiB);
    execFileSync("qemu-img", ["convert", "-O", "qcow2", p("src.raw"), p("big.qcow2")]);
    rmSync(p("src.raw"));
  }
}

// Every tool runs without NODE_EXTRA_CA_CERTS: Node parses the named CA file at each start (~30 ms
// here), which `node -e 0` would pay and tsvirt-img's launcher does not (it unsets it), so the
// target would grow by the CA file's cost. Unset for all three, the comparison is Node's own start.
const ENV = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;

const CPU = process.env.BENCH_CPU === "1";

function run(cmd: string, args: string[]): number {
  if (CPU) {
    // perf's CSV line for the event: "12.34,msec,task-clock,…" (the command's own stderr before it).
    const r = spawnSync("perf", ["stat", "-x,", "-e", "task-clock", "--", cmd, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: ENV,
      encoding: "utf8",
    });
    const m = /^([\d.]+),msec,task-clock/m.exec(r.stderr);
    if (r.status !== 0 || !m)
      throw new Error(`perf stat ${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
    return Number(m[1]);
  }
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: ENV });
  const dt = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return dt;
}

function stats(xs: number[]): { min: number; med: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, med: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2 };
}

function main(): void {
  const clis: [string, string][] = process.env.BENCH_CLIS
    ? process.env.BENCH_CLIS.split(",").map((kv) => {
        const i = kv.indexOf("=");
        return [kv.slice(0, i), kv.slice(i + 1)];
      })
    : [["tsvirt-img", DEFAULT_CLI]];
  for (const [, c] of clis) if (!existsSync(c)) throw new Error(`no ${c}: build first (npm run build)`);
  const keep = process.env.BENCH_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), "tsvirt-startup-"));
  mkdirSync(dir, { recursive: true });
  try {
    prepare(dir);
    const cases: [string, string[]][] = [
      ["info raw", ["info", join(dir, "small.raw")]],
      ["info qcow2 (3-deep chain)", ["info", join(dir, "top.qcow2")]],
      ["check qcow2 (chain top)", ["check", join(dir, "top.qcow2")]],
      ["check qcow2 1 GiB alloc", ["check", join(dir, "big.qcow2")]],
    ];
    const tools: [string, (args: string[]) => [string, string[]]][] = [
      ["node -e 0", () => ["node", ["-e", "0"]]],
      ["qemu-img", (a) => ["qemu-img", a]],
      ...clis.map(([name, cli]): [string, (args: string[]) => [string, string[]]] => [
        name,
        (a) => cliCommand(cli, a),
      ]),
    ];
    const times = new Map<string, number[]>();
    const key = (c: string, t: string) => `${c}\0${t}`;
    for (const [name, cli] of clis) {
      const r = spawnSync(...cliCommand(cli, cases[0]![1]), {
        encoding: "utf8",
        env: { ...ENV, TSVIRT_IMG_TRACE_START: "1" },
      });
      const how = /^tsvirt-img: start-up via (\w+)$/m.exec(r.stderr)?.[1] ?? `unknown (${r.stderr.trim()})`;
      console.log(`${name}: ${cli} starts via ${how}`);
    }
    const load0 = loadavg()[0]!;
    // Warm the page cache and the tools once.
    for (const [, a] of cases) for (const [, t] of tools) run(...t(a));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [c, a] of cases) {
        for (const [tn, t] of tools) {
          const k = key(c, tn);
          if (!times.has(k)) times.set(k, []);
          times.get(k)!.push(run(...t(a)));
        }
      }
    }
    console.log(
      `${ROUNDS} interleaved rounds, ${CPU ? "CPU (task-clock)" : "wall"} ms min / median; load ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
    );
    console.log(`${"case".padEnd(28)}${tools.map(([tn]) => tn.padStart(16)).join("")}`);
    const verdicts: string[] = [];
    for (const [c] of cases) {
      const cells = tools.map(([tn]) => {
        const s = stats(times.get(key(c, tn))!);
        return `${s.min.toFixed(1)} / ${s.med.toFixed(1)}`.padStart(16);
      });
      console.log(`${c.padEnd(28)}${cells.join("")}`);
      const node = stats(times.get(key(c, "node -e 0"))!).med;
      const q = stats(times.get(key(c, "qemu-img"))!).med;
      for (const [name] of clis) {
        const t = stats(times.get(key(c, name))!).med;
        const max = q + node;
        verdicts.push(
          `target ${t <= max ? "MET " : "MISS"} ${name} ${c}: ${t.toFixed(1)} ms <= qemu-img ${q.toFixed(1)} + node ${node.toFixed(1)} = ${max.toFixed(1)} ms (median)`,
        );
      }
    }
    for (const v of verdicts) console.log(v);
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main();
