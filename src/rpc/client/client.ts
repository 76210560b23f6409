// RpcClient: the client side of libvirt's RPC protocol over a unix or TCP socket. Calls are
// matched to replies by serial (several in flight), errors come back as VirError, event MESSAGEs
// go to listeners, and keepalive PINGs from the server are answered with PONGs.
import { connect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import {
  KEEPALIVE_PROGRAM,
  KeepaliveProc,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from "../protocol/constants.js";
import { decodeFrame, encodeFrame, FrameDecoder } from "../protocol/frame.js";
import type { MessageHeader } from "../protocol/header.js";
import type { ProcedureDef } from "../protocol/procedure.js";
import { procedureByName } from "../protocol/program.js";
import { remoteError, wireToVirError } from "../protocol/remote-error.js";
import { decodeStreamHole } from "../protocol/stream-hole.js";
import { errnoText, strerror } from "../../util/strerror.js";
import { XdrReader } from "../xdr/index.js";

export type ClientTarget =
  | { path: string }
  | { host: string; port: number; tls?: { ca: Buffer; cert?: Buffer; key?: Buffer } };

interface Pending {
  def: ProcedureDef;
  resolve: (v: any) => void;
  reject: (e: VirError) => void;
}

export type MessageListener = (proc: number, body: Buffer) => void;

/** One open stream: what has ended on which side, and who waits for the end. */
interface StreamState {
  incoming?: IncomingStream;
  weFinished: boolean;
  theyFinished: boolean;
  resolve: () => void;
  reject: (e: VirError) => void;
  ended: Promise<void>;
}

/** Zero bytes a hole turns into for a consumer that takes no holes, per chunk. */
const HOLE_FILL_CHUNK = 256 * 1024;

/** Incoming data of a read stream (VIR_NET_STREAM packets for one serial; numbers are holes). */
class IncomingStream {
  readonly chunks: (Buffer | number)[] = [];
  done = false;
  error: VirError | null = null;
  wake: (() => void) | null = null;

  notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The data with holes as zeros. */
  async *iterate(): AsyncGenerator<Buffer> {
    for await (const c of this.iterateSparse()) {
      if (typeof c !== "number") yield c;
      else
        for (let left = c; left > 0; left -= HOLE_FILL_CHUNK)
          yield Buffer.alloc(Math.min(left, HOLE_FILL_CHUNK));
    }
  }

  /** The data, and holes as their lengths (VIR_NET_STREAM_HOLE of a sparse stream). */
  async *iterateSparse(): AsyncGenerator<Buffer | number> {
    for (;;) {
      const c = this.chunks.shift();
      if (c !== undefined) {
        yield c;
        continue;
      }
      if (this.error) throw this.error;
      if (this.done) return;
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
  }
}

export class RpcClient {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<MessageListener>();
  private readonly streams = new Map<number, StreamState>();
  private serial = 1;
  private closedError: VirError | null = null;
  /** Number of PONGs received (tests observe keepalive with it). */
  pongs = 0;
  private lastRx = Date.now();
  private kaTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (c) => this.onData(c));
    socket.on("close", () =>
      this.fail(virError(ErrorCode.RPC, ErrorDomain.RPC, "connection closed by server")),
    );
    socket.on("error", (e) => this.fail(virError(ErrorCode.RPC, ErrorDomain.RPC, e.message)));
  }

  static connect(target: ClientTarget): Promise<RpcClient> {
    if ("host" in target && target.tls) return RpcClient.connectTls(target.host, target.port, target.tls);
    return new Promise((resolve, reject) => {
      const s = "path" in target ? connect(target.path) : connect(target.port, target.host);
      // virNetSocketNewConnectUNIX / virNetSocketNewConnectTCP: virReportSystemError in the RPC domain.
      const what =
        "path" in target
          ? `Failed to connect socket to '${target.path}'`
          : `unable to connect to server at '${target.host}:${target.port}'`;
      s.once("error", (e) => reject(connectError(what, e)));
      s.once("connect", () => {
        s.removeAllListeners("error");
        resolve(new RpcClient(s));
      });
    });
  }

  /** A unix socket (libvirt counts those as secure). */
  get isLocal(): boolean {
    return this.socket.remoteAddress === undefined;
  }

  /**
   * TLS with a client certificate; the server's one-byte 0x01 confirmation (libvirt's
   * virNetClientSetTLSSession) must arrive before the first call.
   */
  private static connectTls(
    host: string,
    port: number,
    creds: { ca: Buffer; cert?: Buffer; key?: Buffer },
  ): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      // SNI carries host names only (RFC 6066 §3; Node warns about an IP address there)
      const servername = isIP(host) ? undefined : host;
      const s = tlsConnect({ host, port, servername, ca: creds.ca, cert: creds.cert, key: creds.key });
      const fail = (e: Error) =>
        reject(
          errnoText((e as NodeJS.ErrnoException).code) !== undefined
            ? connectError(`unable to connect to server at '${host}:${port}'`, e)
            : virError(ErrorCode.NO_CONNECT, ErrorDomain.RPC, `cannot connect: ${e.message}`),
        );
      s.once("error", fail);
      s.once("secureConnect", () => {
        s.once("readable", () => {
          const b = s.read(1) as Buffer | null;
          s.removeListener("error", fail);
          if (b?.[0] !== 1) {
            s.destroy();
            reject(virError(ErrorCode.RPC, ErrorDomain.RPC, "server verification of our certificate failed"));
            return;
          }
          resolve(new RpcClient(s));
        });
      });
    });
  }

  get isOpen(): boolean {
    return this.closedError === null;
  }

  /** Calls REMOTE_PROC_<name> with args; resolves with the decoded ret struct. */
  call<T = any>(name: string, args?: unknown): Promise<T> {
    return this.callProgram(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, procedureByName(name), args);
  }

  /** Calls procedure `def` of another program (libvirt-qemu's QEMU_PROGRAM) with args. */
  callProgram<T = any>(prog: number, vers: number, def: ProcedureDef, args?: unknown): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const serial = this.serial++;
    const h: MessageHeader = {
      prog,
      vers,
      proc: def.num,
      type: MessageType.CALL,
      serial,
      status: MessageStatus.OK,
    };
    const frame = encodeFrame(h, (w) => def.args.encode(w, args));
    return new Promise<T>((resolve, reject) => {
      this.pending.set(serial, { def, resolve, reject });
      this.socket.write(frame);
    });
  }

  /** Registers the stream of the next call (its serial), then makes the call. */
  private async startStream(name: string, args: unknown, incoming: boolean) {
    const def = procedureByName(name);
    const serial = this.serial;
    let resolve!: () => void;
    let reject!: (e: VirError) => void;
    const ended = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    ended.catch(() => {});
    const st: StreamState = {
      incoming: incoming ? new IncomingStream() : undefined,
      weFinished: false,
      theyFinished: false,
      resolve,
      reject,
      ended,
    };
    this.streams.set(serial, st);
    let reply: any;
    try {
      reply = await this.call(name, args);
    } catch (e) {
      this.streams.delete(serial);
      throw e;
    }
    const h: MessageHeader = {
      prog: REMOTE_PROGRAM,
      vers: REMOTE_PROTOCOL_VERSION,
      proc: def.num,
      type: MessageType.STREAM,
      serial,
      status: MessageStatus.CONTINUE,
    };
    return { st, h, reply };
  }

  private async sendData(h: MessageHeader, chunk: Uint8Array): Promise<void> {
    for (let off = 0; off < chunk.length; off += 262120) {
      const part = chunk.subarray(off, off + 262120);
      if (!this.socket.write(encodeFrame(h, (w) => w.raw(part)))) {
        await new Promise((r) => this.socket.once("drain", r));
      }
    }
  }

  /** virStreamFinish: our end of data; resolves when the server has confirmed. */
  private finish(st: StreamState, h: MessageHeader): Promise<void> {
    if (!st.weFinished) {
      st.weFinished = true;
      this.socket.write(encodeFrame({ ...h, status: MessageStatus.OK }));
    }
    return st.ended;
  }

  /**
   * Calls a @readstream procedure: resolves with the data the server streams after its reply
   * (libvirt: VIR_NET_STREAM CONTINUE packets, then an empty OK).
   */
  async callReadStream(name: string, args?: unknown): Promise<AsyncIterable<Buffer>> {
    const { st } = await this.startStream(name, args, true);
    return st.incoming!.iterate();
  }

  /** Calls a @writestream procedure and sends `source` as stream packets; resolves when the server confirms. */
  async callWriteStream(name: string, args: unknown, source: AsyncIterable<Uint8Array>): Promise<void> {
    const { st, h } = await this.startStream(name, args, false);
    for await (const chunk of source) await this.sendData(h, chunk);
    await this.finish(st, h);
  }

  /**
   * Calls a stream procedure and keeps both directions open (virsh console): `incoming` yields
   * the server's data, `send` writes ours, `finish` ends ours and waits for the server's end.
   */
  async openStream(
    name: string,
    args: unknown,
  ): Promise<{
    /** The call's own reply (a screenshot's mime type). */
    reply: any;
    incoming: AsyncIterable<Buffer>;
    /** The same data with holes as their lengths (use one of the two). */
    incomingSparse: AsyncIterable<Buffer | number>;
    send(b: Uint8Array): Promise<void>;
    finish(): Promise<void>;
  }> {
    const { st, h, reply } = await this.startStream(name, args, true);
    return {
      reply,
      incoming: st.incoming!.iterate(),
      incomingSparse: st.incoming!.iterateSparse(),
      send: (b) => this.sendData(h, b),
      finish: () => this.finish(st, h),
    };
  }

  /** Sends raw bytes (tests of hostile input). */
  writeRaw(b: Buffer): void {
    this.socket.write(b);
  }

  ping(): void {
    this.socket.write(
      encodeFrame({
        prog: KEEPALIVE_PROGRAM,
        vers: 1,
        proc: KeepaliveProc.PING,
        type: MessageType.MESSAGE,
        serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  onMessage(l: MessageListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Client keepalive (virConnectSetKeepAlive): after `intervalSec` of silence from the server a
   * PING goes out; after `count` such intervals without any data the connection is closed.
   */
  startKeepalive(intervalSec = 5, count = 5): void {
    if (this.kaTimer || intervalSec <= 0) return;
    const ms = intervalSec * 1000;
    this.kaTimer = setInterval(() => {
      const silent = Date.now() - this.lastRx;
      if (silent >= ms * count) {
        this.fail(virError(ErrorCode.RPC, ErrorDomain.RPC, "connection closed due to keepalive timeout"));
        this.socket.destroy();
      } else if (silent >= ms) {
        this.ping();
      }
    }, ms);
    this.kaTimer.unref();
  }

  close(): void {
    if (this.kaTimer) clearInterval(this.kaTimer);
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(e as VirError);
      this.socket.destroy();
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(buf: Buffer): void {
    const { header: h, body } = decodeFrame(buf);
    if (h.prog === KEEPALIVE_PROGRAM) {
      if (h.proc === KeepaliveProc.PING) {
        this.socket.write(encodeFrame({ ...h, proc: KeepaliveProc.PONG }));
      } else if (h.proc === KeepaliveProc.PONG) {
        this.pongs++;
      }
      return;
    }
    if (h.type === MessageType.STREAM) {
      this.onStream(h, body);
      return;
    }
    if (h.type === MessageType.STREAM_HOLE) {
      this.onHole(h, body);
      return;
    }
    if (h.type === MessageType.MESSAGE) {
      for (const l of this.listeners) l(h.proc, body);
      return;
    }
    if (h.type !== MessageType.REPLY) return;
    const p = this.pending.get(h.serial);
    if (!p) return;
    this.pending.delete(h.serial);
    try {
      if (h.status === MessageStatus.OK) p.resolve(p.def.ret.decode(new XdrReader(body)));
      else p.reject(wireToVirError(remoteError.decode(new XdrReader(body))));
    } catch (e) {
      p.reject(e as VirError);
    }
  }

  /** virNetStreamHole { hyper length; unsigned int flags; } of a sparse download. */
  private onHole(h: MessageHeader, body: Buffer): void {
    const st = this.streams.get(h.serial);
    if (!st?.incoming || h.status !== MessageStatus.CONTINUE) return;
    const length = decodeStreamHole(body);
    if (length === undefined) {
      st.incoming.error = virError(ErrorCode.RPC, ErrorDomain.RPC, "malformed stream hole packet");
    } else {
      st.incoming.chunks.push(length);
    }
    st.incoming.notify();
  }

  private onStream(h: MessageHeader, body: Buffer): void {
    const st = this.streams.get(h.serial);
    if (!st) return;
    if (h.status === MessageStatus.CONTINUE && body.length > 0) {
      st.incoming?.chunks.push(Buffer.from(body));
      st.incoming?.notify();
      return;
    }
    if (h.status === MessageStatus.CONTINUE) {
      // an empty CONTINUE is the server's end of data (virNetServerProgramSendStreamData)
      st.theyFinished = true;
      if (st.incoming) {
        st.incoming.done = true;
        st.incoming.notify();
      }
      // virStreamFinish, as libvirt's client does once it has read everything
      if (!st.weFinished) {
        st.weFinished = true;
        this.socket.write(encodeFrame({ ...h, status: MessageStatus.OK }));
      }
      return;
    }
    if (h.status === MessageStatus.ERROR) {
      const err = wireToVirError(remoteError.decode(new XdrReader(body)));
      this.streams.delete(h.serial);
      if (st.incoming) {
        st.incoming.error = err;
        st.incoming.notify();
      }
      st.reject(err);
      return;
    }
    // OK: the confirmation of our finish
    this.streams.delete(h.serial);
    if (st.incoming) {
      st.incoming.done = true;
      st.incoming.notify();
    }
    st.resolve();
  }

  private fail(e: VirError): void {
    if (this.kaTimer) clearInterval(this.kaTimer);
    if (!this.closedError) this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const st of this.streams.values()) {
      if (st.incoming) {
        st.incoming.error = e;
        st.incoming.notify();
      }
      st.reject(e);
    }
    this.streams.clear();
  }
}

/** virReportSystemError(errno, what): VIR_ERR_SYSTEM_ERROR "<what>: <strerror>" (no prefix). */
function connectError(what: string, e: unknown): VirError {
  return new VirError({
    code: ErrorCode.SYSTEM_ERROR,
    domain: ErrorDomain.RPC,
    message: `${what}: ${strerror(e)}`,
  });
}
