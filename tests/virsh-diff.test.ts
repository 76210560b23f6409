// Differential test: runs tests/data/virsh/script.txt through tsvirsh in-process, one persistent
// session on test:///default (as scripts/oracle/virsh-golden.sh does with real virsh 9.0), and compares
// each entry's stdout, stderr and exit status with the golden record. Enforces a floor of identical
// entries; raise FLOOR as tsvirsh improves.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openConnection } from "../src/api/index.js";
import { VirshControl, virshGroups } from "../src/cli/virsh/index.js";
import { registerConnectionDriver } from "../src/driver/index.js";
import { remoteConnectionDriver } from "../src/drivers/remote/remote-driver.js";

const FLOOR = 403;
const RPC_FLOOR = 402;

const dataDir = fileURLToPath(new URL("./data/virsh/", import.meta.url));

interface Entry {
  n: number;
  line: string;
  parses: boolean;
  stdout: string;
  stderr: string;
  status: number;
}

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
  take(): string {
    const t = this.text;
    this.text = "";
    return t;
  }
}

/** Values that differ on every run in libvirt's test driver itself: CPU time is the wall clock,
 * snapshot and checkpoint creation times are "now"; and the checkout's own location (the script's
 * `pwd` runs where the golden was recorded, CI runs from another clone). */
function normalize(s: string): string {
  return s
    .replace(/(?:\/[^\s/]+)+\/tests\/data\/virsh/g, "<checkout>/tests/data/virsh")
    .replace(/^(CPU time: +)\d+(\.\d+)?s$/gm, "$1<cputime>")
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, "<time>")
    .replace(/<creationTime>\d+<\/creationTime>/g, "<creationTime>T</creationTime>");
}

async function registerTestDriver(): Promise<boolean> {
  try {
    const mod: Record<string, unknown> = await import("../src/drivers/test/index.js" as string);
    const reg = mod.registerTestDriver;
    if (typeof reg === "function") await reg();
    return true;
  } catch {
    return false;
  }
}

/** Runs every golden entry through one tsvirsh session on `uri`; returns the identical count. */
async function runScript(
  uri: string,
  t: { diagnostic(msg: string): void },
): Promise<{ same: number; total: number; diffs: string[] }> {
  const golden: { entries: Entry[] } = JSON.parse(readFileSync(`${dataDir}golden/script.json`, "utf8"));
  const out = new Capture();
  const err = new Capture();
  const ctl = new VirshControl({
    out,
    err,
    groups: virshGroups(),
    open: (u, readOnly) => openConnection(u ?? uri, { readOnly }),
    close: (c) => c.close(),
  });
  ctl.cwd = resolve(dataDir);
  const connected = await ctl.connect(uri, false);
  t.diagnostic(`connected to ${uri}: ${connected} ${err.text}`);
  out.take();
  err.take();
  let same = 0;
  const diffs: string[] = [];
  for (const e of golden.entries) {
    const ok = await ctl.runString(e.line);
    const got = { stdout: normalize(out.take()), stderr: normalize(err.take()), status: ok ? 0 : 1 };
    const want = { stdout: normalize(e.stdout), stderr: normalize(e.stderr), status: e.status };
    if (got.stdout === want.stdout && got.stderr === want.stderr && got.status === want.status) same++;
    else diffs.push(`#${e.n} ${e.line}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
  }
  await ctl.disconnect();
  return { same, total: golden.entries.length, diffs };
}

test("tsvirsh matches virsh 9.0 on the scripted session", async (t) => {
  const haveDriver = await registerTestDriver();
  t.diagnostic(`test driver: ${haveDriver ? "loaded" : "missing"}`);
  const { same, total, diffs } = await runScript("test:///default", t);
  t.diagnostic(`identical: ${same}/${total} (floor ${FLOOR})`);
  if (process.env.VIRSH_DIFF_VERBOSE) for (const d of diffs) t.diagnostic(d);
  assert.ok(
    same >= FLOOR,
    `only ${same} of ${total} entries identical; first differences:\n${diffs.slice(0, 5).join("\n")}`,
  );
});

test("the same session through tsvirtd over RPC (test+unix://)", async (t) => {
  const daemonTs = fileURLToPath(new URL("../src/bin/tsvirtd.ts", import.meta.url));
  if (!existsSync(daemonTs)) return t.skip("src/bin/tsvirtd.ts is missing");
  registerConnectionDriver(remoteConnectionDriver);
  const root = mkdtempSync(join(tmpdir(), "tsvirsh-rpc-"));
  const sock = join(root, "run", "libvirt-sock");
  const daemon = spawn(process.execPath, ["--import", "tsx", daemonTs, "--root", root, "--http", "off"], {
    stdio: "ignore",
  });
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(sock)) return t.skip("tsvirtd did not start");
    const { same, total, diffs } = await runScript(`test+unix:///default?socket=${sock}`, t);
    t.diagnostic(`identical over RPC: ${same}/${total} (floor ${RPC_FLOOR})`);
    if (process.env.VIRSH_DIFF_VERBOSE) for (const d of diffs) t.diagnostic(d);
    assert.ok(
      same >= RPC_FLOOR,
      `only ${same} of ${total} identical over RPC:\n${diffs.slice(0, 5).join("\n")}`,
    );
  } finally {
    daemon.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  }
});

/** Runs a program to its end: [status, stdout, stderr]. */
function runTool(cmd: string, args: string[]): Promise<[number | null, string, string]> {
  return new Promise((done) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (c) => (out += c));
    p.stderr.on("data", (c) => (err += c));
    p.on("close", (code) => done([code, out, err]));
    p.on("error", (e) => done([null, "", e.message]));
  });
}

test("a daemon that is not there: tsvirsh prints virsh 9.0's connect errors", {
  timeout: 30_000,
}, async (t) => {
  const bin = resolve(fileURLToPath(new URL("../dist/bin/tsvirsh.js", import.meta.url)));
  if (!existsSync("/usr/bin/virsh")) return t.skip("real virsh missing");
  if (!existsSync(bin)) return t.skip("dist/bin/tsvirsh.js not built (run npx tsc -p .)");
  const dir = mkdtempSync(join(tmpdir(), "tsvirsh-nosock-"));
  try {
    // libvirt: virReportSystemError in virNetSocketNewConnectUNIX / ...ConnectTCP.
    for (const uri of [`test+unix:///default?socket=${dir}/absent.sock`, "test+tcp://127.0.0.1:1/default"]) {
      const theirs = await runTool("/usr/bin/virsh", ["-c", uri, "list"]);
      const ours = await runTool(process.execPath, [bin, "-c", uri, "list"]);
      assert.deepEqual(ours, theirs, uri);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
