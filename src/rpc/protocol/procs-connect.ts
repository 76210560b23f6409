// Connection- and host-level procedures of remote program 0x20008086 (numbers and layouts from
// libvirt's remote_protocol.x). Server-handled entries (open, auth, events) have slot null.
import { ErrorCode, ErrorDomain, VirError } from "../../errors/index.js";
import { array, int, uint } from "../xdr/index.js";
import {
  REMOTE_AUTH_TYPE_LIST_MAX,
  REMOTE_CPUMAP_MAX,
  REMOTE_NODE_CPU_STATS_MAX,
  REMOTE_NODE_MAX_CELLS,
  REMOTE_NODE_MEMORY_STATS_MAX,
  VIR_SECURITY_DOI_BUFLEN,
  VIR_SECURITY_MODEL_BUFLEN,
} from "./constants.js";
import {
  charArray,
  charVarArray,
  type ProcedureDef,
  paramsGetter,
  proc,
  withoutNparams,
} from "./procedure.js";
import { flag, nstr, ostr, typedParams, u64 } from "./remote-types.js";
import { varOpaque } from "../xdr/index.js";
import { struct } from "../xdr/index.js";

const nodeStat = (n: string) => struct(n, { field: nstr, value: u64 });

export const connectProcedures: ProcedureDef[] = [
  proc(1, "CONNECT_OPEN", { name: ostr, flags: uint }, null, { ro: true, high: true, slot: null }),
  proc(2, "CONNECT_CLOSE", null, null, { ro: true, high: true, slot: null }),
  proc(3, "CONNECT_GET_TYPE", null, { type: nstr }, { ro: true, high: true }),
  proc(4, "CONNECT_GET_VERSION", null, { hv_ver: u64 }, { ro: true, high: true }),
  proc(5, "CONNECT_GET_MAX_VCPUS", { type: ostr }, { max_vcpus: int }, { ro: true, high: true }),
  proc(
    6,
    "NODE_GET_INFO",
    null,
    {
      model: charArray(32),
      memory: u64,
      cpus: int,
      mhz: int,
      nodes: int,
      sockets: int,
      cores: int,
      threads: int,
    },
    { ro: true, high: true },
  ),
  proc(7, "CONNECT_GET_CAPABILITIES", null, { capabilities: nstr }, { ro: true }),
  proc(59, "CONNECT_GET_HOSTNAME", null, { hostname: nstr }, { ro: true, high: true }),
  proc(
    60,
    "CONNECT_SUPPORTS_FEATURE",
    { feature: int },
    { supported: int },
    { ro: true, high: true, slot: null },
  ),
  proc(
    66,
    "AUTH_LIST",
    null,
    { types: array(int, REMOTE_AUTH_TYPE_LIST_MAX) },
    { ro: true, high: true, slot: null },
  ),
  proc(70, "AUTH_POLKIT", null, { complete: int }, { ro: true, high: true, slot: null }),
  proc(
    101,
    "NODE_GET_CELLS_FREE_MEMORY",
    { startCell: int, maxcells: int },
    { cells: array(u64, REMOTE_NODE_MAX_CELLS) },
    { ro: true, high: true },
  ),
  proc(102, "NODE_GET_FREE_MEMORY", null, { freeMem: u64 }, { ro: true, high: true }),
  proc(110, "CONNECT_GET_URI", null, { uri: nstr }, { ro: true, high: true }),
  proc(
    122,
    "NODE_GET_SECURITY_MODEL",
    null,
    { model: charVarArray(VIR_SECURITY_MODEL_BUFLEN), doi: charVarArray(VIR_SECURITY_DOI_BUFLEN) },
    {
      ro: true,
      high: true,
      invoke: async (fn) => (await fn()) ?? { model: "", doi: "" },
    },
  ),
  proc(
    135,
    "CONNECT_DOMAIN_XML_FROM_NATIVE",
    { nativeFormat: nstr, nativeConfig: nstr, flags: uint },
    {
      domainXml: nstr,
    },
  ),
  proc(
    136,
    "CONNECT_DOMAIN_XML_TO_NATIVE",
    { nativeFormat: nstr, domainXml: nstr, flags: uint },
    {
      nativeConfig: nstr,
    },
  ),
  proc(149, "CONNECT_IS_SECURE", null, { secure: flag }, { ro: true, high: true, slot: null }),
  proc(157, "CONNECT_GET_LIB_VERSION", null, { lib_ver: u64 }, { ro: true, high: true }),
  proc(158, "CONNECT_COMPARE_CPU", { xml: nstr, flags: uint }, { result: int }, { ro: true }),
  // an empty list arrives as a NULL array, which libvirtd's call of the public API refuses
  proc(
    162,
    "CONNECT_BASELINE_CPU",
    { xmlCPUs: array(nstr, 256), flags: uint },
    { cpu: nstr },
    {
      ro: true,
      invoke: async (fn, a) => {
        if (a.xmlCPUs.length === 0) {
          throw new VirError({
            code: ErrorCode.INVALID_ARG,
            domain: ErrorDomain.DOMAIN,
            message: "xmlCPUs in virConnectBaselineCPU must not be NULL",
          });
        }
        return { cpu: await fn(a.xmlCPUs, a.flags) };
      },
    },
  ),
  proc(203, "CONNECT_GET_SYSINFO", { flags: uint }, { sysinfo: nstr }, { ro: true }),
  proc(
    227,
    "NODE_GET_CPU_STATS",
    { cpuNum: int, nparams: int, flags: uint },
    { params: array(nodeStat("remote_node_get_cpu_stats"), REMOTE_NODE_CPU_STATS_MAX), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(
    228,
    "NODE_GET_MEMORY_STATS",
    { nparams: int, cellNum: int, flags: uint },
    { params: array(nodeStat("remote_node_get_memory_stats"), REMOTE_NODE_MEMORY_STATS_MAX), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(
    289,
    "NODE_GET_MEMORY_PARAMETERS",
    { nparams: int, flags: uint },
    { params: typedParams(64), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(
    293,
    "NODE_GET_CPU_MAP",
    { need_map: int, need_online: int, flags: uint },
    { cpumap: varOpaque(REMOTE_CPUMAP_MAX), online: uint, ret: int },
    {
      ro: true,
      invoke: async (fn, a) => {
        const r = await fn(a.flags);
        return {
          cpumap: a.need_map ? Buffer.from(r.cpumap) : Buffer.alloc(0),
          online: a.need_online ? r.online : 0,
          ret: r.cpus,
        };
      },
    },
  ),
  proc(
    312,
    "CONNECT_GET_CPU_MODEL_NAMES",
    { arch: nstr, need_results: int, flags: uint },
    { models: array(nstr, 8192), ret: int },
    {
      ro: true,
      invoke: async (fn, a) => {
        const models: string[] = (await fn(a.arch, a.flags)) ?? [];
        return { models: a.need_results ? models : [], ret: models.length };
      },
    },
  ),
  proc(
    342,
    "CONNECT_GET_DOMAIN_CAPABILITIES",
    { emulatorbin: ostr, arch: ostr, machine: ostr, virttype: ostr, flags: uint },
    { capabilities: nstr },
    { ro: true },
  ),
  proc(360, "CONNECT_REGISTER_CLOSE_CALLBACK", null, null, { ro: true, high: true, slot: null }),
  proc(361, "CONNECT_UNREGISTER_CLOSE_CALLBACK", null, null, { ro: true, high: true, slot: null }),
];
