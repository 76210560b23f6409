// Read-only runtime queries of a running QEMU domain: block and interface statistics, block
// sizes, memory stats and screenshots (libvirt's qemuDomainBlockStats, qemuDomainScreenshot …).
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DiskDef } from "../../conf/domain/index.js";
import type {
  DomainBlockInfo,
  DomainBlockStats,
  DomainInterfaceStats,
  DomainMemoryStat,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr } from "../../xml/index.js";
import { isActive, notRunning, type QemuDomain } from "./domain-obj.js";
import { formatNodeNames } from "./hotplug-disk.js";
import type { QemuProcess } from "./process.js";

function running(d: QemuDomain): QemuProcess {
  if (!isActive(d) || !d.proc) throw notRunning();
  return d.proc;
}

function diskSource(disk: DiskDef): string | undefined {
  return disk.source ? (attr(disk.source, "file") ?? attr(disk.source, "dev")) : undefined;
}

/** Finds a disk by target (vda) or source path; libvirt's virDomainDiskByName. */
function findDisk(d: QemuDomain, path: string): { disk: DiskDef; node: string } {
  const disks = d.def.devices.disks;
  const i = disks.findIndex((x) => x.target.dev === path || diskSource(x) === path);
  if (i < 0)
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `invalid path ${path} not assigned to domain`);
  // Node names follow command-disk.ts: the first disk has the highest number.
  return { disk: disks[i]!, node: `libvirt-${disks.length - i}-format` };
}

export async function blockStats(d: QemuDomain, path: string): Promise<DomainBlockStats> {
  const proc = running(d);
  const found = findDisk(d, path);
  const node = (await formatNodeNames(d)).get(found.disk) ?? found.node;
  const all = await proc.monitor.execute<{ "node-name"?: string; stats: Record<string, number> }[]>(
    "query-blockstats",
    {
      "query-nodes": true,
    },
  );
  const e = all.find((x) => x["node-name"] === node);
  if (!e)
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `cannot find statistics for device '${node}'`);
  const s = e.stats;
  // QEMU keeps no combined error count; libvirt reports -1 ("not available") too.
  return {
    rdReq: s.rd_operations ?? 0,
    rdBytes: s.rd_bytes ?? 0,
    wrReq: s.wr_operations ?? 0,
    wrBytes: s.wr_bytes ?? 0,
    errs: -1,
  };
}

export async function blockInfo(d: QemuDomain, path: string): Promise<DomainBlockInfo> {
  const proc = running(d);
  const { disk, node: counted } = findDisk(d, path);
  const node = (await formatNodeNames(d)).get(disk) ?? counted;
  const nodes =
    await proc.monitor.execute<{ "node-name": string; image: Record<string, number> }[]>(
      "query-named-block-nodes",
    );
  const n = nodes.find((x) => x["node-name"] === node);
  if (!n) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `cannot find block node '${node}'`);
  const src = diskSource(disk);
  let physical = n.image["actual-size"] ?? 0;
  try {
    if (src) physical = statSync(src).size;
  } catch {}
  return { capacity: n.image["virtual-size"] ?? 0, allocation: n.image["actual-size"] ?? 0, physical };
}

/** One disk's entry of virsh domstats --block; `io` only for a running guest's QEMU node. */
export interface BlockGroupEntry {
  name: string;
  path?: string;
  io?: {
    rdReqs: number;
    rdBytes: number;
    rdTimes: number;
    wrReqs: number;
    wrBytes: number;
    wrTimes: number;
    flReqs: number;
    flTimes: number;
  };
  allocation?: number;
  capacity?: number;
  physical?: number;
}

/** Every disk's counters and sizes from one query-blockstats and one query-named-block-nodes. */
export async function blockGroupStats(d: QemuDomain, active: boolean): Promise<BlockGroupEntry[]> {
  const disks = d.def.devices.disks;
  const out: BlockGroupEntry[] = disks.map((x) => ({ name: x.target.dev, path: diskSource(x) }));
  if (!active || !d.proc) return out;
  const mon = d.proc.monitor;
  let stats: { "node-name"?: string; stats: Record<string, number> }[] = [];
  let nodes: { "node-name": string; image: Record<string, number> }[] = [];
  let named = new Map<DiskDef, string>();
  try {
    named = await formatNodeNames(d);
    stats = await mon.execute("query-blockstats", { "query-nodes": true });
    nodes = await mon.execute("query-named-block-nodes");
  } catch {
    return out;
  }
  out.forEach((e, i) => {
    // Node names follow command-disk.ts: the first disk has the highest number.
    const node = named.get(disks[i]!) ?? `libvirt-${disks.length - i}-format`;
    const s = stats.find((x) => x["node-name"] === node)?.stats;
    if (!s) return;
    e.io = {
      rdReqs: s.rd_operations ?? 0,
      rdBytes: s.rd_bytes ?? 0,
      rdTimes: s.rd_total_time_ns ?? 0,
      wrReqs: s.wr_operations ?? 0,
      wrBytes: s.wr_bytes ?? 0,
      wrTimes: s.wr_total_time_ns ?? 0,
      flReqs: s.flush_operations ?? 0,
      flTimes: s.flush_total_time_ns ?? 0,
    };
    const img = nodes.find((x) => x["node-name"] === node)?.image;
    if (!img) return;
    e.allocation = img["actual-size"] ?? 0;
    e.capacity = img["virtual-size"] ?? 0;
    e.physical = e.allocation;
    try {
      if (e.path) e.physical = statSync(e.path).size;
    } catch {}
  });
  return out;
}

/** Counters of a tap from /proc/net/dev, swapped: what the host sends is what the guest receives. */
export function interfaceStats(d: QemuDomain, device: string): DomainInterfaceStats {
  running(d);
  const nic = d.def.devices.interfaces.find((n) => n.target === device || n.mac === device.toLowerCase());
  if (!nic?.target) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.QEMU,
      `invalid path, '${device}' is not a known interface`,
    );
  }
  const line = readFileSync("/proc/net/dev", "utf8")
    .split("\n")
    .find((l) => l.trim().startsWith(`${nic.target}:`));
  if (!line)
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `interface '${nic.target}' not found`);
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

/** VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON (6) and _RSS (7), the two libvirt always reports. */
export function memoryStats(d: QemuDomain, maxStats: number): DomainMemoryStat[] {
  const proc = running(d);
  let rss = 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"));
    if (m) rss = Number(m[1]);
  } catch {}
  return [
    { tag: 6, val: d.def.currentMemory },
    { tag: 7, val: rss },
  ].slice(0, maxStats);
}

/** QMP screendump writes a PPM of the primary display; libvirt returns it with this MIME type. */
export async function screenshot(d: QemuDomain, tmpDir: string): Promise<{ mime: string; data: Uint8Array }> {
  const proc = running(d);
  const file = join(tmpDir, `${d.name}.screendump.${process.pid}.ppm`);
  try {
    await proc.monitor.execute("screendump", { filename: file });
    return { mime: "image/x-portable-pixmap", data: new Uint8Array(readFileSync(file)) };
  } finally {
    rmSync(file, { force: true });
  }
}
