// Event callback registration procedures and the event MESSAGE payloads of remote program
// 0x20008086 (remote_protocol.x). The server answers the registrations itself (slot null) and
// sends each event as a VIR_NET_MESSAGE whose proc number says which event it is.
import { array, type Codec, int, optional, struct, uint } from "../xdr/index.js";
import { REMOTE_DOMAIN_EVENT_TUNABLE_MAX, REMOTE_DOMAIN_JOB_STATS_MAX } from "./constants.js";
import { type ProcedureDef, proc } from "./procedure.js";
import {
  domainRef as D,
  i64,
  networkRef as N,
  nodeDeviceRef as ND,
  nstr,
  ostr,
  poolRef as P,
  secretRef as SEC,
  typedParams,
  u64,
} from "./remote-types.js";

const reg = { ro: true, high: true, slot: null };
const graphicsAddress = struct("remote_domain_event_graphics_address", {
  family: int,
  node: nstr,
  service: nstr,
});
const graphicsIdentity = struct("remote_domain_event_graphics_identity", { type: nstr, name: nstr });

export const eventProcedures: ProcedureDef[] = [
  proc(105, "CONNECT_DOMAIN_EVENT_REGISTER", null, { cb_registered: int }, reg),
  proc(106, "CONNECT_DOMAIN_EVENT_DEREGISTER", null, { cb_registered: int }, reg),
  proc(167, "CONNECT_DOMAIN_EVENT_REGISTER_ANY", { eventID: int }, null, reg),
  proc(168, "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY", { eventID: int }, null, reg),
  proc(
    313,
    "CONNECT_NETWORK_EVENT_REGISTER_ANY",
    { eventID: int, net: optional(N) },
    { callbackID: int },
    reg,
  ),
  proc(314, "CONNECT_NETWORK_EVENT_DEREGISTER_ANY", { callbackID: int }, null, reg),
  proc(
    316,
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    { eventID: int, dom: optional(D) },
    { callbackID: int },
    reg,
  ),
  proc(317, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", { callbackID: int }, null, reg),
  proc(
    368,
    "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY",
    { eventID: int, pool: optional(P) },
    { callbackID: int },
    reg,
  ),
  proc(369, "CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY", { callbackID: int }, null, reg),
  proc(
    374,
    "CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY",
    { eventID: int, dev: optional(ND) },
    { callbackID: int },
    reg,
  ),
  proc(375, "CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY", { callbackID: int }, null, reg),
  proc(
    380,
    "CONNECT_SECRET_EVENT_REGISTER_ANY",
    { eventID: int, secret: optional(SEC) },
    { callbackID: int },
    reg,
  ),
  proc(381, "CONNECT_SECRET_EVENT_DEREGISTER_ANY", { callbackID: int }, null, reg),
];

/** Which object family an event registration is about. */
export type EventFamily = "domain" | "network" | "storagePool" | "nodeDevice" | "secret";

export interface EventMessageDef {
  family: EventFamily;
  /** virDomainEventID / virNetworkEventID / ... value. */
  eventID: number;
  /** Procedure number the MESSAGE carries. */
  proc: number;
  codec: Codec<any>;
  /** Builds the wire payload from the callback id and the event's own fields. */
  build: (callbackID: number, ev: Record<string, any>) => unknown;
}

const nested = (name: string, inner: Record<string, Codec<any>>) =>
  struct(`remote_domain_event_callback_${name}_msg`, {
    callbackID: int,
    msg: struct(`remote_domain_event_${name}_msg`, { dom: D, ...inner }),
  });
const nestedBuild = (cb: number, ev: Record<string, any>) => ({ callbackID: cb, msg: ev });
const withReason = (name: string) =>
  struct(`remote_domain_event_callback_${name}_msg`, {
    callbackID: int,
    reason: int,
    msg: struct(`remote_domain_event_${name}_msg`, { dom: D }),
  });
const reasonBuild = (cb: number, ev: Record<string, any>) => ({
  callbackID: cb,
  reason: ev.reason ?? 0,
  msg: ev,
});
const flat = (name: string, fields: Record<string, Codec<any>>) =>
  struct(name, { callbackID: int, ...fields });
const flatBuild = (cb: number, ev: Record<string, any>) => ({ callbackID: cb, ...ev });

/** Modern (callback) event messages, keyed by family and event id (libvirt-domain.h etc.). */
export const eventMessages: EventMessageDef[] = [
  {
    family: "domain",
    eventID: 0,
    proc: 318,
    codec: nested("lifecycle", { event: int, detail: int }),
    build: nestedBuild,
  },
  { family: "domain", eventID: 1, proc: 319, codec: nested("reboot", {}), build: nestedBuild },
  {
    family: "domain",
    eventID: 2,
    proc: 320,
    codec: nested("rtc_change", { offset: i64 }),
    build: nestedBuild,
  },
  { family: "domain", eventID: 3, proc: 321, codec: nested("watchdog", { action: int }), build: nestedBuild },
  {
    family: "domain",
    eventID: 4,
    proc: 322,
    codec: nested("io_error", { srcPath: nstr, devAlias: nstr, action: int }),
    build: nestedBuild,
  },
  {
    family: "domain",
    eventID: 6,
    proc: 324,
    codec: nested("io_error_reason", { srcPath: nstr, devAlias: nstr, action: int, reason: nstr }),
    build: nestedBuild,
  },
  {
    family: "domain",
    eventID: 5,
    proc: 323,
    codec: nested("graphics", {
      phase: int,
      local: graphicsAddress,
      remote: graphicsAddress,
      authScheme: nstr,
      subject: array(graphicsIdentity, 20),
    }),
    build: nestedBuild,
  },
  { family: "domain", eventID: 7, proc: 325, codec: nested("control_error", {}), build: nestedBuild },
  {
    family: "domain",
    eventID: 8,
    proc: 326,
    codec: nested("block_job", { path: nstr, type: int, status: int }),
    build: nestedBuild,
  },
  {
    family: "domain",
    eventID: 9,
    proc: 327,
    codec: nested("disk_change", { oldSrcPath: ostr, newSrcPath: ostr, devAlias: nstr, reason: int }),
    build: nestedBuild,
  },
  {
    family: "domain",
    eventID: 10,
    proc: 328,
    codec: nested("tray_change", { devAlias: nstr, reason: int }),
    build: nestedBuild,
  },
  { family: "domain", eventID: 11, proc: 329, codec: withReason("pmwakeup"), build: reasonBuild },
  { family: "domain", eventID: 12, proc: 330, codec: withReason("pmsuspend"), build: reasonBuild },
  {
    family: "domain",
    eventID: 13,
    proc: 331,
    codec: nested("balloon_change", { actual: u64 }),
    build: nestedBuild,
  },
  { family: "domain", eventID: 14, proc: 332, codec: withReason("pmsuspend_disk"), build: reasonBuild },
  {
    family: "domain",
    eventID: 15,
    proc: 333,
    codec: nested("device_removed", { devAlias: nstr }),
    build: nestedBuild,
  },
  {
    family: "domain",
    eventID: 16,
    proc: 339,
    codec: flat("remote_domain_event_block_job_2_msg", { dom: D, dst: nstr, type: int, status: int }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 17,
    proc: 346,
    codec: flat("remote_domain_event_callback_tunable_msg", {
      dom: D,
      params: typedParams(REMOTE_DOMAIN_EVENT_TUNABLE_MAX),
    }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 18,
    proc: 348,
    codec: flat("remote_domain_event_callback_agent_lifecycle_msg", { dom: D, state: int, reason: int }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 19,
    proc: 354,
    codec: flat("remote_domain_event_callback_device_added_msg", { dom: D, devAlias: nstr }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 20,
    proc: 359,
    codec: flat("remote_domain_event_callback_migration_iteration_msg", { dom: D, iteration: int }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 21,
    proc: 363,
    codec: flat("remote_domain_event_callback_job_completed_msg", {
      dom: D,
      params: typedParams(REMOTE_DOMAIN_JOB_STATS_MAX),
    }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 22,
    proc: 367,
    codec: flat("remote_domain_event_callback_device_removal_failed_msg", { dom: D, devAlias: nstr }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 23,
    proc: 379,
    codec: flat("remote_domain_event_callback_metadata_change_msg", { dom: D, type: int, nsuri: ostr }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 24,
    proc: 385,
    codec: flat("remote_domain_event_block_threshold_msg", {
      dom: D,
      dev: nstr,
      path: ostr,
      threshold: u64,
      excess: u64,
    }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 25,
    proc: 423,
    codec: flat("remote_domain_event_memory_failure_msg", {
      dom: D,
      recipient: int,
      action: int,
      flags: uint,
    }),
    build: flatBuild,
  },
  {
    family: "domain",
    eventID: 26,
    proc: 438,
    codec: flat("remote_domain_event_memory_device_size_change_msg", { dom: D, alias: nstr, size: u64 }),
    build: flatBuild,
  },
  {
    family: "network",
    eventID: 1,
    proc: 446,
    codec: flat("remote_network_event_callback_metadata_change_msg", { net: N, type: int, nsuri: ostr }),
    build: (cb, ev) => ({
      callbackID: cb,
      type: 0,
      nsuri: null,
      ...ev,
      ...(ev.uri ? { nsuri: ev.uri } : {}),
    }),
  },
  {
    family: "network",
    eventID: 0,
    proc: 315,
    codec: flat("remote_network_event_lifecycle_msg", { net: N, event: int, detail: int }),
    build: flatBuild,
  },
  {
    family: "storagePool",
    eventID: 0,
    proc: 370,
    codec: flat("remote_storage_pool_event_lifecycle_msg", { pool: P, event: int, detail: int }),
    build: flatBuild,
  },
  {
    family: "storagePool",
    eventID: 1,
    proc: 373,
    codec: flat("remote_storage_pool_event_refresh_msg", { pool: P }),
    build: flatBuild,
  },
  {
    family: "nodeDevice",
    eventID: 0,
    proc: 376,
    codec: flat("remote_node_device_event_lifecycle_msg", { dev: ND, event: int, detail: int }),
    build: flatBuild,
  },
  {
    family: "nodeDevice",
    eventID: 1,
    proc: 377,
    codec: flat("remote_node_device_event_update_msg", { dev: ND }),
    build: flatBuild,
  },
  {
    family: "secret",
    eventID: 0,
    proc: 382,
    codec: flat("remote_secret_event_lifecycle_msg", { secret: SEC, event: int, detail: int }),
    build: flatBuild,
  },
  {
    family: "secret",
    eventID: 1,
    proc: 383,
    codec: flat("remote_secret_event_value_changed_msg", { secret: SEC }),
    build: flatBuild,
  },
];

/** Legacy (pre-callback) lifecycle message for virConnectDomainEventRegister clients. */
export const legacyLifecycleMessage = {
  proc: 107,
  codec: struct("remote_domain_event_lifecycle_msg", { dom: D, event: int, detail: int }),
};

/** remote_connect_event_connection_closed_msg (proc 362). */
export const connectionClosedMessage = {
  proc: 362,
  codec: struct("remote_connect_event_connection_closed_msg", { reason: int }),
};
