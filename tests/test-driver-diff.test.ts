// Differential test of the test driver: the same scenarios run against real libvirt's
// test:///default (python-libvirt, one /usr/bin/python3 process) and against tsvirt's API;
// results, states, XML and error code/domain/message must be identical.

import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { SAVE_BW } from "./test-driver-fixtures.js";
import { type Result, runScenarios } from "./test-driver-ops.js";
import { SCENARIOS } from "./test-driver-scenarios.js";

const here = dirname(fileURLToPath(import.meta.url));
const ORACLE = join(here, "..", "scripts", "oracle", "testdrv-oracle.py");

function oracleAvailable(): string | undefined {
  if (!existsSync("/usr/bin/python3")) return "no /usr/bin/python3";
  const r = spawnSync("/usr/bin/python3", ["-c", "import libvirt; libvirt.open('test:///default')"], {
    encoding: "utf8",
  });
  return r.status === 0 ? undefined : `python-libvirt unusable: ${r.stderr.trim().split("\n").pop()}`;
}

test("test driver matches libvirt's test:///default", async (t) => {
  const why = oracleAvailable();
  if (why) {
    t.skip(why);
    return;
  }
  const r = spawnSync("/usr/bin/python3", [ORACLE], {
    input: JSON.stringify({ scenarios: SCENARIOS }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as Result[][];
  rmSync(SAVE_BW, { force: true });
  const got = await runScenarios(SCENARIOS);
  rmSync(SAVE_BW, { force: true });
  let same = 0;
  let total = 0;
  const diffs: string[] = [];
  SCENARIOS.forEach((sc, i) => {
    const ops =
      want[i]!.length < sc.ops.length && got[i]!.length < sc.ops.length ? sc.ops.slice(0, 1) : sc.ops;
    ops.forEach((op, j) => {
      total++;
      const w = want[i]![j];
      const g = got[i]![j];
      if (JSON.stringify(w) === JSON.stringify(g)) same++;
      else
        diffs.push(
          `[${sc.name}] #${j} ${JSON.stringify(op).slice(0, 160)}\n  libvirt: ${JSON.stringify(w)}\n  tsvirt:  ${JSON.stringify(g)}`,
        );
    });
  });
  t.diagnostic(`${same}/${total} checks identical with libvirt`);
  if (process.env.TESTDRV_DIFF_VERBOSE) console.log(diffs.join("\n"));
  assert.deepEqual(diffs, [], `${total - same} of ${total} checks differ:\n${diffs.join("\n")}`);
});
