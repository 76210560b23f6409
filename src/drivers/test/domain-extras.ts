// Test driver slots for the informational calls virsh's dominfo, domifaddr, domtime, memtune,
// blkiotune, numatune, perf, iothreadinfo, domfsinfo, nodecpustats and domstats make, with the
// fixed values libvirt's test driver reports.

import { formatIp, parseIp } from "../../conf/network/index.js";
import type { DomainDef } from "../../conf/domain/index.js";
import type { HypervisorDriver, TypedParam } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { VIR_DOMAIN_AFFECT, VIR_TYPED_PARAM } from "../../driver/index.js";
import { attr, el, type XmlElement } from "../../xml/index.js";
import { findDomain, type TestCtx } from "./ctx.js";
import { domRef, getDefs, getOneDef, isActive } from "./domain-obj.js";
import { stateMatches } from "./domain-lifecycle.js";
import {
  BLKIO_DEVICE_FIELDS,
  blkioDeviceString,
  formatCpuset,
  PERF_EVENTS,
  parseCpuset,
  perfEnabled,
  statsIOThreads,
} from "./domain-tunables.js";
import { checkFlags, domainNotRunning, invalidArg, opInvalid } from "./errors.js";

const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;
/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: "no limit" for memtune values. */
const UNLIMITED = 9007199254740991;
/** VIR_TYPED_PARAM_STRING_OKAY may accompany get-parameter calls. */
const STRING_OKAY = 1 << 2;
const LIFECYCLE_ACTIONS = [
  "destroy",
  "restart",
  "rename-restart",
  "preserve",
  "coredump-destroy",
  "coredump-restart",
];

const ull = (field: string, value: number): TypedParam => ({ field, type: VIR_TYPED_PARAM.ULLONG, value });
const str = (field: string, value: string): TypedParam => ({ field, type: VIR_TYPED_PARAM.STRING, value });

/** Per-domain guest clock set by domainSetTime (libvirt keeps it in the domain's private data). */
const clocks = new WeakMap<object, { seconds: number; nseconds: number }>();

function ipv4ToNum(s: string): number {
  return s.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}
function numToIpv4(n: number): string {
  return [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join(".");
}

/**
 * The affinity libvirt's test driver reports for an unpinned IOThread: one bit per current vCPU
 * of the definition (virDomainDriverGetIOThreadsConfig with the vCPU count as the map size).
 */
function vcpuBits(def: DomainDef, maplen: number): Uint8Array {
  const m = new Uint8Array(maplen);
  const n = def.vcpu.current ?? def.vcpu.max;
  for (let i = 0; i < n && i < maplen * 8; i++) m[i >> 3]! |= 1 << (i & 7);
  return m;
}

/** VIR_DOMAIN_STATS_STATE and VIR_DOMAIN_STATS_IOTHREAD: the groups libvirt's test driver has. */
const STATS_STATE = 1;
const STATS_IOTHREAD = 128;

/** virDomainNumatuneMemMode names, by value. */
const NUMA_MODES = ["strict", "preferred", "interleave", "restrictive"];
const TYPE_NAMES = ["", "int", "uint", "llong", "ullong", "double", "boolean", "string"];

/** The `<numatune><memory>` element of a definition, if any. */
function numatuneMemory(def: DomainDef): XmlElement | undefined {
  const nt = def.extra.numatune?.[0];
  return nt?.children.find((c): c is XmlElement => c.kind === "element" && c.name === "memory");
}

/** virBitmapParse: "0-3,^2,5"; undefined when malformed or empty. */
function parseBitmap(text: string): Uint8Array | undefined {
  const set = new Set<number>();
  const parts = text.split(",").map((x) => x.trim());
  for (const part of parts) {
    const m = /^(\^)?(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const a = Number(m[2]);
    const b = m[3] === undefined ? a : Number(m[3]);
    if (b < a || b >= 1024) return undefined;
    for (let i = a; i <= b; i++) {
      if (m[1]) set.delete(i);
      else set.add(i);
    }
  }
  const map = new Uint8Array(128);
  for (const i of set) map[i >> 3]! |= 1 << (i & 7);
  return map;
}

export function domainExtraSlots(ctx: TestCtx): Partial<HypervisorDriver> {
  const node = ctx.node;
  const hostCpus = () => {
    const ni = node.nodeInfo;
    return ni.nodes * ni.sockets * ni.cores * ni.threads;
  };
  const allCpus = (maplen: number) => {
    const m = new Uint8Array(maplen);
    for (let i = 0; i < hostCpus() && i < maplen * 8; i++) m[i >> 3]! |= 1 << (i & 7);
    return m;
  };
  return {
    async nodeGetSecurityModel() {
      return { model: "testSecurity", doi: "" };
    },
    async domainGetSecurityLabel(ref) {
      // only a running domain has a label
      if (!isActive(findDomain(ctx, ref))) return { label: "", enforcing: false };
      return { label: "libvirt-test", enforcing: true };
    },
    async nodeGetCPUStats(_cpuNum, flags) {
      checkFlags(flags, 0, "testNodeGetCPUStats");
      return [
        ull("user", 9797400000),
        ull("kernel", 34678723400000),
        ull("idle", 87264900000),
        ull("iowait", 763600000),
      ];
    },
    async nodeGetCPUMap(flags) {
      checkFlags(flags, 0, "testNodeGetCPUMap");
      return { cpumap: Uint8Array.of(0x15), online: 3, cpus: 8 };
    },
    async connectGetAllDomainStats(doms, stats, flags) {
      // Listing order and state filters as virConnectListAllDomains (libvirt collects the same
      // way); the test driver has only the "state" group (VIR_DOMAIN_STATS_STATE, also for 0).
      // the given domains are filtered by the same flags (virDomainObjListConvert)
      const list = doms
        ? doms.map((r) => findDomain(ctx, r)).filter((d) => stateMatches(d, flags & 0xff))
        : node.domains.filterMap(
            (d) => stateMatches(d, flags & 0xff),
            (d) => d,
          );
      // VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS: refuse the groups the driver lacks
      const unsupported = stats & ~(STATS_STATE | STATS_IOTHREAD);
      if (flags & 0x80000000 && unsupported) {
        throw virError(
          ErrorCode.ARGUMENT_UNSUPPORTED,
          ErrorDomain.TEST,
          `Stats types bits 0x${unsupported.toString(16)} are not supported by this daemon`,
        );
      }
      const want = (group: number) => stats === 0 || (stats & group) !== 0;
      return list.map((d) => {
        const params: TypedParam[] = [];
        if (want(STATS_STATE)) {
          params.push({ field: "state.state", type: VIR_TYPED_PARAM.INT, value: d.state });
          params.push({ field: "state.reason", type: VIR_TYPED_PARAM.INT, value: d.reason });
        }
        const ids = statsIOThreads.get(d) ?? [];
        if (want(STATS_IOTHREAD) && isActive(d) && ids.length > 0) {
          params.push({ field: "iothread.count", type: VIR_TYPED_PARAM.UINT, value: ids.length });
          for (const t of ids) {
            const f = (name: string) => `iothread.${t.id}.${name}`;
            params.push({ field: f("poll-max-ns"), type: VIR_TYPED_PARAM.ULLONG, value: t.pollMaxNs });
            params.push({ field: f("poll-grow"), type: VIR_TYPED_PARAM.UINT, value: t.pollGrow });
            params.push({ field: f("poll-shrink"), type: VIR_TYPED_PARAM.UINT, value: t.pollShrink });
          }
        }
        return { dom: domRef(d), params };
      });
    },
    // The test driver answers the same for every address source (lease, agent, ARP).
    async domainInterfaceAddresses(ref, _source, flags) {
      checkFlags(flags, 0, "testDomainInterfaceAddresses");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      return d.def.devices.interfaces.map((n, i) => {
        let addr = `192.168.0.${i + 1}`;
        let prefix = 24;
        const netName = n.type === "network" && n.source ? attr(n.source, "network") : undefined;
        const net = netName ? node.networks.byName(netName) : undefined;
        const ip = net?.def.ips.find((x) => x.family !== "ipv6" && !formatIp(x.address).includes(":"));
        if (ip) {
          // libvirt's test driver hands each running domain a block of 20 addresses.
          addr = numToIpv4(ipv4ToNum(formatIp(ip.address)) + 20 * (d.id - 1) + i + 2);
          prefix = ip.prefix ?? (ip.netmask ? maskBits(formatIp(ip.netmask)) : 24);
        }
        return { name: n.target ?? `testnet${i}`, hwaddr: n.mac, addrs: [{ type: 0, addr, prefix }] };
      });
    },
    async domainGetTime(ref, flags) {
      checkFlags(flags, 0, "testDomainGetTime");
      const d = findDomain(ctx, ref);
      if (d.state !== 1) throw opInvalid("domain is not running");
      return clocks.get(d) ?? { seconds: 627319920, nseconds: 0 };
    },
    async domainSetTime(ref, seconds, nseconds, flags) {
      checkFlags(flags, 1, "testDomainSetTime");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      clocks.set(d, { seconds, nseconds });
    },
    async domainGetMemoryParameters(ref, flags) {
      checkFlags(flags, AFFECT | STRING_OKAY, "testDomainGetMemoryParameters");
      const { def } = getOneDef(findDomain(ctx, ref), flags);
      const mt = def.extra.memtune?.[0];
      const val = (name: string) => {
        const e = mt?.children.find((c) => c.kind === "element" && c.name === name);
        if (e?.kind !== "element") return UNLIMITED;
        const t = e.children.map((c) => (c.kind === "text" ? c.text : "")).join("");
        // a limit of 0 is a limit; only a missing one is unlimited
        return t === "" ? UNLIMITED : Number(t);
      };
      return [
        ull("hard_limit", val("hard_limit")),
        ull("soft_limit", val("soft_limit")),
        ull("swap_hard_limit", val("swap_hard_limit")),
      ];
    },
    async domainGetBlkioParameters(ref, flags) {
      checkFlags(flags, AFFECT | STRING_OKAY, "testDomainGetBlkioParameters");
      const { def } = getOneDef(findDomain(ctx, ref), flags);
      const w = def.extra.blkiotune?.[0]?.children.find((c) => c.kind === "element" && c.name === "weight");
      const weight =
        w?.kind === "element" ? Number(w.children.map((c) => (c.kind === "text" ? c.text : "")).join("")) : 0;
      return [
        { field: "weight", type: VIR_TYPED_PARAM.UINT, value: weight },
        ...BLKIO_DEVICE_FIELDS.map((f) => str(f, blkioDeviceString(def, f))),
      ];
    },
    async domainGetNumaParameters(ref, flags) {
      checkFlags(flags, AFFECT | STRING_OKAY, "testDomainGetNumaParameters");
      const { def } = getOneDef(findDomain(ctx, ref), flags);
      const mem = numatuneMemory(def);
      const mode = mem ? NUMA_MODES.indexOf(attr(mem, "mode") ?? "strict") : 0;
      return [
        { field: "numa_mode", type: VIR_TYPED_PARAM.INT, value: mode },
        str("numa_nodeset", (mem && attr(mem, "nodeset")) ?? ""),
      ];
    },
    async domainSetNumaParameters(ref, params, flags) {
      // libvirt 9.0 names the getter in this check
      checkFlags(flags, AFFECT, "testDomainGetNumaParameters");
      for (const p of params) {
        const want = p.field === "numa_nodeset" ? VIR_TYPED_PARAM.STRING : VIR_TYPED_PARAM.INT;
        if (p.field !== "numa_mode" && p.field !== "numa_nodeset") {
          throw virError(
            ErrorCode.ARGUMENT_UNSUPPORTED,
            ErrorDomain.NONE,
            `parameter '${p.field}' not supported`,
          );
        }
        if (p.type !== want) {
          throw invalidArg(
            `invalid type '${TYPE_NAMES[p.type] ?? p.type}' for parameter '${p.field}', expected '${TYPE_NAMES[want]}'`,
            ErrorDomain.NONE,
          );
        }
      }
      const { def, live } = getOneDef(findDomain(ctx, ref), flags);
      let mode = -1;
      let nodeset: string | undefined;
      for (const p of params) {
        if (p.field === "numa_mode") {
          mode = Number(p.value);
          if (!(mode >= 0 && mode < NUMA_MODES.length)) {
            throw invalidArg(`unsupported numatune mode: '${mode}'`);
          }
        } else {
          const bits = parseBitmap(String(p.value));
          if (!bits) throw invalidArg(`Failed to parse bitmap '${String(p.value)}'`, ErrorDomain.NONE);
          nodeset = formatCpuset(bits);
        }
      }
      const mem = numatuneMemory(def);
      if (live && mode !== -1 && mem && NUMA_MODES.indexOf(attr(mem, "mode") ?? "strict") !== mode) {
        throw opInvalid("can't change numatune mode for running domain");
      }
      // virDomainNumatuneSet
      const newMode = mode !== -1 ? NUMA_MODES[mode]! : ((mem && attr(mem, "mode")) ?? "strict");
      const newSet = nodeset ?? (mem && attr(mem, "nodeset"));
      if (def.vcpu.placement !== "auto" && !newSet) {
        throw virError(
          ErrorCode.CONFIG_UNSUPPORTED,
          ErrorDomain.DOMAIN,
          "nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
        );
      }
      const memory = el("memory", { mode: newMode, nodeset: newSet });
      const nt = def.extra.numatune?.[0];
      if (nt)
        nt.children = [memory, ...nt.children.filter((c) => !(c.kind === "element" && c.name === "memory"))];
      else def.extra.numatune = [el("numatune", {}, memory)];
    },
    async domainGetMessages(ref, flags) {
      // VIR_DOMAIN_MESSAGE_DECLARATIONS | VIR_DOMAIN_MESSAGE_TAINTING; the test driver has none
      checkFlags(flags, 1 | 2, "testDomainGetMessages");
      findDomain(ctx, ref);
      return [];
    },
    async domainGetPerfEvents(ref, flags) {
      checkFlags(flags, AFFECT, "testDomainGetPerfEvents");
      const { def } = getOneDef(findDomain(ctx, ref), flags);
      return PERF_EVENTS.map((field) => ({
        field,
        type: VIR_TYPED_PARAM.BOOLEAN,
        value: perfEnabled(def, field),
      }));
    },
    async domainGetIOThreadInfo(ref, flags) {
      checkFlags(flags, AFFECT, "testDomainGetIOThreadInfo");
      const { def } = getOneDef(findDomain(ctx, ref), flags);
      const ids = def.extra.iothreadids?.[0];
      if (!ids) return [];
      const maplen = Math.ceil(hostCpus() / 8);
      const pins = def.extra.cputune?.[0]?.children ?? [];
      return ids.children.flatMap((c) => {
        if (c.kind !== "element") return [];
        const id = Number(attr(c, "id"));
        const pin = pins.find(
          (p) => p.kind === "element" && p.name === "iothreadpin" && attr(p, "iothread") === String(id),
        );
        const set = pin && pin.kind === "element" ? attr(pin, "cpuset") : undefined;
        return [{ iothreadId: id, cpumap: set ? parseCpuset(set, maplen) : vcpuBits(def, maplen) }];
      });
    },
    async domainGetEmulatorPinInfo(ref, maplen, flags) {
      checkFlags(flags, AFFECT, "testDomainGetEmulatorPinInfo");
      const { def } = getOneDef(findDomain(ctx, ref), flags);
      const pin = def.extra.cputune?.[0]?.children.find(
        (p) => p.kind === "element" && p.name === "emulatorpin",
      );
      const set = pin && pin.kind === "element" ? attr(pin, "cpuset") : undefined;
      return set ? parseCpuset(set, maplen) : allCpus(maplen);
    },
    async domainGetFSInfo(ref, flags) {
      checkFlags(flags, 0, "testDomainGetFSInfo");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      const disk = d.def.devices.disks.find((x) => x.device === "disk");
      if (!disk) return [];
      const dev = disk.target.dev;
      return [
        { mountpoint: "/", name: `${dev}1`, fstype: "ext4", devAliases: [dev] },
        { mountpoint: "/boot", name: `${dev}2`, fstype: "ext4", devAliases: [dev] },
      ];
    },
    async domainSetLifecycleAction(ref, type, action, flags) {
      checkFlags(flags, AFFECT, "testDomainSetLifecycleAction");
      // the public API refuses a type or action out of range
      const name = LIFECYCLE_ACTIONS[action] ?? String(action);
      // virDomainDefLifecycleActionAllowed: only a crash may dump core
      if (type !== 2 && name.startsWith("coredump-")) {
        const event = type === 0 ? "poweroff" : "reboot";
        throw virError(
          ErrorCode.CONFIG_UNSUPPORTED,
          ErrorDomain.DOMAIN,
          `Lifecycle event '${event}' doesn't support '${name}' action`,
        );
      }
      const { live, config } = getDefs(findDomain(ctx, ref), flags);
      for (const def of [live, config]) {
        if (!def) continue;
        if (type === 0) def.onPoweroff = name;
        else if (type === 1) def.onReboot = name;
        else def.onCrash = name;
      }
    },
  };
}

function maskBits(mask: string): number {
  const p = parseIp(mask);
  if (!p) return 24;
  return formatIp(p)
    .split(".")
    .reduce((a, o) => a + Number(o).toString(2).replace(/0/g, "").length, 0);
}
