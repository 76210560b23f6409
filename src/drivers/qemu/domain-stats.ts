// Read-only runtime queries of a running QEMU domain: block and interface statistics, block
// sizes, block I/O throttling, memory stats and screenshots, each as libvirt 9.0's QEMU driver
// answers it (qemuDomainBlocksStatsGather, qemuDomainGetStatsBlock, qemuDomainMemoryStatsInternal,
// qemuDomainGetBlockIoTune, qemuDomainScreenshot …).
import { closeSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DiskDef, DomainDef } from "../../conf/domain/index.js";
import type {
  DomainBlockInfo,
  DomainBlockStats,
  DomainInterfaceStats,
  DomainMemoryStat,
  TypedParam,
} from "../../driver/index.js";
import { VIR_DOMAIN_AFFECT, VIR_TYPED_PARAM } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { openImage } from "../../image/index.js";
import { strerror } from "../../util/strerror.js";
import { attr, textContent } from "../../xml/index.js";
import { elementChildren } from "./command-util.js";
import { diskAlias } from "./domain-aliases.js";
import {
  checkFlags,
  isActive,
  modificationImpact,
  notRunning,
  persistentDef,
  type QemuDomain,
} from "./domain-obj.js";
import { procStatInfo } from "./domain-vcpu-info.js";
import { formatNodeNames } from "./hotplug-disk.js";
import { QmpCommandError } from "./monitor/qmp-errors.js";
import {
  balloonGuestStats,
  type BlockStatsEntry,
  type NamedBlockNode,
  queryBalloon,
  queryBlockInfo,
  queryBlockstats,
  queryNamedBlockNodes,
} from "./monitor/stats-qmp.js";
import type { QemuProcess } from "./process.js";

/** VIR_TYPED_PARAM_STRING_OKAY, which the public API adds to typed-parameter getters. */
const STRING_OKAY = 1 << 2;
const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;

/** The running domain's QEMU, or libvirt's "domain is not running". */
export function running(d: QemuDomain): QemuProcess {
  if (!isActive(d) || !d.proc) throw notRunning();
  return d.proc;
}

function diskSource(disk: DiskDef): string | undefined {
  return disk.source ? (attr(disk.source, "file") ?? attr(disk.source, "dev")) : undefined;
}

/** virStorageSourceIsEmpty: a removable drive without a medium (no file, device or network source). */
function isEmpty(disk: DiskDef): boolean {
  if (disk.type === "network") return !disk.source || !attr(disk.source, "protocol");
  if (disk.type === "file" || disk.type === "block" || disk.type === "dir")
    return diskSource(disk) === undefined;
  return !disk.source;
}

/** virDomainDiskByName: a disk by target (vda) or source path. */
export function diskByName(def: DomainDef, path: string): DiskDef | undefined {
  return def.devices.disks.find((x) => x.target.dev === path || (path !== "" && diskSource(x) === path));
}

const ull = (field: string, value: number): TypedParam => ({ field, type: VIR_TYPED_PARAM.ULLONG, value });
const llong = (field: string, value: number): TypedParam => ({ field, type: VIR_TYPED_PARAM.LLONG, value });

/** qemuBlockStats: one device's or node's counters as libvirt collects them. */
interface BlockCounters {
  rdReq: number;
  rdBytes: number;
  rdTimes: number;
  wrReq: number;
  wrBytes: number;
  wrTimes: number;
  flReq: number;
  flTimes: number;
  wrHighest?: number;
  capacity?: number;
  physical?: number;
  writeThreshold?: number;
}

function zeroCounters(): BlockCounters {
  return { rdReq: 0, rdBytes: 0, rdTimes: 0, wrReq: 0, wrBytes: 0, wrTimes: 0, flReq: 0, flTimes: 0 };
}

/** qemuMonitorJSONBlockStatsCollectData: counters, how many QEMU gave, the parent's highest write. */
function collect(e: BlockStatsEntry): { c: BlockCounters; n: number } {
  const s = e.stats ?? {};
  let n = 4;
  const opt = (k: string) => {
    if (!(k in s)) return 0;
    n++;
    return Number(s[k]) || 0;
  };
  const c: BlockCounters = {
    rdBytes: Number(s.rd_bytes) || 0,
    wrBytes: Number(s.wr_bytes) || 0,
    rdReq: Number(s.rd_operations) || 0,
    wrReq: Number(s.wr_operations) || 0,
    rdTimes: opt("rd_total_time_ns"),
    wrTimes: opt("wr_total_time_ns"),
    flReq: opt("flush_operations"),
    flTimes: opt("flush_total_time_ns"),
  };
  const hi = e.parent?.stats?.wr_highest_offset;
  if (typeof hi === "number") c.wrHighest = hi;
  return { c, n };
}

/** The statistics table libvirt builds from QEMU: keyed by qdev path and by node name. */
interface BlockStatsTable {
  byName: Map<string, BlockCounters>;
  /** Most counters any entry had (the count virDomainBlockStatsFlags reports). */
  nstats: number;
  nodes: NamedBlockNode[];
}

/**
 * qemuMonitorJSONGetAllBlockStatsInfo (+ qemuMonitorJSONBlockStatsUpdateCapacityBlockdev when
 * `capacity`): the device list (by qdev and by the node each has, with backing levels), then any
 * node not seen yet; sizes from query-named-block-nodes.
 */
async function gatherTable(proc: QemuProcess, capacity: boolean): Promise<BlockStatsTable> {
  const byName = new Map<string, BlockCounters>();
  let nstats = 0;
  const addDev = (e: BlockStatsEntry) => {
    const { c, n } = collect(e);
    nstats = Math.max(nstats, n);
    if (e.qdev) byName.set(e.qdev, { ...c });
    if (e["node-name"]) byName.set(e["node-name"], { ...c });
    if (e.backing) addDev(e.backing);
  };
  for (const e of await queryBlockstats(proc.monitor, false)) addDev(e);
  for (const e of await queryBlockstats(proc.monitor, true)) {
    const node = e["node-name"];
    if (!node || byName.has(node)) continue;
    const { c, n } = collect(e);
    nstats = Math.max(nstats, n);
    byName.set(node, c);
  }
  let nodes: NamedBlockNode[] = [];
  if (capacity) {
    nodes = await queryNamedBlockNodes(proc.monitor);
    for (const nd of nodes) {
      const ent = byName.get(nd["node-name"]) ?? zeroCounters();
      byName.set(nd["node-name"], ent);
      const img = nd.image ?? {};
      if (typeof img["virtual-size"] !== "number") continue;
      ent.capacity = img["virtual-size"];
      // no actual-size: the image is not thin-provisioned
      ent.physical = typeof img["actual-size"] === "number" ? img["actual-size"] : ent.capacity;
      if (typeof nd.write_threshold === "number") ent.writeThreshold = nd.write_threshold;
    }
  }
  return { byName, nstats, nodes };
}

/** The qdev under which QEMU reports a disk's frontend: `/machine/peripheral/<alias>/…` or the alias. */
function frontendEntry(table: BlockStatsTable, def: DomainDef, disk: DiskDef): BlockCounters | undefined {
  const alias = disk.alias ?? diskAlias(def, disk);
  const direct = table.byName.get(alias);
  if (direct) return direct;
  for (const [k, v] of table.byName) if (k.startsWith(`/machine/peripheral/${alias}/`)) return v;
  return undefined;
}

function frontendName(def: DomainDef, disk: DiskDef): string {
  const alias = disk.alias ?? diskAlias(def, disk);
  return disk.target.bus === "virtio" ? `/machine/peripheral/${alias}/virtio-backend` : alias;
}

function noStats(name: string) {
  return virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `cannot find statistics for device '${name}'`);
}

/**
 * qemuDomainBlocksStatsGather: one disk's frontend counters (sizes from its top node when
 * `capacity`), or with an empty path the sum over every disk.
 */
async function blocksStatsGather(
  d: QemuDomain,
  path: string,
  capacity: boolean,
): Promise<{ stats: BlockCounters; nstats: number }> {
  const proc = running(d);
  let disk: DiskDef | undefined;
  if (path) {
    disk = diskByName(d.def, path);
    if (!disk) throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `invalid path: ${path}`);
  }
  const table = await gatherTable(proc, capacity);
  if (disk) {
    const node = (await formatNodeNames(d)).get(disk);
    // the device's entry; QEMU also lists it under the node it has inserted
    const e = frontendEntry(table, d.def, disk) ?? (node ? table.byName.get(node) : undefined);
    if (!e) throw noStats(frontendName(d.def, disk));
    const stats = { ...e };
    const cap = node ? table.byName.get(node) : undefined;
    if (cap) {
      stats.capacity = cap.capacity;
      stats.physical = cap.physical;
      stats.wrHighest = cap.wrHighest;
      stats.writeThreshold = cap.writeThreshold;
    }
    return { stats, nstats: table.nstats };
  }
  const total = zeroCounters();
  const named = await formatNodeNames(d);
  for (const x of d.def.devices.disks) {
    const node = named.get(x);
    const e = frontendEntry(table, d.def, x) ?? (node ? table.byName.get(node) : undefined);
    if (!e) throw noStats(frontendName(d.def, x));
    for (const k of [
      "rdReq",
      "rdBytes",
      "rdTimes",
      "wrReq",
      "wrBytes",
      "wrTimes",
      "flReq",
      "flTimes",
    ] as const)
      total[k] += e[k];
  }
  return { stats: total, nstats: table.nstats };
}

/** qemuDomainBlockStats: the four classic counters; QEMU keeps no error count (-1). */
export async function blockStats(d: QemuDomain, path: string): Promise<DomainBlockStats> {
  const { stats: s } = await blocksStatsGather(d, path, false);
  return { rdReq: s.rdReq, rdBytes: s.rdBytes, wrReq: s.wrReq, wrBytes: s.wrBytes, errs: -1 };
}

/** qemuDomainBlockStatsFlags: as many LLONG counters as QEMU gave, in libvirt's order. */
export async function blockStatsFlags(d: QemuDomain, path: string, flags: number): Promise<TypedParam[]> {
  checkFlags(flags, STRING_OKAY, "qemuDomainBlockStatsFlags");
  const { stats: s, nstats } = await blocksStatsGather(d, path, false);
  return [
    llong("wr_bytes", s.wrBytes),
    llong("wr_operations", s.wrReq),
    llong("rd_bytes", s.rdBytes),
    llong("rd_operations", s.rdReq),
    llong("flush_operations", s.flReq),
    llong("wr_total_times", s.wrTimes),
    llong("rd_total_times", s.rdTimes),
    llong("flush_total_times", s.flTimes),
  ].slice(0, nstats);
}

/** virStorageSourceUpdatePhysicalSize for a local file or block device: its size. */
function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** qemuDomainGetBlockInfo of a running domain. */
export async function blockInfo(d: QemuDomain, path: string): Promise<DomainBlockInfo> {
  const disk = diskByName(d.def, path);
  if (!disk)
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `invalid path ${path} not assigned to domain`);
  if (isEmpty(disk)) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.QEMU,
      `disk '${path}' does not currently have a source assigned`,
    );
  }
  if (!isActive(d) || !d.proc) {
    // a stopped guest's image is read from disk
    const src = diskSource(disk) ?? "";
    try {
      // qemuDomainOpenFile's failure, in its words
      closeSync(openSync(src, "r"));
    } catch (e) {
      throw virError(
        ErrorCode.SYSTEM_ERROR,
        ErrorDomain.QEMU,
        `Failed to open file '${src}': ${strerror(e)}`,
      );
    }
    const lim = await offlineLimits(disk);
    if (!lim) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `cannot read header '${src}'`);
    return lim;
  }
  const { stats: e } = await blocksStatsGather(d, path, true);
  const physicalQ = e.physical ?? 0;
  const qcow2File = disk.type === "file" && (disk.driver ? attr(disk.driver, "type") : undefined) === "qcow2";
  let allocation = e.wrHighest === undefined || qcow2File ? physicalQ : e.wrHighest;
  let physical = physicalQ;
  // sparse or untouched: the file's size is the physical size, the allocation what QEMU counted
  if (physicalQ === 0 || allocation === 0 || allocation === physicalQ) {
    if (allocation === 0) allocation = physicalQ;
    const src = diskSource(disk);
    physical = (src ? fileSize(src) : undefined) ?? physicalQ;
  }
  return { capacity: e.capacity ?? 0, allocation, physical };
}

/** A disk's record of virsh domstats --block: typed parameters without the `block.N.` prefix. */
export type BlockRecord = [string, number | string, number][];

/** Capacity, allocation (du) and size of an image file (qemuStorageLimitsRefresh), for stopped guests. */
async function offlineLimits(
  disk: DiskDef,
): Promise<{ allocation: number; capacity: number; physical: number } | undefined> {
  const src = diskSource(disk);
  if (!src || isEmpty(disk) || disk.type === "network") return undefined;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(src);
  } catch {
    return undefined;
  }
  const format = disk.driver ? attr(disk.driver, "type") : undefined;
  let capacity = Number(st.size);
  if (format && format !== "raw") {
    try {
      const img = await openImage(src, { format, readOnly: true, backingChain: false });
      capacity = img.virtualSize;
      await img.close();
    } catch {
      return undefined;
    }
  }
  return { allocation: Number(st.blocks) * 512, capacity, physical: Number(st.size) };
}

/** The `libvirt-N-…` index of a node name (libvirt's storage source id, "backingIndex"). */
function nodeId(node: string | undefined): number | undefined {
  const m = node ? /^libvirt-(\d+)-/.exec(node) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * qemuDomainGetStatsBlock: per disk (and with `backing` per backing layer) the name, local path,
 * storage id, the frontend's counters, then allocation (highest written offset), capacity and
 * physical size of the layer's node; a stopped guest's images are read from disk instead.
 */
export async function blockGroupRecords(d: QemuDomain, backing: boolean): Promise<BlockRecord[]> {
  const active = isActive(d) && d.proc !== undefined;
  const U = VIR_TYPED_PARAM.ULLONG;
  const S = VIR_TYPED_PARAM.STRING;
  const out: BlockRecord[] = [];
  let table: BlockStatsTable | undefined;
  let named = new Map<DiskDef, string>();
  const nodeByName = new Map<string, NamedBlockNode>();
  const devByNode = new Map<string, BlockStatsEntry>();
  if (active) {
    try {
      table = await gatherTable(d.proc!, true);
      named = await formatNodeNames(d);
      for (const n of table.nodes) nodeByName.set(n["node-name"], n);
      if (backing) {
        const walk = (e: BlockStatsEntry) => {
          if (e["node-name"]) devByNode.set(e["node-name"], e);
          if (e.backing) walk(e.backing);
        };
        for (const e of await queryBlockstats(d.proc!.monitor, false)) walk(e);
      }
    } catch {
      // failing to read the statistics is fine: the records keep what the definition says
      table = undefined;
    }
  }
  // libvirt numbers the top images first (the last disk 1), then the backing layers it finds
  // below them, disk by disk in the same order, each chain from the top down
  const disks = d.def.devices.disks;
  const layers = (disk: DiskDef) => {
    let n = 0;
    const top = named.get(disk);
    for (let b = top ? devByNode.get(top)?.backing : undefined; b?.["node-name"]; b = b.backing) n++;
    return n;
  };
  const firstBackingId = new Map<DiskDef, number>();
  let nextId = disks.length + 1;
  for (let i = disks.length - 1; i >= 0 && backing; i--) {
    firstBackingId.set(disks[i]!, nextId);
    nextId += layers(disks[i]!);
  }
  for (const disk of disks) {
    const rec: BlockRecord = [["name", disk.target.dev, S]];
    const path = disk.type === "network" ? undefined : diskSource(disk);
    if (path !== undefined) rec.push(["path", path, S]);
    if (!active) {
      const lim = await offlineLimits(disk);
      if (lim) {
        if (lim.allocation) rec.push(["allocation", lim.allocation, U]);
        if (lim.capacity) rec.push(["capacity", lim.capacity, U]);
        if (lim.physical) rec.push(["physical", lim.physical, U]);
      }
      out.push(rec);
      continue;
    }
    let node = named.get(disk);
    const id = nodeId(node);
    if (id !== undefined && !isEmpty(disk)) rec.push(["backingIndex", id, VIR_TYPED_PARAM.UINT]);
    const front = table
      ? (frontendEntry(table, d.def, disk) ?? (node ? table.byName.get(node) : undefined))
      : undefined;
    if (front) {
      rec.push(
        ["rd.reqs", front.rdReq, U],
        ["rd.bytes", front.rdBytes, U],
        ["rd.times", front.rdTimes, U],
        ["wr.reqs", front.wrReq, U],
        ["wr.bytes", front.wrBytes, U],
        ["wr.times", front.wrTimes, U],
        ["fl.reqs", front.flReq, U],
        ["fl.times", front.flTimes, U],
      );
    }
    const sizes = (r: BlockRecord, n: string | undefined, file: string | undefined) => {
      const ent = n ? table?.byName.get(n) : undefined;
      if (!ent) return;
      r.push(["allocation", ent.wrHighest ?? 0, U]);
      if (ent.capacity) r.push(["capacity", ent.capacity, U]);
      if (ent.physical) r.push(["physical", ent.physical, U]);
      else {
        const size = file ? fileSize(file) : undefined;
        if (size !== undefined) r.push(["physical", size, U]);
      }
      // qemuDomainGetStatsBlockExportBackendStorage: the threshold is set on the storage node
      const storage = n ? table?.byName.get(n.replace(/-format$/, "-storage")) : undefined;
      const threshold = (storage ?? ent).writeThreshold;
      if (threshold) r.push(["threshold", threshold, U]);
    };
    sizes(rec, node, path);
    out.push(rec);
    if (!backing) continue;
    // the backing layers below the top node, each a record of its own (QEMU may have named the
    // layers it opened itself #blockN: their storage ids are libvirt's numbering above)
    let below = node ? devByNode.get(node)?.backing : undefined;
    let depth = 0;
    while (below?.["node-name"]) {
      depth++;
      node = below["node-name"];
      const nd = nodeByName.get(node);
      const file = nd?.image?.filename ?? nd?.file;
      const r: BlockRecord = [["name", disk.target.dev, S]];
      if (file?.startsWith("/")) r.push(["path", file, S]);
      r.push(["backingIndex", firstBackingId.get(disk)! + depth - 1, VIR_TYPED_PARAM.UINT]);
      sizes(r, node, file);
      out.push(r);
      below = below.backing;
    }
  }
  return out;
}

/** Counters of a tap from /proc/net/dev, swapped: what the host sends is what the guest receives. */
export function tapStats(ifname: string): DomainInterfaceStats {
  const line = readFileSync("/proc/net/dev", "utf8")
    .split("\n")
    .find((l) => l.trim().startsWith(`${ifname}:`));
  if (!line) {
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, "/proc/net/dev: Interface not found");
  }
  const f = line
    .slice(line.indexOf(":") + 1)
    .trim()
    .split(/\s+/)
    .map(Number);
  // proc(5) /proc/net/dev: rx bytes packets errs drop fifo frame compressed multicast, then tx ...
  return {
    rxBytes: f[8]!,
    rxPackets: f[9]!,
    rxErrs: f[10]!,
    rxDrop: f[11]!,
    txBytes: f[0]!,
    txPackets: f[1]!,
    txErrs: f[2]!,
    txDrop: f[3]!,
  };
}

/** virDomainNetFind: a NIC by MAC address or host interface name. */
function netFind(def: DomainDef, device: string) {
  const isMac = /^([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}$/i.test(device);
  const norm = (m: string) =>
    m
      .split(":")
      .map((x) => x.padStart(2, "0").toLowerCase())
      .join(":");
  const nic = isMac
    ? def.devices.interfaces.find((n) => norm(n.mac) === norm(device))
    : def.devices.interfaces.find((n) => n.target === device);
  if (!nic) throw virError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `'${device}' is not a known interface`);
  return nic;
}

/** qemuDomainInterfaceStats: a NIC without a host interface (user mode) has nothing to read. */
export function interfaceStats(d: QemuDomain, device: string): DomainInterfaceStats {
  running(d);
  const nic = netFind(d.def, device);
  if (!nic.target) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, "Interface name not provided");
  return tapStats(nic.target);
}

/** VIR_DOMAIN_MEMORY_STAT_* tags. */
const MEM = {
  SWAP_IN: 0,
  SWAP_OUT: 1,
  MAJOR_FAULT: 2,
  MINOR_FAULT: 3,
  UNUSED: 4,
  AVAILABLE: 5,
  ACTUAL_BALLOON: 6,
  RSS: 7,
  USABLE: 8,
  LAST_UPDATE: 9,
  DISK_CACHES: 10,
  HUGETLB_PGALLOC: 11,
  HUGETLB_PGFAIL: 12,
} as const;

/** The balloon statistics libvirt reads (qemuMonitorJSONGetMemoryStats): QEMU name, tag, divisor. */
const BALLOON_STATS: [string, number, number][] = [
  ["stat-swap-in", MEM.SWAP_IN, 1024],
  ["stat-swap-out", MEM.SWAP_OUT, 1024],
  ["stat-major-faults", MEM.MAJOR_FAULT, 1],
  ["stat-minor-faults", MEM.MINOR_FAULT, 1],
  ["stat-free-memory", MEM.UNUSED, 1024],
  ["stat-total-memory", MEM.AVAILABLE, 1024],
  ["stat-available-memory", MEM.USABLE, 1024],
  ["last-update", MEM.LAST_UPDATE, 1],
  ["stat-disk-caches", MEM.DISK_CACHES, 1024],
  ["stat-htlb-pgalloc", MEM.HUGETLB_PGALLOC, 1],
  ["stat-htlb-pgfail", MEM.HUGETLB_PGFAIL, 1],
];

function hasBalloon(def: DomainDef): boolean {
  const b = def.devices.memballoon;
  return b !== undefined && b.model !== "none";
}

/**
 * qemuDomainMemoryStatsInternal: with a balloon, its size (query-balloon) and the guest's statistics
 * (qom-get guest-stats; "-1" ones were never collected and are left out), then QEMU's RSS.
 */
export async function memoryStats(d: QemuDomain, maxStats: number): Promise<DomainMemoryStat[]> {
  const proc = running(d);
  const out: DomainMemoryStat[] = [];
  if (hasBalloon(d.def)) {
    try {
      const b = await queryBalloon(proc.monitor);
      if (out.length < maxStats) out.push({ tag: MEM.ACTUAL_BALLOON, val: Math.floor(b.actual / 1024) });
    } catch (e) {
      const soft =
        e instanceof QmpCommandError && (e.qmpClass === "DeviceNotActive" || e.qmpClass === "KVMMissingCap");
      if (!soft) throw e;
    }
    const alias = d.def.devices.memballoon?.alias ?? "balloon0";
    try {
      const g = await balloonGuestStats(proc.monitor, `/machine/peripheral/${alias}`);
      for (const [name, tag, div] of BALLOON_STATS) {
        if (out.length >= maxStats) break;
        const src = name === "last-update" ? (g as Record<string, unknown>) : (g.stats ?? {});
        const v = src[name];
        // QEMU reports "never collected" as (uint64)-1
        if (typeof v !== "number" || v >= 2 ** 64 - 2048) continue;
        out.push({ tag, val: Math.floor(v / div) });
      }
    } catch {}
    if (out.length >= maxStats) return out;
  }
  out.push({ tag: MEM.RSS, val: procStatInfo(proc.pid).rssKiB });
  return out.slice(0, maxStats);
}

/** QEMU's query-block throttling members in the order libvirt returns them, with their names. */
const IOTUNE: [string, string][] = [
  ["total_bytes_sec", "bps"],
  ["read_bytes_sec", "bps_rd"],
  ["write_bytes_sec", "bps_wr"],
  ["total_iops_sec", "iops"],
  ["read_iops_sec", "iops_rd"],
  ["write_iops_sec", "iops_wr"],
  ["total_bytes_sec_max", "bps_max"],
  ["read_bytes_sec_max", "bps_rd_max"],
  ["write_bytes_sec_max", "bps_wr_max"],
  ["total_iops_sec_max", "iops_max"],
  ["read_iops_sec_max", "iops_rd_max"],
  ["write_iops_sec_max", "iops_wr_max"],
  ["size_iops_sec", "iops_size"],
  ["group_name", "group"],
  ["total_bytes_sec_max_length", "bps_max_length"],
  ["read_bytes_sec_max_length", "bps_rd_max_length"],
  ["write_bytes_sec_max_length", "bps_wr_max_length"],
  ["total_iops_sec_max_length", "iops_max_length"],
  ["read_iops_sec_max_length", "iops_rd_max_length"],
  ["write_iops_sec_max_length", "iops_wr_max_length"],
];

function iotuneParams(value: (libvirtName: string, qemuName: string) => unknown): TypedParam[] {
  return IOTUNE.map(([name, q]) => {
    const v = value(name, q);
    return name === "group_name"
      ? { field: name, type: VIR_TYPED_PARAM.STRING, value: typeof v === "string" ? v : "" }
      : ull(name, Number(v ?? 0) || 0);
  });
}

/** A getter's answer whose count call succeeds where the data call fails (see rpc paramsGetter). */
export function deferredFailure<T>(count: T[], err: Error): T[] {
  return Object.assign(count, { deferredError: err });
}

/**
 * qemuDomainGetBlockIoTune: a running guest's throttling from query-block (the disk's device entry
 * must have a medium), a stopped one's from the definition's `<iotune>`. libvirt answers the count
 * (20) before it looks the disk up, so a lookup failure only fails the call that fetches values.
 */
export async function getBlockIoTune(
  d: QemuDomain,
  path: string | null,
  flags: number,
): Promise<TypedParam[]> {
  checkFlags(flags, AFFECT | STRING_OKAY, "qemuDomainGetBlockIoTune");
  const f = flags & ~STRING_OKAY;
  if ((f & AFFECT) === AFFECT) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.DOMAIN,
      "flags 'affect live' and 'affect config' are mutually exclusive",
    );
  }
  const { live } = modificationImpact(d, f);
  const shape = iotuneParams(() => 0);
  const name = path ?? "";
  try {
    if (live) {
      const disk = diskByName(d.def, name);
      if (!disk)
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `disk '${name}' not found in domain`);
      const proc = running(d);
      const qdev = frontendName(d.def, disk);
      const alias = disk.alias ?? diskAlias(d.def, disk);
      const entry = (await queryBlockInfo(proc.monitor)).find(
        (b) => b.qdev === qdev || b.qdev === alias || b.qdev?.startsWith(`/machine/peripheral/${alias}/`),
      );
      if (!entry) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          `cannot find throttling info for device '${qdev}'`,
        );
      }
      const ins = entry.inserted;
      if (!ins) {
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          ErrorDomain.QEMU,
          "block_io_throttle inserted entry was not in expected format",
        );
      }
      return iotuneParams((_n, q) => ins[q]);
    }
    const def = persistentDef(d);
    const disk = diskByName(def, name);
    if (!disk) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.QEMU,
        `disk '${name}' was not found in the domain config`,
      );
    }
    const io = disk.extra.iotune?.[0];
    return iotuneParams((n) => {
      const e = io ? elementChildren(io).find((x) => x.name === n) : undefined;
      return e ? textContent(e) : undefined;
    });
  } catch (e) {
    return deferredFailure(shape, e as Error);
  }
}

/**
 * QMP screendump of the primary display: PNG where QEMU can write it (7.1 on; libvirt 9.0 asks for
 * PNG when QEMU has the format argument), else QEMU's PPM.
 */
export async function screenshot(d: QemuDomain, tmpDir: string): Promise<{ mime: string; data: Uint8Array }> {
  const proc = running(d);
  if (d.def.devices.videos.length === 0) {
    throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, "no screens to take screenshot from");
  }
  const file = join(tmpDir, `${d.name}.screendump.${process.pid}`);
  try {
    try {
      await proc.monitor.execute("screendump", { filename: file, format: "png" });
      return { mime: "image/png", data: new Uint8Array(readFileSync(file)) };
    } catch (e) {
      // an older QEMU: no format argument (GenericError "Parameter 'format' is unexpected")
      if (!/format/i.test((e as Error).message)) throw e;
    }
    await proc.monitor.execute("screendump", { filename: file });
    return { mime: "image/x-portable-pixmap", data: new Uint8Array(readFileSync(file)) };
  } finally {
    rmSync(file, { force: true });
  }
}
