// Slot groups of the QEMU driver whose code loads with their first call: host counters, domain
// getters, small operations, libvirt-qemu and guest-agent calls, snapshots (driver-info.ts,
// driver-ops.ts, driver-qemu-api.ts, snapshot.ts). A define never runs them, and a daemon that
// never does keeps their modules out of its heap (bench/rpc-define.ts: resident memory with 500
// domains defined is a target).
// The names are listed here so that the modules need not load to name their slots;
// tests/qemu-lazy-slots.test.ts checks each list against its group.
import type { HypervisorDriver } from "../../driver/index.js";
import type { QemuDriverState } from "./driver-state.js";

type Slots = Partial<HypervisorDriver>;
type Name = keyof HypervisorDriver;

export const INFO_SLOTS: Name[] = [
  "nodeGetCPUStats",
  "nodeGetMemoryStats",
  "domainGetControlInfo",
  "domainGetJobStats",
  "domainGetDiskErrors",
  "domainGetInterfaceParameters",
  "domainGetIOThreadInfo",
  "domainGetLaunchSecurityInfo",
  "domainListAllCheckpoints",
  "domainGetMetadata",
  "domainSetMetadata",
];

export const API_SLOTS: Name[] = [
  "domainQemuMonitorCommand",
  "domainQemuAgentCommand",
  "domainGetFSInfo",
  "domainGetHostname",
  "domainGetTime",
  "domainGetGuestVcpus",
  "domainInterfaceAddresses",
  "domainFSTrim",
];

export const OPS_SLOTS: Name[] = [
  "domainInjectNMI",
  "domainBlockResize",
  "domainSetBlockThreshold",
  "domainStartDirtyRateCalc",
  "domainSetMemoryStatsPeriod",
  "domainSetLifecycleAction",
  "domainGetPerfEvents",
  "domainRename",
  "domainCoreDump",
  "domainCoreDumpWithFormat",
  "domainGetBlockJobInfo",
];

/** The snapshot slots (snapshot.ts): create, revert and delete bring QEMU and disk code. */
export const SNAPSHOT_SLOTS: Name[] = [
  "domainSnapshotCreateXML",
  "domainSnapshotGetXMLDesc",
  "domainSnapshotNum",
  "domainSnapshotListNames",
  "domainListAllSnapshots",
  "domainSnapshotNumChildren",
  "domainSnapshotListChildrenNames",
  "domainSnapshotListAllChildren",
  "domainSnapshotLookupByName",
  "domainHasCurrentSnapshot",
  "domainSnapshotGetParent",
  "domainSnapshotCurrent",
  "domainSnapshotIsCurrent",
  "domainSnapshotHasMetadata",
  "domainRevertToSnapshot",
  "domainSnapshotDelete",
];

/** Stand-ins for `names` that load the group (once per table) and call its slot. */
function lazy(names: Name[], load: () => Promise<Slots>): Slots {
  let group: Promise<Slots> | undefined;
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of names) {
    out[name] = async (...args: unknown[]) => {
      group ??= load();
      const fn = (await group)[name] as (...a: unknown[]) => Promise<unknown>;
      return fn(...args);
    };
  }
  return out as Slots;
}

/** The groups for one driver table. */
export function lazyQemuSlots(st: QemuDriverState): Slots {
  return {
    ...lazy(INFO_SLOTS, () => import("./driver-info.js").then((m) => m.qemuInfoSlots(st))),
    ...lazy(API_SLOTS, () => import("./driver-qemu-api.js").then((m) => m.qemuApiSlots(st))),
    ...lazy(OPS_SLOTS, () => import("./driver-ops.js").then((m) => m.qemuOpsSlots(st))),
    ...lazy(SNAPSHOT_SLOTS, () => import("./snapshot.js").then((m) => m.qemuSnapshotSlots(st))),
  };
}
