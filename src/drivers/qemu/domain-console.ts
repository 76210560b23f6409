// virDomainOpenConsole for the QEMU driver: joins a guest's serial/console chardev (a pty QEMU
// made, or a unix socket it listens on) to the client's RPC byte stream, one session per device.
import { constants, openSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import net from "node:net";
import type { ChrDef } from "../../conf/domain/index.js";
import type { ByteStream } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr } from "../../xml/index.js";
import { checkFlags, notRunning, type QemuDomain } from "./domain-obj.js";

/** virDomainConsoleFlags: FORCE takes over a session, SAFE asks for exclusive access. */
export const VIR_DOMAIN_CONSOLE_FORCE = 1;
export const VIR_DOMAIN_CONSOLE_SAFE = 2;

/** Open console sessions by "<uuid>/<chardev id>": closing one ends its pump. */
const sessions = new Map<string, () => void>();

interface ConsoleTarget {
  chr: ChrDef;
  /** QEMU's chardev id (charserialN, charconsoleN) as command-chardev.ts names them. */
  chardev: string;
  alias: string;
}

function targetAttr(c: ChrDef, k: string): string | undefined {
  return c.target?.attrs.find(([n]) => n === k)?.[1];
}

/** The device a console name refers to: libvirt matches aliases; no name is the first console. */
export function consoleTarget(d: QemuDomain, devName: string | null): ConsoleTarget | undefined {
  const dev = d.def.devices;
  const all: ConsoleTarget[] = [];
  dev.consoles.forEach((c, i) => {
    if ((targetAttr(c, "type") ?? "serial") === "serial") {
      // A serial-type console is the same chardev as serial <port>.
      const port = Number(targetAttr(c, "port") ?? 0);
      const s = dev.serials[port] ?? dev.serials[0];
      if (s) all.push({ chr: s, chardev: `charserial${dev.serials.indexOf(s)}`, alias: `console${i}` });
    } else all.push({ chr: c, chardev: `charconsole${i}`, alias: `console${i}` });
  });
  dev.serials.forEach((s, i) => {
    all.push({ chr: s, chardev: `charserial${i}`, alias: `serial${i}` });
  });
  if (devName === null) return all[0];
  return all.find((t) => t.alias === devName || t.alias === devName.replace(/^ua-/, ""));
}

/** A duplex connection to the chardev's host side. */
interface HostEnd {
  onData(fn: (b: Buffer) => void): void;
  onEnd(fn: () => void): void;
  write(b: Uint8Array): Promise<void>;
  close(): void;
}

async function openPty(path: string): Promise<HostEnd> {
  // QEMU made the pty raw (cfmakeraw on its side); read through a tty handle, write through a
  // second descriptor so the two directions do not share one libuv handle.
  const rfd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  // node:tty is loaded here, not with the driver: ~1 MiB of the daemon's memory otherwise.
  const { ReadStream } = await import("node:tty");
  const rd = new ReadStream(rfd);
  const wr = await openFile(path, constants.O_WRONLY | constants.O_NOCTTY);
  let closed = false;
  return {
    onData: (fn) => rd.on("data", fn),
    onEnd: (fn) => {
      rd.on("end", fn);
      rd.on("error", fn); // EIO when QEMU closes its side
      rd.on("close", fn);
    },
    write: async (b) => {
      if (!closed) await wr.write(b);
    },
    close: () => {
      if (closed) return;
      closed = true;
      rd.destroy();
      void wr.close().catch(() => {});
    },
  };
}

function openUnix(path: string): Promise<HostEnd> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once("error", reject);
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve({
        onData: (fn) => s.on("data", fn),
        onEnd: (fn) => {
          s.on("close", fn);
          s.on("error", fn);
        },
        write: (b) => new Promise((res) => s.write(b, () => res())),
        close: () => s.destroy(),
      });
    });
  });
}

async function hostEnd(d: QemuDomain, t: ConsoleTarget): Promise<HostEnd> {
  const src = t.chr.children.find((e) => e.name === "source");
  if (t.chr.type === "unix" && src && (attr(src, "mode") ?? "bind") === "bind") {
    const p = attr(src, "path");
    if (p) return openUnix(p);
  }
  if (t.chr.type === "pty") {
    const list = await d.proc!.monitor.execute<{ label: string; filename: string }[]>("query-chardev");
    const fn = list.find((c) => c.label === t.chardev)?.filename ?? "";
    if (fn.startsWith("pty:")) return openPty(fn.slice(4));
  }
  // libvirt: qemuDomainOpenConsole refuses anything that is not a PTY (unix sockets added here).
  throw virError(
    ErrorCode.OPERATION_UNSUPPORTED,
    ErrorDomain.QEMU,
    `character device ${t.alias} is not using a PTY`,
  );
}

/** Opens the console and pumps bytes both ways until the client, QEMU or a FORCE takeover ends it. */
export async function openConsole(
  d: QemuDomain,
  devName: string | null,
  stream: ByteStream,
  flags: number,
): Promise<void> {
  checkFlags(flags, VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE, "qemuDomainOpenConsole");
  if (!d.proc) throw notRunning();
  const t = consoleTarget(d, devName);
  if (!t) {
    throw virError(
      ErrorCode.INTERNAL_ERROR,
      ErrorDomain.QEMU,
      `cannot find character device ${devName ?? "<null>"}`,
    );
  }
  const key = `${d.uuid}/${t.chardev}`;
  const old = sessions.get(key);
  if (old) {
    if ((flags & VIR_DOMAIN_CONSOLE_FORCE) === 0) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        "Active console session exists for this domain",
      );
    }
    old();
  }
  const end = await hostEnd(d, t);
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  let over = false;
  const stop = () => {
    if (over) return;
    over = true;
    if (sessions.get(key) === stop) sessions.delete(key);
    end.close();
    void stream.close().catch(() => {});
    finish();
  };
  sessions.set(key, stop);
  // Guest → client; the RPC layer queues, so writes are not awaited one by one here.
  end.onData((b) => {
    if (!over) stream.write(b).catch(stop);
  });
  end.onEnd(stop);
  d.proc.once("exit", stop);
  // Client → guest, until the client finishes or aborts its stream.
  void (async () => {
    try {
      for await (const chunk of stream.incoming) {
        if (over) break;
        await end.write(chunk);
      }
    } catch {}
    stop();
  })();
  await done;
}
