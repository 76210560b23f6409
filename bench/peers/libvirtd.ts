// Starts a private real libvirtd 9.0 (Debian's /usr/sbin/libvirtd) as a benchmark and
// differential peer: its own sockets, config and state, never the host's.
//
// A privileged libvirtd keeps state in fixed system paths (/run/libvirt, /var/lib/libvirt,
// /var/cache/libvirt, /etc/libvirt; no config key or environment variable moves them), so it runs
// in its own mount namespace where private directories are bound over those paths, in its own PID
// namespace (it is PID 1 there: when it exits the kernel ends any QEMU it started), and by default
// in its own network namespace (its network and nwfilter drivers cannot touch the host's
// interfaces or firewall). Its unix sockets live in a directory of the shared /tmp, so clients
// outside reach them as test+unix:///default?socket=… or qemu+unix:///system?socket=….
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  libvirtdConf,
  namespaceScript,
  type PeerLayout,
  peerLayout,
  qemuConf,
  withQemuAccount,
} from "./libvirtd-config.js";

export const LIBVIRTD = "/usr/sbin/libvirtd";

export interface LibvirtdPeer {
  /** Read-write socket: `${sockDir}/libvirt-sock`. */
  socketPath: string;
  socketRoPath: string;
  /** libvirtd's PID as the host sees it (for /proc/PID/status). */
  pid: number;
  layout: PeerLayout;
  /** `test+unix:///default?socket=…` or `qemu+unix:///system?socket=…`. */
  uri(driver?: "test" | "qemu", readOnly?: boolean): string;
  /** Sends one signal (e.g. SIGKILL for crash tests) and waits for exit; keeps every file. */
  kill(sig: NodeJS.Signals): Promise<void>;
  /** SIGTERM to libvirtd's PID, SIGKILL after the grace period; removes the temp root. */
  stop(graceMs?: number): Promise<void>;
}

export interface LibvirtdOptions {
  binary?: string;
  /** Temp root to use (created if missing); default a fresh mkdtemp under os.tmpdir(). */
  root?: string;
  /** Reuse a cache dir across runs (QEMU capabilities probing costs ~8 s on first qemu:// use). */
  cacheDir?: string;
  /** Own network namespace (default true). */
  privateNetwork?: boolean;
  /** Extra lines for libvirtd.conf / qemu.conf. */
  libvirtdConf?: string;
  qemuConf?: string;
  /** How long to wait for the socket (default 20 s). */
  startTimeoutMs?: number;
  /** Keep the temp root after stop (for reading the log). */
  keepRoot?: boolean;
}

/** Why the peer cannot run here, or null when it can. */
export function libvirtdUnavailable(binary = LIBVIRTD): string | null {
  if (!existsSync(binary)) return `${binary} is not installed (Debian package libvirt-daemon)`;
  if (process.getuid?.() !== 0) return "the private libvirtd needs root (mount namespaces)";
  try {
    execFileSync("unshare", ["--mount", "--pid", "--fork", "--net", "--propagation", "private", "true"], {
      stdio: "ignore",
    });
  } catch {
    return "unshare cannot create mount/pid/net namespaces here";
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** The first child of `parent`, from the kernel's children list. */
function childPid(parent: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim();
    const first = Number.parseInt(text.split(/\s+/)[0] ?? "", 10);
    return Number.isInteger(first) && first > 1 ? first : undefined;
  } catch {
    return undefined;
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function prepare(l: PeerLayout, o: LibvirtdOptions): void {
  for (const d of [l.sockDir, l.etc, l.run, l.lib, l.cache, l.log])
    mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileSync(join(l.etc, "libvirtd.conf"), libvirtdConf(l.sockDir, o.libvirtdConf));
  writeFileSync(join(l.etc, "qemu.conf"), qemuConf(o.qemuConf));
  // The client config of the host (/etc/libvirt/libvirt.conf) stays visible to libvirtd's own
  // client code paths; copy it so the bind over /etc/libvirt does not hide it.
  for (const f of ["libvirt.conf", "libvirt-admin.conf"]) {
    const src = join("/etc/libvirt", f);
    if (existsSync(src)) writeFileSync(join(l.etc, f), readFileSync(src));
  }
  const acc = withQemuAccount(readFileSync("/etc/passwd", "utf8"), readFileSync("/etc/group", "utf8"));
  writeFileSync(l.passwd, acc.passwd, { mode: 0o644 });
  writeFileSync(l.group, acc.group, { mode: 0o644 });
}

/** Starts the peer and resolves once its read-write socket accepts connections. */
export async function startLibvirtd(o: LibvirtdOptions = {}): Promise<LibvirtdPeer> {
  const binary = o.binary ?? LIBVIRTD;
  const why = libvirtdUnavailable(binary);
  if (why) throw new Error(why);
  const root = o.root ?? mkdtempSync(join(tmpdir(), "libvirtd-peer-"));
  const l = peerLayout(root, o.cacheDir);
  prepare(l, o);
  // --kill-child: if unshare dies, libvirtd (and with it the namespace) gets SIGKILL.
  const nsFlags = [
    "--mount",
    "--pid",
    "--fork",
    "--kill-child=SIGKILL",
    "--mount-proc",
    "--propagation",
    "private",
  ];
  if (o.privateNetwork ?? true) nsFlags.push("--net");
  const logFd = openSync(l.logFile, "a", 0o600);
  // setpriv --pdeathsig: if this process dies without stop() (a test killed on timeout), unshare
  // gets SIGKILL and takes libvirtd with it, so no peer outlives its run.
  const argv = [
    ...withParentDeathSignal("KILL"),
    "unshare",
    ...nsFlags,
    "--",
    "/bin/sh",
    "-c",
    namespaceScript(l, binary),
  ];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", logFd, logFd],
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const sock = join(l.sockDir, "libvirt-sock");
  const deadline = Date.now() + (o.startTimeoutMs ?? 20000);
  let pid: number | undefined;
  try {
    for (;;) {
      if (gone) throw new Error(`libvirtd exited during start-up; log:\n${readLog(l)}`);
      if (Date.now() > deadline)
        throw new Error(`libvirtd did not open ${sock} in time; log:\n${readLog(l)}`);
      // unshare → sh (PID 1 of the namespace) → libvirtd. The shell's first child is a mount or
      // mkdir while it sets up the namespace: only a child named libvirtd is kept.
      if (pid === undefined) {
        const sh = childPid(child.pid!);
        const cand = sh === undefined ? undefined : childPid(sh);
        if (cand !== undefined && comm(cand) === "libvirtd") pid = cand;
      }
      if (pid !== undefined && existsSync(sock) && (await canConnect(sock))) break;
      await sleep(25);
    }
  } catch (e) {
    if (pid !== undefined) signal(pid, "SIGKILL");
    else if (child.pid) signal(child.pid, "SIGKILL");
    await Promise.race([exited, sleep(2000)]);
    if (!o.keepRoot && !o.root) rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const libvirtdPid = pid;
  let stopping: Promise<void> | null = null;
  return {
    socketPath: sock,
    socketRoPath: join(l.sockDir, "libvirt-sock-ro"),
    pid: libvirtdPid,
    layout: l,
    uri(driver = "test", readOnly = false) {
      const path = readOnly ? join(l.sockDir, "libvirt-sock-ro") : sock;
      return driver === "test" ? `test+unix:///default?socket=${path}` : `qemu+unix:///system?socket=${path}`;
    },
    async kill(sig) {
      signal(libvirtdPid, sig);
      await Promise.race([exited, sleep(10000)]);
    },
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        // Only ever this PID: libvirtd; its shell (PID 1 of the namespace) and the namespace follow.
        signal(libvirtdPid, "SIGTERM");
        if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) {
          signal(libvirtdPid, "SIGKILL");
          await Promise.race([exited, sleep(5000)]);
        }
        if (!o.keepRoot) {
          // The cache dir may be shared by later runs; the rest is ours.
          for (const d of [l.sockDir, l.etc, l.run, l.lib, l.log])
            rmSync(d, { recursive: true, force: true });
          if (!o.cacheDir) rmSync(l.cache, { recursive: true, force: true });
          if (!o.root) rmSync(root, { recursive: true, force: true });
        }
      })();
      return stopping;
    },
  };
}

/** `setpriv --pdeathsig SIG` as a command prefix where util-linux's setpriv exists, else nothing. */
export function withParentDeathSignal(sig: string): string[] {
  return existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", sig] : [];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function readLog(l: PeerLayout): string {
  try {
    return readFileSync(l.logFile, "utf8").slice(-4000);
  } catch {
    return "(no log)";
  }
}

/** Resident set size of a process in KiB (VmRSS in /proc/PID/status), or undefined. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
