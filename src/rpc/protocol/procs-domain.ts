// Domain procedures of remote program 0x20008086 (numbers and struct layouts from libvirt's
// remote_protocol.x). Read-only flags follow libvirt: getters and lookups pass, mutators do not.
import { array, hyper, int, struct, uint, varOpaque } from "../xdr/index.js";
import {
  REMOTE_CPUMAP_MAX,
  REMOTE_CPUMAPS_MAX,
  REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX,
  REMOTE_DOMAIN_INTERFACE_MAX,
  REMOTE_DOMAIN_IP_ADDR_MAX,
  REMOTE_DOMAIN_JOB_STATS_MAX,
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX,
  REMOTE_DOMAIN_MEMORY_STATS_MAX,
  REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX,
  REMOTE_VCPUINFO_MAX,
  VIR_SECURITY_LABEL_BUFLEN,
} from "./constants.js";
import {
  charVarArray,
  cpuStatsGetter,
  listAll,
  type ProcedureDef,
  paramsGetter,
  proc,
  secureFlag,
  withoutNparams,
} from "./procedure.js";
import { domainRef as D, flag, i64, nstr, ostr, typedParams, u64, uuid } from "./remote-types.js";

/** virDomainModificationImpact VIR_DOMAIN_AFFECT_LIVE: what the flag-less legacy calls mean. */
const LIVE = 1;

const dom = { dom: D };
const domFlags = { dom: D, flags: uint };
const secLabel = struct("remote_domain_get_security_label_ret", {
  label: charVarArray(VIR_SECURITY_LABEL_BUFLEN),
  enforcing: flag,
});
const vcpuInfo = struct("remote_vcpu_info", { number: uint, state: int, cpu_time: u64, cpu: int });
const memStat = struct("remote_domain_memory_stat", { tag: int, val: u64 });
const ipAddr = struct("remote_domain_ip_addr", { type: int, addr: nstr, prefix: uint });
const domIface = struct("remote_domain_interface", {
  name: nstr,
  hwaddr: ostr,
  addrs: array(ipAddr, REMOTE_DOMAIN_IP_ADDR_MAX),
});
const ro = { ro: true };
const roHigh = { ro: true, high: true };
const high = { high: true };

export const domainProcedures: ProcedureDef[] = [
  proc(8, "DOMAIN_ATTACH_DEVICE", { dom: D, xml: nstr }, null, {
    slot: "domainAttachDeviceFlags",
    pass: (a) => [a.dom, a.xml, LIVE],
  }),
  proc(9, "DOMAIN_CREATE", dom, null, { slot: "domainCreateWithFlags", pass: (a) => [a.dom, 0] }),
  proc(10, "DOMAIN_CREATE_XML", { xml_desc: nstr, flags: uint }, { dom: D }),
  proc(
    11,
    "DOMAIN_DEFINE_XML",
    { xml: nstr },
    { dom: D },
    { high: true, slot: "domainDefineXMLFlags", pass: (a) => [a.xml, 0] },
  ),
  proc(12, "DOMAIN_DESTROY", dom, null, { high: true, slot: "domainDestroyFlags", pass: (a) => [a.dom, 0] }),
  proc(13, "DOMAIN_DETACH_DEVICE", { dom: D, xml: nstr }, null, {
    slot: "domainDetachDeviceFlags",
    pass: (a) => [a.dom, a.xml, LIVE],
  }),
  proc(
    14,
    "DOMAIN_GET_XML_DESC",
    domFlags,
    { xml: nstr },
    { ro: true, roDeny: secureFlag("virDomainGetXMLDesc") },
  ),
  proc(15, "DOMAIN_GET_AUTOSTART", dom, { autostart: flag }, roHigh),
  proc(
    16,
    "DOMAIN_GET_INFO",
    dom,
    { state: uint, maxMem: u64, memory: u64, nrVirtCpu: uint, cpuTime: u64 },
    ro,
  ),
  proc(17, "DOMAIN_GET_MAX_MEMORY", dom, { memory: u64 }, roHigh),
  proc(18, "DOMAIN_GET_MAX_VCPUS", dom, { num: int }, roHigh),
  proc(19, "DOMAIN_GET_OS_TYPE", dom, { type: nstr }, roHigh),
  proc(
    20,
    "DOMAIN_GET_VCPUS",
    { dom: D, maxinfo: int, maplen: int },
    { info: array(vcpuInfo, REMOTE_VCPUINFO_MAX), cpumaps: varOpaque(REMOTE_CPUMAPS_MAX) },
    {
      ro: true,
      high: true,
      invoke: async (fn, a) => {
        const r = await fn(a.dom, a.maxinfo, a.maplen);
        return {
          info: r.info.map((i: any) => ({
            number: i.number,
            state: i.state,
            cpu_time: i.cpuTime,
            cpu: i.cpu,
          })),
          cpumaps: Buffer.concat(r.cpumaps ?? []),
        };
      },
    },
  ),
  proc(
    21,
    "CONNECT_LIST_DEFINED_DOMAINS",
    { maxnames: int },
    { names: array(nstr, REMOTE_DOMAIN_LIST_MAX) },
    roHigh,
  ),
  proc(22, "DOMAIN_LOOKUP_BY_ID", { id: int }, { dom: D }, roHigh),
  proc(23, "DOMAIN_LOOKUP_BY_NAME", { name: nstr }, { dom: D }, roHigh),
  proc(24, "DOMAIN_LOOKUP_BY_UUID", { uuid }, { dom: D }, roHigh),
  proc(25, "CONNECT_NUM_OF_DEFINED_DOMAINS", null, { num: int }, roHigh),
  // the driver's own flag-less slot; without it the dispatcher's fallback calls domainPinVcpuFlags
  // with AFFECT_LIVE (libvirt's test driver means 0 here, its QEMU driver LIVE)
  proc(26, "DOMAIN_PIN_VCPU", { dom: D, vcpu: uint, cpumap: varOpaque(REMOTE_CPUMAP_MAX) }, null),
  proc(27, "DOMAIN_REBOOT", domFlags, null, { slot: "domainRebootFlags" }),
  proc(28, "DOMAIN_RESUME", dom, null),
  proc(29, "DOMAIN_SET_AUTOSTART", { dom: D, autostart: flag }, null, high),
  proc(30, "DOMAIN_SET_MAX_MEMORY", { dom: D, memory: u64 }, null, high),
  proc(31, "DOMAIN_SET_MEMORY", { dom: D, memory: u64 }, null, {
    slot: "domainSetMemoryFlags",
    pass: (a) => [a.dom, a.memory, LIVE],
  }),
  proc(32, "DOMAIN_SET_VCPUS", { dom: D, nvcpus: uint }, null, {
    slot: "domainSetVcpusFlags",
    pass: (a) => [a.dom, a.nvcpus, LIVE],
  }),
  proc(33, "DOMAIN_SHUTDOWN", dom, null, { slot: "domainShutdownFlags", pass: (a) => [a.dom, 0] }),
  proc(34, "DOMAIN_SUSPEND", dom, null),
  proc(35, "DOMAIN_UNDEFINE", dom, null, {
    high: true,
    slot: "domainUndefineFlags",
    pass: (a) => [a.dom, 0],
  }),
  proc(37, "CONNECT_LIST_DOMAINS", { maxids: int }, { ids: array(int, REMOTE_DOMAIN_LIST_MAX) }, roHigh),
  proc(51, "CONNECT_NUM_OF_DOMAINS", null, { num: int }, roHigh),
  proc(53, "DOMAIN_CORE_DUMP", { dom: D, to: nstr, flags: uint }, null),
  proc(334, "DOMAIN_CORE_DUMP_WITH_FORMAT", { dom: D, to: nstr, dumpformat: uint, flags: uint }, null),
  proc(54, "DOMAIN_RESTORE", { from: nstr }, null, { pass: (a) => [a.from, null, 0] }),
  proc(55, "DOMAIN_SAVE", { dom: D, to: nstr }, null, { pass: (a) => [a.dom, a.to, null, 0] }),
  proc(56, "DOMAIN_GET_SCHEDULER_TYPE", dom, { type: nstr, nparams: int }, ro),
  proc(
    57,
    "DOMAIN_GET_SCHEDULER_PARAMETERS",
    { dom: D, nparams: int },
    { params: typedParams(REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX) },
    { ro: true, slot: "domainGetSchedulerParametersFlags", pass: (a) => [a.dom, 0] },
  ),
  proc(58, "DOMAIN_SET_SCHEDULER_PARAMETERS", { dom: D, params: typedParams(16) }, null, {
    slot: "domainSetSchedulerParametersFlags",
    pass: (a) => [a.dom, a.params, 0],
  }),
  proc(121, "DOMAIN_GET_SECURITY_LABEL", dom, secLabel, ro),
  proc(150, "DOMAIN_IS_ACTIVE", dom, { active: flag }, roHigh),
  proc(151, "DOMAIN_IS_PERSISTENT", dom, { persistent: flag }, roHigh),
  proc(
    159,
    "DOMAIN_MEMORY_STATS",
    { dom: D, maxStats: uint, flags: uint },
    { stats: array(memStat, REMOTE_DOMAIN_MEMORY_STATS_MAX) },
    ro,
  ),
  proc(160, "DOMAIN_ATTACH_DEVICE_FLAGS", { dom: D, xml: nstr, flags: uint }, null),
  proc(161, "DOMAIN_DETACH_DEVICE_FLAGS", { dom: D, xml: nstr, flags: uint }, null),
  proc(
    163,
    "DOMAIN_GET_JOB_INFO",
    dom,
    {
      type: int,
      timeElapsed: u64,
      timeRemaining: u64,
      dataTotal: u64,
      dataProcessed: u64,
      dataRemaining: u64,
      memTotal: u64,
      memProcessed: u64,
      memRemaining: u64,
      fileTotal: u64,
      fileProcessed: u64,
      fileRemaining: u64,
    },
    ro,
  ),
  proc(164, "DOMAIN_ABORT_JOB", dom, null),
  proc(174, "DOMAIN_UPDATE_DEVICE_FLAGS", { dom: D, xml: nstr, flags: uint }, null),
  proc(182, "DOMAIN_MANAGED_SAVE", domFlags, null),
  proc(183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", domFlags, { result: flag }, ro),
  proc(184, "DOMAIN_MANAGED_SAVE_REMOVE", domFlags, null),
  proc(196, "DOMAIN_CREATE_WITH_FLAGS", domFlags, { dom: D }),
  // the descriptors travel beside the message (SCM_RIGHTS); tsvirtd reads none
  proc(309, "DOMAIN_CREATE_XML_WITH_FILES", { xml_desc: nstr, flags: uint }, { dom: D }),
  proc(310, "DOMAIN_CREATE_WITH_FILES", domFlags, { dom: D }),
  proc(
    197,
    "DOMAIN_SET_MEMORY_PARAMETERS",
    { dom: D, params: typedParams(REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX), flags: uint },
    null,
  ),
  proc(
    198,
    "DOMAIN_GET_MEMORY_PARAMETERS",
    { dom: D, nparams: int, flags: uint },
    { params: typedParams(REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(199, "DOMAIN_SET_VCPUS_FLAGS", { dom: D, nvcpus: uint, flags: uint }, null),
  proc(200, "DOMAIN_GET_VCPUS_FLAGS", domFlags, { num: int }, ro),
  proc(201, "DOMAIN_OPEN_CONSOLE", { dom: D, dev_name: ostr, flags: uint }, null, {
    stream: "read",
    streamArg: 2,
  }),
  proc(202, "DOMAIN_IS_UPDATED", dom, { updated: flag }, roHigh),
  proc(204, "DOMAIN_SET_MEMORY_FLAGS", { dom: D, memory: u64, flags: uint }, null),
  proc(
    205,
    "DOMAIN_SET_BLKIO_PARAMETERS",
    { dom: D, params: typedParams(REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX), flags: uint },
    null,
  ),
  proc(
    206,
    "DOMAIN_GET_BLKIO_PARAMETERS",
    { dom: D, nparams: int, flags: uint },
    { params: typedParams(REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX), nparams: int },
    { ro: true, invoke: paramsGetter(withoutNparams) },
  ),
  proc(210, "DOMAIN_INJECT_NMI", domFlags, null),
  proc(
    211,
    "DOMAIN_SCREENSHOT",
    { dom: D, screen: uint, flags: uint },
    { mime: ostr },
    // the slot returns { mime, data }: the reply carries the mime type, the image follows as stream data
    { stream: "read" },
  ),
  proc(212, "DOMAIN_GET_STATE", domFlags, { state: int, reason: int }, roHigh),
  proc(219, "DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS", { dom: D, params: typedParams(16), flags: uint }, null, {
    slot: "domainSetSchedulerParametersFlags",
  }),
  proc(
    223,
    "DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS",
    { dom: D, nparams: int, flags: uint },
    { params: typedParams(REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX) },
    { ro: true, pass: (a) => [a.dom, a.flags] },
  ),
  proc(
    225,
    "DOMAIN_PIN_VCPU_FLAGS",
    { dom: D, vcpu: uint, cpumap: varOpaque(REMOTE_CPUMAP_MAX), flags: uint },
    null,
  ),
  proc(
    226,
    "DOMAIN_SEND_KEY",
    { dom: D, codeset: uint, holdtime: uint, keycodes: array(uint, 16), flags: uint },
    null,
  ),
  proc(229, "DOMAIN_GET_CONTROL_INFO", domFlags, { state: uint, details: uint, stateTime: u64 }, ro),
  proc(
    230,
    "DOMAIN_GET_VCPU_PIN_INFO",
    { dom: D, ncpumaps: int, maplen: int, flags: uint },
    { cpumaps: varOpaque(REMOTE_CPUMAPS_MAX), num: int },
    {
      ro: true,
      invoke: async (fn, a) => {
        const maps: Uint8Array[] = await fn(a.dom, a.ncpumaps, a.maplen, a.flags);
        return { cpumaps: Buffer.concat(maps), num: maps.length };
      },
    },
  ),
  proc(231, "DOMAIN_UNDEFINE_FLAGS", domFlags, null, high),
  proc(232, "DOMAIN_SAVE_FLAGS", { dom: D, to: nstr, dxml: ostr, flags: uint }, null, { slot: "domainSave" }),
  proc(233, "DOMAIN_RESTORE_FLAGS", { from: nstr, dxml: ostr, flags: uint }, null, { slot: "domainRestore" }),
  proc(234, "DOMAIN_DESTROY_FLAGS", domFlags, null, high),
  proc(
    235,
    "DOMAIN_SAVE_IMAGE_GET_XML_DESC",
    { file: nstr, flags: uint },
    { xml: nstr },
    { ro: true, roDeny: secureFlag("virDomainSaveImageGetXMLDesc") },
  ),
  proc(236, "DOMAIN_SAVE_IMAGE_DEFINE_XML", { file: nstr, dxml: nstr, flags: uint }, null),
  proc(245, "DOMAIN_RESET", domFlags, null),
  proc(258, "DOMAIN_SHUTDOWN_FLAGS", domFlags, null),
  proc(261, "DOMAIN_PM_SUSPEND_FOR_DURATION", { dom: D, target: uint, duration: u64, flags: uint }, null),
  proc(
    262,
    "DOMAIN_GET_CPU_STATS",
    { dom: D, nparams: uint, start_cpu: int, ncpus: uint, flags: uint },
    { params: typedParams(2048), nparams: int },
    { ro: true, invoke: cpuStatsGetter },
  ),
  proc(
    264,
    "DOMAIN_SET_METADATA",
    { dom: D, type: int, metadata: ostr, key: ostr, uri: ostr, flags: uint },
    null,
    high,
  ),
  proc(265, "DOMAIN_GET_METADATA", { dom: D, type: int, uri: ostr, flags: uint }, { metadata: nstr }, roHigh),
  proc(267, "DOMAIN_PM_WAKEUP", domFlags, null),
  proc(
    273,
    "CONNECT_LIST_ALL_DOMAINS",
    { need_results: int, flags: uint },
    { domains: array(D, REMOTE_DOMAIN_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("domains") },
  ),
  proc(277, "DOMAIN_GET_HOSTNAME", domFlags, { hostname: nstr }, ro),
  proc(
    278,
    "DOMAIN_GET_SECURITY_LABEL_LIST",
    dom,
    { labels: array(secLabel, 64), ret: int },
    {
      ro: true,
      invoke: async (fn, a) => {
        const labels = (await fn(a.dom)) ?? [];
        return { labels, ret: labels.length };
      },
    },
  ),
  proc(
    298,
    "DOMAIN_GET_JOB_STATS",
    domFlags,
    { type: int, params: typedParams(REMOTE_DOMAIN_JOB_STATS_MAX) },
    ro,
  ),
  proc(308, "DOMAIN_SET_MEMORY_STATS_PERIOD", { dom: D, period: int, flags: uint }, null),
  proc(
    238,
    "DOMAIN_GET_BLOCK_JOB_INFO",
    { dom: D, path: nstr, flags: uint },
    { found: int, type: int, bandwidth: u64, cur: u64, end: u64 },
    ro,
  ),
  proc(251, "DOMAIN_BLOCK_RESIZE", { dom: D, disk: nstr, size: u64, flags: uint }, null),
  proc(386, "DOMAIN_SET_BLOCK_THRESHOLD", { dom: D, dev: nstr, threshold: u64, flags: uint }, null),
  proc(427, "DOMAIN_START_DIRTY_RATE_CALC", { dom: D, seconds: int, flags: uint }, null),
  proc(337, "DOMAIN_GET_TIME", domFlags, { seconds: i64, nseconds: uint }, ro),
  proc(338, "DOMAIN_SET_TIME", { dom: D, seconds: hyper, nseconds: uint, flags: uint }, null),
  proc(350, "DOMAIN_DEFINE_XML_FLAGS", { xml: nstr, flags: uint }, { dom: D }, high),
  proc(
    353,
    "DOMAIN_INTERFACE_ADDRESSES",
    { dom: D, source: uint, flags: uint },
    { ifaces: array(domIface, REMOTE_DOMAIN_INTERFACE_MAX) },
    {
      ro: true,
      roDeny: (a) => (a.source === 1 ? "read only access prevents virDomainInterfaceAddresses" : null),
    },
  ),
  proc(
    358,
    "DOMAIN_RENAME",
    { dom: D, new_name: ostr, flags: uint },
    { retcode: int },
    {
      invoke: async (fn, a) => {
        await fn(a.dom, a.new_name, a.flags);
        return { retcode: 0 };
      },
    },
  ),
  proc(384, "DOMAIN_SET_VCPU", { dom: D, cpumap: nstr, state: int, flags: uint }, null),
  proc(
    388,
    "DOMAIN_MANAGED_SAVE_GET_XML_DESC",
    domFlags,
    { xml: nstr },
    { ro: true, roDeny: secureFlag("virDomainManagedSaveGetXMLDesc") },
  ),
  proc(389, "DOMAIN_MANAGED_SAVE_DEFINE_XML", { dom: D, dxml: ostr, flags: uint }, null),
  proc(390, "DOMAIN_SET_LIFECYCLE_ACTION", { dom: D, type: uint, action: uint, flags: uint }, null),
];
