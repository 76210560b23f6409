// Starts dnsmasq for one network (as root, `--conf-file=` only, daemonizing and writing its
// pid-file as libvirt runs it) and stops it by that pid. Reloads host files with SIGHUP.
import { readPidfile } from "../kill.js";
import { killPid } from "../kill.js";
import { pidAlive } from "../spawn.js";
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
  if (pid === undefined || !pidAlive(pid)) throw new Error(`dnsmasq did not write its pid-file ${pidFile}`);
  return pid;
}

export async function stopDnsmasq(pid: number): Promise<void> {
  await killPid(pid, { graceMs: 2000 });
}

/** dnsmasq re-reads dhcp-hostsfile and addn-hosts on SIGHUP. */
export function reloadDnsmasq(pid: number): void {
  try {
    process.kill(pid, "SIGHUP");
  } catch {
    // Gone: the caller notices on the next status check.
  }
}
