// Checks a post-parsed DomainDef without changing it (virDomainDefValidate): the rules libvirt
// enforces across fields, with its error codes and texts.

import { checkDuplicateTargets } from "./devices/disk.js";
import { internalErr, unsupported, xmlErr } from "./errors.js";
import type { DomainDef } from "./types.js";

export function validateDomain(def: DomainDef): void {
  if (def.vcpu.max === 0) throw internalErr("CPU IDs in <numa> exceed the <vcpu> count");
  if (def.vcpu.current !== undefined && def.vcpu.current > def.vcpu.max) {
    throw unsupported("maximum vCPU count must not be less than current vCPU count");
  }
  if (def.maxMemory && def.maxMemory.kib < def.memory) {
    throw unsupported("maximum memory size must be equal or greater than the actual memory size");
  }
  checkDuplicateTargets(def.devices.disks);
  void xmlErr;
}
