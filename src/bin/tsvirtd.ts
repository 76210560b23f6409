#!/usr/bin/env node
// tsvirtd composition root: registers the connection drivers this daemon serves, starts the RPC
// listeners under --root (or the system/session dirs), and stops cleanly on SIGTERM/SIGINT.
import process from "node:process";
import { parseDaemonArgs, USAGE } from "../daemon/args.js";
import { startDaemon } from "../daemon/daemon.js";
import { registerTestDriver } from "../drivers/test/index.js";

let args: ReturnType<typeof parseDaemonArgs>;
try {
  args = parseDaemonArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`tsvirtd: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

registerTestDriver();

try {
  const daemon = await startDaemon(args);
  daemon.logger.info(
    { sock: daemon.paths.sock, ro: daemon.paths.sockRo, tcp: daemon.tcpPort },
    "tsvirtd ready",
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    daemon.logger.info({ signal }, "stopping");
    daemon.stop().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`tsvirtd: error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (e) {
  process.stderr.write(`tsvirtd: ${(e as Error).message}\n`);
  process.exit(1);
}
