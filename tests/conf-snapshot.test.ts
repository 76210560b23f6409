// Differential test: domain snapshot XML against libvirt 9.0's test driver (goldens from
// scripts/oracle/conf-corpus.py). "run-*"/"redef-*" cases snapshot the running built-in domain
// 'test', "off-*" a shut-off domain with four disks; both domains' XML as libvirt printed it is in
// the corpus. creationTime is pinned to 1700000000 (the oracle normalises libvirt's clock to it).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  domainDisksOfXml,
  formatDomainSnapshotXML,
  parseDomainSnapshotXML,
} from "../src/conf/snapshot/index.js";
import { type CorpusCase, loadCorpus, runCorpus, xmllintBatch } from "./conf-corpus-helpers.js";
import { fuzzParser } from "./conf-fuzz-helpers.js";

const dir = join(import.meta.dirname, "data", "snapshot-xml2xml");
const doms = {
  test: readFileSync(join(dir, "domain-test.out.xml"), "utf8"),
  snapdom: readFileSync(join(dir, "domain-snapdom.out.xml"), "utf8"),
};
const cases = loadCorpus("snapshot");

function run(c: CorpusCase, input = c.input): string {
  const running = c.name.startsWith("run-") || c.name.startsWith("redef-");
  const xml = running ? doms.test : doms.snapdom;
  const def = parseDomainSnapshotXML(input, {
    redefine: c.name.startsWith("redef-"),
    now: 1700000000,
    requireMatch: true,
    memoryFromState: true,
    domain: { state: running ? "running" : "shutoff", disks: domainDisksOfXml(xml), xml },
  });
  return formatDomainSnapshotXML(def);
}

test("snapshot corpus matches libvirt byte for byte", () => {
  const r = runCorpus(cases, (c) => run(c));
  assert.ok(r.total >= 20, `corpus has ${r.total} valid documents`);
  assert.ok(r.errTotal >= 5, `corpus has ${r.errTotal} invalid documents`);
  assert.ok(r.same / r.total >= 0.98, `${r.same}/${r.total} identical:\n${r.diffs.join("\n")}`);
  assert.equal(r.errSame, r.errTotal, r.diffs.join("\n"));
});

test("snapshot output validates against domainsnapshot.rng", (t) => {
  const docs = cases.filter((c) => c.expected).map((c) => run(c));
  const res = xmllintBatch("domainsnapshot", docs);
  if (res === null) return t.skip("xmllint or schema missing");
  assert.equal(res, undefined, res ?? "");
});

test("a redefined snapshot keeps its own time, state and domain", () => {
  for (const c of cases.filter((x) => x.expected)) {
    const again = parseDomainSnapshotXML(c.expected!, { redefine: true });
    assert.equal(formatDomainSnapshotXML(again), c.expected, c.name);
  }
});

test("snapshot parser fuzz: only VirError escapes", () => {
  const seeds = cases.filter((c) => !c.name.startsWith("redef-"));
  let i = 0;
  fuzzParser(
    seeds.map((c) => c.input),
    (x) => run(seeds[i++ % seeds.length]!, x),
    400,
  );
});
