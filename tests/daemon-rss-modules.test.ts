// What loading tsvirtd's modules brings in: the modules a define, a listing and an XML dump never
// run stay unloaded until their first call (src/drivers/qemu/driver.ts, lazy-slots.ts,
// driver-connect.ts), and the daemon does not load pino (src/daemon/log.ts). Each of these cost
// resident memory for the daemon's life (bench/rpc-define.ts: RSS with 500 domains defined is a
// target). A Node module hook in a child process records every module it loads.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { REPO, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

const DIST = join(REPO, "dist");

const HOOKS = `let port;
export function initialize(d) { port = d.port; }
export async function load(url, context, next) { port.postMessage(url); return next(url, context); }`;

/** The URLs of the modules that importing `entries` (in order) loads, in a fresh node. */
function loadedBy(entries: string[]): string[] {
  const script = `
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on("message", (u) => urls.push(u));
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(HOOKS)}), { data: { port: port2 }, transferList: [port2] });
for (const e of ${JSON.stringify(entries.map((e) => pathToFileURL(e).href))}) await import(e);
setTimeout(() => { process.stdout.write(JSON.stringify(urls)); port1.close(); }, 200);
`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  return (JSON.parse(out) as string[]).filter((u) => u.startsWith("file:"));
}

const rel = (urls: string[]) => urls.map((u) => u.slice(pathToFileURL(REPO).href.length + 1));

test("the QEMU driver loads without the code a define never runs", {
  skip: tsvirtdUnavailable() ?? false,
}, () => {
  const lazy = [
    "domain-lifecycle.js",
    "domain-status.js",
    "process.js",
    "command.js",
    "domain-save.js",
    "hotplug.js",
    "hotplug-reconnect.js",
    "snapshot.js",
    "snapshot-create.js",
    "autodestroy.js",
    "domain-console.js",
    "domain-config.js",
    "domain-send-key.js",
    "domain-migratable.js",
    "domain-xml-to-native.js",
    "domain-capabilities.js",
    "host-capabilities.js",
    "domain-stats.js",
    "driver-info.js",
    "driver-ops.js",
  ].map((f) => `dist/drivers/qemu/${f}`);
  for (const f of lazy) assert.ok(existsSync(join(REPO, f)), `${f} is built`);
  const loaded = rel(loadedBy([join(DIST, "drivers/qemu/driver.js")]));
  // the hook sees the driver and what a define needs
  for (const f of [
    "driver.js",
    "driver-state.js",
    "domain-define.js",
    "domain-post-parse.js",
    "snapshot-load.js",
  ])
    assert.ok(loaded.includes(`dist/drivers/qemu/${f}`), `${f} loaded: ${loaded.join(" ")}`);
  assert.deepEqual(
    lazy.filter((f) => loaded.includes(f)),
    [],
  );
});

test("the daemon's modules do not load pino", { skip: tsvirtdUnavailable() ?? false }, () => {
  const loaded = rel(loadedBy([join(DIST, "daemon/daemon.js"), join(DIST, "rpc/server/server.js")]));
  assert.ok(loaded.includes("dist/daemon/log.js"), loaded.join(" "));
  assert.deepEqual(
    loaded.filter((f) => f.includes("node_modules/")),
    [],
  );
});
