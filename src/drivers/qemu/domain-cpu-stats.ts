// CPU accounting of a QEMU domain (virDomainGetCPUStats and the cpu-total group of
// virConnectGetAllDomainStats) as libvirt 9.0's QEMU driver gives it. tsvirtd keeps no cpuacct
// cgroup: the totals come from /proc/<pid>/stat, as libvirt's own cgroup-less path
// (qemuDomainGetStatsCpuProc) reads them; per-host-CPU usage has no such source.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { TypedParam } from "../../driver/index.js";
import { VIR_TYPED_PARAM } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { elementChildren } from "./command-util.js";
import { checkFlags, isActive, notRunning, type QemuDomain } from "./domain-obj.js";
import { deferredFailure } from "./domain-stats.js";
import { hostPresentCpuCount, procStatInfo } from "./domain-vcpu-info.js";
import { queryStats } from "./monitor/stats-qmp.js";

/** VIR_TYPED_PARAM_STRING_OKAY. */
const STRING_OKAY = 1 << 2;

const ull = (field: string, value: number): TypedParam => ({ field, type: VIR_TYPED_PARAM.ULLONG, value });

/**
 * qemuDomainGetCPUStats. The total (start -1): cpu_time, user_time, system_time of the QEMU
 * process. Per host CPU, libvirt needs per-CPU cgroup accounting (cpuacct.usage_percpu); where its
 * backend has none (cgroup v2) it counts the CPUs and the parameters (cpu_time, vcpu_time) but
 * fails the call that asks for values, with the backend's error, which tsvirtd gives as well.
 */
export function getCPUStats(d: QemuDomain, startCpu: number, ncpus: number, flags: number): TypedParam[][] {
  checkFlags(flags, STRING_OKAY, "qemuDomainGetCPUStats");
  if (!isActive(d) || !d.proc) throw notRunning();
  if (startCpu === -1) {
    const s = procStatInfo(d.proc.pid);
    return [[ull("cpu_time", s.cpuTime), ull("user_time", s.userTime), ull("system_time", s.sysTime)]];
  }
  const total = hostPresentCpuCount();
  if (startCpu >= total) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.NONE,
      `start_cpu ${startCpu} larger than maximum of ${total - 1}`,
    );
  }
  const rows: TypedParam[][] = [];
  for (let c = startCpu; c < Math.min(total, startCpu + ncpus); c++)
    rows.push([ull("cpu_time", 0), ull("vcpu_time", 0)]);
  return deferredFailure(
    rows,
    virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.CGROUP,
      "operation 'getCpuacctPercpuUsage' not supported for backend 'cgroup V2'",
    ),
  );
}

/** The `<monitor>` elements of `<cputune><cachetune>` (libvirt's resctrl cache monitors). */
function cacheMonitors(d: QemuDomain): number {
  let n = 0;
  for (const ct of d.def.extra.cputune ?? [])
    for (const c of elementChildren(ct))
      if (c.name === "cachetune") n += elementChildren(c).filter((m) => m.name === "monitor").length;
  return n;
}

/** virHostCPUGetHaltPollTime: KVM's debugfs counters of the process, when debugfs shows them. */
function haltPollDebugfs(pid: number): { success: number; fail: number } | undefined {
  const dir = "/sys/kernel/debug/kvm";
  try {
    const sub = readdirSync(dir).find((x) => x.startsWith(`${pid}-`));
    if (!sub) return undefined;
    const read = (f: string) => Number(readFileSync(`${dir}/${sub}/${f}`, "utf8").trim());
    if (!existsSync(`${dir}/${sub}/halt_poll_success_ns`)) return undefined;
    return { success: read("halt_poll_success_ns"), fail: read("halt_poll_fail_ns") };
  } catch {
    return undefined;
  }
}

/**
 * qemuDomainGetStatsCpuHaltPollTime: the vCPUs' KVM halt-polling times summed from query-stats
 * (no KVM provider under TCG: nothing to sum, zeros), else from debugfs, else nothing.
 */
async function haltPoll(d: QemuDomain): Promise<{ success: number; fail: number } | undefined> {
  const proc = d.proc!;
  try {
    const res = await queryStats(proc.monitor, "vcpu", [
      { provider: "kvm", names: ["halt_poll_success_ns", "halt_poll_fail_ns"] },
    ]);
    let success = 0;
    let fail = 0;
    let ok = true;
    for (const r of res) {
      const s = r.stats.find((x) => x.name === "halt_poll_success_ns")?.value;
      const f = r.stats.find((x) => x.name === "halt_poll_fail_ns")?.value;
      if (typeof s !== "number" || typeof f !== "number") {
        ok = false;
        break;
      }
      success += s;
      fail += f;
    }
    if (ok) return { success, fail };
  } catch {}
  return haltPollDebugfs(proc.pid);
}

/**
 * qemuDomainGetStatsCpu without a cgroup: cpu.time/user/system of the QEMU process (of the
 * daemon itself for a stopped guest, as libvirt's /proc/<pid 0> reading gives /proc/self), then
 * for a running guest the cache monitor count and the halt-polling times.
 */
export async function cpuTotalParams(d: QemuDomain): Promise<TypedParam[]> {
  const active = isActive(d) && d.proc !== undefined;
  const s = procStatInfo(active ? d.proc!.pid : 0);
  const p = [ull("cpu.time", s.cpuTime), ull("cpu.user", s.userTime), ull("cpu.system", s.sysTime)];
  if (!active) return p;
  p.push({ field: "cpu.cache.monitor.count", type: VIR_TYPED_PARAM.UINT, value: cacheMonitors(d) });
  const hp = await haltPoll(d);
  if (hp) p.push(ull("cpu.haltpoll.success.time", hp.success), ull("cpu.haltpoll.fail.time", hp.fail));
  return p;
}
