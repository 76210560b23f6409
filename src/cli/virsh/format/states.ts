// State and reason words virsh prints (tools/virsh-domain-monitor.c virshDomainStateToString and
// virshDomainStateReasonToString; virsh-pool.c and virsh-volume.c state/type names).

const DOMAIN_STATES = [
  "no state",
  "running",
  "idle",
  "paused",
  "in shutdown",
  "shut off",
  "crashed",
  "pmsuspended",
];

export function domainStateName(state: number): string {
  return DOMAIN_STATES[state] ?? "no state";
}

const REASONS: string[][] = [
  ["unknown"],
  [
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from snapshot",
    "unpaused",
    "migration canceled",
    "save canceled",
    "event wakeup",
    "crashed",
    "post-copy",
    "post-copy failed",
  ],
  ["unknown"],
  [
    "unknown",
    "user",
    "migrating",
    "saving",
    "dumping",
    "I/O error",
    "watchdog",
    "from snapshot",
    "shutting down",
    "creating snapshot",
    "crashed",
    "starting up",
    "post-copy",
    "post-copy failed",
    "api error",
  ],
  ["unknown", "user"],
  ["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"],
  ["unknown", "panicked"],
  ["unknown"],
];

export function domainReasonName(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? "unknown";
}

const POOL_STATES = ["inactive", "building", "running", "degraded", "inaccessible"];

export function poolStateName(state: number): string {
  return POOL_STATES[state] ?? "unknown";
}

const VOL_TYPES = ["file", "block", "dir", "network", "netdir", "ploop"];

export function volTypeName(type: number): string {
  return VOL_TYPES[type] ?? "unknown";
}
