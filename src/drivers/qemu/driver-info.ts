// Read-mostly slots of the QEMU driver that report host and domain state without a job of their
// own: host CPU and memory counters (/proc), the monitor's control state, jobs, disk I/O errors,
// interface bandwidth, IOThreads, metadata. Each follows the libvirt 9.0 QEMU driver function named
// in its comment (qemu_driver.c), including which definition a CURRENT/LIVE/CONFIG call reads.
import { readFileSync } from "node:fs";
import type { DomainDef } from "../../conf/domain/index.js";
import type { HypervisorDriver, TypedParam } from "../../driver/index.js";
import {
  VIR_DOMAIN_AFFECT,
  VIR_DOMAIN_EVENT_ID,
  VIR_DOMAIN_METADATA,
  VIR_TYPED_PARAM,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, elements } from "../../xml/index.js";
import { getMetadata, setMetadata } from "../test/domain-metadata.js";
import {
  checkFlags,
  domRef,
  isActive,
  modificationImpact,
  notRunning,
  persistentDef,
  type QemuDomain,
} from "./domain-obj.js";
import { diskAlias } from "./domain-aliases.js";
import { cpuMap, hostPresentCpuCount, parseCpuList, threadAffinity } from "./domain-vcpu-info.js";
import type { QemuDriverState } from "./driver-state.js";

const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;
/** VIR_TYPED_PARAM_STRING_OKAY, which the public API adds to the flags of typed-parameter getters. */
const STRING_OKAY = 1 << 2;
/** VIR_NODE_CPU_STATS_ALL_CPUS / VIR_NODE_MEMORY_STATS_ALL_CELLS. */
const ALL = -1;

/** /proc/stat ticks to ns: USER_HZ is 100 on every Linux architecture Node runs on. */
const TICK_NS = 10_000_000;

/** virDomainObjGetOneDef: the definition a getter reads (LIVE and CONFIG together are refused). */
export function oneDef(d: QemuDomain, flags: number): DomainDef {
  if ((flags & AFFECT) === AFFECT) {
    // VIR_EXCLUSIVE_FLAGS_RET: virReportInvalidArg's bare text
    throw new VirError({
      code: ErrorCode.INVALID_ARG,
      domain: ErrorDomain.QEMU,
      message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
    });
  }
  return modificationImpact(d, flags).live ? d.def : persistentDef(d);
}

const ull = (field: string, value: number | bigint): TypedParam =>
  ({ field, type: VIR_TYPED_PARAM.ULLONG, value }) as TypedParam;

/**
 * virHostCPUGetStatsLinux: the "cpu " (all) or "cpuN " line of /proc/stat as kernel (system +
 * irq + softirq), user (user + nice), idle and iowait, in ns.
 */
export function hostCpuStats(procStat: string, cpuNum: number): TypedParam[] {
  const head = cpuNum === ALL ? "cpu " : `cpu${cpuNum} `;
  for (const line of procStat.split("\n")) {
    if (!line.startsWith(head)) continue;
    const v = line
      .slice(head.length)
      .trim()
      .split(/\s+/)
      .map((x) => BigInt(x));
    if (v.length < 4) continue;
    const [usr, ni, sys, idle, iowait = 0n, irq = 0n, softirq = 0n] = v as bigint[];
    const ns = (t: bigint) => t * BigInt(TICK_NS);
    return [
      ull("kernel", ns(sys! + irq + softirq)),
      ull("user", ns(usr! + ni!)),
      ull("idle", ns(idle!)),
      ull("iowait", ns(iowait)),
    ];
  }
  // virReportInvalidArg: the text alone, no "invalid argument: " before it
  throw new VirError({
    code: ErrorCode.INVALID_ARG,
    domain: ErrorDomain.NONE,
    message: "Invalid cpuNum in virHostCPUGetStatsLinux",
  });
}

/**
 * virHostMemGetStats: total, free, buffers and cached (KiB) from /proc/meminfo, or a NUMA node's
 * meminfo (its lines start "Node N ").
 */
export function hostMemoryStats(meminfo: string): TypedParam[] {
  const want: [string, string][] = [
    ["MemTotal:", "total"],
    ["MemFree:", "free"],
    ["Buffers:", "buffers"],
    ["Cached:", "cached"],
  ];
  const got = new Map<string, bigint>();
  for (const raw of meminfo.split("\n")) {
    const line = raw.replace(/^Node \d+ /, "");
    for (const [key, field] of want) {
      if (line.startsWith(key) && !got.has(field))
        got.set(field, BigInt(line.slice(key.length).trim().split(/\s+/)[0] ?? 0));
    }
  }
  return want.filter(([, f]) => got.has(f)).map(([, f]) => ull(f, got.get(f)!));
}

/** <bandwidth> parameters in virDomainGetInterfaceParameters' order. */
const IFACE_PARAMS = [
  "inbound.average",
  "inbound.peak",
  "inbound.burst",
  "inbound.floor",
  "outbound.average",
  "outbound.peak",
  "outbound.burst",
] as const;

export function qemuInfoSlots(st: QemuDriverState): Partial<HypervisorDriver> {
  return {
    async nodeGetCPUStats(cpuNum, flags) {
      checkFlags(flags, 0, "virHostCPUGetStats");
      return hostCpuStats(readFileSync("/proc/stat", "utf8"), cpuNum);
    },
    async nodeGetMemoryStats(cellNum, flags) {
      checkFlags(flags, 0, "virHostMemGetStats");
      if (cellNum === ALL) return hostMemoryStats(readFileSync("/proc/meminfo", "utf8"));
      const max = maxNumaNode();
      if (cellNum > max || cellNum < 0) {
        throw new VirError({
          code: ErrorCode.INVALID_ARG,
          domain: ErrorDomain.NONE,
          message: `cellNum in virHostMemGetStats must be less than or equal to ${max}`,
        });
      }
      let text: string;
      try {
        text = readFileSync(`/sys/devices/system/node/node${cellNum}/meminfo`, "utf8");
      } catch {
        throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.NONE, "NUMA not supported on this host");
      }
      return hostMemoryStats(text);
    },
    // qemuDomainGetControlInfo: jobs here run to completion behind the domain's lock, with no
    // monitor error state kept, so a running domain's control interface is "ok".
    async domainGetControlInfo(ref, flags) {
      checkFlags(flags, 0, "qemuDomainGetControlInfo");
      const d = st.byRef(ref);
      if (!isActive(d)) throw notRunning();
      return { state: 0, details: 0, stateTime: 0 };
    },
    // qemuDomainGetJobStats: no asynchronous job (migration, save, dump) is reported while it
    // runs, so the current job is VIR_DOMAIN_JOB_NONE; nothing is kept as "completed" either.
    async domainGetJobStats(ref, flags) {
      // VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED
      checkFlags(flags, 1 | 2, "qemuDomainGetJobStats");
      const d = st.byRef(ref);
      if ((flags & 1) === 0 && !isActive(d)) throw notRunning();
      return { type: 0, params: [] };
    },
    // qemuDomainGetDiskErrors: the io-status QEMU keeps per drive (query-block).
    async domainGetDiskErrors(ref, maxerrors, flags) {
      checkFlags(flags, 0, "qemuDomainGetDiskErrors");
      const d = st.byRef(ref);
      if (!isActive(d) || !d.proc) throw notRunning();
      const info =
        await d.proc.monitor.execute<{ qdev?: string; device?: string; "io-status"?: string }[]>(
          "query-block",
        );
      const errors: { disk: string; error: number }[] = [];
      for (const disk of d.def.devices.disks) {
        const id = diskAlias(d.def, disk);
        const b = info.find((x) => x.qdev === id || x.qdev?.startsWith(`/machine/peripheral/${id}/`));
        const status = b?.["io-status"];
        // VIR_DOMAIN_DISK_ERROR_UNSPEC 1, NO_SPACE 2
        if (status === "failed") errors.push({ disk: disk.target.dev, error: 1 });
        else if (status === "nospace") errors.push({ disk: disk.target.dev, error: 2 });
        if (errors.length >= maxerrors) break;
      }
      return errors;
    },
    // qemuDomainGetInterfaceParameters: the NIC's <bandwidth>, 0 where unset.
    async domainGetInterfaceParameters(ref, device, flags, nparams) {
      checkFlags(flags, AFFECT | STRING_OKAY, "qemuDomainGetInterfaceParameters");
      const def = oneDef(st.byRef(ref), flags);
      // the count is answered before the device is looked up
      if (nparams === 0)
        return IFACE_PARAMS.map((field) => ({ field, type: VIR_TYPED_PARAM.UINT, value: 0 }));
      const mac = device.toLowerCase();
      const net = def.devices.interfaces.find((n) => n.mac?.toLowerCase() === mac || n.target === device);
      if (!net) {
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `'${device}' is not a known interface`);
      }
      const bw = net.extra.bandwidth?.[0];
      return IFACE_PARAMS.map((f) => {
        const [dir, what] = f.split(".") as [string, string];
        const e = bw ? elements(bw).find((x) => x.name === dir) : undefined;
        return { field: f, type: VIR_TYPED_PARAM.UINT, value: Number((e && attr(e, what)) ?? 0) };
      });
    },
    // qemuDomainGetIOThreadInfo: a running domain's IOThreads as QEMU reports them
    // (query-iothreads), with each thread's CPU affinity; a definition's from <iothreadids>.
    async domainGetIOThreadInfo(ref, flags) {
      checkFlags(flags, AFFECT, "qemuDomainGetIOThreadInfo");
      const d = st.byRef(ref);
      const def = oneDef(d, flags);
      const cpus = hostPresentCpuCount();
      const maplen = Math.ceil(cpus / 8);
      const allCpus = () =>
        cpuMap(
          Array.from({ length: cpus }, (_, i) => i),
          maplen,
        );
      // a thread gone meanwhile reads as allowed everywhere
      const threadCpus = (pid: number, tid: number) => {
        try {
          return cpuMap(threadAffinity(pid, tid), maplen);
        } catch {
          return allCpus();
        }
      };
      if (def === d.def && isActive(d) && d.proc) {
        const threads =
          await d.proc.monitor.execute<{ id: string; "thread-id": number }[]>("query-iothreads");
        return threads
          .map((t) => ({
            iothreadId: Number(/(\d+)$/.exec(t.id)?.[1] ?? 0),
            cpumap: threadCpus(d.proc!.pid, t["thread-id"]),
          }))
          .filter((t) => t.iothreadId > 0);
      }
      const ids = def.extra.iothreadids?.[0];
      if (!ids) return [];
      return elements(ids)
        .filter((e) => e.name === "iothread")
        .map((e) => ({ iothreadId: Number(attr(e, "id")), cpumap: allCpus() }));
    },
    async domainGetLaunchSecurityInfo(ref, flags) {
      checkFlags(flags, STRING_OKAY, "qemuDomainGetLaunchSecurityInfo");
      st.byRef(ref);
      return []; // no <launchSecurity> (SEV) guests here
    },
    async domainListAllCheckpoints(ref, flags) {
      // the filter bits of virDomainListAllCheckpoints; this driver makes no checkpoints
      checkFlags(flags, 0x1f, "qemuDomainListAllCheckpoints");
      st.byRef(ref);
      return [];
    },
    // qemuDomainGetMetadata / qemuDomainSetMetadata
    async domainGetMetadata(ref, type, uri, flags) {
      checkFlags(flags, AFFECT, "qemuDomainGetMetadata");
      const d = st.byRef(ref);
      if (type > VIR_DOMAIN_METADATA.ELEMENT) {
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `unknown metadata type '${type}'`);
      }
      return getMetadata(oneDef(d, flags), type, uri);
    },
    async domainSetMetadata(ref, type, metadata, key, uri, flags) {
      checkFlags(flags, AFFECT, "qemuDomainSetMetadata");
      const d = st.byRef(ref);
      await st.jobs.run(d.uuid, async () => {
        const { live, config } = modificationImpact(d, flags);
        if (live) setMetadata(d.def, type, metadata, key, uri);
        if (config) {
          setMetadata(persistentDef(d), type, metadata, key, uri);
          await st.saveConfig(d);
        }
      });
      st.events.emit({
        eventId: VIR_DOMAIN_EVENT_ID.METADATA_CHANGE,
        dom: domRef(d),
        data: { type, nsuri: type === VIR_DOMAIN_METADATA.ELEMENT ? uri : null },
      });
    },
  };
}

/** The highest NUMA node number (/sys/devices/system/node/online; 0 without NUMA). */
function maxNumaNode(): number {
  try {
    return Math.max(0, ...parseCpuList(readFileSync("/sys/devices/system/node/online", "utf8")));
  } catch {
    return 0;
  }
}
