// Shared pieces of live hot(un)plug: the argv builders' own device and back-end JSON for one
// device (so hotplugged devices get the ids and node names a start would give them), the next free
// index for those names, unplug with libvirt's 5 s wait, and the live-state bookkeeping.
import type { DeviceAddress, DomainDef } from "../../conf/domain/index.js";
import { VIR_DOMAIN_EVENT_ID } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { buildDisks } from "./command-disk.js";
import { buildControllers, buildInterfaces } from "./command-devices.js";
import type { BuildContext } from "./command-util.js";
import { domRef, notRunning, type QemuDomain } from "./domain-obj.js";
import { writeStatus } from "./domain-status.js";
import type { QemuDriverState } from "./driver-state.js";
import { deviceDel, pciAddressOf, pciBuses, watchUnplug } from "./monitor/hotplug-qmp.js";
import type { QmpClient } from "./monitor/qmp-client.js";
import { errnoText } from "../../util/strerror.js";

/** qemuDomainRemoveDeviceWaitTime: how long a detach waits for the guest to let go (5 s). */
export const UNPLUG_WAIT_MS = 5000;

/** The running QEMU's monitor, or libvirt's "domain is not running". */
export function monitorOf(d: QemuDomain): QmpClient {
  if (!d.proc || !d.caps) throw notRunning();
  return d.proc.monitor;
}

/** -blockdev/-netdev/-device arguments of a build, as QMP argument objects. */
export interface BuiltArgs {
  blockdev: Record<string, unknown>[];
  netdev: Record<string, unknown>[];
  device: Record<string, unknown>[];
}

function splitArgv(argv: string[]): BuiltArgs {
  const out: BuiltArgs = { blockdev: [], netdev: [], device: [] };
  for (let i = 0; i + 1 < argv.length; i += 2) {
    const key = argv[i]!.slice(1) as keyof BuiltArgs;
    if (key in out) out[key].push(JSON.parse(argv[i + 1]!) as Record<string, unknown>);
  }
  return out;
}

/** A build context over the live definition whose `buses` say which controllers exist. */
function liveContext(d: QemuDomain, def: DomainDef): BuildContext {
  const q35 = (d.def.os.machine ?? "").startsWith("pc-q35");
  const base: BuildContext = {
    def: d.def,
    caps: d.caps!,
    argv: [],
    q35,
    bootIndex: new Map(),
    buses: new Set(),
  };
  buildControllers(base);
  return { def, caps: d.caps!, argv: [], q35, bootIndex: new Map(), buses: base.buses };
}

/** What a start would pass for `disk` alone (its node names use index 1). */
export function diskArgs(d: QemuDomain, disk: DomainDef["devices"]["disks"][number]): BuiltArgs {
  const one: DomainDef = { ...d.def, devices: { ...d.def.devices, disks: [disk] } };
  const ctx = liveContext(d, one);
  buildDisks(ctx);
  return splitArgv(ctx.argv);
}

/** What a start would pass for interface `net` alone (ids hostnet0/net0), with its tap name. */
export function netArgs(
  d: QemuDomain,
  net: DomainDef["devices"]["interfaces"][number],
  tap: string | undefined,
): BuiltArgs {
  const one: DomainDef = { ...d.def, devices: { ...d.def.devices, interfaces: [net] } };
  const ctx = liveContext(d, one);
  buildInterfaces(ctx, { tapNames: [tap] });
  return splitArgv(ctx.argv);
}

/** Renames node names libvirt-1-* to libvirt-N-* in blockdev/device arguments. */
export function renumberNodes(a: Record<string, unknown>, n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    out[k] = typeof v === "string" && /^libvirt-1-(storage|format)$/.test(v) ? v.replace("-1-", `-${n}-`) : v;
  }
  return out;
}

/** The next `libvirt-N-*` index: past every node QEMU has and every disk the start numbered. */
export function nextNodeIndex(names: string[], diskCount: number): number {
  let max = diskCount;
  for (const name of names) {
    const m = /^libvirt-(\d+)-/.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** Records where QEMU put a PCI device that had no address, so dumpxml shows it (as libvirt does). */
export async function recordPciAddress(
  mon: QmpClient,
  dev: { address?: DomainDef["devices"]["disks"][number]["address"] },
  id: string,
): Promise<void> {
  if (dev.address) return;
  const a = await pciAddressOf(mon, id).catch(() => undefined);
  if (!a) return;
  const h = (v: number, w: number) => `0x${v.toString(16).padStart(w, "0")}`;
  dev.address = {
    type: "pci",
    attrs: [
      ["domain", "0x0000"],
      ["bus", h(a.bus, 2)],
      ["slot", h(a.slot, 2)],
      ["function", `0x${a.function.toString(16)}`],
    ],
  };
}

/** virReportSystemError: "<what>: <strerror>" with VIR_ERR_SYSTEM_ERROR (printed without a prefix). */
export function systemError(
  what: string,
  code: string | undefined,
  domain: ErrorDomain = ErrorDomain.QEMU,
): VirError {
  return virError(ErrorCode.SYSTEM_ERROR, domain, `${what}: ${errnoText(code) ?? code}`);
}

/** A PCI address the XML asks for must be free in the running machine (query-pci). */
export async function checkPciFree(mon: QmpClient, dev: { address?: DeviceAddress }): Promise<void> {
  const a = dev.address;
  if (a?.type !== "pci") return;
  const n = (k: string) => Number(a.attrs.find(([x]) => x === k)?.[1] ?? 0);
  const on = (await pciBuses(mon)).get(n("bus"));
  // the definition's address assignment may have planned a pcie-root-port the machine lacks
  if (!on) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "No more available PCI slots");
  if (on.some((x) => x.slot === n("slot") && x.function === n("function"))) {
    const h = (v: number, w: number) => v.toString(16).padStart(w, "0");
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.DOMAIN,
      `Attempted double use of PCI Address ${h(n("domain"), 4)}:${h(n("bus"), 2)}:${h(n("slot"), 2)}.${n("function").toString(16)}`,
    );
  }
}

/**
 * On a PCIe machine the root complex takes no hotplug: a PCI device without an address goes to the
 * first empty pcie-root-port of the definition (libvirt's address assignment for hotplug), and its
 * address is written into the device as libvirt numbers it (bus = the port's controller index).
 * Returns the bus/addr properties for device_add, or none when QEMU may choose.
 */
export async function placePci(
  mon: QmpClient,
  d: QemuDomain,
  dev: { address?: DeviceAddress },
): Promise<Record<string, unknown>> {
  if (dev.address || !(d.def.os.machine ?? "").startsWith("pc-q35")) return {};
  const buses = await pciBuses(mon);
  const port = d.def.devices.controllers.find(
    (c) =>
      c.type === "pci" && c.model === "pcie-root-port" && (buses.get(c.index) ?? [undefined]).length === 0,
  );
  if (!port) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "No more available PCI slots");
  dev.address = {
    type: "pci",
    attrs: [
      ["domain", "0x0000"],
      ["bus", `0x${port.index.toString(16).padStart(2, "0")}`],
      ["slot", "0x00"],
      ["function", "0x0"],
    ],
  };
  return { bus: `pci.${port.index}`, addr: "0x0" };
}

export function saveLive(d: QemuDomain): void {
  if (d.proc) writeStatus(d, d.proc.paths);
}

export function deviceEvent(st: QemuDriverState, d: QemuDomain, added: boolean, alias: string): void {
  st.events.emit({
    eventId: added ? VIR_DOMAIN_EVENT_ID.DEVICE_ADDED : VIR_DOMAIN_EVENT_ID.DEVICE_REMOVED,
    dom: domRef(d),
    data: { devAlias: alias },
  });
}

/**
 * device_del and libvirt's wait: gone within 5 s → `finish` runs now; refused by the guest → error;
 * no answer yet → success is reported and `finish` runs (under the domain's job) when QEMU later
 * says DEVICE_DELETED, as libvirt leaves such a device in the live XML until then.
 */
export async function unplug(
  st: QemuDriverState,
  d: QemuDomain,
  mon: QmpClient,
  id: string,
  finish: () => Promise<void>,
  waitMs = UNPLUG_WAIT_MS,
): Promise<void> {
  const w = watchUnplug(mon, id, waitMs);
  try {
    await deviceDel(mon, id);
  } catch (e) {
    w.cancel();
    throw e;
  }
  const outcome = await w.result;
  if (outcome === "deleted") {
    await finish();
    return;
  }
  if (outcome === "rejected") {
    w.cancel();
    st.events.emit({
      eventId: VIR_DOMAIN_EVENT_ID.DEVICE_REMOVAL_FAILED,
      dom: domRef(d),
      data: { devAlias: id },
    });
    throw virError(
      ErrorCode.OPERATION_FAILED,
      ErrorDomain.QEMU,
      "unplug of device was rejected by the guest",
    );
  }
  if (outcome === "closed") return;
  void w.deleted.then((gone) => {
    if (gone && d.proc?.monitor === mon) st.jobs.run(d.uuid, finish).catch(() => {});
  });
}
