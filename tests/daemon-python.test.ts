// python-libvirt 9.0 (Debian's /usr/bin/python3) against tsvirtd: a probe script (lookups, info,
// lists, pools, scheduler, lifecycle events through the event loop, snapshots, errors) prints the
// same lines over test+unix:// as on libvirt's in-process test:///default.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { startDaemon } from "../src/daemon/daemon.js";
import { registerTestDriver } from "../src/drivers/test/index.js";

const PY = "/usr/bin/python3";
const probe = join(import.meta.dirname, "data/rpc/python-probe.py");
const havePy = (() => {
  try {
    execFileSync(PY, ["-c", "import libvirt"]);
    return true;
  } catch {
    return false;
  }
})();

function run(uri: string, script = probe): Promise<string> {
  return new Promise((resolve) => {
    execFile(PY, [script, uri], (err, stdout, stderr) =>
      resolve(`${stdout}${stderr}${err ? `exit ${err.code}` : ""}`),
    );
  });
}

test("python-libvirt sees tsvirtd as it sees libvirt's test driver", {
  skip: !havePy && "python3-libvirt missing",
}, async () => {
  registerTestDriver();
  const root = mkdtempSync(join(tmpdir(), "tsvirtd-py-"));
  const d = await startDaemon({ root, verbose: false, help: false }, { logger: pino({ level: "silent" }) });
  try {
    const ours = await run(`test+unix:///default?socket=${d.paths.sock}`);
    const theirs = await run("test:///default");
    assert.match(theirs, /events \[\('test', 3, 0\), \('test', 4, 0\)\]/);
    assert.equal(ours, theirs);
    // the read-only socket refuses what libvirt's read-only connection refuses, same code/domain/text
    const readonly = join(import.meta.dirname, "data/rpc/python-readonly.py");
    const roOurs = await run(`test+unix:///default?socket=${d.paths.sockRo}`, readonly);
    const roTheirs = await run("test:///default", readonly);
    assert.match(roTheirs, /destroy 29 20 operation forbidden: read only access prevents virDomainDestroy/);
    assert.equal(roOurs, roTheirs);
  } finally {
    await d.stop(1000);
    rmSync(root, { recursive: true, force: true });
  }
});
