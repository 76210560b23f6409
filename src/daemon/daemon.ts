// tsvirtd wiring: directories, config, logging, the RPC listeners, and an orderly stop that lets
// calls in flight finish. Concrete drivers are registered by the composition root (src/bin).
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { RpcServer } from "../rpc/server/server.js";
import type { DaemonArgs } from "./args.js";
import { type DaemonConfig, parseDaemonConfig } from "./config.js";
import { daemonLogger, type LogLevel } from "./log.js";
import { createOpener } from "./opener.js";
import { type DaemonPaths, daemonPaths } from "./paths.js";

export interface RunningDaemon {
  paths: DaemonPaths;
  server: RpcServer;
  logger: Logger;
  tcpPort?: number;
  tlsPort?: number;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Something else the daemon runs beside the RPC listeners (the REST API and web UI): started
 * after the sockets are up, stopped before them. The composition root (src/bin) supplies them.
 */
export interface DaemonService {
  name: string;
  start(ctx: {
    paths: DaemonPaths;
    logger: Logger;
    http: string | undefined;
  }): Promise<{ stop(): Promise<void> }>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  services?: DaemonService[];
  /** Defaults to pino-format JSON lines on stderr (log.ts). */
  logger?: Logger;
}

export async function startDaemon(args: DaemonArgs, o: StartOptions = {}): Promise<RunningDaemon> {
  const env = o.env ?? process.env;
  const paths = daemonPaths(args.root, env, o.uid ?? process.getuid?.() ?? 1000);
  for (const d of [paths.etc, paths.lib, paths.run]) mkdirSync(d, { recursive: true, mode: 0o755 });
  let config: DaemonConfig = {};
  const configFile = args.config ?? (args.root ? join(paths.etc, "tsvirtd.conf") : undefined);
  let unknownKeys: string[] = [];
  if (configFile) {
    let text: string | null = null;
    try {
      text = readFileSync(configFile, "utf8");
    } catch (e) {
      if (args.config) throw new Error(`cannot read config file ${configFile}: ${(e as Error).message}`);
    }
    if (text !== null) ({ config, unknown: unknownKeys } = parseDaemonConfig(text, configFile));
  }
  // libvirtd's log_level: 1 debug, 2 info, 3 warning, 4 error
  const level: LogLevel = args.verbose
    ? "debug"
    : ((["info", "debug", "info", "warn", "error"] as const)[config.log_level ?? 2] ?? "info");
  const logger = o.logger ?? daemonLogger("tsvirtd", level);
  if (unknownKeys.length) logger.warn({ keys: unknownKeys }, "ignoring unknown config keys");

  const opener = createOpener(paths.system ? "qemu:///system" : "qemu:///session");
  const server = new RpcServer({
    opener,
    logger,
    keepaliveInterval: config.keepalive_interval,
    keepaliveCount: config.keepalive_count,
    maxRequests: config.max_client_requests,
    maxClients: config.max_clients,
  });
  await server.listenUnix(paths.sock, false);
  await server.listenUnix(paths.sockRo, true);
  let tcpPort: number | undefined;
  const tcp =
    args.listenTcp ??
    (config.listen_tcp
      ? { host: config.listen_addr ?? "0.0.0.0", port: Number(config.tcp_port ?? 16509) }
      : undefined);
  if (tcp) tcpPort = await server.listenTcp(tcp.host, tcp.port);
  let tlsPort: number | undefined;
  if (args.listenTls) {
    // libvirtd's key_file / cert_file / ca_file, defaulting to <etc>/pki/
    const pki = join(paths.etc, "pki");
    const creds = {
      key: readFileSync(config.key_file ?? join(pki, "serverkey.pem")),
      cert: readFileSync(config.cert_file ?? join(pki, "servercert.pem")),
      ca: readFileSync(config.ca_file ?? join(pki, "cacert.pem")),
    };
    tlsPort = await server.listenTls(args.listenTls.host, args.listenTls.port, creds);
  }
  const http = args.http ?? config.http;
  const running: { name: string; stop(): Promise<void> }[] = [];
  for (const svc of o.services ?? []) {
    running.push({ name: svc.name, ...(await svc.start({ paths, logger, http })) });
  }
  if (!o.services?.length && http && http !== "off") logger.warn({ http }, "no HTTP service in this build");

  let stopped: Promise<void> | null = null;
  return {
    paths,
    server,
    logger,
    tcpPort,
    tlsPort,
    stop(graceMs = 10000) {
      stopped ??= (async () => {
        logger.info("shutting down");
        for (const svc of running.reverse()) {
          try {
            await svc.stop();
          } catch (e) {
            logger.warn({ service: svc.name, err: (e as Error).message }, "service did not stop cleanly");
          }
        }
        await server.close(graceMs);
        await opener.closeAll();
        logger.flush();
      })();
      return stopped;
    },
  };
}
