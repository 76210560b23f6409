// Differential test: storage pool and volume XML against libvirt 9.0's test driver (goldens from
// scripts/oracle/conf-corpus.py), RelaxNG validation, and bounded fuzzing of both parsers.
// The test driver fills live values we emulate here the way its helper must: a defined pool
// reports 100 GiB capacity/available; a volume created in default-pool gets path = key = pool path/name.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatStoragePoolXML,
  formatStorageVolXML,
  parseStoragePoolXML,
  type PoolType,
  parseStorageVolXML,
} from "../src/conf/storage/index.js";
import { type CorpusCase, loadCorpus, runCorpus, xmllintFailures } from "./conf-corpus-helpers.js";
import { fuzzParser } from "./conf-fuzz-helpers.js";

const pools = loadCorpus("pool");
const vols = loadCorpus("volume");

function pool(c: CorpusCase | string): string {
  const d = parseStoragePoolXML(typeof c === "string" ? c : c.input);
  d.capacity = 107374182400n;
  d.available = 107374182400n;
  return formatStoragePoolXML(d);
}

// Pools the oracle creates for "<pooltype>--<case>" volume documents, by target path; the test
// driver names a volume <pool target path>/<name> even where the pool has no path ("(null)").
const VOL_POOL_PATHS: Record<string, string> = {
  dir: "/default-pool",
  logical: "/dev/vg",
  disk: "/dev",
  iscsi: "/dev/disk/by-path",
  rbd: "(null)",
  netfs: "/mnt/nfs",
};

function vol(c: CorpusCase | string): string {
  const name = typeof c === "string" ? "" : c.name;
  const type = (name.includes("--") ? name.split("--")[0] : "dir") as PoolType;
  const d = parseStorageVolXML(typeof c === "string" ? c : c.input, type);
  d.target.path = `${VOL_POOL_PATHS[type]}/${d.name}`;
  d.key = d.target.path;
  return formatStorageVolXML(d);
}

for (const [kind, cases, run, min] of [
  ["pool", pools, pool, 30],
  ["volume", vols, vol, 20],
] as const) {
  test(`${kind} corpus matches libvirt byte for byte`, () => {
    const r = runCorpus(cases, run);
    assert.ok(r.total >= min, `corpus has ${r.total} valid documents`);
    assert.ok(r.errTotal >= 5, `corpus has ${r.errTotal} invalid documents`);
    assert.ok(r.same / r.total >= 0.98, `${r.same}/${r.total} identical:\n${r.diffs.join("\n")}`);
    assert.equal(r.errSame, r.errTotal, r.diffs.join("\n"));
  });

  test(`${kind} output validates against its RelaxNG schema`, (t) => {
    // libvirt accepts a few documents its schema refuses ('/' in a volume name, several iSCSI
    // hosts): ours may fail only where libvirt's own output fails too.
    const valid = cases.filter((c) => c.expected);
    const schema = kind === "pool" ? "storagepool" : "storagevol";
    const ours = xmllintFailures(schema, valid.map(run));
    const theirs = xmllintFailures(
      schema,
      valid.map((c) => c.expected!),
    );
    if (ours === null || theirs === null) return t.skip("xmllint or schema missing");
    for (const i of ours) assert.ok(theirs.has(i), `${valid[i]!.name} fails ${schema}.rng`);
  });

  test(`${kind} format is a fixed point of parse`, () => {
    for (const c of cases.filter((x) => x.expected)) {
      assert.equal(run({ ...c, input: c.expected! }), c.expected, c.name);
    }
  });

  test(`${kind} parser fuzz: only VirError escapes`, () => {
    fuzzParser(
      cases.map((c) => c.input),
      (x) => run(x),
      400,
    );
  });
}
