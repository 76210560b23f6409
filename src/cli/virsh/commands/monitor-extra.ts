// More domain readers (tools/virsh-domain-monitor.c, virsh-domain.c, virsh-host.c): block and
// interface counters, memory stats, control state, scheduler and tuning parameters (query form),
// vCPU/emulator pinning, IOThreads, guest addresses and time, filesystems and domstats.
import type { Domain } from "../../../api/index.js";
import { type TypedParam, VIR_TYPED_PARAM } from "../../../driver/types.js";
import { ErrorCode, ErrorDomain, isVirError, virError } from "../../../errors/index.js";
import { attr, child } from "../../../xml/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { formatTable } from "../format/table.js";
import { attempt, type Ctl, conn, domainByString, lookupDomain, req } from "../lookup.js";
import { optArgv, optBool, optInt, optString, optUInt } from "../options.js";
import { affectFlags, childrenAt, exclusive, liveConfigRefused, parseDoc } from "../util.js";
import { parseCpuList } from "./cpulist.js";
import { blkiotuneParams, memtuneParams, numatuneParams } from "./tune-params.js";

type H = Handler<Ctl>;

/** vshGetTypedParamValue. */
export function typedValue(p: TypedParam): string {
  switch (p.type) {
    case 5:
      return Number(p.value).toFixed(6);
    case 6:
      return p.value ? "yes" : "no";
    default:
      return String(p.value);
  }
}

/** virBitmapFormat: "0-3,5". */
export function bitmapRanges(map: Uint8Array, nbits: number): string {
  const parts: string[] = [];
  let i = 0;
  const set = (b: number) => (map[b >> 3] ?? 0) & (1 << (b & 7));
  while (i < nbits) {
    if (!set(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < nbits && set(j + 1)) j++;
    parts.push(i === j ? String(i) : `${i}-${j}`);
    i = j + 1;
  }
  return parts.join(",");
}

async function hostCpus(ctl: Ctl): Promise<number> {
  try {
    return (await conn(ctl).nodeGetCPUMap(0)).cpus;
  } catch {
    return (await conn(ctl).nodeGetInfo()).cpus;
  }
}

/** virDomainBlockStatsFlags' fields in virsh's order: [field, older name, --human label]. */
const BLOCK_STATS_FIELDS: [string, string | null, string][] = [
  ["rd_operations", "rd_req", "number of read operations:"],
  ["rd_bytes", "rd_bytes", "number of bytes read:"],
  ["wr_operations", "wr_req", "number of write operations:"],
  ["wr_bytes", "wr_bytes", "number of bytes written:"],
  ["errs", "errs", "error count:"],
  ["flush_operations", null, "number of flush operations:"],
  ["rd_total_times", null, "total duration of reads (ns):"],
  ["wr_total_times", null, "total duration of writes (ns):"],
  ["flush_total_times", null, "total duration of flushes (ns):"],
];

const domblkstat: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  // read quietly: an empty --device asks for the domain's summary, as a missing one
  const dev = cmd.opts.find((o) => o.def.name === "device")?.value ?? "";
  const failed = `Failed to get block stats ${name} ${dev}`;
  // virDomainBlockStatsFlags first; a driver without it gets the older call
  let flagged: TypedParam[] | null = null;
  try {
    flagged = await dom.blockStatsFlags(dev, 0);
  } catch (e) {
    if (!(isVirError(e) && e.code === ErrorCode.NO_SUPPORT)) throw e;
  }
  if (flagged) {
    const human = optBool(cmd, "human");
    if (human) ctl.print(`Device: ${dev}\n`);
    const shown = new Set<string>();
    for (const [field, legacy, label] of BLOCK_STATS_FIELDS) {
      const p = flagged.find((x) => x.field === field);
      if (!p) continue;
      shown.add(field);
      if (human) ctl.print(` ${label.padEnd(31)} ${typedValue(p)}\n`);
      else ctl.print(`${dev} ${legacy ?? field} ${typedValue(p)}\n`);
    }
    // fields virsh does not know: their names as they come
    for (const p of flagged)
      if (!shown.has(p.field)) ctl.print(human ? `${p.field}: ${typedValue(p)}\n` : `${dev} ${p.field} ${typedValue(p)}\n`);
    return true;
  }
  const s = await attempt(failed, () => dom.blockStats(dev));
  const rows: [string, string, number][] = [
    ["rd_req", "number of read operations:", s.rdReq],
    ["rd_bytes", "number of bytes read:", s.rdBytes],
    ["wr_req", "number of write operations:", s.wrReq],
    ["wr_bytes", "number of bytes written:", s.wrBytes],
    ["errs", "error count:", s.errs],
  ];
  if (optBool(cmd, "human")) {
    ctl.print(`Device: ${dev}\n`);
    for (const [, h, v] of rows) if (Number(v) >= 0) ctl.print(` ${h.padEnd(31)} ${v}\n`);
  } else {
    for (const [k, , v] of rows) if (Number(v) >= 0) ctl.print(`${dev} ${k} ${v}\n`);
  }
  return true;
};

const domifstat: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  const dev = req(cmd, "interface");
  const s = await attempt(`Failed to get interface stats ${name} ${dev}`, () => dom.interfaceStats(dev));
  const rows: [string, number][] = [
    ["rx_bytes", s.rxBytes],
    ["rx_packets", s.rxPackets],
    ["rx_errs", s.rxErrs],
    ["rx_drop", s.rxDrop],
    ["tx_bytes", s.txBytes],
    ["tx_packets", s.txPackets],
    ["tx_errs", s.txErrs],
    ["tx_drop", s.txDrop],
  ];
  for (const [k, v] of rows) if (Number(v) >= 0) ctl.print(`${dev} ${k} ${v}\n`);
  return true;
};

const MEM_TAGS = [
  "swap_in",
  "swap_out",
  "major_fault",
  "minor_fault",
  "unused",
  "available",
  "actual",
  "rss",
  "usable",
  "last_update",
  "disk_caches",
  "hugetlb_pgalloc",
  "hugetlb_pgfail",
];

const dommemstat: H = async (ctl, cmd) => {
  let flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  // the flags are for --period only: without any, a running domain's live period
  if (
    !["current", "live", "config"].some((o) => optBool(cmd, o)) &&
    (await dom.isActive().catch(() => false))
  )
    flags |= 1;
  const period = optInt(cmd, "period");
  if (period !== undefined) {
    if (period < 0) throw new CmdFailure(`Invalid collection period value '${period}'`);
    await attempt("Unable to change balloon collection period.", () =>
      dom.setMemoryStatsPeriod(period, flags),
    );
    return true;
  }
  const stats = await attempt("Failed to get memory statistics", () => dom.memoryStats(13, 0));
  for (const s of stats) ctl.print(`${MEM_TAGS[s.tag] ?? "unknown"} ${s.val}\n`);
  return true;
};

const CONTROL_STATES = ["ok", "background job", "occupied", "error"];

const domcontrol: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const info = await dom.getControlInfo(0);
  const state = CONTROL_STATES[info.state] ?? "unknown";
  if (info.state !== 0) ctl.print(`${state} (${(Number(info.stateTime) / 1000).toFixed(3)}s)\n`);
  else ctl.print(`${state}\n`);
  return true;
};

/** VIR_DOMAIN_GET_HOSTNAME_LEASE / _AGENT. */
const HOSTNAME_SOURCES: Record<string, number> = { lease: 1, agent: 2 };

const domhostname: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const source = optString(cmd, "source");
  let flags = 0;
  if (source !== undefined) {
    const f = HOSTNAME_SOURCES[source];
    if (f === undefined) throw new CmdFailure(`Unknown data source '${source}'`);
    flags = f;
  }
  const name = await attempt("failed to get hostname", () => dom.getHostname(flags));
  ctl.print(`${name}\n`);
  return true;
};

/** virTypedParamsAddFromString: `value` converted to the type the domain reports for `field`. */
function typedFromString(field: string, type: number, value: string): TypedParam {
  const bad = (what: string) =>
    virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `Invalid value for field '${field}': expected ${what}`);
  // strtol-family over the whole string (leading blanks, a sign), base 10
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(value);
  const n = m ? BigInt(m[2]) * (m[1] === "-" ? -1n : 1n) : null;
  switch (type) {
    case VIR_TYPED_PARAM.INT:
      if (n === null || n < -2147483648n || n > 2147483647n) throw bad("int");
      return { field, type, value: Number(n) };
    case VIR_TYPED_PARAM.UINT:
      // virStrToLong_ui: "-N" wraps as strtoul's does, within UINT_MAX
      if (n === null || n > 4294967295n || n < -4294967295n) throw bad("unsigned int");
      return { field, type, value: Number(n < 0n ? 4294967296n + n : n) };
    case VIR_TYPED_PARAM.LLONG:
      if (n === null || n < -(2n ** 63n) || n >= 2n ** 63n) throw bad("long long");
      return { field, type, value: Number(n) };
    case VIR_TYPED_PARAM.ULLONG:
      if (n === null || n >= 2n ** 64n || n <= -(2n ** 64n)) throw bad("unsigned long long");
      return { field, type, value: Number(n < 0n ? 2n ** 64n + n : n) };
    case VIR_TYPED_PARAM.DOUBLE: {
      const d = Number(value);
      if (value.trim() === "" || Number.isNaN(d)) throw bad("double");
      return { field, type, value: d };
    }
    case VIR_TYPED_PARAM.BOOLEAN:
      if (/^(true|1)$/i.test(value)) return { field, type, value: true };
      if (/^(false|0)$/i.test(value)) return { field, type, value: false };
      throw virError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `Invalid boolean value for field '${field}'`);
    default:
      return { field, type, value };
  }
}

/**
 * schedinfo (cmdSchedinfo): prints the scheduler, then reads the parameters (the Flags call only
 * when --current/--live/--config is given; both --live and --config read the current ones); any
 * --set name=value, --cap, --weight is converted to that parameter's type, set, and re-read.
 */
const schedinfo: H = async (ctl, cmd) => {
  const current = optBool(cmd, "current");
  const live = optBool(cmd, "live");
  const config = optBool(cmd, "config");
  const flags = affectFlags(cmd);
  const useFlags = flags !== 0 || current;
  const dom = await lookupDomain(ctl, cmd);
  let t: Awaited<ReturnType<Domain["getSchedulerType"]>>;
  try {
    t = await dom.getSchedulerType();
  } catch (e) {
    // virsh names the scheduler Unknown when it cannot get its type, then fails
    ctl.print(`${"Scheduler".padEnd(15)}: Unknown\n`);
    throw e;
  }
  ctl.print(`${"Scheduler".padEnd(15)}: ${t.type}\n`);
  if (!t.nparams) return true;
  const read = () => dom.getSchedulerParameters(useFlags ? (live && config ? 0 : flags) : undefined);
  let params = await read();
  const updates: TypedParam[] = [];
  const update = (field: string, value: string) => {
    const p = params.find((x) => x.field === field);
    if (!p) throw new CmdFailure(`invalid scheduler option: ${field}`);
    updates.push(typedFromString(field, p.type, value));
  };
  for (const s of optArgv(cmd, "set")) {
    const eq = s.indexOf("=");
    if (eq < 0) throw new CmdFailure("Invalid syntax for --set, expecting name=value");
    update(s.slice(0, eq), s.slice(eq + 1));
  }
  for (const name of ["cap", "weight"]) {
    const v = optString(cmd, name);
    if (v !== undefined) update(name, v);
  }
  if (updates.length > 0) {
    await dom.setSchedulerParameters(updates, useFlags ? flags : undefined);
    params = await read();
  } else if (live && config) throw new CmdFailure("cannot query both live and config at once");
  for (const p of params) ctl.print(`${p.field.padEnd(15)}: ${typedValue(p)}\n`);
  return true;
};

/** The set mode of a tune command: its options as typed parameters, and the setter. */
interface Setter {
  parse: (cmd: Parameters<H>[1]) => TypedParam[];
  apply: (d: Domain, params: TypedParam[], flags: number) => Promise<void>;
  /** virsh's text when the setter fails ("Unable to change … parameters"). */
  failed: string;
}

function paramsPrinter(
  get: (d: Domain, flags: number) => Promise<TypedParam[]>,
  fmt: (p: TypedParam) => string,
  countFailed: string,
  set?: Setter,
  countCallFailed?: string,
): H {
  return async (ctl, cmd) => {
    const flags = affectFlags(cmd);
    const dom = await lookupDomain(ctl, cmd);
    // With any setting option given, virsh sets and prints nothing; without, it queries.
    const params = set ? set.parse(cmd) : [];
    if (set && params.length > 0) {
      await attempt(set.failed, () => set.apply(dom, params, flags));
      return true;
    }
    liveConfigRefused(flags, countFailed);
    // virsh's first call counts the parameters: its failure (a driver without the call) says so
    const got = await attempt(countCallFailed ?? countFailed, () => get(dom, flags));
    for (const p of got) ctl.print(`${p.field.padEnd(15)}: ${fmt(p)}\n`);
    return true;
  };
}

/** perf: the event lists are read before the lookup; without them it queries. */
const perf: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const enable = optString(cmd, "enable");
  const disable = optString(cmd, "disable");
  const dom = await lookupDomain(ctl, cmd);
  // virshParseEventStr: comma-separated names, empty items skipped
  const params: TypedParam[] = [];
  for (const [list, on] of [
    [enable, true],
    [disable, false],
  ] as const)
    for (const name of (list ?? "").split(","))
      if (name !== "") params.push({ field: name, type: 6, value: on });
  const show = (ps: TypedParam[]) => {
    for (const p of ps)
      ctl.print(`${p.field.padEnd(15)}: ${p.type === 6 && p.value ? "enabled" : "disabled"}\n`);
  };
  if (params.length === 0) {
    show(await attempt("Unable to get perf events", () => dom.getPerfEvents(flags)));
    return true;
  }
  await attempt("Unable to enable/disable perf events", () => dom.setPerfEvents(params, flags));
  show(params);
  return true;
};

const UNLIMITED = 9007199254740991;
const NUMA_MODES = ["strict", "preferred", "interleave", "restrictive"];

const vcpupin: H = async (ctl, cmd) => {
  // virsh's order: --current against --live/--config, the list, --live against --config in query
  // mode, the vCPU number, the host CPU count, then the domain
  const flags = affectFlags(cmd);
  const cpulist = optString(cmd, "cpulist");
  if (cpulist === undefined) exclusive(cmd, "live", "config");
  const vcpu = optUInt(cmd, "vcpu");
  if (cpulist !== undefined && vcpu === undefined)
    throw new CmdFailure("vcpupin: Missing vCPU number in pin mode.");
  const maxcpu = await hostCpus(ctl);
  const dom = await lookupDomain(ctl, cmd);
  if (cpulist !== undefined) {
    await dom.pinVcpu(vcpu!, parseCpuList(cpulist, maxcpu), flags);
    return true;
  }
  // virshVcpuPinQuery over virshCPUCountCollect (maximum count, the state checked first)
  if (
    (flags & 1 && !(await dom.isActive().catch(() => false))) ||
    (flags & 2 && !(await dom.isPersistent().catch(() => false)))
  )
    throw new CmdFailure(`cannot get vcpupin for ${flags & 1 ? "offline" : "transient"} domain`);
  const ncpus = await dom.getVcpusFlags(flags | 4);
  if (vcpu !== undefined && vcpu >= ncpus) {
    const live = flags & 1 || (!(flags & 2) && (await dom.isActive().catch(() => false)));
    throw new CmdFailure(
      `vcpu ${vcpu} is out of range of ${live ? "live" : "persistent"} cpu count ${ncpus}`,
    );
  }
  const maps = await dom.getVcpuPinInfo(ncpus, Math.ceil(maxcpu / 8), flags);
  const rows = maps
    .map((m, i) => [String(i), bitmapRanges(m, maxcpu)])
    .filter((_r, i) => vcpu === undefined || i === vcpu);
  ctl.print(formatTable(["VCPU", "CPU Affinity"], rows, !ctl.quiet));
  return true;
};

const emulatorpin: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const given = ["current", "live", "config"].some((o) => optBool(cmd, o));
  const dom = await lookupDomain(ctl, cmd);
  const cpulist = optString(cmd, "cpulist");
  const ncpus = await hostCpus(ctl);
  if (cpulist === undefined) {
    const map = await dom.getEmulatorPinInfo(Math.ceil(ncpus / 8), flags);
    ctl.printExtra(`emulator: CPU Affinity\n${"-".repeat(34)}\n${"*".padStart(8)}: `);
    ctl.print(`${bitmapRanges(map, ncpus)}\n`);
    return true;
  }
  // pin mode: without --current/--live/--config virsh pins the running domain
  await dom.pinEmulator(parseCpuList(cpulist, ncpus), given ? flags : 1);
  return true;
};

const iothreadinfo: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  liveConfigRefused(flags, "Unable to get domain IOThreads information");
  const ncpus = await hostCpus(ctl);
  const list = await dom.getIOThreadInfo(flags);
  if (list.length === 0) {
    ctl.printExtra("No IOThreads found for the domain");
    return true;
  }
  ctl.print(
    formatTable(
      ["IOThread ID", "CPU Affinity"],
      list.map((t) => [String(t.iothreadId), bitmapRanges(t.cpumap, ncpus)]),
      !ctl.quiet,
    ),
  );
  return true;
};

const domifGetlink: H = async (ctl, cmd) => {
  const iface = req(cmd, "interface");
  const dom = await lookupDomain(ctl, cmd);
  const doc = parseDoc(await dom.getXMLDesc(optBool(cmd, "config") ? 2 : 0));
  for (const nic of childrenAt(doc, "devices/interface")) {
    const target = child(nic, "target");
    const mac = child(nic, "mac");
    if ((target && attr(target, "dev") === iface) || (mac && attr(mac, "address") === iface.toLowerCase())) {
      const link = child(nic, "link");
      ctl.print(`${iface} ${(link && attr(link, "state")) ?? "up"}`);
      return true;
    }
  }
  throw new CmdFailure(`Interface (dev: ${iface}) not found.`);
};

const ADDR_SOURCES: Record<string, number> = { lease: 0, agent: 1, arp: 2 };

const domifaddr: H = async (ctl, cmd) => {
  const only = optString(cmd, "interface");
  const srcName = optString(cmd, "source") ?? "lease";
  const source = ADDR_SOURCES[srcName];
  if (source === undefined) throw new CmdFailure(`Unknown data source '${srcName}'`);
  const dom = await lookupDomain(ctl, cmd);
  const list = await attempt(`Failed to query for interfaces addresses`, () =>
    dom.interfaceAddresses(source, 0),
  );
  ctl.print(
    ` ${"Name".padEnd(10)} ${"MAC address".padEnd(20)} ${"Protocol".padEnd(12)} Address\n${"-".repeat(79)}\n`,
  );
  for (const i of list) {
    if (only !== undefined && i.name !== only) continue;
    const mac = i.hwaddr ?? "N/A";
    if (i.addrs.length === 0) ctl.print(` ${i.name.padEnd(10)} ${mac.padEnd(20)} ${"N/A".padEnd(12)} N/A\n`);
    i.addrs.forEach((a, k) => {
      const proto = a.type === 1 ? "ipv6" : "ipv4";
      const name = k === 0 || optBool(cmd, "full") ? i.name : "-";
      const m = k === 0 || optBool(cmd, "full") ? mac : "-";
      ctl.print(` ${name.padEnd(10)} ${m.padEnd(20)} ${proto.padEnd(12)} ${a.addr}/${a.prefix}\n`);
    });
  }
  return true;
};

const domtime: H = async (ctl, cmd) => {
  exclusive(cmd, "time", "now");
  exclusive(cmd, "time", "sync");
  exclusive(cmd, "now", "sync");
  const dom = await lookupDomain(ctl, cmd);
  const now = optBool(cmd, "now");
  const sync = optBool(cmd, "sync");
  // read as a long long: an empty value is a malformed number
  const time = cmd.opts.find((o) => o.def.name === "time")?.value ?? undefined;
  if (time !== undefined || now || sync) {
    let seconds = 0;
    if (time !== undefined) {
      if (
        !/^[ \t]*[+-]?\d+$/.test(time) ||
        BigInt(time.trim()) >= 1n << 63n ||
        BigInt(time.trim()) < -(1n << 63n)
      )
        throw new CmdFailure(`Numeric value '${time}' for <time> option is malformed or out of range`);
      seconds = Number(time.trim());
    }
    if (now) seconds = Math.floor(Date.now() / 1000);
    // VIR_DOMAIN_TIME_SYNC
    await dom.setTime(seconds, 0, sync ? 1 : 0);
    return true;
  }
  const t = await dom.getTime(0);
  if (optBool(cmd, "pretty")) {
    const d = new Date(Number(t.seconds) * 1000);
    const p = (x: number) => String(x).padStart(2, "0");
    ctl.print(
      `Time: ${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`,
    );
  } else ctl.print(`Time: ${t.seconds}`);
  return true;
};

const domfsinfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const list = await attempt("Unable to get filesystem information", () => dom.getFSInfo(0));
  if (list.length === 0) {
    ctl.printExtra("No filesystems are mounted in the domain");
    return true;
  }
  const rows = list.map((f) => [f.mountpoint, f.name, f.fstype, f.devAliases.join(",")]);
  ctl.print(formatTable(["Mountpoint", "Name", "Type", "Target"], rows, !ctl.quiet));
  return true;
};

/** domstats group options → VIR_DOMAIN_STATS_* bits, and --list-* → VIR_CONNECT_GET_ALL_DOMAINS_STATS_*. */
const STAT_GROUPS: [string, number][] = [
  ["state", 1],
  ["cpu-total", 2],
  ["balloon", 4],
  ["vcpu", 8],
  ["interface", 16],
  ["block", 32],
  ["perf", 64],
  ["iothread", 128],
  ["memory", 256],
  ["dirtyrate", 512],
  ["vm", 1024],
];
const STAT_FLAGS: [string, number][] = [
  ["list-active", 1],
  ["list-inactive", 2],
  ["list-persistent", 4],
  ["list-transient", 8],
  ["list-running", 16],
  ["list-paused", 32],
  ["list-shutoff", 64],
  ["list-other", 128],
  ["nowait", 1 << 29],
  ["backing", 1 << 30],
  ["enforce", 2 ** 31],
];

const domstats: H = async (ctl, cmd) => {
  let stats = 0;
  let flags = 0;
  for (const [n, b] of STAT_GROUPS) if (optBool(cmd, n)) stats |= b;
  for (const [n, b] of STAT_FLAGS) if (optBool(cmd, n)) flags += b;
  const names = optArgv(cmd, "domain");
  const doms = names.length ? await Promise.all(names.map((n) => domainByString(ctl, n))) : null;
  const recs = await conn(ctl).getAllDomainStats(stats, flags, doms);
  recs.forEach((r, i) => {
    if (i > 0) ctl.print("\n");
    ctl.print(`Domain: '${r.dom.name}'\n`);
    for (const p of r.params) ctl.print(`  ${p.field}=${typedValue(p)}\n`);
  });
  return true;
};

export const monitorExtraHandlers: Record<string, H> = {
  domblkstat,
  domifstat,
  dommemstat,
  domcontrol,
  domhostname,
  schedinfo,
  memtune: paramsPrinter(
    (d, f) => d.getMemoryParameters(f),
    (p) => (Number(p.value) === UNLIMITED ? "unlimited" : typedValue(p)),
    "Unable to get number of memory parameters",
    {
      parse: memtuneParams,
      apply: (d, ps, f) => d.setMemoryParameters(ps, f),
      failed: "Unable to change memory parameters",
    },
  ),
  blkiotune: paramsPrinter(
    (d, f) => d.getBlkioParameters(f),
    typedValue,
    "Unable to get number of blkio parameters",
    {
      parse: blkiotuneParams,
      apply: (d, ps, f) => d.setBlkioParameters(ps, f),
      failed: "Unable to change blkio parameters",
    },
  ),
  numatune: paramsPrinter(
    (d, f) => d.getNumaParameters(f),
    (p) => (p.field === "numa_mode" ? (NUMA_MODES[Number(p.value)] ?? typedValue(p)) : typedValue(p)),
    "Unable to get numa parameters",
    {
      parse: (cmd) => numatuneParams(cmd, NUMA_MODES),
      apply: (d, ps, f) => d.setNumaParameters(ps, f),
      failed: "Unable to change numa parameters",
    },
    // virsh 9.0's numatune says "memory" when its counting call fails
    "Unable to get number of memory parameters",
  ),
  perf,
  vcpupin,
  emulatorpin,
  iothreadinfo,
  "domif-getlink": domifGetlink,
  domifaddr,
  domtime,
  domfsinfo,
  domstats,
};
