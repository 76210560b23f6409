// Shared by the differential tests that run hand-written command lines through real qemu-img
// (the oracle) and through tsvirt-img's main() in-process, each on its own copy of a directory
// prepared by a shell script (qemu-img, qemu-io, coreutils). stdout, stderr (program name and
// directory normalised), exit code, and every file either tool created or changed (size, disk
// usage give or take ext4's one extent index block, `qemu-img info --output=json` with random
// fields masked, `qemu-img compare`, optionally the bytes) must agree. Returns the differences.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { main } from "../src/cli/img/main.js";

export const HAVE_QEMU = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img"].some((p) => existsSync(p));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function tsvirt(args: string[], cwd: string): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(args, { out: (x) => void (stdout += x), err: (x) => void (stderr += x) });
    return { code, stdout, stderr };
  } finally {
    process.chdir(prev);
  }
}

export function normalise(s: string, dir: string): string {
  return s
    .split(dir)
    .join("$DIR")
    .replace(/qemu-img: /g, "tsvirt-img: ")
    .replace(/Try 'qemu-img --help'/g, "Try 'tsvirt-img --help'")
    .replace(/cid: \d+/g, "cid: #")
    .replace(/"(parent-)?cid": \d+/g, '"$1cid": #')
    .replace(/"date-(n?sec)": \d+/g, '"date-$1": #')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, "DATE");
}

const INFO_MASK =
  /"(uuid|cid|parent-cid|date-sec|date-nsec|filename|full-backing-filename|actual-size)": [^,\n]*/g;

async function files(dir: string, prefix = ""): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) for (const [k, v] of await files(dir, rel)) m.set(k, v);
    else {
      const s = await stat(join(dir, rel));
      m.set(rel, `${s.size}:${s.mtimeMs}`);
    }
  }
  return m;
}

export interface DiffCase {
  name: string;
  /** Shell script preparing the directory. */
  setup: string;
  /** qemu-img argument vectors, run in order. */
  cmds: string[][];
  /** The files written must be byte for byte qemu-img's. */
  bytes?: boolean;
}

/** Runs one case under `base` (index i keeps its directories apart); the differences found. */
export async function runDiffCase(base: string, c: DiffCase, i: number): Promise<string[]> {
  const fx = join(base, `fx${i}`);
  await mkdir(fx);
  const s = await run("sh", ["-ec", c.setup || "true"], fx);
  assert.equal(s.code, 0, `setup: ${s.stderr}`);
  const qd = join(base, `q${i}`);
  const td = join(base, `t${i}`);
  await run("cp", ["-a", "--sparse=always", fx, qd], base);
  await run("cp", ["-a", "--sparse=always", fx, td], base);
  const before = await files(qd);
  const beforeT = await files(td);
  const diffs: string[] = [];
  for (const args of c.cmds) {
    const a = await run("qemu-img", args, qd);
    const b = await tsvirt(args, td);
    const cmd = args.join(" ");
    if (a.code !== b.code) diffs.push(`${cmd}: exit ${a.code} != ${b.code}`);
    if (normalise(a.stdout, qd) !== normalise(b.stdout, td))
      diffs.push(`${cmd}: stdout\n${normalise(a.stdout, qd)}--- tsvirt-img:\n${normalise(b.stdout, td)}`);
    if (normalise(a.stderr, qd) !== normalise(b.stderr, td))
      diffs.push(`${cmd}: stderr\n${normalise(a.stderr, qd)}--- tsvirt-img:\n${normalise(b.stderr, td)}`);
  }
  const qa = await files(qd);
  const ta = await files(td);
  for (const n of new Set([...qa.keys(), ...ta.keys()])) {
    if (qa.has(n) !== ta.has(n)) {
      diffs.push(`${n}: exists only after ${qa.has(n) ? "qemu-img" : "tsvirt-img"}`);
      continue;
    }
    if (qa.get(n) === before.get(n) && ta.get(n) === beforeT.get(n)) continue;
    const qp = join(qd, n);
    const tp = join(td, n);
    await run("sync", [qp, tp], base);
    const [qs, ts] = [await stat(qp), await stat(tp)];
    const descriptor = Math.abs(qs.size - ts.size) < 8 && n.endsWith(".vmdk");
    if (qs.size !== ts.size && !descriptor) diffs.push(`${n}: file size ${qs.size} != ${ts.size}`);
    if (c.bytes) {
      const r = await run("cmp", [qp, tp], base);
      if (r.code !== 0) diffs.push(`${n}: ${r.stdout.trim()}`);
    }
    const [qb, tb] = [qs.blocks * 512, ts.blocks * 512];
    // (One 4 KiB block either way is ext4's extent index block.)
    if (qb !== tb && Math.abs(qb - tb) !== 4096) diffs.push(`${n}: allocated ${qb} (qemu-img) != ${tb}`);
    const iq = await run("qemu-img", ["info", "-U", "--output=json", qp], qd);
    const it = await run("qemu-img", ["info", "-U", "--output=json", tp], td);
    const a = normalise(iq.stdout + iq.stderr, qd).replace(INFO_MASK, "#");
    const b = normalise(it.stdout + it.stderr, td).replace(INFO_MASK, "#");
    if (a !== b) diffs.push(`${n}: info\n${a}--- tsvirt-img:\n${b}`);
    else if (iq.code === 0) {
      const cmp = await run("qemu-img", ["compare", "-U", qp, tp], qd);
      const self = cmp.code !== 0 ? await run("qemu-img", ["compare", "-U", qp, qp], qd) : cmp;
      if (cmp.code !== 0 && self.code === 0) diffs.push(`${n}: compare ${cmp.stdout}${cmp.stderr}`);
    }
  }
  return diffs;
}
