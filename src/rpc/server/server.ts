// RpcServer: the listeners (unix sockets read-write / read-only, TCP) that hand each accepted
// connection to a ClientSession, and an orderly shutdown that lets calls in flight finish.
import { chmodSync, existsSync, renameSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Server as TlsServer } from "node:tls";
import type { Logger } from "pino";
import type { ConnectionOpener } from "./connection-opener.js";
import { ClientSession, type SessionOptions } from "./session.js";

/** True when something accepts connections on the unix socket at `path` (a live daemon). */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export interface RpcServerOptions {
  opener: ConnectionOpener;
  logger: Logger;
  keepaliveInterval?: number;
  keepaliveCount?: number;
  maxRequests?: number;
  /** Refuse clients beyond this many (libvirtd max_clients: 5000). */
  maxClients?: number;
}

export class RpcServer {
  private readonly listeners: { server: Server | TlsServer; path?: string }[] = [];
  private readonly sessions = new Set<ClientSession>();

  constructor(private readonly opts: RpcServerOptions) {}

  get clientCount(): number {
    return this.sessions.size;
  }

  private accept(socket: Socket, transport: "unix" | "tcp" | "tls", readOnly: boolean): void {
    if (this.sessions.size >= (this.opts.maxClients ?? 5000)) {
      this.opts.logger.warn("too many clients, refusing connection");
      socket.destroy();
      return;
    }
    const o: SessionOptions = {
      transport,
      readOnly,
      opener: this.opts.opener,
      logger: this.opts.logger,
      keepaliveInterval: this.opts.keepaliveInterval ?? 5,
      keepaliveCount: this.opts.keepaliveCount ?? 5,
      maxRequests: this.opts.maxRequests ?? 16,
    };
    const s = new ClientSession(socket, o);
    this.sessions.add(s);
    socket.on("close", () => this.sessions.delete(s));
  }

  /** Listens on a unix socket (a stale socket file is replaced), mode 0666 rw or 0777 ro as libvirtd. */
  async listenUnix(path: string, readOnly: boolean): Promise<void> {
    if (existsSync(path)) {
      if (await socketAlive(path)) throw new Error(`another daemon is already listening on ${path}`);
      unlinkSync(path);
    }
    const server = createServer((sock) => this.accept(sock, "unix", readOnly));
    server.on("error", (e) => this.opts.logger.error({ path, err: e.message }, "listener error"));
    // Bound and listening under a temporary name, then renamed into place: a client that sees the
    // socket file can connect (between bind() and listen() a connect is refused; a client polling
    // for the file met that window once in CI).
    // (one byte longer than the path: unix socket names are limited to 107 bytes)
    const tmp = `${path}~`;
    if (existsSync(tmp)) unlinkSync(tmp); // left by a daemon killed right here
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(tmp, () => {
        server.off("error", reject);
        resolve();
      });
    });
    try {
      chmodSync(tmp, readOnly ? 0o777 : 0o700);
      renameSync(tmp, path);
    } catch (e) {
      server.close();
      throw e;
    }
    this.listeners.push({ server, path });
    this.opts.logger.info({ path, readOnly }, "listening on unix socket");
  }

  /** Listens on TCP (no TLS, auth none: loopback and tests only). Returns the bound port. */
  async listenTcp(host: string, port: number): Promise<number> {
    const server = createServer((sock) => this.accept(sock, "tcp", false));
    server.on("error", (e) => this.opts.logger.error({ host, port, err: e.message }, "listener error"));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    const bound = typeof addr === "object" && addr ? addr.port : port;
    this.listeners.push({ server });
    this.opts.logger.info({ host, port: bound }, "listening on tcp");
    return bound;
  }

  /**
   * Listens for TLS clients (libvirt's 16514): x509 both ways, as libvirtd's default
   * tls_no_verify_certificate=0. After the handshake the server confirms with one 0x01 byte,
   * which libvirt's client waits for before its first call (virNetClientSetTLSSession).
   */
  async listenTls(
    host: string,
    port: number,
    creds: { key: Buffer; cert: Buffer; ca: Buffer },
  ): Promise<number> {
    // node:tls is loaded only here: a daemon without a TLS listener (the default) saves its
    // modules, ~2 MiB resident (measured on node 20: a bare process 43.3 -> 45.6 MiB on import).
    const { createServer: createTlsServer } = await import("node:tls");
    const server = createTlsServer(
      { key: creds.key, cert: creds.cert, ca: creds.ca, requestCert: true, rejectUnauthorized: true },
      (sock) => {
        sock.write(Buffer.from([1]));
        this.accept(sock, "tls", false);
      },
    );
    server.on("tlsClientError", (e) => this.opts.logger.warn({ err: e.message }, "TLS handshake failed"));
    server.on("error", (e) => this.opts.logger.error({ host, port, err: e.message }, "listener error"));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    const bound = typeof addr === "object" && addr ? addr.port : port;
    this.listeners.push({ server });
    this.opts.logger.info({ host, port: bound }, "listening on tls");
    return bound;
  }

  /** Stops listening, lets every call in flight finish (up to `graceMs`), then closes clients. */
  async close(graceMs = 10000): Promise<void> {
    for (const l of this.listeners) l.server.close();
    const sessions = [...this.sessions];
    const drained = Promise.all(sessions.map((s) => s.drain()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    if (timer) clearTimeout(timer);
    for (const s of sessions) s.close();
    for (const l of this.listeners) {
      if (l.path && existsSync(l.path)) {
        try {
          unlinkSync(l.path);
        } catch {
          // already gone
        }
      }
    }
    this.listeners.length = 0;
  }
}
