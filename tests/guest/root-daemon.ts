// tsvirtd from the source tree on one --root, for tests that stop and restart it around the same
// guests (kill -9, SIGTERM, reconnect), and real virsh as their client.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function haveVirsh(): boolean {
  try {
    execFileSync("virsh", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

export interface VirshResult {
  out: string;
  err: string;
  code: number;
}

/**
 * Real virsh, C locale: its stdout, stderr and exit status. A call still running after two minutes
 * is killed and says so in its stderr, so that a hang names its command instead of ending the
 * whole test at its timeout.
 */
export function virsh(uri: string, args: string[]): Promise<VirshResult> {
  return new Promise((resolve) => {
    const opts = { env: { ...process.env, LC_ALL: "C" }, timeout: 120_000, killSignal: "SIGKILL" as const };
    execFile("virsh", ["-c", uri, ...args], opts, (e, stdout, stderr) => {
      const killed =
        e && (e as { killed?: boolean }).killed ? `virsh ${args.join(" ")}: no answer in 120 s\n` : "";
      resolve({ out: stdout, err: stderr + killed, code: e ? ((e as { code?: number }).code ?? 1) : 0 });
    });
  });
}

export class RootDaemon {
  readonly sock: string;
  /** qemu:///system as root, qemu:///session otherwise, on this root's socket. */
  readonly uri: string;
  readonly children: ChildProcess[] = [];

  constructor(readonly root: string) {
    this.sock = join(root, "run", "libvirt-sock");
    this.uri = `qemu+unix:///${process.getuid?.() === 0 ? "system" : "session"}?socket=${this.sock}`;
  }

  /** Starts a daemon and waits until it answers (a test:/// call: it does not load the QEMU driver). */
  async start(): Promise<ChildProcess> {
    const d = spawn(
      process.execPath,
      ["--import", "tsx", "src/bin/tsvirtd.ts", "--root", this.root, "--http", "off"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    this.children.push(d);
    d.stderr!.resume();
    // The read-only socket is created last; a previous daemon's stale one is replaced.
    for (let i = 0; i < 400; i++) {
      if (
        existsSync(`${this.sock}-ro`) &&
        (await virsh(`test+unix:///default?socket=${this.sock}`, ["uri"])).code === 0
      )
        return d;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("tsvirtd did not come up");
  }

  /** Stops every daemon still running (SIGTERM) and waits for each to exit. */
  async stopAll(): Promise<void> {
    for (const d of this.children) {
      if (d.exitCode !== null || d.signalCode !== null) continue;
      d.kill("SIGTERM");
      await new Promise((r) => d.once("exit", r));
    }
  }

  /** For after(): SIGKILL the named guests' QEMUs (by pidfile) and every daemon still running. */
  killAll(guests: string[] = []): void {
    for (const name of guests) {
      const pidfile = join(this.root, "run", "qemu", `${name}.pid`);
      if (!existsSync(pidfile)) continue;
      try {
        process.kill(Number(readFileSync(pidfile, "utf8").trim()), "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const d of this.children) if (d.exitCode === null && d.signalCode === null) d.kill("SIGKILL");
  }
}
