// Live SCSI and virtio-serial controllers (libvirt's qemuDomainAttachControllerDevice, reduced):
// device_add of the controller a start would create, its PCI address recorded in the live XML.
import type { ControllerDef, DomainDef } from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { buildControllers } from "./command-devices.js";
import type { BuildContext } from "./command-util.js";
import { controllerAlias } from "./domain-aliases.js";
import type { QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import {
  checkPciFree,
  deviceEvent,
  monitorOf,
  placePci,
  recordPciAddress,
  saveLive,
  UNPLUG_WAIT_MS,
  unplug,
} from "./hotplug-qemu.js";
import { deviceAdd } from "./monitor/hotplug-qmp.js";

const LIVE_TYPES = new Set(["scsi", "virtio-serial"]);

/**
 * Hot-adds `ctrl`; `parsed` is the definition the controller was parsed into, whose order
 * (libvirt's virDomainControllerInsert) places it in the live list.
 */
export async function attachControllerLive(
  st: QemuDriverState,
  d: QemuDomain,
  ctrl: ControllerDef,
  parsed: DomainDef,
): Promise<void> {
  const mon = monitorOf(d);
  if (!LIVE_TYPES.has(ctrl.type)) {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.QEMU,
      `'${ctrl.type}' controller cannot be hot plugged.`,
    );
  }
  await checkPciFree(mon, ctrl);
  await placePci(mon, d, ctrl);
  const one: DomainDef = { ...d.def, devices: { ...d.def.devices, controllers: [ctrl] } };
  const q35 = (d.def.os.machine ?? "").startsWith("pc-q35");
  const ctx: BuildContext = {
    def: one,
    caps: d.caps!,
    argv: [],
    q35,
    bootIndex: new Map(),
    buses: new Set(),
  };
  buildControllers(ctx);
  const i = ctx.argv.indexOf("-device");
  if (i < 0) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "no device for the controller");
  const props = JSON.parse(ctx.argv[i + 1]!) as Record<string, unknown>;
  await deviceAdd(mon, props);
  const id = String(props.id);
  await recordPciAddress(mon, ctrl, id);
  ctrl.alias ??= controllerAlias(d.def, ctrl);
  const list = d.def.devices.controllers;
  const order = parsed.devices.controllers;
  const before = order.slice(0, order.indexOf(ctrl)).reverse();
  const key = (c: ControllerDef) => `${c.type}:${c.index}`;
  const prev = before.map(key).find((k) => list.some((c) => key(c) === k));
  const at = prev === undefined ? 0 : list.findIndex((c) => key(c) === prev) + 1;
  list.splice(at, 0, ctrl);
  saveLive(d);
  deviceEvent(st, d, true, id);
}

/** Where `type`/`index` sits in `list`, or -1. */
export function findController(list: ControllerDef[], type: string | undefined, index: number): number {
  return list.findIndex((c) => c.type === type && c.index === index);
}

/** A controller with disks (or other devices) on it stays (qemuDomainDetachPrepController). */
function controllerBusy(def: DomainDef, c: ControllerDef): boolean {
  const onIt = (a: { type: string; attrs: [string, string][] } | undefined) =>
    a?.type === "drive" && Number(a.attrs.find(([k]) => k === "controller")?.[1] ?? 0) === c.index;
  if (c.type === "scsi") return def.devices.disks.some((x) => x.target.bus === "scsi" && onIt(x.address));
  if (c.type === "virtio-serial") return def.devices.channels.length > 0;
  return true;
}

export async function detachControllerLive(
  st: QemuDriverState,
  d: QemuDomain,
  type: string | undefined,
  index: number,
  waitMs = UNPLUG_WAIT_MS,
): Promise<void> {
  const mon = monitorOf(d);
  const i = findController(d.def.devices.controllers, type, index);
  if (i < 0)
    throw virError(ErrorCode.DEVICE_MISSING, ErrorDomain.QEMU, `controller ${type}:${index} not found`);
  const ctrl = d.def.devices.controllers[i]!;
  if (!LIVE_TYPES.has(ctrl.type) || controllerBusy(d.def, ctrl)) {
    throw virError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, "device cannot be detached: device is busy");
  }
  const id = `${ctrl.type}${ctrl.index}`;
  await unplug(
    st,
    d,
    mon,
    id,
    async () => {
      const at = d.def.devices.controllers.indexOf(ctrl);
      if (at >= 0) d.def.devices.controllers.splice(at, 1);
      saveLive(d);
      deviceEvent(st, d, false, id);
    },
    waitMs,
  );
}
