// A domain as the QEMU driver keeps it (libvirt's virDomainObj + qemuDomainObjPrivate):
// definitions, run state with reason, id, and the QEMU process while it runs.
import type { DomainDef } from "../../conf/domain/index.js";
import { VIR_DOMAIN_AFFECT, VIR_DOMAIN_STATE } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { type DomainObj, isActive } from "../../state/index.js";
import type { QemuCaps } from "./capabilities.js";
import type { QemuProcess } from "./process.js";

export interface QemuDomain extends DomainObj {
  proc?: QemuProcess;
  caps?: QemuCaps;
  /** Set while we stop the domain ourselves, so the exit handler reports the right reason. */
  stopping?: { reason: number; detail: number };
  /** True while suspend/resume runs, so the STOP/RESUME events they cause are not reported twice. */
  userOp?: boolean;
  /** virsh reboot asked for: the next guest poweroff resets instead of stopping. */
  fakeReboot?: boolean;
  /** The guest powered off and QEMU is being told to quit (or reset). */
  poweringOff?: boolean;
}

export function newQemuDomain(def: DomainDef): QemuDomain {
  return {
    name: def.name,
    uuid: def.uuid,
    id: -1,
    def,
    persistent: false,
    state: VIR_DOMAIN_STATE.SHUTOFF,
    reason: 0,
    autostart: false,
  };
}

export { domRef, isActive } from "../../state/index.js";

/** libvirt's qemuDomainObjFromDomain text. */
export function noDomainByUuid(uuid: string, name: string): VirError {
  return virError(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, `no domain with matching uuid '${uuid}' (${name})`);
}

export function noDomainByName(name: string): VirError {
  return virError(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, `no domain with matching name '${name}'`);
}

export function noDomainById(id: number): VirError {
  return virError(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, `no domain with matching id ${id}`);
}

/** virDomainObjCheckActive. */
export function notRunning(): VirError {
  return virError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "domain is not running");
}

/**
 * virDomainObjUpdateModificationImpact: which definitions a CURRENT/LIVE/CONFIG request touches
 * (CURRENT: the live one of a running domain, else the persistent one), with libvirt's refusals.
 */
export function modificationImpact(d: QemuDomain, flags: number): { live: boolean; config: boolean } {
  let live = (flags & VIR_DOMAIN_AFFECT.LIVE) !== 0;
  let config = (flags & VIR_DOMAIN_AFFECT.CONFIG) !== 0;
  if (!live && !config) {
    if (isActive(d)) live = true;
    else config = true;
  }
  if (live && !isActive(d)) throw notRunning();
  if (config && !d.persistent) {
    throw virError(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.DOMAIN,
      "transient domains do not have any persistent config",
    );
  }
  return { live, config };
}

/** The persistent definition: the pending next-boot one of a running domain, if any. */
export function persistentDef(d: QemuDomain): DomainDef {
  return isActive(d) ? (d.newDef ?? d.def) : d.def;
}

export function alreadyRunning(): VirError {
  return virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, "domain is already running");
}

export function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~(allowed >>> 0);
  if (extra !== 0) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.QEMU,
      `unsupported flags (0x${extra.toString(16)}) in function ${fn}`,
    );
  }
}
