// The qemu-dumpxml cases (virt-install-like guests, invalid ones) as REAL libvirt 9.0's test
// driver shows them after define: tests/data/domain-wide/<case>.out.xml / .secure.out.xml /
// .migratable.out.xml / .err,
// recorded by scripts/oracle/domain-wide-testdrv.py from tests/data/qemu-dumpxml/<case>.xml.
// tsvirt's generic parse + format (what the in-process test driver serves) must give the same
// bytes, or the same error code, domain and message.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { formatDomainXML, parseDomainXML } from "../src/conf/domain/index.js";
import { VirError } from "../src/errors/index.js";

const SRC = join(import.meta.dirname, "data", "qemu-dumpxml");
const WANT = join(import.meta.dirname, "data", "domain-wide");

/** What libvirt generates at random: a UUID not in the input, MACs and OVS interfaceids. */
function normalise(input: string, out: string): string {
  let s = out;
  if (!/<uuid>/.test(input)) s = s.replace(/<uuid>[0-9a-f-]{36}<\/uuid>/, "<uuid>GENERATED</uuid>");
  if (/<genid\s*\/>/.test(input)) s = s.replace(/<genid>[0-9a-f-]{36}<\/genid>/, "<genid>GENERATED</genid>");
  s = s.replace(/<mac address='([0-9a-f:]{17})'/g, (all, mac: string) =>
    input.toLowerCase().includes(mac) ? all : "<mac address='GENERATED'",
  );
  return s.replace(/interfaceid='([0-9a-f-]{36})'/g, (all, id: string) =>
    input.includes(id) ? all : "interfaceid='GENERATED'",
  );
}

test("qemu-dumpxml cases on the test driver: same XML or same error as libvirt 9.0", (t) => {
  const names = readdirSync(WANT)
    .filter(
      (f) => f.endsWith(".out.xml") && !f.endsWith(".secure.out.xml") && !f.endsWith(".migratable.out.xml"),
    )
    .map((f) => f.slice(0, -8))
    .concat(
      readdirSync(WANT)
        .filter((f) => f.endsWith(".err"))
        .map((f) => f.slice(0, -4)),
    )
    .sort();
  assert.ok(names.length >= 200, `only ${names.length} recorded cases`);
  const diffs: string[] = [];
  for (const name of names) {
    const input = readFileSync(join(SRC, `${name}.xml`), "utf8");
    const errFile = join(WANT, `${name}.err`);
    let got: string | undefined;
    let secure: string | undefined;
    let migratable: string | undefined;
    let err: VirError | undefined;
    try {
      const def = parseDomainXML(input);
      got = `${formatDomainXML(def)}\n`;
      secure = `${formatDomainXML(def, { securityInfo: true })}\n`;
      migratable = `${formatDomainXML(def, { migratable: true })}\n`;
    } catch (e) {
      assert.ok(e instanceof VirError, `${name}: ${String(e)}`);
      err = e;
    }
    if (existsSync(errFile)) {
      const want = JSON.parse(readFileSync(errFile, "utf8")) as {
        code: number;
        domain: number;
        message: string;
      };
      if (!err) diffs.push(`${name}: libvirt refuses (${want.message}), we accept`);
      else if (err.code !== want.code || err.domain !== want.domain || err.message !== want.message)
        diffs.push(
          `${name}: libvirt ${want.code}/${want.domain} ${want.message}; ours ${err.code}/${err.domain} ${err.message}`,
        );
      continue;
    }
    if (err) {
      diffs.push(`${name}: we refuse: ${err.message}`);
      continue;
    }
    const want = normalise(input, readFileSync(join(WANT, `${name}.out.xml`), "utf8"));
    const secFile = join(WANT, `${name}.secure.out.xml`);
    const wantSec = existsSync(secFile) ? normalise(input, readFileSync(secFile, "utf8")) : want;
    const a = want.split("\n");
    const b = normalise(input, got!).split("\n");
    const i = a.findIndex((l, k) => l !== b[k]);
    if (i >= 0 || a.length !== b.length) diffs.push(`${name}: line ${i + 1}: libvirt ${a[i]} ours ${b[i]}`);
    else if (normalise(input, secure!) !== wantSec) diffs.push(`${name}: differs with security info`);
    else {
      const migFile = join(WANT, `${name}.migratable.out.xml`);
      const wantMig = existsSync(migFile) ? normalise(input, readFileSync(migFile, "utf8")) : want;
      if (normalise(input, migratable!) !== wantMig) diffs.push(`${name}: differs when migratable`);
    }
  }
  t.diagnostic(`${names.length - diffs.length}/${names.length} identical to libvirt 9.0's test driver`);
  for (const d of diffs) t.diagnostic(d);
  assert.deepEqual(diffs, []);
});
