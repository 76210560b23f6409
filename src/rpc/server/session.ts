// One client connection of the RPC server: reassembles frames, runs several calls at once,
// writes replies, event messages and stream packets, answers and sends keepalive pings, and
// drops the client on framing garbage or silence. Hostile input never throws out of here.
import type { Socket } from "node:net";
import type { ByteStream } from "../../driver/index.js";
import type { Logger } from "pino";
import { ErrorCode, ErrorDomain, toVirError, VirError, virError } from "../../errors/index.js";
import {
  KEEPALIVE_PROGRAM,
  KeepaliveProc,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from "../protocol/constants.js";
import { decodeFrame, encodeFrame, encodeReply, FrameDecoder } from "../protocol/frame.js";
import type { MessageHeader } from "../protocol/header.js";
import type { ProcedureDef } from "../protocol/procedure.js";
import { remoteError, virErrorToWire } from "../protocol/remote-error.js";
import type { Codec } from "../xdr/index.js";
import type { ConnectionOpener, OpenedConnection } from "./connection-opener.js";
import {
  LXC_PROGRAM,
  LXC_PROTOCOL_VERSION,
  lxcProcedures,
  QEMU_PROGRAM,
  QEMU_PROTOCOL_VERSION,
  qemuProcedures,
} from "../protocol/qemu-program.js";
import { type DispatchContext, prepareCall } from "./dispatch.js";
import { EventRegistry } from "./events.js";
import { type OpenedStream, SessionStreams } from "./session-streams.js";

export interface SessionOptions {
  transport: "unix" | "tcp" | "tls";
  readOnly: boolean;
  opener: ConnectionOpener;
  logger: Logger;
  /** Seconds between server pings once the client asked for keepalive (libvirtd: 5). */
  keepaliveInterval: number;
  /** Unanswered intervals before the client is dropped (libvirtd: 5). */
  keepaliveCount: number;
  /** Calls in flight before the session stops reading (libvirtd max_client_requests: 5). */
  maxRequests: number;
}

/** Replies a client may leave unread before it is dropped (two maximum-size messages). */
const MAX_UNREAD_OUTPUT = 2 * 33554432;
/** Longest error text put on the wire (libvirt's own messages are a few hundred bytes). */
const MAX_ERROR_TEXT = 65536;

let nextSessionId = 1;

function clip<T extends string | null | undefined>(v: T): T {
  return (v && v.length > MAX_ERROR_TEXT ? v.slice(0, MAX_ERROR_TEXT) : v) as T;
}

export class ClientSession implements DispatchContext {
  readonly id = nextSessionId++;
  readonly transport: "unix" | "tcp" | "tls";
  readonly socketReadOnly: boolean;
  conn: OpenedConnection | null = null;
  connReadOnly = false;
  readonly events: EventRegistry;
  private readonly decoder = new FrameDecoder();
  private readonly log: Logger;
  private inflight = 0;
  private closed = false;
  private draining = false;
  /** Something arrived since the last keepalive tick (a flag: no clock read per chunk). */
  private rxSeen = false;
  /** Keepalive ticks in a row with nothing received. */
  private silentTicks = 0;
  private kaTimer: NodeJS.Timeout | null = null;
  /** Streams opened by a call whose reply is not sent yet. */
  private readonly pendingStreams = new Map<number, OpenedStream>();
  /** The driver work behind each pending stream, started once the reply is out. */
  private readonly streamWork = new Map<number, Promise<unknown>>();
  private readonly streams: SessionStreams;
  private idleWaiters: (() => void)[] = [];
  /** Calls that arrive after CONNECT_OPEN/CLOSE wait for it: pipelining clients see a consistent connection. */
  private barrier: Promise<unknown> = Promise.resolve();
  /** CONNECT_OPEN/CLOSE calls in flight (the barrier is settled when 0). */
  private barrierPending = 0;
  /** Debug logging on: per-call log records (and their timestamps) are only built then. */
  private readonly debugOn: boolean;

  constructor(
    private readonly socket: Socket,
    private readonly opts: SessionOptions,
  ) {
    this.transport = opts.transport;
    this.socketReadOnly = opts.readOnly;
    this.log = opts.logger.child({ client: this.id });
    this.debugOn = this.log.isLevelEnabled("debug");
    const self = this;
    this.streams = new SessionStreams({
      write: (f) => this.write(f),
      writeAndDrain: (f) => this.writeAndDrain(f),
      sendError: (h, e, type) => this.sendError(h, e, type),
      pause: () => this.socket.pause(),
      resume: () => this.socket.resume(),
      get closed() {
        return self.closed;
      },
    });
    this.events = new EventRegistry(
      () => {
        if (!this.conn) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, "connection not open");
        return this.conn.drivers;
      },
      { send: (proc, codec, payload) => this.sendMessage(proc, codec, payload) },
    );
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", (e) => this.log.debug({ err: e.message }, "socket error"));
    socket.on("close", () => void this.cleanup());
    this.log.info({ transport: opts.transport, readOnly: opts.readOnly }, "client connected");
  }

  async open(uri: string | null, readOnly: boolean): Promise<OpenedConnection> {
    const c = await this.opts.opener(uri, readOnly);
    if (this.closed) {
      // The client went away while its CONNECT_OPEN was being served: cleanup() found no
      // connection to release, so this one is released here (a shared test:///default is
      // otherwise held for ever).
      await c.release();
      throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, "client closed during open");
    }
    return c;
  }

  /** Called when the client asks for VIR_DRV_FEATURE_PROGRAM_KEEPALIVE (as libvirtd does). */
  startKeepalive(): void {
    if (this.kaTimer || this.opts.keepaliveInterval <= 0) return;
    const ms = this.opts.keepaliveInterval * 1000;
    // Ticks every interval: a tick after an interval with nothing received pings; `count` such
    // ticks in a row drop the client (silence of interval x count, as libvirt's virKeepAliveTimer).
    this.rxSeen = false;
    this.silentTicks = 0;
    this.kaTimer = setInterval(() => {
      if (this.rxSeen) {
        this.rxSeen = false;
        this.silentTicks = 0;
        return;
      }
      this.silentTicks++;
      if (this.silentTicks >= this.opts.keepaliveCount) {
        this.log.warn({ silentMs: this.silentTicks * ms }, "keepalive timeout, dropping client");
        this.close();
      } else {
        this.write(this.keepalive(KeepaliveProc.PING));
      }
    }, ms);
    this.kaTimer.unref();
  }

  private keepalive(proc: number): Buffer {
    return encodeFrame({
      prog: KEEPALIVE_PROGRAM,
      vers: 1,
      proc,
      type: MessageType.MESSAGE,
      serial: 0,
      status: MessageStatus.OK,
    });
  }

  private onData(chunk: Buffer): void {
    this.rxSeen = true;
    let one: Buffer | null;
    let frames: Buffer[] | null = null;
    try {
      one = this.decoder.whole(chunk);
      if (!one) frames = this.decoder.push(chunk);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "bad frame, dropping client");
      this.close();
      return;
    }
    if (one) {
      if (!this.closed) this.onFrame(one);
      return;
    }
    for (const f of frames!) {
      if (this.closed) return;
      this.onFrame(f);
    }
  }

  private onFrame(buf: Buffer): void {
    let header: MessageHeader;
    let body: Buffer;
    try {
      ({ header, body } = decodeFrame(buf));
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "bad header, dropping client");
      this.close();
      return;
    }
    if (header.prog === KEEPALIVE_PROGRAM) {
      if (header.proc === KeepaliveProc.PING) this.write(this.keepalive(KeepaliveProc.PONG));
      return;
    }
    if (header.type === MessageType.STREAM || header.type === MessageType.STREAM_HOLE) {
      this.streams.onPacket(header, body);
      return;
    }
    if (header.type !== MessageType.CALL && header.type !== MessageType.CALL_WITH_FDS) {
      this.log.debug({ type: header.type }, "ignoring unexpected message type");
      return;
    }
    const other =
      (header.prog === QEMU_PROGRAM && header.vers === QEMU_PROTOCOL_VERSION) ||
      (header.prog === LXC_PROGRAM && header.vers === LXC_PROTOCOL_VERSION);
    if (!other && (header.prog !== REMOTE_PROGRAM || header.vers !== REMOTE_PROTOCOL_VERSION)) {
      const e = virError(
        ErrorCode.RPC,
        ErrorDomain.RPC,
        `cannot find program ${header.prog} version ${header.vers}`,
      );
      this.sendError(header, e);
      return;
    }
    if (header.status !== MessageStatus.OK) {
      // virNetServerProgramDispatch: a call always carries VIR_NET_OK
      this.sendError(
        header,
        virError(ErrorCode.RPC, ErrorDomain.RPC, `Unexpected message status ${header.status}`),
      );
      return;
    }
    if (header.type === MessageType.CALL_WITH_FDS) {
      this.sendError(header, virError(ErrorCode.NO_SUPPORT, ErrorDomain.RPC, "file descriptor passing"));
      return;
    }
    if (this.draining) {
      this.sendError(
        header,
        virError(ErrorCode.OPERATION_INVALID, ErrorDomain.RPC, "daemon is shutting down"),
      );
      return;
    }
    void this.runCall(header, body);
  }

  private async runCall(h: MessageHeader, body: Buffer): Promise<void> {
    this.inflight++;
    if (this.inflight >= this.opts.maxRequests) this.socket.pause();
    const started = this.debugOn ? Date.now() : 0;
    const barrier = h.proc === 1 || h.proc === 2;
    // Only while a CONNECT_OPEN/CLOSE is in flight is there a barrier to wait for; otherwise the
    // call starts right here (an await on a settled promise would still cost a turn).
    const prior = this.barrierPending > 0 ? this.barrier : null;
    let done: (() => void) | null = null;
    if (barrier) {
      this.barrierPending++;
      this.barrier = new Promise<void>((r) => (done = r));
    }
    try {
      if (prior) await prior;
      const call =
        h.prog === REMOTE_PROGRAM
          ? prepareCall(this, h.proc, h.serial, body)
          : prepareCall(
              this,
              h.proc,
              h.serial,
              body,
              h.prog === QEMU_PROGRAM ? qemuProcedures : lxcProcedures,
            );
      // One await on the driver's promise: the ret is mapped while it is encoded (sendReply).
      const ret = call.result instanceof Promise ? await call.result : call.result;
      const def = call.def;
      this.sendReply(h, def, ret, call.direct);
      if (this.debugOn)
        this.log.debug({ proc: def.name, serial: h.serial, ms: Date.now() - started }, "call");
      if (def.stream) {
        const work = this.streamWork.get(h.serial);
        if (work) {
          this.streamWork.delete(h.serial);
          this.startStream(h.serial, work);
        }
      }
      if (def.num === 2) setImmediate(() => this.close());
    } catch (e) {
      const err = toVirError(e, ErrorDomain.RPC);
      if (!(e instanceof VirError))
        this.log.error({ err: String(e), proc: h.proc }, "driver threw a non-VirError");
      if (this.debugOn)
        this.log.debug({ proc: h.proc, serial: h.serial, code: err.code, msg: err.message }, "call failed");
      if (this.streamWork.size > 0) this.streamWork.delete(h.serial);
      if (this.pendingStreams.size > 0) {
        this.pendingStreams.get(h.serial)?.cancel();
        this.pendingStreams.delete(h.serial);
      }
      this.sendError(h, err);
    } finally {
      if (barrier) {
        this.barrierPending--;
        (done as (() => void) | null)?.();
      }
      this.inflight--;
      if (this.inflight < this.opts.maxRequests && !this.closed && !this.streams.isPaused)
        this.socket.resume();
      if (this.inflight === 0 && this.idleWaiters.length > 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    }
  }

  /** `direct`: `ret` is the driver's bare result, encoded by the entry's direct.encodeRet. */
  private sendReply(h: MessageHeader, def: ProcedureDef, ret: unknown, direct: boolean): void {
    let frame: Buffer;
    try {
      frame = encodeReply(h, MessageType.REPLY, MessageStatus.OK, direct ? def.direct!.ret : def.ret, ret);
    } catch (e) {
      this.log.error({ proc: def.name, err: (e as Error).message }, "cannot encode reply");
      this.sendError(
        h,
        virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `cannot encode reply: ${(e as Error).message}`),
      );
      return;
    }
    this.write(frame);
  }

  private sendError(h: MessageHeader, e: VirError, type: number = MessageType.REPLY): void {
    // A driver may put anything in a message; keep the reply well inside the string limit
    // (virErrorToWire's object is this reply's own: clipped in place).
    const safe = virErrorToWire(e);
    safe.message = clip(safe.message);
    safe.str1 = clip(safe.str1);
    safe.str2 = clip(safe.str2);
    safe.str3 = clip(safe.str3);
    try {
      this.write(encodeReply(h, type, MessageStatus.ERROR, remoteError, safe));
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "cannot encode error reply");
    }
  }

  private sendMessage(proc: number, codec: Codec<any>, payload: unknown): void {
    if (this.closed) return;
    try {
      const h = { prog: REMOTE_PROGRAM, vers: 1, proc, type: MessageType.MESSAGE, serial: 0, status: 0 };
      this.write(encodeFrame(h, (w) => codec.encode(w, payload)));
    } catch (e) {
      this.log.error({ proc, err: (e as Error).message }, "cannot encode event");
    }
  }

  openStream(def: ProcedureDef, serial: number): ByteStream {
    const o = this.streams.open(def.num, serial);
    this.pendingStreams.set(serial, o);
    return o.stream;
  }

  /** Dispatch hands over the driver's stream work; it starts when the call's reply is sent. */
  streamRunning(serial: number, running: Promise<unknown>): void {
    running.catch(() => {});
    this.streamWork.set(serial, running);
  }

  private startStream(serial: number, running: Promise<unknown>): void {
    const o = this.pendingStreams.get(serial);
    this.pendingStreams.delete(serial);
    o?.start(running);
  }

  private write(frame: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT) {
      // The client sends calls but does not read the replies: drop it before it eats our memory.
      this.log.warn({ buffered: this.socket.writableLength }, "client not reading replies, dropping it");
      this.socket.destroy();
      void this.cleanup();
      return;
    }
    this.socket.write(frame);
  }

  /** Writes and, when the socket's buffer is full, waits for it to drain (download streams). */
  private writeAndDrain(frame: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    if (this.socket.write(frame)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /** Stops taking new calls and resolves once the calls in flight have been answered. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    void this.cleanup();
  }

  private async cleanup(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.kaTimer) clearInterval(this.kaTimer);
    this.streams.closeAll();
    const c = this.conn;
    this.conn = null;
    try {
      await this.events.clear();
      await c?.release();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "error releasing connection");
    }
    this.log.info("client disconnected");
  }
}
