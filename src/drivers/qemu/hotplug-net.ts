// Live network interfaces (libvirt's qemuDomainAttachNetDevice / qemuDomainRemoveNetDevice,
// reduced to the types a start supports): netdev_add of the back-end (user, or a tap QEMU creates
// and we plug into the bridge), device_add of the NIC with its MAC; detach is device_del, the
// guest's DEVICE_DELETED, netdev_del. QEMU ids follow the start path (hostnetN/netN); a NIC is
// found again by asking QEMU which peripheral carries its MAC, so this works after a restart too.
import type { InterfaceDef } from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { allocateTapName, attachTapToBridge, listLinks, validIfname } from "../../host/netdev.js";
import { attr } from "../../xml/index.js";
import { unsupported } from "./command-util.js";
import { nextAliasIndex, nextNetAlias } from "./domain-aliases.js";
import type { QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import {
  checkPciFree,
  deviceEvent,
  monitorOf,
  netArgs,
  placePci,
  recordPciAddress,
  saveLive,
  systemError,
  UNPLUG_WAIT_MS,
  unplug,
} from "./hotplug-qemu.js";
import { deviceAdd, netdevAdd, netdevDel, peripheralIds, qomGet, setLink } from "./monitor/hotplug-qmp.js";
import type { QmpClient } from "./monitor/qmp-client.js";

const LIVE_TYPES = new Set(["user", "network", "bridge", "ethernet"]);

/** The tap for a bridge/network/ethernet NIC, as the start path picks it; undefined for user. */
async function prepareTap(
  st: QemuDriverState,
  net: InterfaceDef,
): Promise<{ tap: string; bridge?: string } | undefined> {
  if (net.type === "user") return undefined;
  const src = (k: string) => (net.source ? attr(net.source, k) : undefined);
  let bridge: string | undefined;
  if (net.type === "bridge") {
    bridge = src("bridge");
    if (!bridge) throw unsupported("interface of type 'bridge' needs <source bridge=...>");
    // libvirt asks the bridge for its MTU first; a missing bridge fails there.
    if (!(await listLinks()).has(bridge)) {
      throw systemError(`Cannot get interface MTU on '${bridge}'`, "ENODEV");
    }
  } else if (net.type === "network") {
    const name = src("network");
    if (!name || !st.opts.networkBridge) {
      throw unsupported(
        `interface type 'network' needs the network driver to name the bridge of '${name ?? ""}'`,
      );
    }
    bridge = await st.opts.networkBridge(name);
  }
  const given = net.target && !/^vnet\d+$/.test(net.target) ? net.target : undefined;
  if (given && !validIfname(given)) throw unsupported(`invalid interface target dev '${given}'`);
  const taken = new Set<string>();
  for (const o of st.domains.values()) {
    if (o.proc) for (const n of o.def.devices.interfaces) if (n.target) taken.add(n.target);
  }
  return { tap: given ?? allocateTapName(await listLinks(), taken), bridge };
}

/**
 * The QEMU id index of a new NIC: past every netN QEMU has and every alias of the live definition
 * (the argv builder numbers NICs by position, also those with a ua-* alias).
 */
async function nextNetIndex(mon: QmpClient, d: QemuDomain): Promise<number> {
  const count = d.def.devices.interfaces.length;
  let next = Math.max(
    count,
    nextAliasIndex(
      d.def.devices.interfaces.map((n) => n.alias),
      "net",
    ),
  );
  for (const id of await peripheralIds(mon)) {
    const m = /^net(\d+)$/.exec(id);
    if (m) next = Math.max(next, Number(m[1]) + 1);
  }
  return next;
}

export async function attachNetLive(st: QemuDriverState, d: QemuDomain, net: InterfaceDef): Promise<void> {
  const mon = monitorOf(d);
  if (!LIVE_TYPES.has(net.type)) {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.QEMU,
      `hotplug of interface type of ${net.type} is not implemented yet`,
    );
  }
  await checkPciFree(mon, net);
  await placePci(mon, d, net);
  const tap = await prepareTap(st, net);
  const built = netArgs(d, net, tap?.tap);
  const i = await nextNetIndex(mon, d);
  const netdev = { ...built.netdev[0]!, id: `hostnet${i}` };
  const device = { ...built.device[0]!, netdev: `hostnet${i}`, id: `net${i}` };
  await netdevAdd(mon, netdev);
  try {
    if (tap?.bridge) {
      await attachTapToBridge(tap.tap, tap.bridge).catch((e: Error) => {
        throw virError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.QEMU,
          `cannot attach ${tap.tap} to bridge '${tap.bridge}': ${e.message}`,
        );
      });
    }
    await deviceAdd(mon, device);
  } catch (e) {
    await netdevDel(mon, `hostnet${i}`).catch(() => {});
    throw e;
  }
  if (tap) net.target = tap.tap;
  // qemuAssignDeviceNetAlias: one past the highest netN alias (the QEMU id differs only when
  // a ua-* NIC shifted the argv's numbering).
  net.alias ??= nextNetAlias(d.def);
  await recordPciAddress(mon, net, `net${i}`);
  d.def.devices.interfaces.push(net);
  saveLive(d);
  deviceEvent(st, d, true, net.alias);
}

/** The QEMU device id (netN) whose MAC is `mac`, and the netdev it uses. */
async function qemuNicByMac(
  mon: QmpClient,
  mac: string,
): Promise<{ id: string; netdev?: string } | undefined> {
  for (const id of await peripheralIds(mon)) {
    const path = `/machine/peripheral/${id}`;
    const m = await qomGet<string>(mon, path, "mac").catch(() => undefined);
    if (typeof m !== "string" || m.toLowerCase() !== mac) continue;
    const netdev = await qomGet<string>(mon, path, "netdev").catch(() => undefined);
    return { id, netdev: typeof netdev === "string" && netdev !== "" ? netdev : undefined };
  }
  return undefined;
}

export async function detachNetLive(
  st: QemuDriverState,
  d: QemuDomain,
  net: InterfaceDef,
  waitMs = UNPLUG_WAIT_MS,
): Promise<void> {
  const mon = monitorOf(d);
  const nic = await qemuNicByMac(mon, net.mac);
  if (!nic) {
    throw virError(
      ErrorCode.OPERATION_FAILED,
      ErrorDomain.QEMU,
      `cannot find the QEMU device of interface with MAC address ${net.mac}`,
    );
  }
  await unplug(
    st,
    d,
    mon,
    nic.id,
    async () => {
      if (nic.netdev) await netdevDel(mon, nic.netdev).catch(() => {});
      const i = d.def.devices.interfaces.indexOf(net);
      if (i >= 0) d.def.devices.interfaces.splice(i, 1);
      saveLive(d);
      deviceEvent(st, d, false, net.alias ?? nic.id);
    },
    waitMs,
  );
}

/** Link state of a live NIC (QMP set_link on its device id), kept in the status file by the caller. */
export async function setNetLinkLive(d: QemuDomain, net: InterfaceDef, up: boolean): Promise<void> {
  const mon = monitorOf(d);
  const nic = await qemuNicByMac(mon, net.mac);
  if (!nic) {
    throw virError(
      ErrorCode.OPERATION_FAILED,
      ErrorDomain.QEMU,
      `cannot find the QEMU device of interface with MAC address ${net.mac}`,
    );
  }
  await setLink(mon, nic.id, up);
}
