// Checks a post-parsed DomainDef without changing it (virDomainDefValidate): the rules libvirt
// enforces across fields, with its error codes and texts.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child } from "../../xml/index.js";
import { validateMore } from "./context-checks-more.js";
import { checkDuplicateTargets } from "./devices/disk.js";
import { internalErr, unsupported, xmlErr } from "./errors.js";
import type { DomainDef } from "./types.js";

export function validateDomain(def: DomainDef, driverAddsUsb = false): void {
  if (def.vcpu.max === 0) throw internalErr("CPU IDs in <numa> exceed the <vcpu> count");
  if (def.vcpu.current !== undefined && def.vcpu.current > def.vcpu.max) {
    throw unsupported("maximum vCPU count must not be less than current vCPU count");
  }
  if (def.maxMemory && def.maxMemory.kib < def.memory) {
    throw xmlErr("maximum memory size must be equal or greater than the actual memory size");
  }
  checkDuplicateTargets(def.devices.disks);
  checkHeldDevices(def, driverAddsUsb);
  checkCpu(def);
  validateMore(def);
}

/** A USB redirdev needs a USB controller (the QEMU driver checks again after adding its default one). */
export function checkRedirdevUsb(def: DomainDef, driverAddsUsb = false): void {
  const usb = def.devices.controllers.filter((c) => c.type === "usb");
  if (usb.length === 0 && driverAddsUsb) return;
  for (const o of def.devices.other) {
    if (o.kind === "redirdev" && (attr(o.xml, "bus") ?? "usb") === "usb") {
      if (usb.length === 0 || usb.every((c) => c.model === "none")) {
        throw unsupported("cannot add redirected USB device: USB is disabled for this domain");
      }
    }
  }
}

/** Rules on devices kept verbatim: redirdev needs USB, IOMMU remapping needs a split I/O APIC. */
function checkHeldDevices(def: DomainDef, driverAddsUsb: boolean): void {
  checkRedirdevUsb(def, driverAddsUsb);
  for (const o of def.devices.other) {
    if (o.kind === "iommu") {
      const drv = child(o.xml, "driver");
      const ioapic = def.features ? child(def.features, "ioapic") : undefined;
      if (drv && attr(drv, "intremap") === "on" && (!ioapic || attr(ioapic, "driver") !== "qemu")) {
        throw unsupported("IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu')");
      }
    }
  }
}

function checkCpu(def: DomainDef): void {
  const cpu = def.cpu;
  if (!cpu || child(cpu, "model")) return;
  const mode = attr(cpu, "mode") ?? "custom";
  if (mode === "custom" && child(cpu, "feature")) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.CPU,
      "Non-empty feature list specified without CPU model",
    );
  }
}
