// Differential test: runs tests/data/virsh/script.txt through tsvirsh in-process, one persistent
// session on test:///default (as scripts/oracle/virsh-golden.sh does with real virsh 9.0), and compares
// each entry's stdout, stderr and exit status with the golden record. Enforces a floor of identical
// entries; raise FLOOR as tsvirsh improves.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openConnection } from "../src/api/index.js";
import { VirshControl, virshGroups } from "../src/cli/virsh/index.js";

const FLOOR = 258;

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
 * snapshot creation time is "now". */
function normalize(s: string): string {
  return s
    .replace(/^(CPU time: +)\d+(\.\d+)?s$/gm, "$1<cputime>")
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, "<time>");
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

test("tsvirsh matches virsh 9.0 on the scripted session", async (t) => {
  const golden: { entries: Entry[] } = JSON.parse(readFileSync(`${dataDir}golden/script.json`, "utf8"));
  const haveDriver = await registerTestDriver();
  const out = new Capture();
  const err = new Capture();
  const ctl = new VirshControl({
    out,
    err,
    groups: virshGroups(),
    open: (uri, readOnly) => openConnection(uri ?? "test:///default", { readOnly }),
    close: (c) => c.close(),
  });
  ctl.cwd = dataDir;
  const connected = await ctl.connect("test:///default", false);
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
  t.diagnostic(`test driver: ${haveDriver ? "loaded" : "missing"}, connected: ${connected}`);
  t.diagnostic(`identical: ${same}/${golden.entries.length} (floor ${FLOOR})`);
  if (process.env.VIRSH_DIFF_VERBOSE) for (const d of diffs) t.diagnostic(d);
  assert.ok(
    same >= FLOOR,
    `only ${same} of ${golden.entries.length} entries identical; first differences:\n${diffs.slice(0, 5).join("\n")}`,
  );
});
