// Memory and vCPU changes of a QEMU domain (virsh setmem/setmaxmem/setvcpus): the persistent
// definition is rewritten and saved; live memory changes go through the balloon (QMP `balloon`).
import type { DomainDef } from "../../conf/domain/index.js";
import { VIR_DOMAIN_AFFECT, VIR_DOMAIN_MEM_MAXIMUM, VIR_DOMAIN_VCPU } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { unsupported } from "./command-util.js";
import { checkFlags, modificationImpact, persistentDef, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;

/** virDomainObjGetDefs: the definitions a CURRENT/LIVE/CONFIG request touches. */
function defsFor(d: QemuDomain, flags: number): { live?: DomainDef; config?: DomainDef } {
  const { live, config } = modificationImpact(d, flags);
  return { live: live ? d.def : undefined, config: config ? persistentDef(d) : undefined };
}

export async function setMemory(
  st: QemuDriverState,
  d: QemuDomain,
  kib: number,
  flags: number,
): Promise<void> {
  checkFlags(flags, AFFECT | VIR_DOMAIN_MEM_MAXIMUM, "qemuDomainSetMemoryFlags");
  const { live, config } = defsFor(d, flags);
  if (flags & VIR_DOMAIN_MEM_MAXIMUM) {
    if (live) {
      throw virError(
        ErrorCode.OPERATION_INVALID,
        ErrorDomain.QEMU,
        "cannot resize the maximum memory on an active domain",
      );
    }
    config!.memory = kib;
    if (config!.currentMemory > kib) config!.currentMemory = kib;
  } else {
    for (const def of [live, config]) {
      if (def && kib > def.memory) {
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, "cannot set memory higher than max memory");
      }
    }
    if (live) {
      if (!live.devices.memballoon || live.devices.memballoon.model === "none") {
        throw virError(
          ErrorCode.OPERATION_INVALID,
          ErrorDomain.QEMU,
          "Unable to change memory of active domain without the balloon device and guest OS balloon driver",
        );
      }
      await d.proc!.monitor.execute("balloon", { value: kib * 1024 });
      live.currentMemory = kib;
    }
    if (config) config.currentMemory = kib;
  }
  if (config) await st.saveConfig(d);
}

export function getVcpus(d: QemuDomain, flags: number): number {
  checkFlags(flags, AFFECT | VIR_DOMAIN_VCPU.MAXIMUM, "qemuDomainGetVcpusFlags");
  const { live, config } = defsFor(d, flags);
  const def = (live ?? config)!;
  return flags & VIR_DOMAIN_VCPU.MAXIMUM ? def.vcpu.max : (def.vcpu.current ?? def.vcpu.max);
}

export async function setVcpus(st: QemuDriverState, d: QemuDomain, n: number, flags: number): Promise<void> {
  checkFlags(flags, AFFECT | VIR_DOMAIN_VCPU.MAXIMUM, "qemuDomainSetVcpusFlags");
  if (n < 1)
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, "argument unsupported: nvcpus must be positive");
  const { live, config } = defsFor(d, flags);
  if (live)
    throw unsupported("changing the vCPUs of a running domain is not supported by the QEMU driver yet");
  const def = config!;
  const cur = def.vcpu.current ?? def.vcpu.max;
  if (flags & VIR_DOMAIN_VCPU.MAXIMUM) {
    def.vcpu.max = n;
    const c = Math.min(cur, n);
    def.vcpu.current = c === n ? undefined : c;
  } else {
    if (n > def.vcpu.max) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.QEMU,
        `requested vcpus is greater than max allowable vcpus for the persistent domain: ${n} > ${def.vcpu.max}`,
      );
    }
    def.vcpu.current = n === def.vcpu.max ? undefined : n;
  }
  await st.saveConfig(d);
}
