// virConnectGetAllDomainStats (virsh domstats) for QEMU: the state, cpu-total, balloon and vcpu
// groups with libvirt's field names (qemu_driver.c qemuDomainGetStats*).
import type { DomainStatsRecord, TypedParam } from "../../driver/index.js";
import { VIR_TYPED_PARAM } from "../../driver/index.js";
import { processCpuTimeNs } from "../../host/proc-stat.js";
import { domRef, isActive, type QemuDomain } from "./domain-obj.js";

/** virDomainStatsTypes bits handled here. */
export const VIR_DOMAIN_STATS = { STATE: 1, CPU_TOTAL: 2, BALLOON: 4, VCPU: 8 } as const;

export function domainStats(d: QemuDomain, stats: number): DomainStatsRecord {
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
  return { dom: domRef(d), params: p };
}
