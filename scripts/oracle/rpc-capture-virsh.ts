// Captures real virsh wire traffic for tests/data/rpc/: starts tsvirtd in-process with the test
// driver (a fresh test:///default per capture), puts a recording proxy socket in front of it,
// runs `virsh -c 'test+unix:///default?socket=<proxy>' <command>` and writes both directions.
// Usage: npx tsx scripts/oracle/rpc-capture-virsh.ts [name command...]   (default: hostname)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startDaemon } from "../../src/daemon/daemon.js";
import { registerTestDriver } from "../../src/drivers/test/index.js";

const [name = "hostname", ...cmd] = process.argv.slice(2);
const command = cmd.length ? cmd : ["hostname"];
const root = mkdtempSync(join(tmpdir(), "rpc-capture-"));

registerTestDriver();

const daemon = await startDaemon(
  { root, verbose: false, help: false },
  { logger: pino({ level: "silent" }) },
);
const c2s: Buffer[] = [];
const s2c: Buffer[] = [];
const proxyPath = join(root, "proxy-sock");
const proxy = createServer((client) => {
  const up = connect(daemon.paths.sock);
  client.on("data", (d) => {
    c2s.push(Buffer.from(d));
    up.write(d);
  });
  up.on("data", (d) => {
    s2c.push(Buffer.from(d));
    client.write(d);
  });
  client.on("close", () => up.end());
  up.on("close", () => client.end());
});
await new Promise<void>((r) => proxy.listen(proxyPath, r));

const out = await new Promise<string>((resolve, reject) => {
  // virsh runs in a child so this process keeps serving while it waits.
  void import("node:child_process").then(({ execFile }) =>
    execFile(
      "virsh",
      ["-c", `test+unix:///default?socket=${proxyPath}`, ...command],
      (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
    ),
  );
});
await new Promise((r) => setTimeout(r, 100));
const dir = join(import.meta.dirname, "../../tests/data/rpc");
writeFileSync(join(dir, `virsh-${name}.c2s.bin`), Buffer.concat(c2s));
writeFileSync(join(dir, `virsh-${name}.s2c.bin`), Buffer.concat(s2c));
const version = execFileSync("virsh", ["--version"]).toString().trim();
writeFileSync(
  join(dir, `virsh-${name}.txt`),
  `virsh ${version}: virsh -c 'test+unix:///default?socket=…' ${command.join(" ")}\nstdout:\n${out}`,
);
proxy.close();
await daemon.stop(1000);
rmSync(root, { recursive: true, force: true });
console.log(`captured ${Buffer.concat(c2s).length} bytes from virsh, ${Buffer.concat(s2c).length} to it`);
