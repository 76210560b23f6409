// compactDomainDef changes how a definition is stored, never what it says: every document of the
// domain corpus formats the same before and after, and equal attribute pairs of two definitions
// become one frozen array.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compactDomainDef, formatDomainXML, parseDomainXML } from "./index.js";

const CORPUS = join(import.meta.dirname, "../../../tests/data/domain-xml2xml");

test("compacted definitions of the domain corpus format byte-identical", () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith(".xml") && !f.endsWith(".out.xml"));
  assert.ok(files.length >= 150, `corpus has ${files.length} documents`);
  let compared = 0;
  for (const f of files) {
    let def: ReturnType<typeof parseDomainXML>;
    try {
      def = parseDomainXML(readFileSync(join(CORPUS, f), "utf8"));
    } catch {
      continue; // documents the model refuses are the corpus test's business
    }
    const before = [formatDomainXML(def), formatDomainXML(def, { inactive: true })];
    compactDomainDef(def);
    assert.deepEqual([formatDomainXML(def), formatDomainXML(def, { inactive: true })], before, f);
    compared++;
  }
  assert.ok(compared >= 150, `${compared} documents compared`);
});

test("equal attribute pairs are shared and frozen, other lists stay writable", () => {
  const xml = (n: string) =>
    `<domain type='test'><name>${n}</name><memory>1024</memory><os><type>hvm</type></os>` +
    `<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>` +
    `<source file='/var/lib/images/${n}-a-long-file-name.img'/><target dev='vda' bus='virtio'/>` +
    `</disk></devices></domain>`;
  const a = compactDomainDef(parseDomainXML(xml("a")));
  const b = compactDomainDef(parseDomainXML(xml("b")));
  const drvA = a.devices.disks[0]!.driver!.attrs;
  const drvB = b.devices.disks[0]!.driver!.attrs;
  assert.deepEqual(drvA, [
    ["name", "qemu"],
    ["type", "raw"],
  ]);
  assert.equal(drvA[0], drvB[0]);
  assert.ok(Object.isFrozen(drvA[0]));
  assert.throws(() => {
    (drvA[0] as [string, string])[1] = "x";
  }, TypeError);
  // the lists themselves are each definition's own
  assert.notEqual(drvA, drvB);
  drvA.push(["cache", "none"]);
  assert.equal(drvB.length, 2);
  a.devices.disks.push(b.devices.disks[0]!);
  assert.equal(b.devices.disks.length, 1);
  assert.match(formatDomainXML(a), /<driver name='qemu' type='raw' cache='none'\/>/);
});
