// Ends one process by pid: SIGTERM, then SIGKILL after a grace period (as virProcessKillPainfully).
// Callers pass only pids they started or read from their own pidfile.
import { readFileSync } from "node:fs";
import { pidAlive } from "./spawn.js";

export interface KillOptions {
  /** Time to wait after SIGTERM before SIGKILL. */
  graceMs?: number;
  /** Time to wait after SIGKILL before giving up. */
  killWaitMs?: number;
  /** Resolves when the process has exited, if the caller is its parent (faster than polling). */
  exited?: Promise<unknown>;
}

/** Returns true once the process is gone, false if it survived SIGKILL (e.g. stuck in D state). */
export async function killPid(pid: number, o: KillOptions = {}): Promise<boolean> {
  if (!signal(pid, "SIGTERM")) return true;
  if (await waitGone(pid, o.graceMs ?? 3000, o.exited)) return true;
  if (!signal(pid, "SIGKILL")) return true;
  return waitGone(pid, o.killWaitMs ?? 5000, o.exited);
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}

async function waitGone(pid: number, ms: number, exited?: Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + ms;
  let done = false;
  void exited?.then(() => {
    done = true;
  });
  while (Date.now() < deadline) {
    // A child we own is a zombie until reaped, so trust its exit event over signal 0.
    if (done || (!exited && !pidAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return done || (!exited && !pidAlive(pid));
}

/** Reads a pidfile written by QEMU's -pidfile (decimal pid and a newline); undefined if absent or bad. */
export function readPidfile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  if (text.length > 32) return undefined;
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}
