// More of what libvirtd 9.0's QEMU driver refuses at define (qemu_validate.c and the address
// reservation of qemu_domain_address.c), each recorded with `virsh define` against a private
// libvirtd (tests/data/qemu-dumpxml/w-err-*, w-tpm-*): same error codes and texts. Pure but for
// the TPM check, which asks whether swtpm is installed (as libvirt's virTPMEmulatorInit does).
import { spawnSync } from "node:child_process";
import type { DeviceAddress, DomainDef } from "../../conf/domain/index.js";
import { internalErr, xmlErr } from "../../conf/domain/errors.js";
import { attr, child, type XmlElement } from "../../xml/index.js";
import type { QemuMachine } from "./capabilities.js";
import { unsupported } from "./command-util.js";

const kids = (e: XmlElement) => e.children.filter((c): c is XmlElement => c.kind === "element");
const text = (e: XmlElement) =>
  e.children
    .map((c) => (c.kind === "text" ? c.text : ""))
    .join("")
    .trim();

let swtpmVersions: Set<string> | undefined;

/** The TPM versions swtpm_setup offers ('1.2', '2.0'); none when swtpm is not installed. */
function swtpmSupports(version: string): boolean {
  if (!swtpmVersions) {
    swtpmVersions = new Set();
    const r = spawnSync("swtpm_setup", ["--print-capabilities"], { encoding: "utf8", timeout: 5000 });
    if (r.status === 0) {
      try {
        const features = (JSON.parse(r.stdout) as { features?: string[] }).features ?? [];
        if (features.includes("tpm-1.2")) swtpmVersions.add("1.2");
        if (features.includes("tpm-2.0")) swtpmVersions.add("2.0");
      } catch {
        // no usable capabilities: nothing supported
      }
    }
  }
  return swtpmVersions.has(version);
}

function pciString(a: DeviceAddress): string | undefined {
  if (a.type !== "pci") return undefined;
  const g = (k: string) => {
    const v = a.attrs.find(([x]) => x === k)?.[1];
    return v === undefined ? 0 : Number.parseInt(v, v.startsWith("0x") ? 16 : 10);
  };
  const [d, b, s, f] = [g("domain"), g("bus"), g("slot"), g("function")];
  if (d === 0 && b === 0 && s === 0 && f === 0) return undefined;
  const h = (n: number, w: number) => n.toString(16).padStart(w, "0");
  return `${h(d, 4)}:${h(b, 2)}:${h(s, 2)}.${f}`;
}

/** Explicit device addresses, typed devices and those kept verbatim alike. */
function explicitAddresses(def: DomainDef): DeviceAddress[] {
  const d = def.devices;
  const out: DeviceAddress[] = [];
  for (const x of [
    ...d.disks,
    ...d.controllers,
    ...d.interfaces,
    ...d.videos,
    ...d.inputs,
    ...d.serials,
    ...d.parallels,
    ...d.consoles,
    ...d.channels,
  ]) {
    if (x.address) out.push(x.address);
  }
  if (d.memballoon?.address) out.push(d.memballoon.address);
  for (const o of d.other) {
    const a = kids(o.xml).find((c) => c.name === "address");
    if (a) out.push({ type: attr(a, "type") ?? "", attrs: a.attrs.filter(([k]) => k !== "type") });
  }
  return out;
}

/** Checks run after the QEMU post-parse defaults, before addresses are assigned. */
export function qemuValidateMore(def: DomainDef, machine: QemuMachine, q35: boolean): void {
  const d = def.devices;
  if (machine.cpuMax !== undefined && def.vcpu.max > machine.cpuMax) {
    throw unsupported(`Maximum CPUs greater than specified machine type limit ${machine.cpuMax}`);
  }
  if (def.features && child(def.features, "gic")) {
    throw unsupported(
      `The 'gic' feature is not supported for architecture '${def.os.arch}' or machine type '${machine.name}'`,
    );
  }
  const memtune = def.extra.memtune?.[0];
  if (memtune && child(memtune, "min_guarantee"))
    throw unsupported("Parameter 'min_guarantee' not supported by QEMU.");
  const topo = def.cpu ? child(def.cpu, "topology") : undefined;
  if (topo) {
    const n = ["sockets", "dies", "clusters", "cores", "threads"]
      .map((k) => Number(attr(topo, k) ?? 1))
      .reduce((a, b) => a * b, 1);
    if (n !== def.vcpu.max) throw unsupported("CPU topology doesn't match maximum vcpu count");
  }
  // PCI and USB addresses given twice (qemuDomainAssignAddresses reserves each given one)
  const seenPci = new Set<string>();
  const seenUsb = new Set<string>();
  for (const a of explicitAddresses(def)) {
    const pci = pciString(a);
    if (pci !== undefined) {
      if (seenPci.has(pci)) throw xmlErr(`Attempted double use of PCI Address ${pci}`);
      seenPci.add(pci);
    }
    if (a.type === "usb") {
      const bus = a.attrs.find(([k]) => k === "bus")?.[1];
      const port = a.attrs.find(([k]) => k === "port")?.[1];
      if (bus === undefined || port === undefined) continue;
      const key = `${bus} ${port}`;
      if (seenUsb.has(key)) throw xmlErr(`Duplicate USB address bus ${bus} port ${port}`);
      seenUsb.add(key);
    }
  }
  const noPci = d.other.some((o) => {
    if (o.kind !== "filesystem") return false;
    const drv = kids(o.xml).find((c) => c.name === "driver");
    // QEMU has no device for a loop or nbd filesystem driver
    return drv !== undefined && ["loop", "nbd"].includes(attr(drv, "type") ?? "");
  });
  if (d.memballoon?.model === "xen" || noPci) {
    // a Xen balloon has no PCI connection QEMU could give it
    throw internalErr("Cannot automatically add a new PCI bus for a device with connect flags 00");
  }
  if (q35 && d.controllers.some((c) => c.type === "ide")) {
    throw unsupported("IDE controllers are unsupported for this QEMU binary or machine type");
  }
  const usbOff =
    d.controllers.some((c) => c.type === "usb" && c.model === "none") &&
    !d.controllers.some((c) => c.type === "usb" && c.model !== "none");
  if (usbOff) {
    const usbDevice =
      d.disks.some((x) => x.target.bus === "usb") ||
      d.other.some(
        (o) =>
          (o.kind === "sound" && attr(o.xml, "model") === "usb") ||
          (o.kind === "smartcard" && attr(o.xml, "mode") !== undefined),
      );
    if (usbDevice) {
      throw unsupported("USB is disabled for this domain, but USB devices are present in the domain XML");
    }
  }
  for (const v of d.videos) {
    const heads = v.model.attrs.find(([k]) => k === "heads")?.[1];
    if (heads !== undefined && heads !== "1" && !["qxl", "virtio"].includes(v.model.type)) {
      throw unsupported(`video type '${v.model.type}' doesn't support multiple 'heads'`);
    }
  }
  // iothread ids: <iothreadids> as given, else 1..<iothreads>
  const ids = new Set<number>();
  const given = def.extra.iothreadids?.[0];
  if (given) for (const t of kids(given)) ids.add(Number(attr(t, "id")));
  const count = def.extra.iothreads?.[0];
  const n = count && /^[0-9]+$/.test(text(count)) ? Number(text(count)) : 0;
  for (let i = 1; ids.size < n && i <= n + ids.size; i++) ids.add(i);
  for (const disk of d.disks) {
    const io = disk.driver ? attr(disk.driver, "iothread") : undefined;
    if (io !== undefined && !ids.has(Number(io))) {
      throw unsupported(`Disk iothread '${io}' not defined in iothreadid`);
    }
  }
  // a virtio-scsi controller's <driver iothread>
  for (const c of d.controllers) {
    const drv = c.children.find((k) => k.name === "driver");
    const io = drv ? attr(drv, "iothread") : undefined;
    if (c.type === "scsi" && io !== undefined && !ids.has(Number(io))) {
      throw unsupported(`controller iothread '${io}' not defined in iothreadid`);
    }
  }
  const tpms = d.other.filter((o) => o.kind === "tpm" && attr(o.xml, "model") !== "spapr-tpm-proxy");
  if (tpms.length > 1) throw unsupported("only a single TPM non-proxy device is supported");
  for (const t of tpms) {
    const backend = kids(t.xml).find((c) => c.name === "backend");
    if (!backend || attr(backend, "type") !== "emulator") continue;
    const model = attr(t.xml, "model") ?? "tpm-tis";
    const version = attr(backend, "version") ?? (model === "tpm-crb" ? "2.0" : "1.2");
    if (!swtpmSupports(version)) throw unsupported(`TPM version '${version}' is not supported`);
  }
  const memAccess = (() => {
    const mb = def.extra.memoryBacking?.[0];
    const acc = mb ? kids(mb).find((c) => c.name === "access") : undefined;
    return acc ? attr(acc, "mode") : undefined;
  })();
  // vhost-user back ends map the guest's memory: all of it must be shared (the domain's access
  // mode, or every NUMA cell's)
  const sharedMemory = () => {
    const numa = def.cpu ? child(def.cpu, "numa") : undefined;
    const cells = numa ? kids(numa).filter((c) => c.name === "cell") : [];
    return cells.length === 0
      ? memAccess === "shared"
      : cells.every((c) => (attr(c, "memAccess") ?? memAccess) === "shared");
  };
  for (const disk of d.disks) {
    if (disk.type === "vhostuser" && !sharedMemory()) throw unsupported("'vhostuser' requires shared memory");
    // QEMU's curl block driver has no tftp (its blockdev drivers: http, https, ftp, ftps), which
    // libvirt 9.0 refuses for the disk and any image of its backing chain
    const tftp = (t: string | undefined, s: XmlElement | undefined) =>
      t === "network" && s !== undefined && attr(s, "protocol") === "tftp";
    let bad = tftp(disk.type, disk.source);
    for (let b = disk.backingStore; b && !bad; b = child(b, "backingStore"))
      bad = tftp(attr(b, "type"), child(b, "source"));
    if (bad) throw unsupported("'tftp' protocol is not supported with this QEMU binary");
  }
  for (const o of d.other) {
    if (o.kind !== "filesystem") continue;
    const drv = kids(o.xml).find((c) => c.name === "driver");
    if (!drv || attr(drv, "type") !== "virtiofs") continue;
    if ((attr(o.xml, "accessmode") ?? "passthrough") !== "passthrough") {
      throw unsupported("virtiofs only supports passthrough accessmode");
    }
    if (!sharedMemory()) throw unsupported("'virtiofs' requires shared memory");
  }
}
