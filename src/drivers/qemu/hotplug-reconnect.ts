// After a daemon restart (libvirt's qemuProcessUpdateDevices): devices whose unplug finished while
// no daemon listened for DEVICE_DELETED are still in the saved live XML; QEMU's list of devices
// (qom-list /machine/peripheral) says which are gone, and the live XML is brought in line.
import type { QemuDomain } from "./domain-obj.js";
import { diskArgs, saveLive } from "./hotplug-qemu.js";
import { peripheralIds, qomGet } from "./monitor/hotplug-qmp.js";

const HOTPLUG_DISK_BUSES = new Set(["virtio", "scsi", "usb"]);

/** Drops from the live definition what QEMU no longer has; true when something was dropped. */
export async function dropUnpluggedDevices(d: QemuDomain): Promise<boolean> {
  const mon = d.proc?.monitor;
  if (!mon || !d.caps) return false;
  const ids = new Set(await peripheralIds(mon));
  const dev = d.def.devices;
  const before = dev.disks.length + dev.interfaces.length + dev.controllers.length;
  dev.disks = dev.disks.filter((disk) => {
    if (!HOTPLUG_DISK_BUSES.has(disk.target.bus)) return true;
    try {
      return ids.has(String(diskArgs(d, disk).device[0]?.id));
    } catch {
      return true;
    }
  });
  const macs = new Set<string>();
  for (const id of ids) {
    if (!/^net\d+$/.test(id)) continue;
    const mac = await qomGet<string>(mon, `/machine/peripheral/${id}`, "mac").catch(() => undefined);
    if (typeof mac === "string") macs.add(mac.toLowerCase());
  }
  dev.interfaces = dev.interfaces.filter((n) => macs.has(n.mac));
  dev.controllers = dev.controllers.filter(
    (c) => (c.type !== "scsi" && c.type !== "virtio-serial") || ids.has(`${c.type}${c.index}`),
  );
  const changed = dev.disks.length + dev.interfaces.length + dev.controllers.length !== before;
  if (changed) saveLive(d);
  return changed;
}
