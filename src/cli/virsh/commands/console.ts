// console (tools/virsh-domain.c cmdConsole, tools/virsh-console.c): the guest console passed
// through to the terminal in raw mode; the escape character (^] unless -e says otherwise) leaves.
import process from "node:process";
import type { Domain } from "../../../api/index.js";
import type { ByteStream } from "../../../driver/index.js";
import { ErrorDomain } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { type Ctl, lookupDomain } from "../lookup.js";
import { optBool, optString } from "../options.js";

type H = Handler<Ctl>;

/** VIR_DOMAIN_CONSOLE_FORCE, VIR_DOMAIN_CONSOLE_SAFE. */
const CONSOLE_FORCE = 1;
const CONSOLE_SAFE = 2;
/** VIR_DOMAIN_SHUTOFF. */
const SHUTOFF = 5;

/** The terminal the console runs on: stdin (raw mode) and stdout. Tests may hand in a pty's. */
export interface ConsoleTerminal {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
}

let terminal: ConsoleTerminal | null = null;
export function setConsoleTerminal(t: ConsoleTerminal | null): void {
  terminal = t;
}

/** virshConsoleEscapeChar: "^X" is the control character for X, anything else its first byte. */
function escapeByte(esc: string): number {
  if (esc.length === 2 && esc[0] === "^") return esc.charCodeAt(1) & 0x1f;
  return esc.charCodeAt(0);
}

async function runConsole(ctl: Ctl, dom: Domain, devname: string | null, flags: number): Promise<boolean> {
  let state: number;
  try {
    state = (await dom.getState(0)).state;
  } catch (e) {
    throw new CmdFailure("Unable to get domain status", e);
  }
  if (state === SHUTOFF) throw new CmdFailure("The domain is not running");
  const term = terminal ?? { input: process.stdin, output: process.stdout };
  if (!term.input.isTTY) throw new CmdFailure("Cannot run interactive console without a controlling TTY");
  ctl.printExtra(`Connected to domain '${dom.name}'\n`);
  ctl.printExtra(`Escape character is ${ctl.escapeChar}`);
  if (ctl.escapeChar[0] === "^") ctl.printExtra(` (Ctrl + ${ctl.escapeChar[1]})`);
  ctl.printExtra("\n");

  const esc = escapeByte(ctl.escapeChar);
  const input = term.input;
  const wasRaw = input.isRaw;
  // What the user types, until the escape character (checked at the start of each read, as
  // virConsoleEventOnStdin does) or the end of the terminal's input.
  const queue: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = () => wake?.();
  const onData = (chunk: Buffer) => {
    if (ended) return;
    if (chunk.length > 0 && chunk[0] === esc) ended = true;
    else queue.push(new Uint8Array(chunk));
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  async function* typed(): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (ended) {
        // an empty last chunk: the remote driver then finishes the stream even when nothing
        // was typed (sends no packet for it; a local driver writes nothing)
        yield new Uint8Array(0);
        return;
      }
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = null;
    }
  }
  const stream: ByteStream = {
    incoming: typed(),
    write: async (chunk) => {
      await new Promise<void>((r) => {
        if (term.output.write(chunk)) r();
        else term.output.once("drain", () => r());
      });
    },
    close: async () => {
      // the guest side ended (domain stopped, console taken over): leave as on the escape key
      ended = true;
      wake?.();
    },
  };
  try {
    input.setRawMode(true);
    input.on("data", onData);
    input.on("end", onEnd);
    input.resume();
    const c = dom.conn;
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainOpenConsole");
    const open = c.hv("domainOpenConsole", "virDomainOpenConsole");
    await open(dom.ref, devname, stream, flags);
  } finally {
    ended = true;
    poke();
    input.off("data", onData);
    input.off("end", onEnd);
    input.pause();
    try {
      input.setRawMode(wasRaw);
    } catch {}
  }
  return true;
}

const consoleCmd: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const devname = optString(cmd, "devname") ?? null;
  let flags = 0;
  if (optBool(cmd, "force")) flags |= CONSOLE_FORCE;
  if (optBool(cmd, "safe")) flags |= CONSOLE_SAFE;
  return runConsole(ctl, dom, devname, flags);
};

export const consoleHandlers: Record<string, H> = {
  console: consoleCmd,
};
