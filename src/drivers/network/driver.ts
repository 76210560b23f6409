// The host network driver table (libvirt's bridge_driver.c networkDriver): lifecycle, listing,
// XML, autostart, DHCP leases and updates over a NetworkDriverState, with libvirt's checks.
import { readFile } from "node:fs/promises";
import { formatNetworkXML, type NetworkDef, parseNetworkXML, parseIp } from "../../conf/network/index.js";
import type { NetworkDriver, NetworkRef } from "../../driver/index.js";
import {
  VIR_CONNECT_LIST_NETWORKS as LN,
  VIR_NETWORK_EVENT,
  VIR_NETWORK_SECTION,
  VIR_NETWORK_UPDATE_AFFECT as UA,
  VIR_NETWORK_XML_INACTIVE,
} from "../../driver/index.js";
import { parseMac } from "../../conf/common/mac.js";
import { ErrorCode } from "../../errors/index.js";
import { activeListSlots, matchesStateFilter } from "../../state/index.js";
import { checkFlags, internal, netErr, noNetwork, noNetworkUuid, opFailed, opInvalid } from "./errors.js";
import { parseDnsmasqLeases } from "./leases.js";
import { inSubnet, prefixOf } from "./net-addr.js";
import type { HostNetwork } from "./network-obj.js";
import { dnsmasqPaths, refreshDnsmasq } from "./network-start.js";
import type { NetworkDriverState } from "./network-state.js";
import { updateNetworkDef } from "./network-update.js";

/** VIR_NETWORK_DEFINE_VALIDATE / VIR_NETWORK_CREATE_VALIDATE. */
const VALIDATE = 1;

const listMatches = (n: HostNetwork, flags: number) => matchesStateFilter(n, flags, LN);

export function hostNetworkDriver(st: NetworkDriverState): NetworkDriver {
  const find = (ref: NetworkRef): HostNetwork => {
    const n = st.nets.byUuid(ref.uuid);
    if (!n) throw noNetworkUuid(ref.uuid);
    return n;
  };
  const withLock = <T>(n: HostNetwork, fn: () => Promise<T>): Promise<T> => st.locks.run(n.uuid, fn);

  /** virNetworkObjAssignDef's duplicate checks; returns the object (new or existing). */
  const assign = (def: NetworkDef, live: boolean): HostNetwork => {
    const same = st.nets.byUuid(def.uuid);
    if (same) {
      if (same.name !== def.name)
        throw opFailed(`network '${same.name}' is already defined with uuid ${same.uuid}`);
      if (live && same.active) throw opInvalid(`network is already active as '${same.name}'`);
      return same;
    }
    const byName = st.nets.byName(def.name);
    if (byName) throw opFailed(`network '${byName.name}' already exists with uuid ${byName.uuid}`);
    return st.addNew(def, false);
  };

  return {
    name: "bridge",
    ...activeListSlots("Networks", () => st.nets),
    async connectListAllNetworks(flags) {
      checkFlags(flags, 0x3f, "networkConnectListAllNetworks");
      return st.nets.filter((n) => listMatches(n, flags)).map((n) => st.ref(n));
    },
    async networkLookupByName(name) {
      const n = st.nets.byName(name);
      if (!n) throw noNetwork(name);
      return st.ref(n);
    },
    async networkLookupByUUID(uuid) {
      const n = st.nets.byUuid(uuid);
      if (!n) throw noNetworkUuid(uuid);
      return st.ref(n);
    },
    async networkDefineXMLFlags(xml, flags) {
      checkFlags(flags, VALIDATE, "networkDefineXMLFlags");
      const def = parseNetworkXML(xml);
      await st.assignDefaults(def);
      const existing = st.nets.byUuid(def.uuid);
      const n = assign(def, false);
      const fresh = !existing;
      await st.store.save(def.name, formatNetworkXML(def));
      if (n.active) n.newDef = def;
      else n.def = def;
      n.persistent = true;
      st.emit(n, VIR_NETWORK_EVENT.DEFINED);
      void fresh;
      return st.ref(n);
    },
    async networkCreateXMLFlags(xml, flags) {
      checkFlags(flags, VALIDATE, "networkCreateXMLFlags");
      const def = parseNetworkXML(xml);
      await st.assignDefaults(def);
      const n = assign(def, true);
      return withLock(n, async () => {
        const prev = n.def;
        n.def = def;
        try {
          await st.start(n);
        } catch (e) {
          if (n.persistent) n.def = prev;
          else st.nets.remove(n);
          throw e;
        }
        // A persistent network started from other XML gets its config back when it stops.
        if (n.persistent) n.newDef = prev;
        st.emit(n, VIR_NETWORK_EVENT.STARTED);
        return st.ref(n);
      });
    },
    async networkUndefine(ref) {
      const n = find(ref);
      await withLock(n, async () => {
        if (!n.persistent) throw opInvalid("can't undefine transient network");
        await st.store.remove(n.name);
        n.persistent = false;
        n.autostart = false;
        n.newDef = undefined;
        st.emit(n, VIR_NETWORK_EVENT.UNDEFINED);
        // A running network becomes transient and goes away when it stops (libvirt behaviour).
        if (!n.active) st.nets.remove(n);
      });
    },
    async networkCreate(ref) {
      const n = find(ref);
      await withLock(n, async () => {
        await st.start(n);
        st.emit(n, VIR_NETWORK_EVENT.STARTED);
      });
    },
    async networkDestroy(ref) {
      const n = find(ref);
      await withLock(n, async () => {
        if (!n.active) throw opInvalid(`network '${n.name}' is not active`);
        await st.stop(n);
        st.emit(n, VIR_NETWORK_EVENT.STOPPED);
      });
    },
    async networkGetXMLDesc(ref, flags) {
      checkFlags(flags, VIR_NETWORK_XML_INACTIVE, "networkGetXMLDesc");
      const n = find(ref);
      const inactive = (flags & VIR_NETWORK_XML_INACTIVE) !== 0;
      const def = inactive && n.newDef ? n.newDef : n.def;
      return formatNetworkXML(def, { inactive });
    },
    async networkGetBridgeName(ref) {
      const n = find(ref);
      if (!n.def.bridge.name) throw internal(`network '${n.name}' does not have a bridge name.`);
      return n.def.bridge.name;
    },
    async networkGetAutostart(ref) {
      return find(ref).autostart;
    },
    async networkSetAutostart(ref, autostart) {
      const n = find(ref);
      await withLock(n, async () => {
        if (!n.persistent) throw opInvalid("cannot set autostart for transient network");
        await st.store.setAutostart(n.name, autostart);
        n.autostart = autostart;
      });
    },
    async networkIsActive(ref) {
      return find(ref).active;
    },
    async networkIsPersistent(ref) {
      return find(ref).persistent;
    },
    async networkUpdate(ref, command, section, parentIndex, xml, flags) {
      checkFlags(flags, UA.LIVE | UA.CONFIG, "networkUpdate");
      const n = find(ref);
      await withLock(n, async () => {
        let live = (flags & UA.LIVE) !== 0;
        let config = (flags & UA.CONFIG) !== 0;
        if (!live && !config) {
          if (n.active) live = true;
          else config = true;
        }
        if (live && !n.active) throw opInvalid("network is not running");
        if (config && !n.persistent)
          throw opInvalid("cannot change persistent config of a transient network");
        // Work on copies, commit only when every target took the change.
        const liveDef = live ? structuredClone(n.def) : undefined;
        const cfgBase = n.active ? (n.newDef ?? n.def) : n.def;
        const cfgDef = config
          ? live && cfgBase === n.def
            ? undefined
            : structuredClone(cfgBase)
          : undefined;
        if (liveDef) updateNetworkDef(liveDef, command, section, parentIndex, xml);
        if (cfgDef) updateNetworkDef(cfgDef, command, section, parentIndex, xml);
        if (config) {
          const saved = cfgDef ?? liveDef!;
          await st.store.save(n.name, formatNetworkXML(saved));
          if (n.active) n.newDef = cfgDef ?? structuredClone(liveDef!);
          else n.def = saved;
        }
        if (liveDef) {
          n.def = liveDef;
          await st.runStore.save(n.name, formatNetworkXML(liveDef));
          // Ranges live in the conf file: dnsmasq restarts; host entries only need a SIGHUP.
          n.dnsmasqPid = await refreshDnsmasq(
            liveDef,
            n.dnsmasqPid,
            st.ctx,
            section !== VIR_NETWORK_SECTION.IP_DHCP_HOST,
          );
        }
      });
    },
    async networkGetDHCPLeases(ref, mac, flags) {
      checkFlags(flags, 0, "networkGetDHCPLeases");
      if (mac !== null && !parseMac(mac)) throw netErr(ErrorCode.INVALID_MAC, mac);
      const n = find(ref);
      // The leases file outlives a stop, as libvirt's does.
      let text = "";
      try {
        text = await readFile(dnsmasqPaths(st.opts.runDir, n.name).leaseFile, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw netErr(ErrorCode.SYSTEM_ERROR, String(e));
      }
      const now = Math.floor(Date.now() / 1000);
      const leases = parseDnsmasqLeases(text, {
        iface: n.def.bridge.name ?? "",
        prefixOf: (s) => {
          const a = parseIp(s);
          const ip = a && n.def.ips.find((x) => inSubnet(a, x.address, prefixOf(x)));
          return ip ? prefixOf(ip) : 0;
        },
      });
      return leases.filter(
        (l) =>
          (l.expirytime === 0 || l.expirytime > now) &&
          (mac === null || l.mac?.toLowerCase() === mac.toLowerCase()),
      );
    },
    async connectNetworkEventRegisterAny(net, eventId, cb) {
      if (net) find(net);
      return st.events.register(eventId, net ? net.uuid : null, cb);
    },
    async connectNetworkEventDeregisterAny(id) {
      if (!st.events.deregister(id))
        throw netErr(ErrorCode.INVALID_ARG, `could not find event callback ${id} for deletion`);
    },
  };
}
