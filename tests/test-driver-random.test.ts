// Randomized differential test of the test driver's state machine: seeded random sequences of
// lifecycle, snapshot, network and storage operations run against real libvirt's
// test:///default (python-libvirt) and tsvirt; every result must be identical.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Result, runScenarios, type Scenario } from "./test-driver-ops.js";
import { randomOps, SAVE } from "./test-driver-random-ops.js";

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), "..", "scripts", "oracle", "testdrv-oracle.py");

test("random operation sequences behave as libvirt's test driver", async (t) => {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import libvirt"], { encoding: "utf8" });
  if (probe.status !== 0) {
    t.skip("python-libvirt is not available");
    return;
  }
  const seeds = Array.from({ length: Number(process.env.TESTDRV_SEEDS ?? 12) }, (_, i) => 1000 + i * 7919);
  const scenarios: Scenario[] = seeds.map((seed) => ({ name: `seed ${seed}`, ops: randomOps(seed, 300) }));
  rmSync(SAVE, { force: true });
  const r = spawnSync("/usr/bin/python3", [ORACLE], {
    input: JSON.stringify({ scenarios }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as Result[][];
  rmSync(SAVE, { force: true });
  const got = await runScenarios(scenarios);
  rmSync(SAVE, { force: true });
  let same = 0;
  let total = 0;
  const diffs: string[] = [];
  scenarios.forEach((sc, i) => {
    sc.ops.forEach((op, j) => {
      total++;
      if (JSON.stringify(want[i]![j]) === JSON.stringify(got[i]![j])) same++;
      else if (diffs.length < 20)
        diffs.push(
          `[${sc.name}] #${j} ${JSON.stringify(op).slice(0, 140)}\n  libvirt: ${JSON.stringify(want[i]![j]).slice(0, 400)}\n  tsvirt:  ${JSON.stringify(got[i]![j]).slice(0, 400)}`,
        );
    });
  });
  t.diagnostic(`${same}/${total} random-sequence results identical with libvirt`);
  assert.deepEqual(diffs, [], `${total - same} of ${total} differ:\n${diffs.join("\n")}`);
});
