// QMP commands device hot(un)plug needs (qapi/block-core.json, qapi/qdev.json, qapi/net.json,
// qapi/qom.json): blockdev and netdev back-ends, device_add/device_del, the removable-media tray,
// and waiting for DEVICE_DELETED. Thin wrappers: no policy, no domain definitions.
import type { QmpClient, QmpEvent } from "./qmp-client.js";

export async function blockdevAdd(mon: QmpClient, props: Record<string, unknown>): Promise<void> {
  await mon.execute("blockdev-add", props);
}

export async function blockdevDel(mon: QmpClient, nodeName: string): Promise<void> {
  await mon.execute("blockdev-del", { "node-name": nodeName });
}

export async function deviceAdd(mon: QmpClient, props: Record<string, unknown>): Promise<void> {
  await mon.execute("device_add", props);
}

export async function deviceDel(mon: QmpClient, id: string): Promise<void> {
  await mon.execute("device_del", { id });
}

export async function netdevAdd(mon: QmpClient, props: Record<string, unknown>): Promise<void> {
  await mon.execute("netdev_add", props);
}

export async function netdevDel(mon: QmpClient, id: string): Promise<void> {
  await mon.execute("netdev_del", { id });
}

export async function setLink(mon: QmpClient, name: string, up: boolean): Promise<void> {
  await mon.execute("set_link", { name, up });
}

/** The ids of user-created devices (`qom-list /machine/peripheral`, children only). */
export async function peripheralIds(mon: QmpClient): Promise<string[]> {
  const list = await mon.execute<{ name: string; type: string }[]>("qom-list", {
    path: "/machine/peripheral",
  });
  return list.filter((p) => p.type.startsWith("child<")).map((p) => p.name);
}

export async function qomGet<T = unknown>(mon: QmpClient, path: string, property: string): Promise<T> {
  return mon.execute<T>("qom-get", { path, property });
}

/** One entry of `query-block`: the BlockBackend of a device and the node inserted in it. */
export interface QueryBlockEntry {
  device: string;
  qdev?: string;
  removable: boolean;
  tray_open?: boolean;
  inserted?: { "node-name"?: string; file?: string; ro?: boolean };
}

export async function queryBlock(mon: QmpClient): Promise<QueryBlockEntry[]> {
  return mon.execute<QueryBlockEntry[]>("query-block");
}

/** Node names of every named block node (`query-named-block-nodes` with flat output). */
export async function blockNodeNames(mon: QmpClient): Promise<string[]> {
  const nodes = await mon.execute<{ "node-name": string }[]>("query-named-block-nodes", { flat: true });
  return nodes.map((n) => n["node-name"]);
}

/** query-pci, flattened: the bus/slot/function of the device with qdev id `id`, if QEMU placed it. */
export async function pciAddressOf(
  mon: QmpClient,
  id: string,
): Promise<{ bus: number; slot: number; function: number } | undefined> {
  interface Dev {
    bus: number;
    slot: number;
    function: number;
    qdev_id: string;
    pci_bridge?: { devices?: Dev[] };
  }
  const buses = await mon.execute<{ bus: number; devices: Dev[] }[]>("query-pci");
  const walk = (devs: Dev[]): Dev | undefined => {
    for (const d of devs) {
      if (d.qdev_id === id) return d;
      const inner = d.pci_bridge?.devices ? walk(d.pci_bridge.devices) : undefined;
      if (inner) return inner;
    }
    return undefined;
  };
  for (const b of buses) {
    const d = walk(b.devices);
    if (d) return { bus: d.bus, slot: d.slot, function: d.function };
  }
  return undefined;
}

/** One device of query-pci, with what lies behind it when it is a bridge or root port. */
export interface PciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  pci_bridge?: { devices?: PciDevice[] };
}

/**
 * The devices on each PCI bus, keyed the way libvirt numbers buses: 0 for the root bus, N for
 * the bridge or root port a start created as `pci.N` (controller index N).
 */
export async function pciBuses(mon: QmpClient): Promise<Map<number, PciDevice[]>> {
  const roots = await mon.execute<{ bus: number; devices: PciDevice[] }[]>("query-pci");
  const out = new Map<number, PciDevice[]>();
  const walk = (devs: PciDevice[]) => {
    for (const d of devs) {
      const m = /^pci\.(\d+)$/.exec(d.qdev_id);
      if (m && d.pci_bridge) out.set(Number(m[1]), d.pci_bridge.devices ?? []);
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices);
    }
  };
  for (const r of roots) {
    if (r.bus === 0) out.set(0, r.devices);
    walk(r.devices);
  }
  return out;
}

export async function trayOpen(mon: QmpClient, id: string, force: boolean): Promise<void> {
  await mon.execute("blockdev-open-tray", { id, force });
}

export async function trayClose(mon: QmpClient, id: string): Promise<void> {
  await mon.execute("blockdev-close-tray", { id });
}

export async function mediumRemove(mon: QmpClient, id: string): Promise<void> {
  await mon.execute("blockdev-remove-medium", { id });
}

export async function mediumInsert(mon: QmpClient, id: string, nodeName: string): Promise<void> {
  await mon.execute("blockdev-insert-medium", { id, "node-name": nodeName });
}

export type UnplugOutcome = "deleted" | "rejected" | "timeout" | "closed";

/**
 * Starts listening for the unplug of device `id` before device_del is sent (QEMU may report it
 * before its reply). DEVICE_DELETED names the device by id; DEVICE_UNPLUG_GUEST_ERROR says the
 * guest refused. `result` settles after `timeoutMs` with "timeout" at the latest.
 */
export function watchUnplug(
  mon: QmpClient,
  id: string,
  timeoutMs: number,
): { result: Promise<UnplugOutcome>; deleted: Promise<boolean>; cancel(): void } {
  let settle: (o: UnplugOutcome) => void = () => {};
  let settleLate: (b: boolean) => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  const onEvent = (e: QmpEvent) => {
    if (e.data?.device !== id) return;
    if (e.event === "DEVICE_DELETED") {
      settle("deleted");
      finish(true);
    } else if (e.event === "DEVICE_UNPLUG_GUEST_ERROR") settle("rejected");
  };
  const onClose = () => {
    settle("closed");
    finish(false);
  };
  const finish = (deleted: boolean) => {
    mon.off("event", onEvent);
    mon.off("close", onClose);
    settleLate(deleted);
  };
  const result = new Promise<UnplugOutcome>((resolve) => {
    let done = false;
    settle = (o) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      resolve(o);
    };
  });
  // Settles once the device is really gone (true) or the monitor closed / we gave up (false).
  const deleted = new Promise<boolean>((resolve) => {
    settleLate = resolve;
  });
  mon.on("event", onEvent);
  mon.once("close", onClose);
  timer = setTimeout(() => settle("timeout"), timeoutMs);
  return {
    result,
    deleted,
    cancel: () => {
      settle("timeout");
      finish(false);
    },
  };
}
