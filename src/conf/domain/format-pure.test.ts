// formatDomainXML must not change the definition it formats: the drivers' XMLDesc hand it the
// domain's own stored def (no defensive deep copy per call), so a formatter that filled in a
// default or sorted a list in place would leak into every later answer and the saved config.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { type DomainDef, formatDomainXML, parseDomainXML } from "./index.js";

const CORPUS = join(import.meta.dirname, "../../../tests/data/domain-xml2xml");

test("formatDomainXML leaves the definition unchanged (whole xml2xml corpus, every flag combination)", () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith(".xml") && !f.endsWith(".out.xml"));
  let checked = 0;
  const changed: string[] = [];
  for (const f of files) {
    let def: DomainDef;
    try {
      def = parseDomainXML(readFileSync(join(CORPUS, f), "utf8"));
    } catch {
      continue; // documents libvirt rejects are covered by the corpus test
    }
    const before = structuredClone(def);
    const first = formatDomainXML(def);
    for (const o of [{ inactive: true }, { id: 7 }, { securityInfo: true }, { migratable: true }, {}]) {
      formatDomainXML(def, o);
    }
    assert.equal(formatDomainXML(def), first, `${f}: same output on a second call`);
    checked++;
    if (!isDeepStrictEqual(def, before)) changed.push(f);
  }
  assert.ok(checked >= 1000, `only ${checked} corpus documents parsed`);
  assert.deepEqual(changed, [], "definitions changed by formatting");
});
