// What libvirt 9.0's QEMU driver refuses at define (its qemu_validate.c checks, as observed with
// `virsh define` against a private libvirtd: same error codes and texts), for what tsvirt models.
// Runs after the QEMU post-parse defaults, before address assignment. Pure.
import type { DeviceAddress, DomainDef } from "../../conf/domain/index.js";
import { targetAttr } from "../../conf/domain/devices/chardev.js";
import { internalErr, xmlErr } from "../../conf/domain/errors.js";
import { attr, child, type XmlElement } from "../../xml/index.js";
import { unsupported } from "./command-util.js";
import { encryptions } from "./domain-post-parse.js";

const SERIAL_MODEL_TYPE: Record<string, string> = {
  "isa-serial": "isa-serial",
  "usb-serial": "usb-serial",
  "pci-serial": "pci-serial",
  "spapr-vty": "spapr-vio-serial",
  pl011: "system-serial",
  "16550a": "system-serial",
  sclpconsole: "sclp-serial",
  sclplmconsole: "sclp-serial",
  "isa-debugcon": "isa-debug",
};

/** What libvirt 9.0's QEMU driver refuses at define (qemu_validate.c), for the cases modelled here. */
export function qemuValidate(def: DomainDef, machine: string, x86: boolean, q35: boolean): void {
  const d = def.devices;
  const kids = (e: XmlElement) => e.children.filter((c): c is XmlElement => c.kind === "element");
  for (const t of def.clock.children) {
    if (t.name !== "timer" || attr(t, "name") !== "rtc") continue;
    const tp = attr(t, "tickpolicy");
    if (tp !== undefined && tp !== "delay" && tp !== "catchup") {
      throw unsupported(`unsupported rtc timer tickpolicy '${tp}'`);
    }
  }
  if (x86) {
    const loader = def.os.loader;
    const efi = def.os.firmware === "efi" || (loader !== undefined && attr(loader, "type") === "pflash");
    if (efi && !(def.features && child(def.features, "acpi"))) {
      throw unsupported("UEFI requires ACPI on this architecture");
    }
  }
  for (const t of def.clock.children) {
    const name = t.name === "timer" ? attr(t, "name") : undefined;
    if (x86 && name === "armvtimer") {
      throw unsupported(
        `Configuring the '${name}' timer is not supported for virtType=${def.type} arch=${def.os.arch} machine=${machine} guests`,
      );
    }
  }
  for (const t of def.clock.children) {
    const track = t.name === "timer" && attr(t, "name") === "rtc" ? attr(t, "track") : undefined;
    if (track === "boot") throw unsupported(`unsupported rtc timer track '${track}'`);
  }
  const cache = def.cpu ? child(def.cpu, "cache") : undefined;
  if (cache && attr(cache, "mode") === "emulate" && attr(cache, "level") !== "3") {
    throw unsupported("CPU cache mode 'emulate' can only be used with level='3'");
  }
  const vcpus = def.extra.vcpus?.[0];
  const vcpu0 = vcpus && kids(vcpus).find((v) => attr(v, "id") === "0");
  if (vcpu0 && attr(vcpu0, "hotpluggable") === "yes") throw unsupported("vcpu0 can't be hotpluggable");
  for (const o of d.other) {
    if (o.kind !== "panic") continue;
    const a = kids(o.xml).find((c) => c.name === "address");
    const model = attr(o.xml, "model") ?? "isa";
    if (a && model === "isa" && attr(a, "type") !== "isa") {
      throw unsupported("panic is supported only with ISA address type");
    }
    if (a && model === "hyperv") {
      throw unsupported(`setting the panic device address is not supported for model '${model}'`);
    }
  }
  const addresses: (DeviceAddress | undefined)[] = [
    ...d.disks,
    ...d.controllers,
    ...d.interfaces,
    ...d.videos,
    ...d.inputs,
    ...d.serials,
    ...d.parallels,
  ].map((x) => x.address);
  if (d.memballoon) addresses.push(d.memballoon.address);
  const genericCcw = d.other.some((o) =>
    kids(o.xml).some((c) => c.name === "address" && attr(c, "type") === "ccw"),
  );
  if (!machine.startsWith("s390") && (genericCcw || addresses.some((a) => a?.type === "ccw"))) {
    throw unsupported(`cannot use CCW address type for device '<null>' using machine type '${machine}'`);
  }
  for (const c of d.serials) {
    const model = c.target?.children.find((k) => k.name === "model");
    const name = model ? attr(model, "name") : undefined;
    const want = name !== undefined ? SERIAL_MODEL_TYPE[name] : undefined;
    if (want !== undefined && targetAttr(c, "type") !== want) {
      throw unsupported(`Target model '${name}' requires target type '${want}'`);
    }
  }
  for (const g of d.graphics) {
    const tls = g.attrs.find(([k]) => k === "tlsPort")?.[1];
    if (g.type === "spice" && tls !== undefined && Number(tls) > 0) {
      throw unsupported("spice TLS port set in XML configuration, but TLS is disabled in qemu.conf");
    }
  }
  if (!d.graphics.some((g) => g.type === "spice")) {
    const spiceChr = [...d.serials, ...d.parallels, ...d.consoles, ...d.channels].find(
      (c) => c.type === "spicevmc" || c.type === "spiceport",
    );
    const other = d.other.find(
      (o) => (o.kind === "redirdev" || o.kind === "smartcard") && attr(o.xml, "type") === "spicevmc",
    );
    const type = spiceChr?.type ?? (other ? "spicevmc" : undefined);
    if (type) throw unsupported(`chardev '${type}' not supported without spice graphics`);
  }
  for (const o of d.other) {
    if (o.kind === "iommu" && attr(o.xml, "model") === "intel" && !q35) {
      throw unsupported("IOMMU device: 'intel' is only supported with Q35 machines");
    }
  }
  if ([def.onReboot, def.onPoweroff, def.onCrash].includes("rename-restart")) {
    throw unsupported(
      "qemu driver doesn't support the 'rename-restart' action for 'on_reboot'/'on_poweroff'/'on_crash'",
    );
  }
  const smm = def.features ? child(def.features, "smm") : undefined;
  if (smm && child(smm, "tseg") && !q35)
    throw unsupported("SMM TSEG is only supported with q35 machine type");
  if (def.maxMemory && !(def.cpu && child(def.cpu, "numa"))) {
    throw unsupported("At least one numa node has to be configured when enabling memory hotplug");
  }
  const bios = def.os.extra.bios?.[0];
  if (bios && attr(bios, "useserial") === "yes" && d.serials.length === 0) {
    throw xmlErr("need at least one serial port to use BIOS serial output");
  }
  if (d.controllers.some((c) => c.type === "ide" && c.index > 0)) {
    throw internalErr("Only 1 IDE controller is supported");
  }
  for (const c of d.controllers) {
    if (c.type === "scsi" && c.model === "buslogic")
      throw unsupported("Unsupported controller model: buslogic");
  }
  for (const disk of d.disks) {
    if (disk.type === "dir" && (disk.driver ? attr(disk.driver, "type") : undefined) !== "fat") {
      throw unsupported("storage type 'dir' requires use of storage format 'fat'");
    }
    const chain: XmlElement[] = [];
    for (let b = disk.backingStore; b; b = child(b, "backingStore")) chain.push(b);
    for (const b of chain) {
      const f = child(b, "format");
      if (f && attr(f, "type") === "cow") throw unsupported("'cow' storage format is not supported");
      // a directory in the backing chain too can only be a FAT image
      if (attr(b, "type") === "dir" && (f ? attr(f, "type") : undefined) !== "fat") {
        throw unsupported("storage type 'dir' requires use of storage format 'fat'");
      }
    }
    for (const enc of encryptions(disk.source)) {
      const format = attr(enc, "format");
      if (format === "default" || format === "qcow") {
        throw unsupported("old qcow/qcow2 encryption is not supported");
      }
      if (format === "luks2")
        throw unsupported("luks2 is currently not supported by the qemu encryption engine");
    }
    const io = disk.driver ? attr(disk.driver, "io") : undefined;
    const cache = disk.driver ? attr(disk.driver, "cache") : undefined;
    if (io === "native" && cache !== "none" && cache !== "directsync") {
      throw unsupported("io='native' needs either no disk cache or directsync cache mode");
    }
    if ((disk.device === "cdrom" || disk.device === "floppy") && disk.target.bus === "virtio") {
      throw unsupported(`disk type of '${disk.target.dev}' does not support ejectable media`);
    }
    // QEMU's IDE and AHCI hard disks cannot be read-only (a CD-ROM is)
    if (
      disk.readonly &&
      disk.device === "disk" &&
      (disk.target.bus === "ide" || disk.target.bus === "sata")
    ) {
      throw unsupported(`readonly ${disk.target.bus} disks are not supported`);
    }
  }
  for (const g of d.graphics) {
    if (g.type === "desktop" || g.type === "rdp") {
      throw unsupported(`${g.type} graphics are not supported with this QEMU`);
    }
  }
  for (const c of d.consoles) {
    const t = targetAttr(c, "type");
    if (t !== undefined && !["serial", "virtio", "sclp", "sclplm"].includes(t)) {
      throw unsupported(`unsupported console target type ${t}`);
    }
  }
  for (const o of d.other) {
    const model = attr(o.xml, "model");
    if (o.kind === "filesystem" && (attr(o.xml, "type") ?? "mount") !== "mount") {
      throw unsupported("only supports mount filesystem type");
    }
    if (o.kind === "shmem") {
      const m = kids(o.xml).find((c) => c.name === "model");
      const type = m ? attr(m, "type") : "ivshmem-plain";
      if (type === "ivshmem") throw unsupported("ivshmem device is not supported with this QEMU binary");
      if (type === "ivshmem-doorbell" && !kids(o.xml).some((c) => c.name === "server")) {
        throw unsupported("shmem model 'ivshmem-doorbell' is supported only with server option enabled");
      }
      if (type === "ivshmem-doorbell" && kids(o.xml).some((c) => c.name === "size")) {
        throw unsupported("shmem model 'ivshmem-doorbell' does not support size setting");
      }
    }
    if (o.kind === "hostdev" && (model === "vfio-ap" || model === "vfio-ccw")) {
      throw unsupported(
        `VFIO ${model === "vfio-ap" ? "AP" : "CCW"} device assignment is not supported by this version of QEMU`,
      );
    }
    if (o.kind === "memory" && model === "sgx-epc")
      throw unsupported("sgx epc isn't supported by this QEMU binary");
    if (o.kind === "tpm" && (model === "tpm-spapr" || model === "spapr-tpm-proxy")) {
      throw unsupported(`The QEMU executable ${def.devices.emulator} does not support TPM model ${model}`);
    }
    if (o.kind === "watchdog" && model === "diag288") {
      throw unsupported("diag288 model of watchdog is allowed for s390 and s390x only");
    }
    if (o.kind === "panic" && model === "pseries") {
      throw unsupported("only pSeries guests support panic device of model 'pseries'");
    }
    if (o.kind === "panic" && model === "s390") {
      throw unsupported("only S390 guests support panic device of model 's390'");
    }
  }
  for (const v of d.videos) {
    if (
      v.model.type === "gop" ||
      v.model.type === "xen" ||
      v.model.type === "vbox" ||
      v.model.type === "parallels"
    ) {
      throw unsupported(`domain configuration does not support video model '${v.model.type}'`);
    }
  }
  d.videos.forEach((v, i) => {
    if (i > 0 && !["qxl", "virtio", "none"].includes(v.model.type)) {
      throw unsupported(`video type '${v.model.type}' is only valid as primary video device`);
    }
  });
  for (const n of d.interfaces) {
    if (n.extra.ip?.length || n.extra.route?.length) {
      throw unsupported(
        "Invalid attempt to set network interface guest-side IP route and/or address info, not supported by QEMU",
      );
    }
  }
}
