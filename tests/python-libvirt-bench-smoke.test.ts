// CI smoke of the RPC benchmark (bench/rpc-define.ts with 20 domains): tsvirtd and the private
// libvirtd peer both complete the python-libvirt define/list/XMLDesc/undefine run; figures printed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { checkTargets, formatTable, runBench } from "../bench/rpc-define.js";
import { tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

const PY = "/usr/bin/python3";
function pythonLibvirtMissing(): string | null {
  try {
    execFileSync(PY, ["-c", "import libvirt"], { stdio: "ignore" });
    return null;
  } catch {
    return "python3-libvirt (via /usr/bin/python3) missing";
  }
}

const why = pythonLibvirtMissing() ?? tsvirtdUnavailable();

test("rpc-define benchmark smoke (20 domains, tsvirtd and libvirtd)", {
  skip: why ?? false,
  timeout: 60_000,
}, async (t) => {
  const n = 20;
  const r = await runBench(n, 3, 1);
  for (const line of formatTable(r).split("\n")) t.diagnostic(line);
  for (const target of checkTargets(r))
    t.diagnostic(`target ${target.met ? "met" : "missed"}: ${target.name} (${target.detail})`);
  for (const [who, f] of [
    ["tsvirtd", r.tsvirtd],
    ["libvirtd", r.libvirtd],
  ] as const) {
    if (!f) continue;
    // Every domain defined, listed, and gone again: the daemon ends where it started.
    assert.equal(f.domainsWithDefined, f.domainsBefore + n, `${who}: listed after define`);
    assert.equal(f.domainsAfter, f.domainsBefore, `${who}: listed after undefine`);
    assert.ok(f.definePerSecond > 0 && f.xmlDescBytes > n * 200, `${who}: figures`);
    assert.ok(f.rssKiBDefined > 1024, `${who}: RSS read from /proc`);
  }
  if (r.libvirtdSkipped) t.diagnostic(`libvirtd peer skipped: ${r.libvirtdSkipped}`);
});
