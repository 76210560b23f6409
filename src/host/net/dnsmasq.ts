// Starts dnsmasq for one network (as root, `--conf-file=` only, daemonizing and writing its
// pid-file as libvirt runs it) and stops it by that pid. Reloads host files with SIGHUP.
import { readPidfile } from "../kill.js";
import { isZombie, pidAlive } from "../spawn.js";
import { type NetHostOptions, runNet } from "./exec.js";

export const DNSMASQ = "/usr/sbin/dnsmasq";

/** Runs dnsmasq, waits for it to detach, returns the pid it wrote. */
export async function startDnsmasq(
  confFile: string,
  pidFile: string,
  o: NetHostOptions & { binary?: string } = {},
): Promise<number> {
  await runNet([o.binary ?? DNSMASQ, `--conf-file=${confFile}`], o);
  // The parent exits after the daemon wrote its pid-file.
  const pid = readPidfile(pidFile);
  if (pid === undefined || gone(pid)) throw new Error(`dnsmasq did not write its pid-file ${pidFile}`);
  return pid;
}

/** dnsmasq detached from us: once dead it may linger as a zombie of whatever reaps orphans. */
const gone = (pid: number) => !pidAlive(pid) || isZombie(pid);

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!gone(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
export async function stopDnsmasq(pid: number): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  if (await waitGone(pid, 2000)) return;
  signal("SIGKILL");
  await waitGone(pid, 3000);
}

/** dnsmasq re-reads dhcp-hostsfile and addn-hosts on SIGHUP. */
export function reloadDnsmasq(pid: number): void {
  try {
    process.kill(pid, "SIGHUP");
  } catch {
    // Gone: the caller notices on the next status check.
  }
}
