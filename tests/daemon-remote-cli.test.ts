// tsvirt's own client stack against tsvirtd: tsvirsh's command code (in-process) over the remote
// driver and the RPC client must print what real virsh prints over the same socket.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { type Connection, openConnection } from "../src/api/index.js";
import { virshGroups, virshMain } from "../src/cli/virsh/index.js";
import { startDaemon } from "../src/daemon/daemon.js";
import { registerConnectionDriver } from "../src/driver/index.js";
import { remoteConnectionDriver } from "../src/drivers/remote/remote-driver.js";
import { registerTestDriver } from "../src/drivers/test/index.js";

const haveVirsh = (() => {
  try {
    execFileSync("virsh", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

async function tsvirsh(argv: string[]): Promise<{ out: string; err: string; code: number }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  out.on("data", (b: Buffer) => chunks.push(b));
  err.on("data", (b: Buffer) => errs.push(b));
  const code = await virshMain<Connection>({
    argv,
    env: {},
    stdin: new PassThrough(),
    stdout: out,
    stderr: err,
    isTTY: false,
    groups: virshGroups(),
    open: (uri, readOnly) => openConnection(uri ?? "test:///default", { readOnly }),
    close: (conn) => conn.close(),
  });
  return { out: Buffer.concat(chunks).toString(), err: Buffer.concat(errs).toString(), code };
}

function virsh(argv: string[]): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) =>
    execFile("virsh", argv, { env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) =>
      resolve({ out: stdout, err: stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    ),
  );
}

const COMMANDS = [
  ["hostname"],
  ["list", "--all"],
  ["dumpxml", "test"],
  ["domstate", "test", "--reason"],
  ["nodeinfo"],
  ["net-list", "--all"],
  ["pool-list", "--all"],
  ["vol-list", "default-pool"],
  ["vcpuinfo", "test"],
  ["schedinfo", "test"],
  ["dominfo", "nosuchdomain"],
];

test("tsvirsh over the remote driver prints what virsh prints", {
  skip: !haveVirsh && "virsh not installed",
}, async () => {
  registerTestDriver();
  registerConnectionDriver(remoteConnectionDriver);
  const root = mkdtempSync(join(tmpdir(), "tsvirtd-cli-"));
  const d = await startDaemon({ root, verbose: false, help: false }, { logger: pino({ level: "silent" }) });
  try {
    const uri = `test+unix:///default?socket=${d.paths.sock}`;
    for (const args of COMMANDS) {
      const ours = await tsvirsh(["-c", uri, ...args]);
      const theirs = await virsh(["-c", uri, ...args]);
      assert.equal(ours.out, theirs.out, `tsvirsh ${args.join(" ")}`);
      assert.equal(ours.err, theirs.err, `stderr of tsvirsh ${args.join(" ")}`);
      assert.equal(ours.code, theirs.code, `exit code of ${args.join(" ")}`);
    }
  } finally {
    await d.stop(1000);
    rmSync(root, { recursive: true, force: true });
  }
});
