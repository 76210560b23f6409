// Runs one QEMU process for one domain: log with header, pidfile and QMP socket, monitor
// connection, start or stay paused, and notices exit at once. On failure nothing is left running.
import { EventEmitter } from "node:events";
import { appendFileSync, mkdirSync, openSync, readSync, closeSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { killPid, readPidfile } from "../../host/kill.js";
import { type SpawnedProcess, spawnProcess, waitForSocket } from "../../host/spawn.js";
import { logHeader } from "./log-header.js";
import { type QmpEvent, QmpClient } from "./monitor/qmp-client.js";

/** Where a domain's runtime files live (libvirt: /var/log/libvirt/qemu, /run/libvirt/qemu). */
export interface QemuPaths {
  log: string;
  pidfile: string;
  monitor: string;
  /** Live state kept by the driver so a restarted daemon can find the guest again. */
  status: string;
}

export function qemuPaths(libDir: string, runDir: string, name: string): QemuPaths {
  return {
    log: join(libDir, "qemu", "log", `${name}.log`),
    pidfile: join(runDir, "qemu", `${name}.pid`),
    monitor: join(runDir, "qemu", `${name}.monitor`),
    status: join(runDir, "qemu", `${name}.status.json`),
  };
}

/** sun_path holds 108 bytes including the NUL (unix(7)). */
const MAX_SOCKET_PATH = 107;

export interface StartOptions {
  name: string;
  /** Full argv from buildQemuCommand; must contain -S and the QMP chardev on paths.monitor. */
  argv: string[];
  paths: QemuPaths;
  /** Leave the vCPUs stopped after start (virsh start --paused). */
  paused?: boolean;
  /** Budget for QEMU to open its monitor. */
  startTimeoutMs?: number;
  /** Per-command monitor timeout. */
  monitorTimeoutMs?: number;
  qemuVersion?: string;
  tsvirtVersion?: string;
  env?: [string, string][];
  /** Runs while the vCPUs are still stopped (-S), e.g. to plug taps into bridges. */
  beforeCont?: (qp: QemuProcess) => Promise<void>;
}

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Reason from QEMU's SHUTDOWN event if one came (guest-shutdown, host-qmp-quit, host-signal, ...). */
  shutdownReason?: string;
  /** True if we asked for it (destroy). */
  requested: boolean;
}

/**
 * A running QEMU. Events: "event" (QmpEvent, forwarded from the monitor) and "exit" (QemuExit),
 * emitted once when the process ends for any reason, after its socket and pidfile are removed.
 */
export class QemuProcess extends EventEmitter {
  private shutdownReason: string | undefined;
  private destroying = false;
  readonly exited: Promise<QemuExit>;

  constructor(
    readonly name: string,
    readonly proc: SpawnedProcess,
    readonly monitor: QmpClient,
    readonly paths: QemuPaths,
  ) {
    super();
    monitor.on("event", (e: QmpEvent) => {
      if (e.event === "SHUTDOWN" && typeof e.data?.reason === "string") this.shutdownReason = e.data.reason;
      this.emit("event", e);
    });
    this.exited = proc.exited.then(({ code, signal }) => {
      monitor.close();
      cleanupRuntime(paths);
      const ex: QemuExit = { code, signal, shutdownReason: this.shutdownReason, requested: this.destroying };
      this.emit("exit", ex);
      return ex;
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  running(): boolean {
    return this.proc.running();
  }

  /** Asks the guest to power off (ACPI power button), as virsh shutdown does. */
  async powerdown(): Promise<void> {
    await this.monitor.execute("system_powerdown");
  }

  /** Kills QEMU (SIGTERM, then SIGKILL) and waits until it is gone and cleaned up. */
  async destroy(graceMs = 3000): Promise<QemuExit> {
    this.destroying = true;
    await killPid(this.pid, { graceMs, exited: this.proc.exited });
    return this.exited;
  }
}

export function cleanupRuntime(paths: QemuPaths): void {
  rmSync(paths.monitor, { force: true });
  rmSync(paths.pidfile, { force: true });
  rmSync(paths.status, { force: true });
}

/** Reads what QEMU wrote to its log after `offset` (its own error text), bounded in size. */
function readLogTail(path: string, offset: number, max = 8192): string {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const start = Math.max(offset, size - max);
    const buf = Buffer.alloc(size - start);
    fd = openSync(path, "r");
    readSync(fd, buf, 0, buf.length, start);
    // Like libvirt's qemuProcessReadLog, drop the pty notices that are not errors.
    return buf
      .toString("utf8")
      .split("\n")
      .filter((l) => !l.startsWith("char device redirected to"))
      .join("\n")
      .trim();
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Starts QEMU and returns once the monitor is connected and the guest runs (or stays paused). */
export async function startQemu(o: StartOptions): Promise<QemuProcess> {
  const { paths } = o;
  if (Buffer.byteLength(paths.monitor) > MAX_SOCKET_PATH) {
    throw virError(
      ErrorCode.INTERNAL_ERROR,
      ErrorDomain.QEMU,
      `monitor socket path '${paths.monitor}' is too long`,
    );
  }
  mkdirSync(join(paths.log, ".."), { recursive: true, mode: 0o700 });
  mkdirSync(join(paths.monitor, ".."), { recursive: true, mode: 0o700 });
  mkdirSync(join(paths.pidfile, ".."), { recursive: true, mode: 0o700 });
  cleanupRuntime(paths);
  const env = o.env ?? [["LC_ALL", "C"]];
  appendFileSync(
    paths.log,
    logHeader(new Date(), { tsvirt: o.tsvirtVersion ?? "0.1.0", qemu: o.qemuVersion }, env, o.argv),
    { mode: 0o600 },
  );
  const logOffset = statSync(paths.log).size;
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [k, v] of env) childEnv[k] = v;

  let proc: SpawnedProcess;
  try {
    proc = await spawnProcess(o.argv, { logPath: paths.log, env: childEnv });
  } catch (e) {
    cleanupRuntime(paths);
    throw virError(
      ErrorCode.INTERNAL_ERROR,
      ErrorDomain.QEMU,
      `failed to start ${o.argv[0]}: ${(e as Error).message}`,
    );
  }
  let monitor: QmpClient | undefined;
  try {
    const timeoutMs = o.startTimeoutMs ?? 30_000;
    try {
      await waitForSocket(paths.monitor, { timeoutMs, alive: proc.running });
      monitor = await QmpClient.connect(paths.monitor, {
        timeoutMs: o.monitorTimeoutMs ?? 30_000,
        connectTimeoutMs: timeoutMs,
      });
    } catch (e) {
      // QEMU may be exiting right now (it can open the socket and then fail on a later option).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([proc.exited, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      if (!proc.running()) {
        // libvirt: "internal error: process exited while connecting to monitor: <QEMU's stderr>"
        const text = readLogTail(paths.log, logOffset);
        const { code, signal } = await proc.exited;
        const how = signal ? `killed by ${signal}` : `exit status ${code}`;
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          ErrorDomain.QEMU,
          `process exited while connecting to monitor: ${text || `(no output; ${how})`}`,
        );
      }
      throw e instanceof VirError
        ? e
        : virError(
            ErrorCode.OPERATION_TIMEOUT,
            ErrorDomain.QEMU,
            `QEMU did not open its monitor: ${(e as Error).message}`,
          );
    }
    const pid = readPidfile(paths.pidfile);
    if (pid !== undefined && pid !== proc.pid) {
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.QEMU,
        `pidfile holds ${pid}, expected ${proc.pid}`,
      );
    }
    const qp = new QemuProcess(o.name, proc, monitor, paths);
    if (o.beforeCont) await o.beforeCont(qp);
    if (!o.paused) await monitor.execute("cont");
    return qp;
  } catch (e) {
    monitor?.close();
    await killPid(proc.pid, { graceMs: 1000, exited: proc.exited });
    await proc.exited;
    cleanupRuntime(paths);
    throw e;
  }
}
