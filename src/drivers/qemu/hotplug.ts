// virDomainAttachDeviceFlags / DetachDeviceFlags / UpdateDeviceFlags for the QEMU driver
// (libvirt's qemuDomain{Attach,Detach,Update}Device{LiveAndConfig,Config,Live}): AFFECT_CONFIG
// edits a copy of the persistent definition that is saved only after the live part worked;
// AFFECT_LIVE changes the running QEMU (hotplug-disk.ts, hotplug-net.ts) and the status file.
import { cloneDomainDef, type DiskDef, type DomainDef } from "../../conf/domain/index.js";
import { VIR_DOMAIN_AFFECT } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, child, el } from "../../xml/index.js";
import { isActive, modificationImpact, persistentDef, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import {
  findNet,
  insertDisk,
  parseController,
  parseDisk,
  parseInterface,
  parseWithDevice,
  pciText,
  type RawDevice,
  rawDiskTarget,
  rawNetMatch,
  readDeviceXml,
} from "./hotplug-device.js";
import {
  attachDiskLive,
  changeMediaLive,
  checkSource,
  detachDiskLive,
  liveDiskByTarget,
  updateDiskLive,
} from "./hotplug-disk.js";
import { attachNetLive, detachNetLive, setNetLinkLive } from "./hotplug-net.js";
import { attachControllerLive, detachControllerLive, findController } from "./hotplug-controller.js";

/**
 * qemuDomainAttachSCSIDisk: a SCSI disk's controller, and every lower-numbered one, is hot-added
 * first where the guest has none (default model), as `virt-xml --add-device --disk bus=scsi
 * --update` expects.
 */
async function addScsiControllersFor(st: QemuDriverState, d: QemuDomain, disk: DiskDef): Promise<void> {
  if (disk.target.bus !== "scsi" || (disk.address && disk.address.type !== "drive")) return;
  const last = Number(disk.address?.attrs.find(([k]) => k === "controller")?.[1] ?? 0);
  for (let i = 0; i <= last; i++) {
    if (d.def.devices.controllers.some((c) => c.type === "scsi" && c.index === i)) continue;
    const { ctrl, parsed } = await parseController(
      st,
      d.def,
      readDeviceXml(`<controller type='scsi' index='${i}'/>`),
    );
    await attachControllerLive(st, d, ctrl, parsed);
  }
}

/** VIR_DOMAIN_DEVICE_MODIFY_FORCE (update-device --force: eject a locked tray). */
const MODIFY_FORCE = 4;
const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;

/** Device kinds libvirt 9.0 accepts in a persistent attach that the domain parser can take. */
const CONFIG_ATTACH = new Set([
  "disk",
  "interface",
  "controller",
  "input",
  "rng",
  "sound",
  "watchdog",
  "hostdev",
  "redirdev",
  "filesystem",
  "serial",
  "parallel",
  "console",
  "channel",
  "shmem",
  "tpm",
  "vsock",
  "memory",
]);

/** virCheckFlags: VIR_ERR_INVALID_ARG whose text libvirt reports without the code's prefix. */
function checkFlagsRaw(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~(allowed >>> 0);
  if (extra !== 0) {
    throw new VirError({
      code: ErrorCode.INVALID_ARG,
      domain: ErrorDomain.QEMU,
      message: `unsupported flags (0x${extra.toString(16)}) in function ${fn}`,
    });
  }
}

async function commitConfig(st: QemuDriverState, d: QemuDomain, def: DomainDef): Promise<void> {
  if (isActive(d)) d.newDef = def;
  else d.def = def;
  await st.saveConfig(d);
}

function notSupported(what: string, raw: RawDevice): never {
  throw virError(
    ErrorCode.OPERATION_UNSUPPORTED,
    ErrorDomain.QEMU,
    `${what} of device '${raw.type}' is not supported`,
  );
}

/** qemuDomainAttachDeviceConfig on a copy of the persistent definition. */
async function attachConfig(st: QemuDriverState, def: DomainDef, raw: RawDevice): Promise<DomainDef> {
  if (!CONFIG_ATTACH.has(raw.element)) notSupported("persistent attach", raw);
  if (raw.element === "disk") {
    const target = rawDiskTarget(raw);
    if (target !== undefined && def.devices.disks.some((x) => x.target.dev === target)) {
      throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, `target ${target} already exists`);
    }
    const next = await parseWithDevice(st, def, raw);
    const disks = next.devices.disks;
    const i = disks.findIndex((x) => x.target.dev === target);
    if (i < 0) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "cannot find the parsed disk");
    const [disk] = disks.splice(i, 1);
    insertDisk(disks, disk!);
    return next;
  }
  if (raw.element === "controller") {
    const index = attr(raw.xml, "index");
    if (
      index !== undefined &&
      findController(def.devices.controllers, attr(raw.xml, "type"), Number(index)) >= 0
    ) {
      throw virError(
        ErrorCode.OPERATION_INVALID,
        ErrorDomain.QEMU,
        `controller index='${index}' already exists`,
      );
    }
    return (await parseController(st, def, raw)).parsed;
  }
  return parseWithDevice(st, def, raw);
}

/**
 * virDomainDiskDefValidate's first check, which attach and update run and detach skips: a disk
 * (not a removable one) of a local type needs a source.
 */
function requireDiskSource(raw: RawDevice): void {
  if (raw.element !== "disk") return;
  const device = attr(raw.xml, "device") ?? "disk";
  const type = attr(raw.xml, "type") ?? "file";
  if (device === "cdrom" || device === "floppy" || child(raw.xml, "source")) return;
  if (type !== "file" && type !== "block" && type !== "dir" && type !== "volume" && type !== "network")
    return;
  throw virError(ErrorCode.NO_SOURCE, ErrorDomain.DOMAIN, rawDiskTarget(raw) ?? "");
}

function pciOf(n: { address?: { type: string; attrs: [string, string][] } }): string | undefined {
  return n.address?.type === "pci" ? pciText(n.address.attrs) : undefined;
}

/** qemuDomainDetachDeviceConfig on a copy of the persistent definition. */
async function detachConfig(st: QemuDriverState, def: DomainDef, raw: RawDevice): Promise<DomainDef> {
  const next = cloneDomainDef(def);
  void st;
  if (raw.element === "disk") {
    const target = rawDiskTarget(raw) ?? "";
    const i = next.devices.disks.findIndex((x) => x.target.dev === target);
    if (i < 0) throw virError(ErrorCode.DEVICE_MISSING, ErrorDomain.QEMU, `no target device ${target}`);
    next.devices.disks.splice(i, 1);
    return next;
  }
  if (raw.element === "interface") {
    const i = findNet(next.devices.interfaces, rawNetMatch(raw), pciOf);
    next.devices.interfaces.splice(i, 1);
    return next;
  }
  if (raw.element === "controller") {
    const i = findController(
      next.devices.controllers,
      attr(raw.xml, "type"),
      Number(attr(raw.xml, "index") ?? 0),
    );
    if (i < 0) {
      throw virError(
        ErrorCode.DEVICE_MISSING,
        ErrorDomain.QEMU,
        "device not present in domain configuration",
      );
    }
    next.devices.controllers.splice(i, 1);
    return next;
  }
  notSupported("persistent detach", raw);
}

/** qemuDomainUpdateDeviceConfig: a disk gets the new source (and driver) of the same target. */
async function updateConfig(st: QemuDriverState, def: DomainDef, raw: RawDevice): Promise<DomainDef> {
  if (raw.element === "interface") return updateNet(st, def, raw, "persistent update");
  if (raw.element !== "disk") notSupported("persistent update", raw);
  const target = rawDiskTarget(raw) ?? "";
  const old = def.devices.disks.find((x) => x.target.dev === target);
  if (!old) throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `target ${target} doesn't exist.`);
  const without: DomainDef = {
    ...def,
    devices: { ...def.devices, disks: def.devices.disks.filter((x) => x !== old) },
  };
  const disk = await parseDisk(st, without, raw);
  const next = cloneDomainDef(def);
  const mine = next.devices.disks.find((x) => x.target.dev === target)!;
  mine.source = disk.source;
  if (disk.driver) mine.driver = disk.driver;
  return next;
}

export async function attachDevice(
  st: QemuDriverState,
  d: QemuDomain,
  xml: string,
  flags: number,
): Promise<void> {
  checkFlagsRaw(flags, AFFECT, "qemuDomainAttachDeviceLiveAndConfig");
  const { live, config } = modificationImpact(d, flags);
  const raw = readDeviceXml(xml);
  requireDiskSource(raw);
  const newConfig = config ? await attachConfig(st, persistentDef(d), raw) : undefined;
  if (newConfig && live && raw.element === "interface" && !child(raw.xml, "mac")) {
    // One device for both definitions (libvirt copies it): the MAC generated for the config is
    // the one the guest gets.
    const mac = newConfig.devices.interfaces[persistentDef(d).devices.interfaces.length]?.mac;
    if (mac) raw.xml.children.unshift(el("mac", [["address", mac]]));
  }
  if (live) {
    if (raw.element === "disk") {
      const target = rawDiskTarget(raw) ?? "";
      const existing = liveDiskByTarget(d, target);
      const devAttr = raw.xml.attrs.find(([k]) => k === "device")?.[1];
      if (existing && (devAttr === "cdrom" || devAttr === "floppy")) {
        // A removable disk on a target that exists is a media change (qemuDomainAttachDeviceDiskLive).
        const without: DomainDef = {
          ...d.def,
          devices: { ...d.def.devices, disks: d.def.devices.disks.filter((x) => x !== existing) },
        };
        await changeMediaLive(st, d, existing, await parseDisk(st, without, raw), false);
      } else {
        const disk = await parseDisk(st, d.def, raw);
        // an image that is not there fails the attach before a controller is added for it
        checkSource(disk);
        await addScsiControllersFor(st, d, disk);
        await attachDiskLive(st, d, disk);
      }
    } else if (raw.element === "interface") await attachNetLive(st, d, await parseInterface(st, d.def, raw));
    else if (raw.element === "controller") {
      const { ctrl, parsed } = await parseController(st, d.def, raw);
      await attachControllerLive(st, d, ctrl, parsed);
    } else notSupported("live attach", raw);
  }
  if (newConfig) await commitConfig(st, d, newConfig);
}

export async function detachDevice(
  st: QemuDriverState,
  d: QemuDomain,
  xml: string,
  flags: number,
): Promise<void> {
  checkFlagsRaw(flags, AFFECT, "qemuDomainDetachDeviceLiveAndConfig");
  const { live, config } = modificationImpact(d, flags);
  const raw = readDeviceXml(xml);
  const newConfig = config ? await detachConfig(st, persistentDef(d), raw) : undefined;
  if (live) {
    if (raw.element === "disk") await detachDiskLive(st, d, rawDiskTarget(raw) ?? "");
    else if (raw.element === "interface") {
      const i = findNet(d.def.devices.interfaces, rawNetMatch(raw), pciOf);
      await detachNetLive(st, d, d.def.devices.interfaces[i]!);
    } else if (raw.element === "controller") {
      await detachControllerLive(st, d, attr(raw.xml, "type"), Number(attr(raw.xml, "index") ?? 0));
    } else notSupported("live detach", raw);
  }
  if (newConfig) await commitConfig(st, d, newConfig);
}

export async function updateDevice(
  st: QemuDriverState,
  d: QemuDomain,
  xml: string,
  flags: number,
): Promise<void> {
  checkFlagsRaw(flags, AFFECT | MODIFY_FORCE, "qemuDomainUpdateDeviceFlags");
  const { live, config } = modificationImpact(d, flags);
  const raw = readDeviceXml(xml);
  requireDiskSource(raw);
  const newConfig = config ? await updateConfig(st, persistentDef(d), raw) : undefined;
  if (live) {
    if (raw.element === "interface") await updateNet(st, d.def, raw, "live update", d);
    else if (raw.element !== "disk") notSupported("live update", raw);
    else {
      const target = rawDiskTarget(raw) ?? "";
      const old = liveDiskByTarget(d, target);
      if (!old) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `disk '${target}' not found`);
      const without: DomainDef = {
        ...d.def,
        devices: { ...d.def.devices, disks: d.def.devices.disks.filter((x) => x !== old) },
      };
      await updateDiskLive(st, d, await parseDisk(st, without, raw), (flags & MODIFY_FORCE) !== 0);
    }
  }
  if (newConfig) await commitConfig(st, d, newConfig);
}

/**
 * update-device of an interface (found as detach finds it, with libvirt's errors): only the link
 * state may change (what `virsh domif-setlink` sends); live it goes to QEMU's set_link. Returns the
 * updated copy of `def` (for the persistent definition), or changes the live one in place.
 */
async function updateNet(
  st: QemuDriverState,
  def: DomainDef,
  raw: RawDevice,
  what: string,
  live?: QemuDomain,
): Promise<DomainDef> {
  const i = findNet(def.devices.interfaces, rawNetMatch(raw), pciOf);
  const old = def.devices.interfaces[i]!;
  const without: DomainDef = {
    ...def,
    devices: { ...def.devices, interfaces: def.devices.interfaces.filter((x) => x !== old) },
  };
  const next = await parseInterface(st, without, raw);
  const rest = (n: typeof old) => {
    const { link: _link, ...extra } = n.extra;
    return JSON.stringify([n.type, n.mac, n.model, n.source?.attrs, extra, n.attrs]);
  };
  if (rest(next) !== rest(old)) notSupported(what, raw);
  const state = (n: typeof old) => {
    const l = n.extra.link?.[0];
    return (l && attr(l, "state")) ?? "up";
  };
  const setLink = (n: typeof old) => {
    if (next.extra.link) n.extra.link = next.extra.link;
    else delete n.extra.link;
  };
  if (live) {
    if (state(next) !== state(old)) await setNetLinkLive(live, old, state(next) !== "down");
    setLink(old);
    return def;
  }
  const copy = cloneDomainDef(def);
  setLink(copy.devices.interfaces[i]!);
  return copy;
}
