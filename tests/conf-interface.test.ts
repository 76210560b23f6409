// Differential test: host interface XML against libvirt 9.0's test driver (interfaceDefineXML →
// XMLDesc goldens from scripts/oracle/conf-corpus.py), RelaxNG validation and a bounded fuzz.

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatInterfaceXML, parseInterfaceXML } from "../src/conf/interface/index.js";
import { loadCorpus, runCorpus, xmllintBatch } from "./conf-corpus-helpers.js";
import { fuzzParser } from "./conf-fuzz-helpers.js";

const cases = loadCorpus("interface");
const run = (x: string) => formatInterfaceXML(parseInterfaceXML(x));

test("interface corpus matches libvirt byte for byte", () => {
  const r = runCorpus(cases, (c) => run(c.input));
  assert.ok(r.total >= 10 && r.errTotal >= 5, `${r.total} valid, ${r.errTotal} invalid`);
  assert.ok(r.same / r.total >= 0.98, `${r.same}/${r.total} identical:\n${r.diffs.join("\n")}`);
  assert.equal(r.errSame, r.errTotal, r.diffs.join("\n"));
});

test("interface output validates against interface.rng", (t) => {
  const res = xmllintBatch(
    "interface",
    cases.filter((c) => c.expected).map((c) => run(c.input)),
  );
  if (res === null) return t.skip("xmllint or schema missing");
  assert.equal(res, undefined, res ?? "");
});

test("interface format is a fixed point of parse", () => {
  for (const c of cases.filter((x) => x.expected)) assert.equal(run(c.expected!), c.expected, c.name);
});

test("interface parser fuzz: only VirError escapes", () => {
  fuzzParser(
    cases.map((c) => c.input),
    run,
    300,
  );
});
