// Spawns long-lived helper processes (QEMU, dnsmasq) with output to a log fd, and waits for
// them to become reachable. It never kills anything it was not handed a pid for.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import net from "node:net";

export interface SpawnedProcess {
  pid: number;
  /** Absent for a process found again by pid (after a daemon restart): we are not its parent. */
  child?: ChildProcess;
  /** Resolves when the process exits (code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the exit event has been seen. */
  running(): boolean;
}

export interface SpawnOptions {
  /** Appends stdout and stderr to this file (created 0600 if missing). */
  logPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group, so a signal to the daemon's group does not reach the guest. Default true. */
  detached?: boolean;
}

/** Starts `argv[0]` with the rest as arguments. Rejects if the binary cannot be executed. */
export async function spawnProcess(argv: string[], opts: SpawnOptions = {}): Promise<SpawnedProcess> {
  const logFd = opts.logPath !== undefined ? openSync(opts.logPath, "a", 0o600) : undefined;
  const out = logFd ?? "ignore";
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", out, out],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      detached: opts.detached ?? true,
    });
  } finally {
    // The child holds its own copy of the fd.
    if (logFd !== undefined) closeSync(logFd);
  }
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (e) => {
      alive = false;
      reject(e);
    });
  });
  return { pid: child.pid!, child, exited, running: () => alive };
}

/** True if a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface WaitSocketOptions {
  timeoutMs: number;
  /** Stop waiting as soon as this returns false (the process died). */
  alive?: () => boolean;
  intervalMs?: number;
}

/** Polls until a unix socket accepts a connection; the probe connection is closed again. */
export async function waitForSocket(path: string, o: WaitSocketOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.alive && !o.alive()) throw new Error(`process exited before ${path} was ready`);
    if (await canConnect(path)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${path}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 20));
  }
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Watches a process we did not start (found again through its pidfile): `exited` resolves once
 * the pid is gone. Exit code and signal are unknown to a non-parent, so both are null.
 */
export function watchPid(pid: number, intervalMs = 100): SpawnedProcess {
  let alive = pidAlive(pid) && !isZombie(pid);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (!alive) return resolve({ code: null, signal: null });
    const timer = setInterval(() => {
      if (pidAlive(pid) && !isZombie(pid)) return;
      alive = false;
      clearInterval(timer);
      resolve({ code: null, signal: null });
    }, intervalMs);
  });
  return { pid, exited, running: () => alive };
}

/** True if /proc says the process has exited but is not reaped yet (state Z). */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}
