// Golden suite: tests/data/qemu-xml2argv/<case>.xml → <case>.args | <case>.err (UPDATE_GOLDEN=1 rewrites).
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkGolden, listCases, runCase } from "./guest/xml2argv-cases.js";

const cases = listCases();

test("qemu-xml2argv golden cases", () => {
  assert.ok(cases.length >= 20, `found ${cases.length} cases`);
  const failures: string[] = [];
  let errs = 0;
  for (const name of cases) {
    const r = runCase(name);
    if (r.kind === "err") errs++;
    if (name.startsWith("err-") !== (r.kind === "err"))
      failures.push(`${name}: unexpected ${r.kind}: ${r.text}`);
    const diff = checkGolden(name, r);
    if (diff) failures.push(diff);
  }
  assert.ok(errs > 0 && errs < cases.length);
  assert.deepEqual(failures, []);
});

test("argv is deterministic and pure", () => {
  for (const name of cases.slice(0, 5)) assert.deepEqual(runCase(name), runCase(name));
});
