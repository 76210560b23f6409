// Domain tuning, statistics and guest-info procedures of remote program 0x20008086 (numbers and
// layouts from libvirt's remote_protocol.x): block/interface stats, typed-parameter getters and
// setters, emulator/iothread pinning, filesystem info, guest vCPUs.
import { ErrorCode, ErrorDomain, VirError } from "../../errors/index.js";
import { array, int, struct, uint, varOpaque } from "../xdr/index.js";
import {
  REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX,
  REMOTE_CPUMAP_MAX,
  REMOTE_CPUMAPS_MAX,
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_NODE_MAX_CELLS,
} from "./constants.js";
import { type ProcedureDef, paramsGetter, proc, withoutNparams } from "./procedure.js";
import { domainRef as D, i64, nstr, ostr, typedParams, u64 } from "./remote-types.js";

const ro = { ro: true };
const domFlags = { dom: D, flags: uint };
const fsinfo = struct("remote_domain_fsinfo", {
  mountpoint: nstr,
  name: nstr,
  fstype: nstr,
  dev_aliases: array(nstr, 256),
});
const statsRecord = struct("remote_domain_stats_record", {
  dom: D,
  params: typedParams(REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX),
});
const iothreadInfo = struct("remote_domain_iothread_info", {
  iothread_id: uint,
  cpumap: varOpaque(REMOTE_CPUMAP_MAX),
});

/** remote_protocol.x REMOTE_DOMAIN_LAUNCH_SECURITY_INFO_PARAMS_MAX. */
const LAUNCH_SECURITY_INFO_PARAMS_MAX = 64;

export const domainStatsProcedures: ProcedureDef[] = [
  proc(
    396,
    "DOMAIN_GET_LAUNCH_SECURITY_INFO",
    domFlags,
    { params: typedParams(LAUNCH_SECURITY_INFO_PARAMS_MAX) },
    { slot: "domainGetLaunchSecurityInfo" },
  ),
  proc(
    64,
    "DOMAIN_BLOCK_STATS",
    { dom: D, path: nstr },
    { rd_req: i64, rd_bytes: i64, wr_req: i64, wr_bytes: i64, errs: i64 },
    {
      ro: true,
      invoke: async (fn, a) => {
        const s = await fn(a.dom, a.path);
        return { rd_req: s.rdReq, rd_bytes: s.rdBytes, wr_req: s.wrReq, wr_bytes: s.wrBytes, errs: s.errs };
      },
    },
  ),
  proc(
    65,
    "DOMAIN_INTERFACE_STATS",
    { dom: D, path: nstr },
    {
      rx_bytes: i64,
      rx_packets: i64,
      rx_errs: i64,
      rx_drop: i64,
      tx_bytes: i64,
      tx_packets: i64,
      tx_errs: i64,
      tx_drop: i64,
    },
    {
      ro: true,
      high: true,
      invoke: async (fn, a) => {
        const s = await fn(a.dom, a.path);
        return {
          rx_bytes: s.rxBytes,
          rx_packets: s.rxPackets,
          rx_errs: s.rxErrs,
          rx_drop: s.rxDrop,
          tx_bytes: s.txBytes,
          tx_packets: s.txPackets,
          tx_errs: s.txErrs,
          tx_drop: s.txDrop,
        };
      },
    },
  ),
  proc(
    194,
    "DOMAIN_GET_BLOCK_INFO",
    { dom: D, path: nstr, flags: uint },
    { allocation: u64, capacity: u64, physical: u64 },
    ro,
  ),
  proc(
    243,
    "DOMAIN_BLOCK_STATS_FLAGS",
    { dom: D, path: nstr, nparams: int, flags: uint },
    { params: typedParams(16), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(252, "DOMAIN_SET_BLOCK_IO_TUNE", { dom: D, disk: nstr, params: typedParams(32), flags: uint }, null, {
    slot: "domainSetBlockIoTune",
  }),
  proc(
    253,
    "DOMAIN_GET_BLOCK_IO_TUNE",
    { dom: D, disk: ostr, nparams: int, flags: uint },
    { params: typedParams(32), nparams: int },
    { ro: true, slot: "domainGetBlockIoTune", invoke: paramsGetter(withoutNparams) },
  ),
  proc(254, "DOMAIN_SET_NUMA_PARAMETERS", { dom: D, params: typedParams(16), flags: uint }, null),
  proc(
    255,
    "DOMAIN_GET_NUMA_PARAMETERS",
    { dom: D, nparams: int, flags: uint },
    { params: typedParams(16), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(
    256,
    "DOMAIN_SET_INTERFACE_PARAMETERS",
    { dom: D, device: nstr, params: typedParams(16), flags: uint },
    null,
  ),
  proc(
    257,
    "DOMAIN_GET_INTERFACE_PARAMETERS",
    { dom: D, device: nstr, nparams: int, flags: uint },
    { params: typedParams(16), nparams: int },
    // nparams goes last too: libvirt's QEMU driver answers the count before it looks the device up
    { ro: true, invoke: paramsGetter((a) => [a.dom, a.device, a.flags, a.nparams]) },
  ),
  proc(279, "DOMAIN_PIN_EMULATOR", { dom: D, cpumap: varOpaque(REMOTE_CPUMAP_MAX), flags: uint }, null),
  proc(
    280,
    "DOMAIN_GET_EMULATOR_PIN_INFO",
    { dom: D, maplen: int, flags: uint },
    { cpumaps: varOpaque(REMOTE_CPUMAPS_MAX), ret: int },
    {
      ro: true,
      invoke: async (fn, a) => {
        const map: Uint8Array | null = await fn(a.dom, a.maplen, a.flags);
        return { cpumaps: Buffer.from(map ?? []), ret: map ? 1 : 0 };
      },
    },
  ),
  proc(
    340,
    "NODE_GET_FREE_PAGES",
    { pages: array(uint, REMOTE_NODE_MAX_CELLS), startCell: int, cellCount: uint, flags: uint },
    { counts: array(u64, REMOTE_NODE_MAX_CELLS) },
    {
      ro: true,
      // remoteDispatchNodeGetFreePages fails when the call returns no counts (len <= 0), and
      // virNetServerDispatch reports that failure with its generic text.
      invoke: async (fn, a) => {
        const counts: unknown[] & { returned?: number } =
          (await fn(a.pages, a.startCell, a.cellCount, a.flags)) ?? [];
        // a driver may fill counts yet return fewer (libvirt's test driver returns 0)
        if ((counts.returned ?? counts.length) <= 0) {
          throw new VirError({
            code: ErrorCode.INTERNAL_ERROR,
            domain: ErrorDomain.RPC,
            message: "Library function returned error but did not set virError",
          });
        }
        return { counts };
      },
    },
  ),
  proc(
    349,
    "DOMAIN_GET_FSINFO",
    domFlags,
    { info: array(fsinfo, 256), ret: uint },
    {
      slot: "domainGetFSInfo",
      invoke: async (fn, a) => {
        const info: any[] = (await fn(a.dom, a.flags)) ?? [];
        return {
          info: info.map((f) => ({ ...f, dev_aliases: f.devAliases ?? f.dev_aliases ?? [] })),
          ret: info.length,
        };
      },
    },
  ),
  proc(
    351,
    "DOMAIN_GET_IOTHREAD_INFO",
    domFlags,
    { info: array(iothreadInfo, 16384), ret: uint },
    {
      ro: true,
      slot: "domainGetIOThreadInfo",
      invoke: async (fn, a) => {
        const info: any[] = (await fn(a.dom, a.flags)) ?? [];
        return {
          info: info.map((t) => ({
            iothread_id: t.iothreadId ?? t.iothread_id,
            cpumap: Buffer.from(t.cpumap),
          })),
          ret: info.length,
        };
      },
    },
  ),
  proc(
    352,
    "DOMAIN_PIN_IOTHREAD",
    { dom: D, iothreads_id: uint, cpumap: varOpaque(REMOTE_CPUMAP_MAX), flags: uint },
    null,
    { slot: "domainPinIOThread" },
  ),
  proc(355, "DOMAIN_ADD_IOTHREAD", { dom: D, iothread_id: uint, flags: uint }, null, {
    slot: "domainAddIOThread",
  }),
  proc(356, "DOMAIN_DEL_IOTHREAD", { dom: D, iothread_id: uint, flags: uint }, null, {
    slot: "domainDelIOThread",
  }),
  proc(
    344,
    "CONNECT_GET_ALL_DOMAIN_STATS",
    { doms: array(D, REMOTE_DOMAIN_LIST_MAX), stats: uint, flags: uint },
    { retStats: array(statsRecord, REMOTE_DOMAIN_LIST_MAX) },
    { ro: true, pass: (a) => [a.doms.length ? a.doms : null, a.stats, a.flags] },
  ),
  proc(365, "DOMAIN_GET_PERF_EVENTS", domFlags, { params: typedParams(64) }, ro),
  proc(366, "DOMAIN_SET_PERF_EVENTS", { dom: D, params: typedParams(64), flags: uint }, null),
  proc(426, "DOMAIN_GET_MESSAGES", domFlags, { msgs: array(nstr, 2048) }, ro),
  proc(371, "DOMAIN_GET_GUEST_VCPUS", domFlags, { params: typedParams(64) }),
  proc(372, "DOMAIN_SET_GUEST_VCPUS", { dom: D, cpumap: nstr, state: int, flags: uint }, null),
];
