// QMP queries behind the running-guest statistics (qapi/machine.json, block-core.json,
// migration.json, stats.json): thin typed wrappers, no interpretation.
import type { QmpClient } from "./qmp-client.js";

/** One vCPU of `query-cpus-fast`: only the vCPUs QEMU has (hot-unplugged ones are absent). */
export interface CpuFastEntry {
  "cpu-index": number;
  "qom-path": string;
  "thread-id": number;
  target?: string;
  props?: Record<string, number>;
}

export async function queryCpusFast(mon: QmpClient): Promise<CpuFastEntry[]> {
  return mon.execute<CpuFastEntry[]>("query-cpus-fast");
}

/** The counters of one BlockDeviceStats (`stats` of a `query-blockstats` entry). */
export type BlockDeviceStats = Record<string, number | boolean | unknown>;

/** One `query-blockstats` entry: a device (qdev set) or, with query-nodes, a named node. */
export interface BlockStatsEntry {
  device?: string;
  qdev?: string;
  "node-name"?: string;
  stats: BlockDeviceStats;
  parent?: BlockStatsEntry;
  backing?: BlockStatsEntry;
}

export async function queryBlockstats(mon: QmpClient, queryNodes: boolean): Promise<BlockStatsEntry[]> {
  return mon.execute<BlockStatsEntry[]>("query-blockstats", { "query-nodes": queryNodes });
}

/** One `query-named-block-nodes` entry (BlockDeviceInfo) with the members the stats read. */
export interface NamedBlockNode {
  "node-name": string;
  drv: string;
  file: string;
  image: { filename?: string; "virtual-size"?: number; "actual-size"?: number; format?: string };
  write_threshold?: number;
  backing_file_depth?: number;
  [k: string]: unknown;
}

export async function queryNamedBlockNodes(mon: QmpClient): Promise<NamedBlockNode[]> {
  return mon.execute<NamedBlockNode[]>("query-named-block-nodes", { flat: true });
}

/** One `query-block` entry with the throttling members of `inserted` (BlockDeviceInfo). */
export interface BlockInfoEntry {
  device: string;
  qdev?: string;
  inserted?: Record<string, unknown> & { "node-name"?: string };
}

export async function queryBlockInfo(mon: QmpClient): Promise<BlockInfoEntry[]> {
  return mon.execute<BlockInfoEntry[]>("query-block");
}

/** `query-balloon`: the guest's current memory in bytes (fails with DeviceNotActive without a balloon). */
export async function queryBalloon(mon: QmpClient): Promise<{ actual: number }> {
  return mon.execute<{ actual: number }>("query-balloon");
}

/** The virtio-balloon `guest-stats` QOM property: `stats` (-1 for "never collected") and `last-update`. */
export interface BalloonGuestStats {
  stats?: Record<string, number>;
  "last-update"?: number;
}

export async function balloonGuestStats(mon: QmpClient, path: string): Promise<BalloonGuestStats> {
  return mon.execute<BalloonGuestStats>("qom-get", { path, property: "guest-stats" });
}

/** `query-dirty-rate` (QEMU 7.2: status, start-time, calc-time, mode, dirty-rate when measured). */
export interface DirtyRateInfo {
  status: string;
  "start-time": number;
  "calc-time": number;
  mode?: string;
  "dirty-rate"?: number;
  "vcpu-dirty-rate"?: { id: number; "dirty-rate": number }[];
}

export async function queryDirtyRate(mon: QmpClient): Promise<DirtyRateInfo> {
  return mon.execute<DirtyRateInfo>("query-dirty-rate");
}

/** `query-stats` of one target with one provider's named statistics. */
export interface StatsResult {
  provider: string;
  "qom-path"?: string;
  stats: { name: string; value: unknown }[];
}

export async function queryStats(
  mon: QmpClient,
  target: string,
  providers?: { provider: string; names?: string[] }[],
): Promise<StatsResult[]> {
  return mon.execute<StatsResult[]>("query-stats", providers ? { target, providers } : { target });
}

/** One `query-iothreads` entry (IOThreadInfo). */
export interface IOThreadEntry {
  id: string;
  "thread-id": number;
  "poll-max-ns"?: number;
  "poll-grow"?: number;
  "poll-shrink"?: number;
  "aio-max-batch"?: number;
}

export async function queryIOThreads(mon: QmpClient): Promise<IOThreadEntry[]> {
  return mon.execute<IOThreadEntry[]>("query-iothreads");
}
