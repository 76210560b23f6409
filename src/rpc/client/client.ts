// RpcClient: the client side of libvirt's RPC protocol over a unix or TCP socket. Calls are
// matched to replies by serial (several in flight), errors come back as VirError, event MESSAGEs
// go to listeners, and keepalive PINGs from the server are answered with PONGs.
import { connect, type Socket } from "node:net";
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

export type ClientTarget = { path: string } | { host: string; port: number };

interface Pending {
  def: ProcedureDef;
  resolve: (v: any) => void;
  reject: (e: VirError) => void;
}

export type MessageListener = (proc: number, body: Buffer) => void;

export class RpcClient {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<MessageListener>();
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

  private fail(e: VirError): void {
    if (!this.closedError) this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
