// Differential test: our network parser+formatter against libvirt 9.0's test driver
// (goldens from scripts/oracle/conf-corpus.py), RelaxNG validation, and a bounded fuzz.

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatNetworkXML, parseNetworkXML } from "../src/conf/network/index.js";
import { fuzzParser } from "./conf-fuzz-helpers.js";
import { loadCorpus, runCorpus, xmllintBatch } from "./conf-corpus-helpers.js";

const cases = loadCorpus("network");

test("network corpus matches libvirt byte for byte", () => {
  const r = runCorpus(cases, (c) => formatNetworkXML(parseNetworkXML(c.input)));
  assert.ok(r.total >= 30, `corpus has ${r.total} valid documents`);
  assert.ok(r.errTotal >= 5, `corpus has ${r.errTotal} invalid documents`);
  const rate = r.same / r.total;
  assert.ok(rate >= 0.98, `${r.same}/${r.total} identical:\n${r.diffs.join("\n")}`);
  assert.equal(r.errSame, r.errTotal, r.diffs.join("\n"));
});

test("formatted networks validate against network.rng", (t) => {
  const docs = cases.filter((c) => c.expected).map((c) => formatNetworkXML(parseNetworkXML(c.input)));
  const res = xmllintBatch("network", docs);
  if (res === null) return t.skip("xmllint or schema missing");
  assert.equal(res, undefined, res ?? "");
});

test("format is a fixed point of parse", () => {
  for (const c of cases.filter((x) => x.expected)) {
    assert.equal(formatNetworkXML(parseNetworkXML(c.expected!)), c.expected, c.name);
  }
});

test("network parser fuzz: only VirError escapes", () => {
  fuzzParser(
    cases.map((c) => c.input),
    (x) => formatNetworkXML(parseNetworkXML(x)),
    400,
  );
});
