// Data streams of one client session (virnetprotocol.x VIR_NET_STREAM): after the call's reply,
// CONTINUE packets carry data either way, an empty OK ends a direction, ERROR aborts. The driver
// slot gets the incoming data as an AsyncIterable (its last argument) and may return one for the
// outgoing data — downloads return, uploads consume, consoles do both.
import { ErrorCode, ErrorDomain, toVirError, type VirError, virError } from "../../errors/index.js";
import { MessageStatus, MessageType } from "../protocol/constants.js";
import { encodeFrame } from "../protocol/frame.js";
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

interface ActiveStream {
  q: StreamQueue;
  /** We have sent our end-of-data OK and wait for the client's. */
  outDone: boolean;
  /** The client has sent its end-of-data OK. */
  clientDone: boolean;
}

export class SessionStreams {
  private readonly active = new Map<number, ActiveStream>();
  private paused = false;

  constructor(private readonly io: StreamIO) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** Registers the stream of a call; the returned starter runs once the call's reply is sent. */
  prepare(
    proc: number,
    serial: number,
    run: (incoming: AsyncIterable<Uint8Array>) => Promise<unknown>,
  ): () => void {
    const h: MessageHeader = {
      prog: 0x20008086,
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
    const entry: ActiveStream = { q, outDone: false, clientDone: false };
    this.active.set(serial, entry);
    return () => {
      void (async () => {
        try {
          const out = await run(q);
          if (out && typeof (out as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
            for await (const chunk of out as AsyncIterable<Uint8Array>) {
              for (let off = 0; off < chunk.length && !this.io.closed; off += STREAM_CHUNK) {
                const part = chunk.subarray(off, off + STREAM_CHUNK);
                await this.io.writeAndDrain(encodeFrame(h, (w) => w.raw(part)));
              }
            }
            entry.outDone = true;
            // after the client's own finish, this OK is also the answer to it
            if (entry.clientDone) this.active.delete(serial);
            this.io.write(encodeFrame({ ...h, status: MessageStatus.OK }));
          } else {
            // the driver consumed the incoming data to its end: confirm the client's finish
            this.active.delete(serial);
            this.io.write(encodeFrame({ ...h, status: MessageStatus.OK }));
          }
        } catch (e) {
          this.active.delete(serial);
          this.io.sendError(h, toVirError(e), MessageType.STREAM);
        }
      })();
    };
  }

  /** Forgets a prepared stream whose call failed. */
  cancel(serial: number): void {
    this.active.get(serial)?.q.fail(new Error("call failed"));
    this.active.delete(serial);
  }

  onPacket(h: MessageHeader, body: Buffer): void {
    const s = this.active.get(h.serial);
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
      // VIR_NET_ERROR from the client: virStreamAbort
      s?.q.fail(virError(ErrorCode.OPERATION_ABORTED, ErrorDomain.STREAMS, "stream aborted by client"));
      this.active.delete(h.serial);
      return;
    }
    if (s) {
      s.clientDone = true;
      s.q.end();
    }
    // The client's virStreamFinish after our end of data (or for a stream we already closed):
    // confirm with an empty OK packet, as libvirtd does.
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
