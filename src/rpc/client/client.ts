// RpcClient: the client side of libvirt's RPC protocol over a unix or TCP socket. Calls are
// matched to replies by serial (several in flight), errors come back as VirError, event MESSAGEs
// go to listeners, and keepalive PINGs from the server are answered with PONGs.
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { type VirError, virError, ErrorCode, ErrorDomain } from "../../errors/index.js";
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
import { XdrReader } from "../xdr/index.js";

export type ClientTarget =
  | { path: string }
  | { host: string; port: number; tls?: { ca: Buffer; cert: Buffer; key: Buffer } };

interface Pending {
  def: ProcedureDef;
  resolve: (v: any) => void;
  reject: (e: VirError) => void;
}

export type MessageListener = (proc: number, body: Buffer) => void;

/** Incoming data of a read stream (VIR_NET_STREAM packets for one serial). */
class IncomingStream {
  readonly chunks: Buffer[] = [];
  done = false;
  error: VirError | null = null;
  wake: (() => void) | null = null;

  notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *iterate(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = this.chunks.shift();
      if (c) {
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
  private readonly streams = new Map<number, IncomingStream>();
  private readonly streamEnds = new Map<number, { resolve: () => void; reject: (e: VirError) => void }>();
  private serial = 1;
  private closedError: VirError | null = null;
  /** Number of PONGs received (tests observe keepalive with it). */
  pongs = 0;

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
      s.once("error", (e) =>
        reject(virError(ErrorCode.NO_CONNECT, ErrorDomain.RPC, `cannot connect: ${(e as Error).message}`)),
      );
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
    creds: { ca: Buffer; cert: Buffer; key: Buffer },
  ): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host, port, servername: host, ca: creds.ca, cert: creds.cert, key: creds.key });
      const fail = (e: Error) =>
        reject(virError(ErrorCode.NO_CONNECT, ErrorDomain.RPC, `cannot connect: ${e.message}`));
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
    const def = procedureByName(name);
    if (this.closedError) return Promise.reject(this.closedError);
    const serial = this.serial++;
    const h: MessageHeader = {
      prog: REMOTE_PROGRAM,
      vers: REMOTE_PROTOCOL_VERSION,
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

  /**
   * Calls a @readstream procedure: resolves with the data the server streams after its reply
   * (libvirt: VIR_NET_STREAM CONTINUE packets, then an empty OK).
   */
  async callReadStream(name: string, args?: unknown): Promise<AsyncIterable<Buffer>> {
    const serial = this.serial;
    const st = new IncomingStream();
    this.streams.set(serial, st);
    try {
      await this.call(name, args);
    } catch (e) {
      this.streams.delete(serial);
      throw e;
    }
    return st.iterate();
  }

  /** Calls a @writestream procedure and sends `source` as stream packets; resolves when the server confirms. */
  async callWriteStream(name: string, args: unknown, source: AsyncIterable<Uint8Array>): Promise<void> {
    const def = procedureByName(name);
    const serial = this.serial;
    const finished = new Promise<void>((resolve, reject) => this.streamEnds.set(serial, { resolve, reject }));
    finished.catch(() => {});
    try {
      await this.call(name, args);
    } catch (e) {
      this.streamEnds.delete(serial);
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
    for await (const chunk of source) {
      for (let off = 0; off < chunk.length; off += 262120) {
        const part = chunk.subarray(off, off + 262120);
        if (!this.socket.write(encodeFrame(h, (w) => w.raw(part)))) {
          await new Promise((r) => this.socket.once("drain", r));
        }
      }
    }
    this.socket.write(encodeFrame({ ...h, status: MessageStatus.OK }));
    await finished;
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

  close(): void {
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
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

  private onStream(h: MessageHeader, body: Buffer): void {
    const st = this.streams.get(h.serial);
    const end = this.streamEnds.get(h.serial);
    if (h.status === MessageStatus.CONTINUE) {
      if (st) {
        st.chunks.push(Buffer.from(body));
        st.notify();
      }
      return;
    }
    const err =
      h.status === MessageStatus.ERROR ? wireToVirError(remoteError.decode(new XdrReader(body))) : null;
    if (st) {
      this.streams.delete(h.serial);
      st.error = err;
      st.done = true;
      st.notify();
      // libvirt's virStreamFinish: confirm the end so the server can release the stream
      if (!err) this.socket.write(encodeFrame({ ...h, status: MessageStatus.OK }));
    }
    if (end) {
      this.streamEnds.delete(h.serial);
      if (err) end.reject(err);
      else end.resolve();
    }
  }

  private fail(e: VirError): void {
    if (!this.closedError) this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const st of this.streams.values()) {
      st.error = e;
      st.notify();
    }
    this.streams.clear();
    for (const end of this.streamEnds.values()) end.reject(e);
    this.streamEnds.clear();
  }
}
