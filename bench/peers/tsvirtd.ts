// Starts the built tsvirtd program (dist/bin/tsvirtd.js, as a user runs it) under a temp --root
// for benchmarks and end-to-end tests; stop() signals that one PID. Supports kill -9 + restart on
// the same root for persistence tests.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { withParentDeathSignal } from "./libvirtd.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const TSVIRTD_JS = join(REPO, "dist/bin/tsvirtd.js");

export interface TsvirtdProcess {
  root: string;
  socketPath: string;
  socketRoPath: string;
  pid: number;
  logFile: string;
  uri(driver?: "test" | "qemu", readOnly?: boolean): string;
  /** SIGTERM (or the given signal), waits for exit; SIGKILL after graceMs. Keeps the root. */
  stop(sig?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** stop() and remove the root. */
  dispose(): Promise<void>;
}

export function tsvirtdUnavailable(): string | null {
  return existsSync(TSVIRTD_JS) ? null : `${TSVIRTD_JS} missing: build with npx tsc -p .`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((done) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });
}

/**
 * The program's `#!/usr/bin/env -S [-u NAME]... node OPTIONS` line: the variables env removes and
 * the node options. The peer runs the program as its shebang would (as the installed `tsvirtd`
 * command runs), with this node binary.
 */
export function shebangCommand(file: string): { unset: string[]; nodeOptions: string[] } {
  const first = readFileSync(file, "utf8").split("\n", 1)[0]!;
  const m = /^#!\S*env -S((?: -u \w+)*) node((?: --?[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!m) return { unset: [], nodeOptions: [] };
  const words = (s: string) => s.split(" ").filter(Boolean);
  return { unset: words(m[1]!).filter((w) => w !== "-u"), nodeOptions: words(m[2]!) };
}

/** The node options of the program's shebang (shebangCommand's nodeOptions). */
export function shebangNodeOptions(file: string): string[] {
  return shebangCommand(file).nodeOptions;
}

/** This process's environment without the variables the program's shebang removes. */
export function shebangEnv(file: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of shebangCommand(file).unset) delete out[name];
  return out;
}

export interface TsvirtdOptions {
  /** Reuse this root (restart after a kill); default a fresh temp dir. */
  root?: string;
  args?: string[];
  startTimeoutMs?: number;
}

export async function startTsvirtd(o: TsvirtdOptions = {}): Promise<TsvirtdProcess> {
  const why = tsvirtdUnavailable();
  if (why) throw new Error(why);
  const root = o.root ?? mkdtempSync(join(tmpdir(), "tsvirtd-peer-"));
  const logFile = join(root, "tsvirtd.log");
  const fd = openSync(logFile, "a", 0o600);
  // setpriv execs node in place (same PID); tsvirtd gets SIGTERM if this process dies first.
  const argv = [
    ...withParentDeathSignal("TERM"),
    process.execPath,
    ...shebangNodeOptions(TSVIRTD_JS),
    TSVIRTD_JS,
    "--root",
    root,
    ...(o.args ?? []),
  ];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", fd, fd],
    env: shebangEnv(TSVIRTD_JS),
  });
  let gone = false;
  const exited = new Promise<void>((r) =>
    child.once("exit", () => {
      gone = true;
      r();
    }),
  );
  const sock = join(root, "run", "libvirt-sock");
  const deadline = Date.now() + (o.startTimeoutMs ?? 20000);
  const log = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-3000);
    } catch {
      return "";
    }
  };
  for (;;) {
    if (gone) throw new Error(`tsvirtd exited during start-up:\n${log()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`tsvirtd did not open ${sock} in time:\n${log()}`);
    }
    if (existsSync(sock) && (await canConnect(sock))) break;
    await sleep(20);
  }
  const pid = child.pid!;
  const stop = async (sig: NodeJS.Signals = "SIGTERM", graceMs = 5000) => {
    if (gone) return;
    child.kill(sig);
    if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  return {
    root,
    socketPath: sock,
    socketRoPath: join(root, "run", "libvirt-sock-ro"),
    pid,
    logFile,
    uri(driver = "test", readOnly = false) {
      const path = readOnly ? join(root, "run", "libvirt-sock-ro") : sock;
      return driver === "test" ? `test+unix:///default?socket=${path}` : `qemu+unix:///system?socket=${path}`;
    },
    stop,
    async dispose() {
      await stop();
      if (!o.root) rmSync(root, { recursive: true, force: true });
    },
  };
}
