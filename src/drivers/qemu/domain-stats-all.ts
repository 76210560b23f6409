// virConnectGetAllDomainStats (virsh domstats) for QEMU: the state, cpu-total, balloon, vcpu,
// interface, block and dirtyrate groups with libvirt 9.0's field names, types and order
// (qemu_driver.c qemuDomainGetStats*).
import type { DomainStatsRecord, TypedParam } from "../../driver/index.js";
import { VIR_TYPED_PARAM } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { cpuTotalParams } from "./domain-cpu-stats.js";
import { domRef, isActive, type QemuDomain } from "./domain-obj.js";
import { blockGroupRecords, memoryStats, tapStats } from "./domain-stats.js";
import { onlineVcpus, sampleVcpus } from "./domain-vcpu-info.js";
import { queryDirtyRate, queryIOThreads } from "./monitor/stats-qmp.js";

/** virDomainStatsTypes bits. */
export const VIR_DOMAIN_STATS = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
  PERF: 64,
  IOTHREAD: 128,
  MEMORY: 256,
  DIRTYRATE: 512,
} as const;

/** virConnectGetAllDomainStatsFlags beyond the list filters. */
const STATS_BACKING = 1 << 30;
const STATS_ENFORCE = 1 << 31;

/** Groups a domain can answer: all of libvirt 9.0's; dirtyrate needs QEMU's capabilities (a running guest). */
function supportedStats(d: QemuDomain): number {
  let s = 0;
  for (const v of Object.values(VIR_DOMAIN_STATS)) s |= v;
  if (!(isActive(d) && d.proc)) s &= ~VIR_DOMAIN_STATS.DIRTYRATE;
  return s;
}

/** balloon.* names of the VIR_DOMAIN_MEMORY_STAT_* tags libvirt copies (not the balloon size). */
const BALLOON_NAMES: Record<number, string> = {
  0: "swap_in",
  1: "swap_out",
  2: "major_fault",
  3: "minor_fault",
  4: "unused",
  5: "available",
  7: "rss",
  9: "last-update",
  8: "usable",
  10: "disk_caches",
  11: "hugetlb_pgalloc",
  12: "hugetlb_pgfail",
};

/** qemuMonitorDirtyRateStatus and calc modes. */
const DIRTYRATE_STATUS: Record<string, number> = { unstarted: 0, measuring: 1, measured: 2 };

export async function domainStats(d: QemuDomain, stats: number, flags = 0): Promise<DomainStatsRecord> {
  const supported = supportedStats(d);
  let want = stats === 0 ? supported : stats;
  if (stats !== 0 && (flags & STATS_ENFORCE) !== 0 && (stats & ~supported) !== 0) {
    throw virError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      ErrorDomain.QEMU,
      `Stats types bits 0x${(stats & ~supported).toString(16)} are not supported by this daemon or QEMU`,
    );
  }
  want &= supported;
  const has = (bit: number) => (want & bit) !== 0;
  const p: TypedParam[] = [];
  const int = (field: string, value: number) => p.push({ field, type: VIR_TYPED_PARAM.INT, value });
  const uint = (field: string, value: number) => p.push({ field, type: VIR_TYPED_PARAM.UINT, value });
  const ll = (field: string, value: number) => p.push({ field, type: VIR_TYPED_PARAM.LLONG, value });
  const ull = (field: string, value: number) => p.push({ field, type: VIR_TYPED_PARAM.ULLONG, value });
  const str = (field: string, value: string) => p.push({ field, type: VIR_TYPED_PARAM.STRING, value });
  const active = isActive(d) && d.proc !== undefined;

  if (has(VIR_DOMAIN_STATS.STATE)) {
    int("state.state", d.state);
    int("state.reason", d.reason);
  }
  if (has(VIR_DOMAIN_STATS.CPU_TOTAL)) p.push(...(await cpuTotalParams(d)));
  if (has(VIR_DOMAIN_STATS.BALLOON)) {
    const balloon = d.def.devices.memballoon && d.def.devices.memballoon.model !== "none";
    ull("balloon.current", balloon ? d.def.currentMemory : d.def.memory);
    ull("balloon.maximum", d.def.memory);
    if (active) {
      let got: Awaited<ReturnType<typeof memoryStats>> = [];
      try {
        got = await memoryStats(d, 13);
      } catch {}
      for (const s of got) {
        const name = BALLOON_NAMES[s.tag];
        if (name !== undefined) ull(`balloon.${name}`, s.val);
      }
    }
  }
  if (has(VIR_DOMAIN_STATS.VCPU)) {
    uint("vcpu.current", onlineVcpus(d.def));
    uint("vcpu.maximum", d.def.vcpu.max);
    if (active) {
      let samples: Awaited<ReturnType<typeof sampleVcpus>> = [];
      try {
        samples = await sampleVcpus(d, onlineVcpus(d.def));
      } catch {}
      for (const s of samples) {
        const k = `vcpu.${s.info.number}`;
        int(`${k}.state`, s.info.state);
        ull(`${k}.time`, s.info.cpuTime);
        ull(`${k}.wait`, s.wait);
        ull(`${k}.delay`, s.delay);
      }
    }
  }
  if (has(VIR_DOMAIN_STATS.INTERFACE) && active) {
    // every NIC counts; only those with a host interface have a name and counters
    const nics = d.def.devices.interfaces;
    uint("net.count", nics.length);
    nics.forEach((n, i) => {
      if (!n.target) return;
      str(`net.${i}.name`, n.target);
      let s: ReturnType<typeof tapStats>;
      try {
        s = tapStats(n.target);
      } catch {
        return;
      }
      const k = `net.${i}`;
      const add = (name: string, v: number) => {
        if (v >= 0) ull(`${k}.${name}`, v);
      };
      add("rx.bytes", s.rxBytes);
      add("rx.pkts", s.rxPackets);
      add("rx.errs", s.rxErrs);
      add("rx.drop", s.rxDrop);
      add("tx.bytes", s.txBytes);
      add("tx.pkts", s.txPackets);
      add("tx.errs", s.txErrs);
      add("tx.drop", s.txDrop);
    });
  }
  if (has(VIR_DOMAIN_STATS.BLOCK)) {
    const recs = await blockGroupRecords(d, (flags & STATS_BACKING) !== 0);
    uint("block.count", recs.length);
    recs.forEach((r, i) => {
      for (const [name, value, type] of r) p.push({ field: `block.${i}.${name}`, type, value });
    });
  }
  if (has(VIR_DOMAIN_STATS.IOTHREAD) && active) {
    // qemuDomainGetStatsIOThread: QEMU's IOThreads (ids "iothreadN"), polling where QEMU has it
    const threads = (await queryIOThreads(d.proc!.monitor)).flatMap((t) => {
      const m = /^iothread(\d+)$/.exec(t.id);
      return m ? [{ id: Number(m[1]), t }] : [];
    });
    if (threads.length > 0) {
      uint("iothread.count", threads.length);
      for (const { id, t } of threads) {
        if (t["poll-max-ns"] === undefined) continue;
        ull(`iothread.${id}.poll-max-ns`, t["poll-max-ns"]);
        uint(`iothread.${id}.poll-grow`, t["poll-grow"] ?? 0);
        uint(`iothread.${id}.poll-shrink`, t["poll-shrink"] ?? 0);
      }
    }
  }
  if (has(VIR_DOMAIN_STATS.DIRTYRATE) && active) {
    const info = await queryDirtyRate(d.proc!.monitor);
    const status = DIRTYRATE_STATUS[info.status] ?? 0;
    const mode = info.mode ?? "page-sampling";
    int("dirtyrate.calc_status", status);
    ll("dirtyrate.calc_start_time", info["start-time"] ?? 0);
    int("dirtyrate.calc_period", info["calc-time"] ?? 0);
    str("dirtyrate.calc_mode", mode);
    if (status === DIRTYRATE_STATUS.measured) {
      ll("dirtyrate.megabytes_per_second", info["dirty-rate"] ?? 0);
      if (mode === "dirty-ring")
        for (const v of info["vcpu-dirty-rate"] ?? [])
          ull(`dirtyrate.vcpu.${v.id}.megabytes_per_second`, v["dirty-rate"]);
    }
  }
  return { dom: domRef(d), params: p };
}
