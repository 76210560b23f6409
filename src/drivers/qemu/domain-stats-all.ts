// virConnectGetAllDomainStats (virsh domstats) for QEMU: the state, cpu-total, balloon, vcpu,
// interface and block groups with libvirt's field names (qemu_driver.c qemuDomainGetStats*).
import type { DomainStatsRecord, TypedParam } from "../../driver/index.js";
import { VIR_TYPED_PARAM } from "../../driver/index.js";
import { processCpuTimeNs } from "../../host/proc-stat.js";
import { domRef, isActive, type QemuDomain } from "./domain-obj.js";
import { blockGroupStats, interfaceStats } from "./domain-stats.js";

/** virDomainStatsTypes bits handled here. */
export const VIR_DOMAIN_STATS = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
} as const;

export async function domainStats(d: QemuDomain, stats: number): Promise<DomainStatsRecord> {
  const all = stats === 0;
  const want = (bit: number) => all || (stats & bit) !== 0;
  const p: TypedParam[] = [];
  const int = (field: string, value: number) => p.push({ field, type: VIR_TYPED_PARAM.INT, value });
  const uint = (field: string, value: number) => p.push({ field, type: VIR_TYPED_PARAM.UINT, value });
  const ull = (field: string, value: number | bigint) =>
    p.push({ field, type: VIR_TYPED_PARAM.ULLONG, value } as TypedParam);
  if (want(VIR_DOMAIN_STATS.STATE)) {
    int("state.state", d.state);
    int("state.reason", d.reason);
  }
  const active = isActive(d) && d.proc !== undefined;
  if (want(VIR_DOMAIN_STATS.CPU_TOTAL) && active) ull("cpu.time", processCpuTimeNs(d.proc!.pid));
  if (want(VIR_DOMAIN_STATS.BALLOON)) {
    ull("balloon.current", d.def.currentMemory);
    ull("balloon.maximum", d.def.memory);
  }
  if (want(VIR_DOMAIN_STATS.VCPU)) {
    uint("vcpu.current", d.def.vcpu.current ?? d.def.vcpu.max);
    uint("vcpu.maximum", d.def.vcpu.max);
  }
  const str = (field: string, value: string) => p.push({ field, type: VIR_TYPED_PARAM.STRING, value });
  if (want(VIR_DOMAIN_STATS.INTERFACE)) {
    // Only running guests have taps; libvirt lists the interfaces that have a target name.
    const nics = active ? d.def.devices.interfaces.filter((n) => n.target) : [];
    uint("net.count", nics.length);
    nics.forEach((n, i) => {
      str(`net.${i}.name`, n.target!);
      let s: ReturnType<typeof interfaceStats> | undefined;
      try {
        s = interfaceStats(d, n.target!);
      } catch {
        return;
      }
      const k = `net.${i}`;
      ull(`${k}.rx.bytes`, s.rxBytes);
      ull(`${k}.rx.pkts`, s.rxPackets);
      ull(`${k}.rx.errs`, s.rxErrs);
      ull(`${k}.rx.drop`, s.rxDrop);
      ull(`${k}.tx.bytes`, s.txBytes);
      ull(`${k}.tx.pkts`, s.txPackets);
      ull(`${k}.tx.errs`, s.txErrs);
      ull(`${k}.tx.drop`, s.txDrop);
    });
  }
  if (want(VIR_DOMAIN_STATS.BLOCK)) {
    const disks = await blockGroupStats(d, active);
    uint("block.count", disks.length);
    disks.forEach((b, i) => {
      const k = `block.${i}`;
      str(`${k}.name`, b.name);
      if (b.path !== undefined) str(`${k}.path`, b.path);
      if (!b.io) return;
      ull(`${k}.rd.reqs`, b.io.rdReqs);
      ull(`${k}.rd.bytes`, b.io.rdBytes);
      ull(`${k}.rd.times`, b.io.rdTimes);
      ull(`${k}.wr.reqs`, b.io.wrReqs);
      ull(`${k}.wr.bytes`, b.io.wrBytes);
      ull(`${k}.wr.times`, b.io.wrTimes);
      ull(`${k}.fl.reqs`, b.io.flReqs);
      ull(`${k}.fl.times`, b.io.flTimes);
      if (b.allocation !== undefined) ull(`${k}.allocation`, b.allocation);
      if (b.capacity !== undefined) ull(`${k}.capacity`, b.capacity);
      if (b.physical !== undefined) ull(`${k}.physical`, b.physical);
    });
  }
  return { dom: domRef(d), params: p };
}
