// Per-vCPU runtime data of a running QEMU domain as libvirt 9.0's QEMU driver reads it: the vCPU
// threads from QMP query-cpus-fast, CPU time and last CPU from /proc/<pid>/task/<tid>/stat,
// affinity of each thread, scheduler wait/delay (qemuDomainHelperGetVcpus), and the pinning
// getters (qemuDomainGetVcpuPinInfo, qemuDomainGetEmulatorPinInfo) that read the definition.
import { existsSync, readFileSync } from "node:fs";
import type { DomainDef } from "../../conf/domain/index.js";
import type { DomainVcpus, VcpuInfo } from "../../driver/index.js";
import { VIR_DOMAIN_AFFECT } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr } from "../../xml/index.js";
import { checkFlags, isActive, modificationImpact, persistentDef, type QemuDomain } from "./domain-obj.js";
import { queryCpusFast } from "./monitor/stats-qmp.js";

const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;
/** VIR_VCPU_RUNNING: libvirt reports every online vCPU so, paused or not. */
const VCPU_RUNNING = 1;
/** USER_HZ (sysconf(_SC_CLK_TCK)) is 100 on every Linux architecture Node runs on. */
const TICK_NS = 10_000_000;

/** Parses a kernel CPU list ("0-3,8,10-11") into its members. */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map((x) => Number.parseInt(x, 10));
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b === undefined || Number.isNaN(b) ? a : b); i++) out.push(i);
  }
  return out;
}

/** virHostCPUGetAvailableCPUsBitmap: the host's online CPUs. */
export function hostOnlineCpus(): number[] {
  try {
    return parseCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
  } catch {
    return [0];
  }
}

/** virHostCPUGetPresentBitmap's size: the highest present CPU + 1. */
export function hostPresentCpuCount(): number {
  try {
    const l = parseCpuList(readFileSync("/sys/devices/system/cpu/present", "utf8"));
    return l.length ? Math.max(...l) + 1 : 1;
  } catch {
    return hostOnlineCpus().length;
  }
}

/** A `maplen`-byte CPU bitmap with the given bits set (virBitmapToDataBuf). */
export function cpuMap(cpus: Iterable<number>, maplen: number): Uint8Array {
  const m = new Uint8Array(Math.max(0, maplen));
  for (const c of cpus) if (c >= 0 && c < maplen * 8) m[c >> 3]! |= 1 << (c & 7);
  return m;
}

/** Fields of /proc/<pid>[/task/<tid>]/stat after the command name (proc(5) field 3 is index 0). */
function statFields(pid: number, tid: number): string[] | undefined {
  // virProcessGetStat: pid 0 is the daemon itself (/proc/self)
  const base = pid ? `/proc/${pid}` : "/proc/self";
  const path = tid ? `${base}/task/${tid}/stat` : `${base}/stat`;
  let text: string;
  try {
    text = readFileSync(path, "utf8").trimEnd();
  } catch {
    return undefined;
  }
  const r = text.lastIndexOf(")");
  if (r < 0 || text[r + 1] !== " ") return undefined;
  return text.slice(r + 2).split(" ");
}

/** virProcessGetStatInfo: CPU times (ns), the CPU last run on and the RSS (KiB); zeros if unreadable. */
export function procStatInfo(
  pid: number,
  tid = 0,
): { cpuTime: number; userTime: number; sysTime: number; lastCpu: number; rssKiB: number } {
  const f = statFields(pid, tid);
  const num = (i: number) => {
    const v = Number(f?.[i]);
    return Number.isFinite(v) ? v : 0;
  };
  // proc(5): utime 14, stime 15, rss 24, processor 39 (1-based; the list starts at field 3)
  const userTime = num(11) * TICK_NS;
  const sysTime = num(12) * TICK_NS;
  return { cpuTime: userTime + sysTime, userTime, sysTime, lastCpu: num(36), rssKiB: num(21) * pageKiB() };
}

let pageKiBCache: number | undefined;
function pageKiB(): number {
  if (pageKiBCache === undefined) {
    // /proc/self/smaps' KernelPageSize of the first mapping is the base page size.
    let kib = 4;
    try {
      const m = /KernelPageSize:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"));
      if (m) kib = Number(m[1]);
    } catch {}
    pageKiBCache = kib;
  }
  return pageKiBCache;
}

/** virProcessGetAffinity: the thread's allowed CPUs (Cpus_allowed_list of its status file). */
export function threadAffinity(pid: number, tid: number): number[] {
  const path = tid ? `/proc/${pid}/task/${tid}/status` : `/proc/${pid}/status`;
  try {
    const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(path, "utf8"));
    if (m) return parseCpuList(m[1]!);
  } catch {}
  throw virError(
    ErrorCode.SYSTEM_ERROR,
    ErrorDomain.NONE,
    `cannot get CPU affinity of process ${tid || pid}`,
  );
}

/** virProcessGetSchedInfo: se.statistics.wait_sum (ms) of /proc/<pid>/task/<tid>/sched, in ns. */
export function schedWaitNs(pid: number, tid: number): number {
  const path = tid ? `/proc/${pid}/task/${tid}/sched` : `/proc/${pid}/sched`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return 0;
  }
  for (const line of text.split("\n")) {
    if (!line.startsWith("se.statistics.wait_sum") && !line.startsWith("se.wait_sum")) continue;
    const v = Number.parseFloat(line.slice(line.indexOf(":") + 1).trim());
    return Number.isFinite(v) ? Math.trunc(v * 1_000_000) : 0;
  }
  return 0;
}

/** qemuGetSchedstatDelay: the run-queue wait (second field) of /proc/<pid>/task/<tid>/schedstat. */
export function schedstatDelayNs(pid: number, tid: number): number {
  const path = tid ? `/proc/${pid}/task/${tid}/schedstat` : `/proc/${pid}/schedstat`;
  if (!existsSync(path)) return 0;
  try {
    const v = Number(readFileSync(path, "utf8").trim().split(/\s+/)[1]);
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

/** Online vCPUs of a definition: the first `current` of `max` (no per-vCPU <vcpus> states kept). */
export function onlineVcpus(def: DomainDef): number {
  return def.vcpu.current ?? def.vcpu.max;
}

/**
 * The thread of each online vCPU (qemuDomainRefreshVcpuInfo): QEMU lists only the vCPUs it has, in
 * cpu-index order, which are the online ones in definition order. Empty when QEMU has no
 * separate vCPU threads (then libvirt has no vCPU pids either).
 */
export async function vcpuThreads(d: QemuDomain): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!d.proc) return out;
  let cpus: Awaited<ReturnType<typeof queryCpusFast>>;
  try {
    cpus = await queryCpusFast(d.proc.monitor);
  } catch {
    return out;
  }
  const sorted = [...cpus].sort((a, b) => a["cpu-index"] - b["cpu-index"]);
  const tids = sorted.slice(0, onlineVcpus(d.def)).map((c) => c["thread-id"]);
  // qemuDomainRefreshVcpuInfo: single-threaded TCG reports the emulator's thread or one thread for
  // several vCPUs; such thread ids are discarded (no vCPU pids at all)
  const bogus = tids.some((t, i) => t === d.proc!.pid || (t !== 0 && tids.indexOf(t) !== i));
  if (bogus) return out;
  tids.forEach((t, i) => {
    if (t) out.set(i, t);
  });
  return out;
}

/** Per online vCPU: number, times and placement (qemuDomainHelperGetVcpus). */
export interface VcpuSample {
  info: VcpuInfo;
  tid: number;
  wait: number;
  delay: number;
}

function noVcpuPids() {
  return virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, "cpu affinity is not supported");
}

export async function sampleVcpus(d: QemuDomain, maxinfo: number): Promise<VcpuSample[]> {
  if (maxinfo === 0) return [];
  const threads = await vcpuThreads(d);
  if (threads.size === 0 || !d.proc) throw noVcpuPids();
  const pid = d.proc.pid;
  const out: VcpuSample[] = [];
  const online = onlineVcpus(d.def);
  for (let i = 0; i < d.def.vcpu.max && out.length < maxinfo; i++) {
    if (i >= online) continue;
    const tid = threads.get(i) ?? 0;
    const s = procStatInfo(pid, tid);
    out.push({
      info: { number: i, state: VCPU_RUNNING, cpuTime: s.cpuTime, cpu: s.lastCpu },
      tid,
      wait: schedWaitNs(pid, tid),
      delay: schedstatDelayNs(pid, tid),
    });
  }
  return out;
}

/** qemuDomainGetVcpus. */
export async function getVcpus(d: QemuDomain, maxinfo: number, maplen: number): Promise<DomainVcpus> {
  if (!isActive(d) || !d.proc) {
    throw virError(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.QEMU,
      "cannot retrieve vcpu information for inactive domain",
    );
  }
  const pid = d.proc.pid;
  const samples = await sampleVcpus(d, maxinfo);
  return {
    info: samples.map((s) => s.info),
    cpumaps: samples.map((s) => cpuMap(threadAffinity(pid, s.tid), maplen)),
  };
}

/** virDomainObjGetOneDefState: the definition a pinning getter reads. */
function oneDef(d: QemuDomain, flags: number): { def: DomainDef; live: boolean } {
  if ((flags & AFFECT) === AFFECT) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.DOMAIN,
      "flags 'affect live' and 'affect config' are mutually exclusive",
    );
  }
  const { live } = modificationImpact(d, flags);
  return live ? { def: d.def, live } : { def: persistentDef(d), live };
}

/** The `cpuset` of a `<cputune>` child (`vcpupin vcpu='N'` or `emulatorpin`), as CPUs. */
function cputunePin(def: DomainDef, name: string, vcpu?: number): number[] | undefined {
  for (const ct of def.extra.cputune ?? []) {
    for (const c of ct.children) {
      if (c.kind !== "element" || c.name !== name) continue;
      if (vcpu !== undefined && attr(c, "vcpu") !== String(vcpu)) continue;
      const set = attr(c, "cpuset");
      if (set) return parseCpuset(set);
    }
  }
  return undefined;
}

/** A libvirt cpuset ("0-3,^2,5") as CPUs. */
function parseCpuset(s: string): number[] {
  const add = new Set<number>();
  const del = new Set<number>();
  for (const raw of s.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const neg = part.startsWith("^");
    for (const c of parseCpuList(neg ? part.slice(1) : part)) (neg ? del : add).add(c);
  }
  return [...add].filter((c) => !del.has(c)).sort((a, b) => a - b);
}

/** virDomainDefGetVcpuPinInfoHelper: every vCPU's pinning, else `<vcpu cpuset>`, else the host's CPUs. */
export function getVcpuPinInfo(d: QemuDomain, ncpumaps: number, maplen: number, flags: number): Uint8Array[] {
  checkFlags(flags, AFFECT, "qemuDomainGetVcpuPinInfo");
  const { def } = oneDef(d, flags);
  const host = hostOnlineCpus();
  const fallback = def.vcpu.cpuset ? parseCpuset(def.vcpu.cpuset) : host;
  const out: Uint8Array[] = [];
  for (let i = 0; i < def.vcpu.max && i < ncpumaps; i++)
    out.push(cpuMap(cputunePin(def, "vcpupin", i) ?? fallback, maplen));
  return out;
}

/** qemuDomainGetEmulatorPinInfo: `<emulatorpin>`, else `<vcpu cpuset>`, else the host's CPUs. */
export function getEmulatorPinInfo(d: QemuDomain, maplen: number, flags: number): Uint8Array {
  checkFlags(flags, AFFECT, "qemuDomainGetEmulatorPinInfo");
  const { def } = oneDef(d, flags);
  const set =
    cputunePin(def, "emulatorpin") ?? (def.vcpu.cpuset ? parseCpuset(def.vcpu.cpuset) : hostOnlineCpus());
  return cpuMap(set, maplen);
}
