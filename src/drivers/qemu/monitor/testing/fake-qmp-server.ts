// A fake QMP server that replays replies recorded from real QEMU (tests/data/qmp/*.json, made by
// scripts/oracle/qemu-record-qmp.ts). It implements the wire protocol, not our client's internals.
import { readFileSync } from "node:fs";
import net from "node:net";

export interface QmpTranscript {
  greeting: Record<string, unknown>;
  exchanges: {
    command: { execute: string; arguments?: Record<string, unknown> };
    reply: Record<string, unknown>;
    events: Record<string, unknown>[];
  }[];
}

export interface FakeQmpBehaviour {
  /** Commands that never get a reply (to test timeouts). */
  silent?: Set<string>;
  /** Commands after which the server drops the connection instead of replying. */
  hangUpOn?: Set<string>;
  /** Delay in ms before each reply. */
  replyDelayMs?: number;
}

export function loadTranscript(path: string): QmpTranscript {
  return JSON.parse(readFileSync(path, "utf8")) as QmpTranscript;
}

export class FakeQmpServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Every command received, in order (execute + arguments), for assertions. */
  readonly received: { execute: string; arguments?: unknown }[] = [];

  constructor(
    private readonly transcript: QmpTranscript,
    readonly behaviour: FakeQmpBehaviour = {},
  ) {
    this.server = net.createServer((s) => this.onConnection(s));
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(path, () => resolve());
    });
  }

  /** Writes raw bytes to every connected client (hostile-input tests). */
  sendRaw(data: string | Buffer): void {
    for (const s of this.sockets) s.write(data);
  }

  /** Sends an event to every connected client. */
  sendEvent(event: string, data?: Record<string, unknown>): void {
    const now = Date.now();
    const ts = { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
    this.sendRaw(`${JSON.stringify({ event, data, timestamp: ts })}\r\n`);
  }

  /** Drops every client connection (as a crashing QEMU would). */
  dropClients(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(s: net.Socket): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
    let negotiated = false;
    let buf = "";
    s.write(`${JSON.stringify(this.transcript.greeting)}\r\n`);
    s.on("data", (d) => {
      buf += d.toString("utf8");
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line) continue;
        let msg: { execute?: string; arguments?: Record<string, unknown>; id?: unknown };
        try {
          msg = JSON.parse(line);
        } catch {
          s.write(`${JSON.stringify({ error: { class: "GenericError", desc: "JSON parse error" } })}\r\n`);
          continue;
        }
        const execute = String(msg.execute);
        this.received.push({ execute, arguments: msg.arguments });
        if (!negotiated && execute !== "qmp_capabilities") {
          // QEMU's own answer before negotiation (monitor/qmp.c).
          this.reply(s, msg.id, {
            error: {
              class: "CommandNotFound",
              desc: "Expecting capabilities negotiation with 'qmp_capabilities'",
            },
          });
          continue;
        }
        if (execute === "qmp_capabilities") negotiated = true;
        if (this.behaviour.silent?.has(execute)) continue;
        if (this.behaviour.hangUpOn?.has(execute)) {
          s.destroy();
          return;
        }
        const ex = this.find(execute, msg.arguments);
        if (!ex) {
          this.reply(s, msg.id, {
            error: { class: "CommandNotFound", desc: `The command ${execute} has not been found` },
          });
          continue;
        }
        this.reply(s, msg.id, ex.reply, ex.events, execute === "quit");
      }
    });
  }

  private reply(
    s: net.Socket,
    id: unknown,
    body: Record<string, unknown>,
    events: Record<string, unknown>[] = [],
    hangUp = false,
  ): void {
    const send = () => {
      if (s.destroyed) return;
      const out = id === undefined ? { ...body } : { ...body, id };
      s.write(`${JSON.stringify(out)}\r\n`);
      for (const e of events) s.write(`${JSON.stringify(e)}\r\n`);
      if (hangUp) s.end();
    };
    if (this.behaviour.replyDelayMs) setTimeout(send, this.behaviour.replyDelayMs);
    else send();
  }

  private find(execute: string, args: Record<string, unknown> | undefined) {
    const key = JSON.stringify(args ?? null);
    const same = this.transcript.exchanges.filter((e) => e.command.execute === execute);
    return same.find((e) => JSON.stringify(e.command.arguments ?? null) === key) ?? same[0];
  }
}
