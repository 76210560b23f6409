// Test driver network table: define, create, start, destroy, undefine, autostart, bridge name
// and update of DHCP host/range entries, with libvirt 9.0's test-driver errors and events.

import { formatNetworkXML, type NetworkDef, parseNetworkXML } from "../../conf/network/index.js";
import type { NetworkDriver } from "../../driver/index.js";
import {
  VIR_CONNECT_LIST_NETWORKS as LN,
  VIR_NETWORK_EVENT,
  VIR_NETWORK_UPDATE_AFFECT as UA,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { activeListSlots, matchesStateFilter } from "../../state/index.js";
import {
  deregisterCallback,
  findNetwork,
  netRef,
  networkEvent,
  registerCallback,
  type TestCtx,
} from "./ctx.js";
import { checkFlags, internal, opInvalid, testError } from "./errors.js";
import { updateNetworkDef } from "./network-update.js";
import type { TestNetwork } from "./node.js";

const N = ErrorDomain.NETWORK;

/** virNetworkObjAssignDef's duplicate checks. */
function assignNetwork(ctx: TestCtx, def: NetworkDef, live: boolean): TestNetwork {
  const list = ctx.node.networks;
  const same = list.byUuid(def.uuid);
  if (same) {
    if (same.name !== def.name) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        N,
        `network '${same.name}' is already defined with uuid ${same.uuid}`,
      );
    }
    if (live) {
      if (same.active) throw opInvalid(`network is already active as '${same.name}'`, N);
      same.def = def;
    } else if (same.active) same.newDef = def;
    else same.def = def;
    return same;
  }
  const byName = list.byName(def.name);
  if (byName) {
    throw virError(
      ErrorCode.OPERATION_FAILED,
      N,
      `network '${byName.name}' already exists with uuid ${byName.uuid}`,
    );
  }
  return list.add({
    name: def.name,
    uuid: def.uuid,
    def,
    active: false,
    persistent: false,
    autostart: false,
  });
}

const listMatches = (n: TestNetwork, flags: number) => matchesStateFilter(n, flags, LN);

export function testNetworkDriver(ctx: TestCtx): NetworkDriver {
  const list = ctx.node.networks;
  return {
    name: "TEST",
    ...activeListSlots("Networks", () => list),
    async connectListAllNetworks(flags) {
      checkFlags(flags, 0x3f, "testConnectListAllNetworks");
      return list.filter((n) => listMatches(n, flags)).map(netRef);
    },
    async networkLookupByName(name) {
      const n = list.byName(name);
      if (!n) throw testError(ErrorCode.NO_NETWORK, `no network with matching name '${name}'`);
      return netRef(n);
    },
    async networkLookupByUUID(uuid) {
      const n = list.byUuid(uuid);
      if (!n) throw testError(ErrorCode.NO_NETWORK, `no network with matching uuid '${uuid}'`);
      return netRef(n);
    },
    async networkCreateXMLFlags(xml, flags) {
      // VIR_NETWORK_CREATE_VALIDATE: accepted; tsvirt has no RelaxNG validator, so it only parses
      checkFlags(flags, 1, "testNetworkCreateXMLFlags");
      const n = assignNetwork(ctx, parseNetworkXML(xml), true);
      n.active = true;
      networkEvent(ctx, n, VIR_NETWORK_EVENT.STARTED);
      return netRef(n);
    },
    async networkDefineXMLFlags(xml, flags) {
      checkFlags(flags, 1, "testNetworkDefineXMLFlags");
      const n = assignNetwork(ctx, parseNetworkXML(xml), false);
      n.persistent = true;
      networkEvent(ctx, n, VIR_NETWORK_EVENT.DEFINED);
      return netRef(n);
    },
    async networkUndefine(ref) {
      const n = findNetwork(ctx, ref);
      if (n.active) throw opInvalid(`Network '${n.name}' is still running`);
      networkEvent(ctx, n, VIR_NETWORK_EVENT.UNDEFINED);
      list.remove(n);
    },
    async networkUpdate(ref, command, section, parentIndex, xml, flags) {
      checkFlags(flags, UA.LIVE | UA.CONFIG, "testNetworkUpdate");
      const n = findNetwork(ctx, ref);
      let live = (flags & UA.LIVE) !== 0;
      let config = (flags & UA.CONFIG) !== 0;
      if (!live && !config) {
        if (n.active) live = true;
        else config = true;
      }
      if (live && !n.active) throw opInvalid("network is not running", N);
      if (config && !n.persistent)
        throw opInvalid("cannot change persistent config of a transient network", N);
      // copies are changed (the live one first) and put in place only when both succeeded, as
      // virNetworkObjUpdate does: a config the change fails on leaves the live one as it was
      let liveDef: NetworkDef | undefined;
      if (live) {
        liveDef = structuredClone(n.def);
        updateNetworkDef(liveDef, command, section, parentIndex, xml);
      }
      let configDef: NetworkDef | undefined;
      if (config) {
        if (n.active && !n.newDef) n.newDef = structuredClone(n.def);
        configDef = structuredClone(n.newDef ?? n.def);
        updateNetworkDef(configDef, command, section, parentIndex, xml);
      }
      if (configDef) {
        if (n.newDef) n.newDef = configDef;
        else n.def = configDef;
      }
      if (liveDef) n.def = liveDef;
    },
    async networkCreate(ref) {
      const n = findNetwork(ctx, ref);
      if (n.active) throw opInvalid(`Network '${n.name}' is already running`);
      n.active = true;
      networkEvent(ctx, n, VIR_NETWORK_EVENT.STARTED);
    },
    async networkDestroy(ref) {
      const n = findNetwork(ctx, ref);
      // libvirt's test driver never moves a pending definition into place on stop.
      n.active = false;
      networkEvent(ctx, n, VIR_NETWORK_EVENT.STOPPED);
      if (!n.persistent) list.remove(n);
    },
    async networkGetXMLDesc(ref, flags) {
      checkFlags(flags, 0, "testNetworkGetXMLDesc");
      return formatNetworkXML(findNetwork(ctx, ref).def);
    },
    async networkGetBridgeName(ref) {
      const n = findNetwork(ctx, ref);
      if (!n.def.bridge.name) throw internal(`network '${n.name}' does not have a bridge name.`);
      return n.def.bridge.name;
    },
    async networkGetAutostart(ref) {
      return findNetwork(ctx, ref).autostart;
    },
    async networkSetAutostart(ref, autostart) {
      findNetwork(ctx, ref).autostart = autostart;
    },
    async networkIsActive(ref) {
      return findNetwork(ctx, ref).active;
    },
    async networkIsPersistent(ref) {
      return findNetwork(ctx, ref).persistent;
    },
    async connectNetworkEventRegisterAny(net, eventId, cb) {
      return registerCallback(ctx, ctx.node.networkEvents, eventId, net ? net.uuid : null, cb);
    },
    async connectNetworkEventDeregisterAny(id) {
      deregisterCallback(ctx, ctx.node.networkEvents, id);
    },
  };
}
