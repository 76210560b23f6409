// Records real QMP traffic from qemu-system-x86_64 (-machine none) into tests/data/qmp/<name>.json,
// so the fake QMP server replays what QEMU really says. Run: node --import tsx scripts/oracle/qemu-record-qmp.ts
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const binary = process.env.QEMU ?? "/usr/bin/qemu-system-x86_64";
const out = process.argv[2] ?? "tests/data/qmp/qemu-7.2-x86_64-machine-none.json";

/** Commands recorded, in order. Arguments are part of the match key of the fake server. */
const commands: { execute: string; arguments?: Record<string, unknown> }[] = [
  { execute: "query-version" },
  { execute: "query-status" },
  { execute: "query-kvm" },
  { execute: "query-machines" },
  { execute: "query-cpu-definitions" },
  { execute: "query-command-line-options", arguments: { option: "sandbox" } },
  { execute: "query-commands" },
  { execute: "qom-list-types", arguments: { implements: "device", abstract: false } },
  { execute: "query-name" },
  { execute: "no-such-command" },
  { execute: "query-cpus-fast" },
  { execute: "stop" },
  { execute: "cont" },
  { execute: "system_powerdown" },
  { execute: "quit" },
];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "qmp-rec-"));
  const sockPath = join(dir, "qmp.sock");
  const child = spawn(
    binary,
    [
      "-machine",
      "none,accel=tcg",
      "-nodefaults",
      "-nographic",
      "-S",
      "-qmp",
      `unix:${sockPath},server=on,wait=on`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  try {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        const s = await connect(sockPath);
        const rec = await record(s);
        writeFileSync(
          out,
          `${JSON.stringify({ binary, recordedWith: "qemu-record-qmp.ts", ...rec }, null, 1)}\n`,
        );
        console.log(`wrote ${out}`);
        return;
      } catch (e) {
        if (
          (e as NodeJS.ErrnoException).code !== "ENOENT" &&
          (e as NodeJS.ErrnoException).code !== "ECONNREFUSED"
        )
          throw e;
      }
    }
    throw new Error("QEMU did not open its QMP socket");
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

async function record(s: net.Socket): Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  let buf = "";
  let ended = false;
  s.on("data", (d) => {
    buf += d.toString("utf8");
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) queue.push(JSON.parse(line));
      nl = buf.indexOf("\n");
    }
    wake?.();
  });
  s.on("close", () => {
    ended = true;
    wake?.();
  });
  const next = async (): Promise<Record<string, unknown> | undefined> => {
    while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
    return queue.shift();
  };
  const greeting = await next();
  const exchanges: unknown[] = [];
  const all = [{ execute: "qmp_capabilities" }, ...commands];
  for (let i = 0; i < all.length; i++) {
    const cmd = all[i]!;
    s.write(`${JSON.stringify({ ...cmd, id: i })}\r\n`);
    const events: unknown[] = [];
    let reply: Record<string, unknown> | undefined;
    for (;;) {
      const m = await next();
      if (!m) break;
      if ("event" in m) events.push(m);
      else {
        reply = m;
        break;
      }
    }
    // Give QEMU a moment to emit events caused by the command (STOP, RESUME, SHUTDOWN...).
    await new Promise((r) => setTimeout(r, 150));
    while (queue.length > 0 && "event" in queue[0]!) events.push(queue.shift());
    if (reply) delete reply.id;
    exchanges.push({ command: cmd, reply, events });
  }
  s.destroy();
  return { greeting, exchanges };
}

await main();
