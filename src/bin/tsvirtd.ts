#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// tsvirtd composition root: registers the connection drivers this daemon serves, starts the RPC
// listeners under --root (or the system/session dirs), and stops cleanly on SIGTERM/SIGINT.
// The shebang (fixed at start-up, so it lives there; bench/peers/tsvirtd.ts starts the program as
// this line does):
// - no node option: V8's optimizing compiles run on a helper thread. The compile thread's malloc
//   arena costs ~2.4 MiB of resident memory (60.1 -> 62.5 MiB with 500 domains defined,
//   bench/rpc-define.ts), and takes the compiles off the thread that answers calls: define
//   throughput +8-10 % in the same runs (1682 -> 1840 and 1729 -> 1928 defines/s). Until the
//   daemon's resident memory came down (no CA bundle, no pino, lazy QEMU driver parts) it ran
//   with --no-concurrent-recompilation to stay under the 64 MiB target.
// - env's -u NODE_EXTRA_CA_CERTS: Node reads and parses that file (a distribution's whole CA
//   bundle, ~140 certificates) at start when the variable is set, as some shells and CI images
//   do; that costs ~1.5 MiB of resident memory for the daemon's life (62.2 vs 63.7 MiB with 500
//   domains defined, bench/rpc-define.ts). The daemon never uses Node's default CA store: its
//   TLS client passes libvirt's CA file explicitly (src/rpc/client/client.ts) and the TLS server
//   verifies clients against its own CA. A service manager would not set the variable either.
// First: heap tuning must be in place before the other modules are loaded.
import "../daemon/v8-tuning.js";
import process from "node:process";
import { join } from "node:path";
import type { ConnectionDriverFactory } from "../driver/index.js";
import type { QemuDriverOptions, QemuDriverState } from "../drivers/qemu/driver.js";

// The daemon's own modules are imported dynamically: static imports would all be loaded (and
// their garbage would grow the young generation) before the tuning module's body runs.
const { parseDaemonArgs, USAGE } = await import("../daemon/args.js");
const { startDaemon } = await import("../daemon/daemon.js");
const { daemonPaths } = await import("../daemon/paths.js");
const { registerConnectionDriver } = await import("../driver/index.js");
const { createStorageDriverState, withHostStorage } = await import("../drivers/storage/index.js");
const { createNetworkDriverState, networkBridgeResolver, networkLeasesResolver, withHostNetwork } =
  await import("../drivers/network/index.js");
const { qemuDriverHasWork } = await import("../drivers/qemu/state-has-work.js");
const { ErrorCode, ErrorDomain, virError } = await import("../errors/index.js");

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

// The test driver's modules (half of the JavaScript reached from here: ~0.5 MB of source, with
// the node-device, interface and network/storage tables only it uses) load with the first
// test:/// connection, which a daemon serving qemu:// never opens: idle RSS 58.8 -> 56.7 MB.
let testFactory: Promise<ConnectionDriverFactory> | null = null;
registerConnectionDriver({
  name: "test",
  // testConnectionDriver's accepts(), without loading its module
  accepts: (uri) => uri.driver === "test" && uri.transport === undefined && !uri.host,
  async open(uri, opts) {
    testFactory ??= import("../drivers/test/driver.js").then((m) => m.testConnectionDriver);
    return (await testFactory).open(uri, opts);
  },
});

// qemu:///system for the privileged daemon, qemu:///session otherwise; one state per daemon.
// Host storage pools (dir/fs under the daemon's dirs) come with the qemu:// connection.
const paths = daemonPaths(args.root, process.env, process.getuid?.() ?? 1000);
const qemuPath = paths.system ? "/system" : "/session";
const storageState = createStorageDriverState({
  configDir: join(paths.etc, "storage"),
  runDir: join(paths.run, "storage"),
  defaultPoolPath: join(paths.lib, "images"),
  warn: (msg) => process.stderr.write(`tsvirtd: storage: ${msg}\n`),
}).catch((e: Error) => {
  process.stderr.write(`tsvirtd: storage driver unavailable: ${e.message}\n`);
  return null;
});
// Host networks (bridge, dnsmasq, nftables) too. Under --root (tests, side-by-side daemons) no
// default network is made and none autostarts: the host's network namespace is not under the root.
const networkState = createNetworkDriverState({
  configDir: join(paths.etc, "network"),
  runDir: join(paths.run, "network"),
  defaultNetwork: paths.system && !args.root,
  autostart: !args.root,
  warn: (msg) => process.stderr.write(`tsvirtd: network: ${msg}\n`),
}).catch((e: Error) => {
  process.stderr.write(`tsvirtd: network driver unavailable: ${e.message}\n`);
  return null;
});
let qemuState: Promise<QemuDriverState> | null = null;
let qemuFactory: Promise<ConnectionDriverFactory> | null = null;
// The QEMU driver's state: loaded once per daemon, by the first qemu:// connection or at start.
const qemuDriverState = (create: (o: QemuDriverOptions) => Promise<QemuDriverState>) =>
  (qemuState ??= create({
    uri: `qemu://${qemuPath}`,
    configDir: join(paths.etc, "qemu"),
    libDir: paths.lib,
    runDir: paths.run,
    networkBridge: networkBridgeResolver(networkState),
    networkLeases: networkLeasesResolver(networkState),
  }));
// The QEMU driver's modules load with the first qemu:// connection (about 1 MiB resident that a
// daemon serving only test:/// never needs), or at start when guests need it (below).
const lazyQemuFactory: ConnectionDriverFactory = {
  name: "qemu",
  // qemuConnectionFactory's accepts(), without loading its module
  accepts: (uri) => uri.scheme === "qemu" && !uri.host && (uri.path === "/system" || uri.path === "/session"),
  async open(uri, opts) {
    qemuFactory ??= import("../drivers/qemu/driver.js").then(
      ({ createQemuDriverState, qemuConnectionFactory }) =>
        qemuConnectionFactory(async (path) => {
          if (path !== qemuPath) throw virError(ErrorCode.NO_CONNECT, ErrorDomain.QEMU, `qemu://${path}`);
          return qemuDriverState(createQemuDriverState);
        }),
    );
    return (await qemuFactory).open(uri, opts);
  },
};
registerConnectionDriver(withHostNetwork(withHostStorage(lazyQemuFactory, storageState), networkState));

try {
  const daemon = await startDaemon(args);
  daemon.logger.info(
    { sock: daemon.paths.sock, ro: daemon.paths.sockRo, tcp: daemon.tcpPort, tls: daemon.tlsPort },
    "tsvirtd ready",
  );
  // Like libvirtd, which initialises its drivers at start: when domains are marked autostart or
  // guests of an earlier daemon are still running, the QEMU driver loads now, not with the first
  // client, so autostart guests boot with the host and exits/autodestroy guests are handled.
  if (qemuDriverHasWork(paths)) {
    import("../drivers/qemu/driver.js")
      .then(({ createQemuDriverState }) => qemuDriverState(createQemuDriverState))
      .then(
        (st) => {
          for (const e of st.replayErrors) daemon.logger.warn({ err: e }, "journal replay failed");
          for (const e of st.autostartErrors) daemon.logger.warn({ err: e }, "autostart failed");
          daemon.logger.info({ domains: st.domains.values().length }, "qemu driver ready");
        },
        (e: Error) => daemon.logger.error({ err: e.message }, "qemu driver failed to start"),
      );
  }
  // A daemon outlives one bad request: log what escaped instead of dying with every client.
  process.on("unhandledRejection", (reason) => {
    daemon.logger.error(
      { err: reason instanceof Error ? reason.stack : String(reason) },
      "unhandled rejection",
    );
  });
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
