// Shared by the tests/conf-*.test.ts suites: walks a tests/data/<kind>-xml2xml corpus whose goldens
// come from real libvirt (scripts/oracle/conf-corpus.py) and compares our result byte for byte.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VirError } from "../src/errors/index.js";

export interface CorpusCase {
  name: string;
  input: string;
  expected?: string;
  error?: { code: number; domain: number; message: string };
}

export function loadCorpus(kind: string): CorpusCase[] {
  const dir = join(import.meta.dirname, "data", `${kind}-xml2xml`);
  const out: CorpusCase[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".xml") || f.endsWith(".out.xml") || f.startsWith("domain-")) continue;
    const stem = join(dir, f.slice(0, -4));
    const c: CorpusCase = { name: f.slice(0, -4), input: readFileSync(join(dir, f), "utf8") };
    if (existsSync(`${stem}.out.xml`)) c.expected = readFileSync(`${stem}.out.xml`, "utf8");
    else if (existsSync(`${stem}.err.json`)) c.error = JSON.parse(readFileSync(`${stem}.err.json`, "utf8"));
    else continue;
    out.push(c);
  }
  return out;
}

export interface CorpusResult {
  same: number;
  total: number;
  errSame: number;
  errTotal: number;
  diffs: string[];
  outputs: string[];
}

/** Runs every case; an error case matches when our VirError has libvirt's code (message compared too). */
export function runCorpus(cases: CorpusCase[], run: (c: CorpusCase) => string): CorpusResult {
  const r: CorpusResult = { same: 0, total: 0, errSame: 0, errTotal: 0, diffs: [], outputs: [] };
  for (const c of cases) {
    let got: string | VirError;
    try {
      got = run(c);
    } catch (e) {
      if (!(e instanceof VirError)) throw e;
      got = e;
    }
    if (c.expected !== undefined) {
      r.total++;
      if (got === c.expected) r.same++;
      else
        r.diffs.push(
          `${c.name}: ${got instanceof VirError ? `threw ${got.code} ${got.message}` : `\n--- want\n${c.expected}--- got\n${got}`}`,
        );
      if (typeof got === "string") r.outputs.push(got);
    } else if (c.error) {
      r.errTotal++;
      if (got instanceof VirError && got.code === c.error.code) {
        r.errSame++;
        if (got.message !== c.error.message)
          r.diffs.push(`${c.name}: message differs: want '${c.error.message}' got '${got.message}'`);
      } else {
        r.diffs.push(
          `${c.name}: want error ${c.error.code} '${c.error.message}', got ${got instanceof VirError ? `${got.code} '${got.message}'` : "success"}`,
        );
      }
    }
  }
  return r;
}

/** Validates documents against a libvirt RelaxNG schema with one xmllint call; returns failures or undefined if no xmllint. */
export function xmllintBatch(schema: string, docs: string[]): string | undefined | null {
  const rng = `/usr/share/libvirt/schemas/${schema}.rng`;
  if (!existsSync(rng)) return null;
  try {
    execFileSync("xmllint", ["--version"], { stdio: "ignore" });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-rng-"));
  try {
    const files = docs.map((d, i) => {
      const p = join(dir, `${i}.xml`);
      writeFileSync(p, d);
      return p;
    });
    try {
      execFileSync("xmllint", ["--noout", "--relaxng", rng, ...files], { stdio: "pipe" });
      return undefined;
    } catch (e) {
      const err = e as { stderr?: Buffer };
      return err.stderr?.toString() ?? String(e);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Indexes of documents xmllint rejects (one call), or null without xmllint/schema. libvirt itself
 * accepts a few documents its own schema refuses; tests compare against the goldens' failures.
 */
export function xmllintFailures(schema: string, docs: string[]): Set<number> | null {
  const out = xmllintBatch(schema, docs);
  if (out === null) return null;
  const bad = new Set<number>();
  if (out === undefined) return bad;
  for (const m of out.matchAll(/\/(\d+)\.xml fails to validate/g)) bad.add(Number(m[1]));
  return bad;
}
