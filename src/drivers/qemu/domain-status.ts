// The live-state file of a running domain (<run>/qemu/NAME.status.json; libvirt keeps
// <run>/qemu/NAME.xml for the same purpose), and reconnecting to the QEMUs it names after a
// daemon restart, so guests outlive the daemon.
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatDomainXML } from "../../conf/domain/index.js";
import { VIR_DOMAIN_PAUSED, VIR_DOMAIN_RUNNING, VIR_DOMAIN_STATE } from "../../driver/index.js";
import { killPid } from "../../host/kill.js";
import { pidAlive, watchPid } from "../../host/spawn.js";
import { applyAliases, assignDeviceAliases, collectAliases } from "./domain-aliases.js";
import { channelTargetDir, fillChardevPaths } from "./domain-lifecycle.js";
import type { QemuDomain } from "./domain-obj.js";
import { origCpuXml, restoreOrigCpuXml } from "./live-cpu.js";
import { collectLiveState, filledListensOf, restoreFilledListens, restoreLiveState } from "./live-state.js";
import { newQemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import { QmpClient } from "./monitor/qmp-client.js";
import { cleanupRuntime, QemuProcess, type QemuPaths, qemuPaths } from "./process.js";

interface StatusFile {
  version: 1;
  name: string;
  uuid: string;
  id: number;
  pid: number;
  persistent: boolean;
  state: number;
  reason: number;
  /** The live definition (with runtime values such as the VNC port). */
  xml: string;
  /** Device aliases (the parser keeps only ua-* ones from `xml`); absent in older files. */
  aliases?: [string, string][];
  /** Started with VIR_DOMAIN_START_AUTODESTROY: its connection is gone once the daemon restarts. */
  autodestroy?: boolean;
  /** Runtime values the parser does not keep from `xml` (disk source numbers); absent in older files. */
  live?: ReturnType<typeof collectLiveState>;
  /** The CPU before QEMU's view was added (for --migratable), when that changed it. */
  origCpu?: string;
  /** Display listen addresses the start filled in (left out of --migratable). */
  listens?: ReturnType<typeof filledListensOf>;
}

/** QEMU processes a connection started with AUTODESTROY (autodestroy.ts registers them). */
export const autoDestroyProcs = new WeakSet<QemuProcess>();

const MAX_STATUS_BYTES = 4 * 1024 * 1024;

export function writeStatus(d: QemuDomain, paths: QemuPaths): void {
  if (!d.proc) return;
  const s: StatusFile = {
    version: 1,
    name: d.name,
    uuid: d.uuid,
    id: d.id,
    pid: d.proc.pid,
    persistent: d.persistent,
    state: d.state,
    reason: d.reason,
    xml: formatDomainXML(d.def, { inactive: true, securityInfo: true }),
    aliases: collectAliases(d.def),
    live: collectLiveState(d.def),
    origCpu: origCpuXml(d.uuid),
    listens: filledListensOf(d.uuid),
    ...(autoDestroyProcs.has(d.proc) ? { autodestroy: true } : {}),
  };
  const tmp = `${paths.status}.tmp`;
  writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
  renameSync(tmp, paths.status);
}

/** True when /proc says `pid` is a QEMU started for domain `name` (-name guest=NAME,...). */
function isOurQemu(pid: number, name: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const i = argv.indexOf("-name");
    const v = i >= 0 ? argv[i + 1] : undefined;
    return (
      v !== undefined && v.replace(/,,/g, "\u0000").split(",")[0] === `guest=${name.replace(/,/g, "\u0000")}`
    );
  } catch {
    return false;
  }
}

/**
 * Finds the QEMUs a previous daemon left running and takes them over (libvirt's
 * qemuProcessReconnect). Stale files of dead guests are removed. Returns problems found.
 */
export async function reconnectDomains(
  st: QemuDriverState,
  attach: (d: QemuDomain, proc: QemuProcess) => void,
): Promise<string[]> {
  const dir = join(st.opts.runDir, "qemu");
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".status.json"));
  } catch {
    return [];
  }
  const problems: string[] = [];
  for (const f of files.sort()) {
    const name = f.slice(0, -".status.json".length);
    const paths = qemuPaths(st.opts.libDir, st.opts.runDir, name);
    try {
      if (statSync(paths.status).size > MAX_STATUS_BYTES) throw new Error("status file too large");
      const s = JSON.parse(readFileSync(paths.status, "utf8")) as StatusFile;
      if (s.version !== 1 || s.name !== name || !Number.isInteger(s.pid)) throw new Error("bad status file");
      if (!pidAlive(s.pid) || !isOurQemu(s.pid, name)) {
        cleanupRuntime(paths);
        continue;
      }
      if (s.autodestroy === true) {
        // The connection that asked for AUTODESTROY did not survive the restart: destroy the
        // guest, as libvirt does for such domains when it reconnects.
        await killPid(s.pid, { graceMs: 3000 });
        cleanupRuntime(paths);
        problems.push(`${name}: destroyed (started with autodestroy by a connection that is gone)`);
        continue;
      }
      const monitor = await QmpClient.connect(paths.monitor, { timeoutMs: 30_000, connectTimeoutMs: 5000 });
      const qs = await monitor.execute<{ running: boolean; status: string }>("query-status");
      if (qs.status === "shutdown") {
        // The guest powered off while no daemon was watching (-no-shutdown kept QEMU): finish it.
        await monitor.execute("quit").catch(() => {});
        monitor.close();
        cleanupRuntime(paths);
        continue;
      }
      const { def, caps } = await st.parse(s.xml);
      applyAliases(def, Array.isArray(s.aliases) ? s.aliases : []);
      restoreLiveState(def, s.live, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
      restoreOrigCpuXml(s.uuid, def, s.origCpu);
      restoreFilledListens(s.uuid, s.listens);
      // A file written before aliases were kept: name the devices as the start did.
      assignDeviceAliases(def);
      let d = st.domains.byUuid(s.uuid);
      if (d) {
        d.newDef = d.def;
        d.def = def;
      } else {
        d = newQemuDomain(def);
        d.persistent = false;
        st.domains.add(d);
      }
      d.id = s.id;
      d.caps = caps;
      st.reserveId(s.id);
      if (qs.running) {
        d.state = VIR_DOMAIN_STATE.RUNNING;
        d.reason = s.state === VIR_DOMAIN_STATE.RUNNING ? s.reason : VIR_DOMAIN_RUNNING.UNKNOWN;
      } else {
        d.state = VIR_DOMAIN_STATE.PAUSED;
        d.reason = s.state === VIR_DOMAIN_STATE.PAUSED ? s.reason : VIR_DOMAIN_PAUSED.UNKNOWN;
      }
      const proc = new QemuProcess(name, watchPid(s.pid), monitor, paths);
      // the ptys QEMU opened (the saved XML, an inactive one, does not name them)
      await fillChardevPaths(proc, def, channelTargetDir(st, s.id, name));
      attach(d, proc);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return problems;
}
