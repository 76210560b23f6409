// Our own QMP client (qapi/qmp-spec): greeting, capability negotiation, id-matched commands,
// asynchronous events. One instance owns one unix socket to one QEMU process.
import { EventEmitter } from "node:events";
import net from "node:net";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../../errors/index.js";
import { DEFAULT_MAX_LINE, LineDecoder, LineTooLongError } from "./line-decoder.js";
import { monitorEofError, monitorProtocolError, monitorTimeoutError, qmpCommandError } from "./qmp-errors.js";

/** QMP greeting: `{"QMP":{"version":{...},"capabilities":[...]}}`. */
export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** An asynchronous QMP event. `timestamp` is QEMU's wall clock (seconds, microseconds). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpClientOptions {
  /** Default per-command timeout in ms (0 = none). */
  timeoutMs?: number;
  /** Max bytes in one line from QEMU. */
  maxLine?: number;
  /** How long to wait for the socket to accept and the greeting to arrive. */
  connectTimeoutMs?: number;
}

interface Pending {
  command: string;
  /** Resolve with the whole reply (error replies included), not its `return`. */
  whole?: boolean;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Events emitted: "event" (QmpEvent) for every QMP event, and "close" (Error | undefined)
 * once when the connection ends (with the reason if it was an error).
 */
export class QmpClient extends EventEmitter {
  private readonly decoder: LineDecoder;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;
  private closeReason: VirError | undefined;
  greeting: QmpGreeting | undefined;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    private readonly sock: net.Socket,
    private readonly opts: QmpClientOptions,
  ) {
    super();
    this.decoder = new LineDecoder(opts.maxLine ?? DEFAULT_MAX_LINE);
    sock.on("data", (chunk: Buffer) => this.onData(chunk));
    sock.on("error", (e: NodeJS.ErrnoException) => {
      // A peer that vanished (QEMU exited or was killed) is end-of-file, not a protocol fault.
      if (e.code === "ECONNRESET" || e.code === "EPIPE") this.shutdown(monitorEofError());
      else this.shutdown(monitorProtocolError(`QEMU monitor socket error: ${e.message}`));
    });
    sock.on("close", () => this.shutdown(monitorEofError()));
  }

  /** Connects, reads the greeting and negotiates capabilities (leaving QMP in command mode). */
  static async connect(path: string, opts: QmpClientOptions = {}): Promise<QmpClient> {
    const client = await QmpClient.open(path, opts);
    try {
      await client.execute("qmp_capabilities");
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** Connects and waits for the greeting only (tests of negotiation use this). */
  static open(path: string, opts: QmpClientOptions = {}): Promise<QmpClient> {
    const connectTimeout = opts.connectTimeoutMs ?? 10_000;
    return new Promise<QmpClient>((resolve, reject) => {
      const sock = net.createConnection({ path });
      const client = new QmpClient(sock, opts);
      const timer = setTimeout(() => {
        client.close();
        reject(
          virError(
            ErrorCode.OPERATION_TIMEOUT,
            ErrorDomain.QEMU,
            `no QMP greeting on ${path} within ${connectTimeout} ms`,
          ),
        );
      }, connectTimeout);
      client.greetingWaiter = {
        resolve: (g) => {
          clearTimeout(timer);
          resolve(client);
          void g;
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs one QMP command and resolves with its `return` value. Rejects with QmpCommandError on a QMP
   * error reply, OPERATION_TIMEOUT after the timeout, and "End of file from qemu monitor" if the
   * connection ends first.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    if (this.closed) return Promise.reject(this.closeReason ?? monitorEofError());
    const id = `tsvirt-${this.nextId++}`;
    const msg: Record<string, unknown> = { execute: command };
    if (args !== undefined) msg.arguments = args;
    msg.id = id;
    const limit = timeoutMs ?? this.opts.timeoutMs ?? 0;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { command, resolve: resolve as (v: unknown) => void, reject };
      if (limit > 0) {
        p.timer = setTimeout(() => {
          // A late reply for this id is dropped by onMessage (unknown id).
          this.pending.delete(id);
          reject(monitorTimeoutError(command, limit));
        }, limit);
      }
      this.pending.set(id, p);
      this.sock.write(`${JSON.stringify(msg)}\r\n`);
    });
  }

  /**
   * Sends a command object a client gave (virDomainQemuMonitorCommand) with an id of ours added,
   * and resolves with QEMU's whole reply, `error` replies included.
   */
  passthrough(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(this.closeReason ?? monitorEofError());
    const id = `tsvirt-${this.nextId++}`;
    const command = typeof cmd.execute === "string" ? cmd.execute : "";
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, whole: true, resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(`${JSON.stringify({ ...cmd, id })}\r\n`);
    });
  }

  /** Closes the connection; pending commands are rejected with end-of-file. */
  close(): void {
    this.sock.destroy();
    this.shutdown(monitorEofError());
  }

  /** Resolves once the connection has ended. */
  waitClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.once("close", () => resolve()));
  }

  private onData(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.decoder.push(chunk);
    } catch (e) {
      if (e instanceof LineTooLongError) {
        this.sock.destroy();
        this.shutdown(monitorProtocolError(e.message));
        return;
      }
      throw e;
    }
    for (const line of lines) {
      if (this.closed) return;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch (e) {
        this.sock.destroy();
        this.shutdown(
          monitorProtocolError(`cannot parse json ${line.slice(0, 200)}: ${(e as Error).message}`),
        );
        return;
      }
      this.onMessage(msg);
    }
  }

  private onMessage(msg: unknown): void {
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      this.sock.destroy();
      this.shutdown(monitorProtocolError("QEMU monitor sent a message that is not a JSON object"));
      return;
    }
    const m = msg as Record<string, unknown>;
    if ("QMP" in m) {
      this.greeting = m.QMP as QmpGreeting;
      const w = this.greetingWaiter;
      this.greetingWaiter = undefined;
      w?.resolve(this.greeting);
      return;
    }
    if (typeof m.event === "string") {
      this.emit("event", m as unknown as QmpEvent);
      return;
    }
    if ("return" in m || "error" in m) {
      const id = typeof m.id === "string" ? m.id : undefined;
      const p = id !== undefined ? this.pending.get(id) : undefined;
      if (!p || id === undefined) return; // reply to a timed-out command, or not ours
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      if (p.whole) p.resolve(m);
      else if ("error" in m) p.reject(qmpCommandError(p.command, m.error));
      else p.resolve(m.return);
    }
    // Anything else is unknown to qmp-spec and ignored, as QEMU clients must.
  }

  private shutdown(reason: VirError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    const w = this.greetingWaiter;
    this.greetingWaiter = undefined;
    w?.reject(reason);
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(reason);
    }
    this.emit("close", reason);
  }
}
