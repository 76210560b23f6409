// Data streams of one client session (virnetprotocol.x VIR_NET_STREAM): after the call's reply,
// CONTINUE packets carry data either way (an empty one is end of data), the client's OK finishes
// and the server's OK confirms that, ERROR aborts. The driver
// slot gets a ByteStream (src/driver/types.ts): `incoming` is the client's data, `write` sends
// ours, `close` ends ours. Writes made before the call's reply is on the wire wait for it.
import type { ByteStream } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, toVirError, type VirError, virError } from "../../errors/index.js";
import { MessageStatus, MessageType, REMOTE_PROGRAM } from "../protocol/constants.js";
import { encodeFrame } from "../protocol/frame.js";
import { decodeStreamHole, writeStreamHole } from "../protocol/stream-hole.js";
import type { MessageHeader } from "../protocol/header.js";
import { StreamQueue } from "./stream-queue.js";

/** libvirt splits stream data into packets of at most this many bytes (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX). */
const STREAM_CHUNK = 262120;
/** Incoming bytes queued for a driver before the session stops reading the socket, and resumes. */
const STREAM_HIGH_WATER = 8 << 20;
const STREAM_LOW_WATER = 1 << 20;

export interface StreamIO {
  write(frame: Buffer): void;
  writeAndDrain(frame: Buffer): Promise<void>;
  sendError(h: MessageHeader, e: VirError, type: number): void;
  /** Stop / restart reading the client's socket (backpressure for incoming data). */
  pause(): void;
  resume(): void;
  readonly closed: boolean;
}

/** A stream between the call that opened it and both ends of data. */
export interface OpenedStream {
  /** What the driver slot gets. */
  stream: ByteStream;
  /** Call once the reply is sent: flushes early writes; `running` is the driver's work. */
  start(running: Promise<unknown>): void;
  /** The call failed: forget the stream. */
  cancel(): void;
}

interface ActiveStream {
  q: StreamQueue;
  /** Our end-of-data OK is sent. */
  outDone: boolean;
  /** The client's end-of-data OK has arrived. */
  clientDone: boolean;
  /** The client aborted (virStreamAbort): the driver's outcome is no longer reported. */
  aborted: boolean;
}

export class SessionStreams {
  private readonly active = new Map<number, ActiveStream>();
  private paused = false;

  constructor(private readonly io: StreamIO) {}

  get isPaused(): boolean {
    return this.paused;
  }

  open(proc: number, serial: number): OpenedStream {
    const h: MessageHeader = {
      prog: REMOTE_PROGRAM,
      vers: 1,
      proc,
      type: MessageType.STREAM,
      serial,
      status: MessageStatus.CONTINUE,
    };
    const q = new StreamQueue(STREAM_LOW_WATER, () => {
      if (this.paused && !this.io.closed) {
        this.paused = false;
        this.io.resume();
      }
    });
    const entry: ActiveStream = { q, outDone: false, clientDone: false, aborted: false };
    this.active.set(serial, entry);
    // until the reply is out, writes wait here (the driver may write as soon as it is called)
    let started: () => void = () => {};
    const replySent = new Promise<void>((r) => {
      started = r;
    });
    // virNetServerProgramSendStreamData: data → CONTINUE, end of our data → an empty CONTINUE,
    // and OK only ever confirms the client's finish (libvirt's client drops the connection on
    // any other OK).
    const end = () => {
      if (entry.outDone) return;
      entry.outDone = true;
      if (entry.clientDone) {
        this.active.delete(serial);
        this.io.write(encodeFrame({ ...h, status: MessageStatus.OK }));
      } else {
        this.io.write(encodeFrame(h));
      }
    };
    const stream: ByteStream = {
      incoming: q,
      incomingSparse: q.sparse(),
      write: async (chunk) => {
        await replySent;
        if (entry.outDone || this.io.closed) return;
        for (let off = 0; off < chunk.length; off += STREAM_CHUNK) {
          const part = chunk.subarray(off, off + STREAM_CHUNK);
          await this.io.writeAndDrain(encodeFrame(h, (w) => w.raw(part)));
        }
      },
      close: async () => {
        await replySent;
        end();
      },
      // virnetprotocol.x virNetStreamHole { hyper length; unsigned int flags; }
      writeHole: async (length) => {
        await replySent;
        if (entry.outDone || this.io.closed || length <= 0) return;
        await this.io.writeAndDrain(
          encodeFrame({ ...h, type: MessageType.STREAM_HOLE }, (w) => writeStreamHole(w, length)),
        );
      },
    };
    return {
      stream,
      start: (running) => {
        started();
        running.then(
          () => {
            // the slot is done: end our side if it did not (an upload's confirmation)
            void replySent.then(end);
            if (entry.outDone && entry.clientDone) this.active.delete(serial);
          },
          (e) => {
            this.active.delete(serial);
            entry.outDone = true;
            if (!entry.aborted) this.io.sendError(h, toVirError(e), MessageType.STREAM);
          },
        );
      },
      cancel: () => {
        q.fail(new Error("call failed"));
        this.active.delete(serial);
      },
    };
  }

  onPacket(h: MessageHeader, body: Buffer): void {
    const s = this.active.get(h.serial);
    if (h.type === MessageType.STREAM_HOLE) {
      if (!s || h.status !== MessageStatus.CONTINUE) return;
      const length = decodeStreamHole(body);
      if (length === undefined)
        s.q.fail(virError(ErrorCode.RPC, ErrorDomain.RPC, "malformed stream hole packet"));
      else s.q.pushHole(length);
      return;
    }
    if (h.status === MessageStatus.CONTINUE) {
      if (!s) return;
      s.q.push(Buffer.from(body));
      // Data faster than the driver consumes: stop reading until it catches up.
      if (s.q.buffered > STREAM_HIGH_WATER && !this.paused) {
        this.paused = true;
        this.io.pause();
      }
      return;
    }
    if (h.status !== MessageStatus.OK) {
      // VIR_NET_ERROR from the client: virStreamAbort. The driver's side is failed and the abort
      // confirmed with an empty OK stream packet, as libvirtd's daemonStreamHandleAbort does: the
      // client (virsh console on Ctrl+], python's stream.abort()) waits for that confirmation.
      if (s) {
        s.aborted = true;
        s.outDone = true;
        s.q.fail(virError(ErrorCode.OPERATION_ABORTED, ErrorDomain.STREAMS, "stream aborted by client"));
      }
      this.active.delete(h.serial);
      this.io.write(encodeFrame({ ...h, type: MessageType.STREAM, status: MessageStatus.OK }));
      return;
    }
    if (s) {
      s.clientDone = true;
      s.q.end();
    }
    // The client's virStreamFinish after our end of data (or for a stream already gone):
    // confirm with an empty OK packet, as libvirtd does. Otherwise the confirmation waits until
    // the driver is done with the client's data (uploads).
    if (!s || s.outDone) {
      this.active.delete(h.serial);
      this.io.write(encodeFrame({ ...h, type: MessageType.STREAM, status: MessageStatus.OK }));
    }
  }

  closeAll(): void {
    for (const s of this.active.values()) s.q.fail(new Error("client disconnected"));
    this.active.clear();
  }
}
