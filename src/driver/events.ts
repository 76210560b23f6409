// Event ids and lifecycle codes (libvirt-domain.h, libvirt-network.h, libvirt-storage.h,
// libvirt-nodedev.h, libvirt-secret.h) and the wire-shaped event payloads drivers emit.

import type { DomainRef, NetworkRef, NodeDeviceRef, SecretRef, StoragePoolRef } from "./refs.js";

/** virDomainEventID. */
export const VIR_DOMAIN_EVENT_ID = {
  LIFECYCLE: 0,
  REBOOT: 1,
  RTC_CHANGE: 2,
  WATCHDOG: 3,
  IO_ERROR: 4,
  GRAPHICS: 5,
  IO_ERROR_REASON: 6,
  CONTROL_ERROR: 7,
  BLOCK_JOB: 8,
  DISK_CHANGE: 9,
  TRAY_CHANGE: 10,
  PMWAKEUP: 11,
  PMSUSPEND: 12,
  BALLOON_CHANGE: 13,
  PMSUSPEND_DISK: 14,
  DEVICE_REMOVED: 15,
  BLOCK_JOB_2: 16,
  TUNABLE: 17,
  AGENT_LIFECYCLE: 18,
  DEVICE_ADDED: 19,
  MIGRATION_ITERATION: 20,
  JOB_COMPLETED: 21,
  DEVICE_REMOVAL_FAILED: 22,
  METADATA_CHANGE: 23,
  BLOCK_THRESHOLD: 24,
  MEMORY_FAILURE: 25,
  MEMORY_DEVICE_SIZE_CHANGE: 26,
} as const;

/** virDomainEventType. */
export const VIR_DOMAIN_EVENT = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** Detail codes per lifecycle event type (virDomainEvent*DetailType). */
export const VIR_DOMAIN_EVENT_DEFINED = { ADDED: 0, UPDATED: 1, RENAMED: 2, FROM_SNAPSHOT: 3 } as const;
export const VIR_DOMAIN_EVENT_UNDEFINED = { REMOVED: 0, RENAMED: 1 } as const;
export const VIR_DOMAIN_EVENT_STARTED = {
  BOOTED: 0,
  MIGRATED: 1,
  RESTORED: 2,
  FROM_SNAPSHOT: 3,
  WAKEUP: 4,
} as const;
export const VIR_DOMAIN_EVENT_SUSPENDED = {
  PAUSED: 0,
  MIGRATED: 1,
  IOERROR: 2,
  WATCHDOG: 3,
  RESTORED: 4,
  FROM_SNAPSHOT: 5,
  API_ERROR: 6,
  POSTCOPY: 7,
  POSTCOPY_FAILED: 8,
} as const;
export const VIR_DOMAIN_EVENT_RESUMED = {
  UNPAUSED: 0,
  MIGRATED: 1,
  FROM_SNAPSHOT: 2,
  POSTCOPY: 3,
  POSTCOPY_FAILED: 4,
} as const;
export const VIR_DOMAIN_EVENT_STOPPED = {
  SHUTDOWN: 0,
  DESTROYED: 1,
  CRASHED: 2,
  MIGRATED: 3,
  SAVED: 4,
  FAILED: 5,
  FROM_SNAPSHOT: 6,
} as const;
export const VIR_DOMAIN_EVENT_SHUTDOWN = { FINISHED: 0, GUEST: 1, HOST: 2 } as const;
export const VIR_DOMAIN_EVENT_PMSUSPENDED = { MEMORY: 0, DISK: 1 } as const;
export const VIR_DOMAIN_EVENT_CRASHED = { PANICKED: 0, CRASHLOADED: 1 } as const;

/** virNetworkEventID / virNetworkEventLifecycleType. */
export const VIR_NETWORK_EVENT_ID = { LIFECYCLE: 0, METADATA_CHANGE: 1 } as const;
export const VIR_NETWORK_EVENT = { DEFINED: 0, UNDEFINED: 1, STARTED: 2, STOPPED: 3 } as const;

/** virStoragePoolEventID / virStoragePoolEventLifecycleType. */
export const VIR_STORAGE_POOL_EVENT_ID = { LIFECYCLE: 0, REFRESH: 1 } as const;
export const VIR_STORAGE_POOL_EVENT = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  STOPPED: 3,
  CREATED: 4,
  DELETED: 5,
} as const;

/** virNodeDeviceEventID / virNodeDeviceEventLifecycleType. */
export const VIR_NODE_DEVICE_EVENT_ID = { LIFECYCLE: 0, UPDATE: 1 } as const;
export const VIR_NODE_DEVICE_EVENT = { CREATED: 0, DELETED: 1, DEFINED: 2, UNDEFINED: 3 } as const;

/** virSecretEventID / virSecretEventLifecycleType. */
export const VIR_SECRET_EVENT_ID = { LIFECYCLE: 0, VALUE_CHANGED: 1 } as const;
export const VIR_SECRET_EVENT = { DEFINED: 0, UNDEFINED: 1 } as const;

/**
 * A domain event as drivers emit it. `event`/`detail` are set for LIFECYCLE; other ids carry
 * their fields in `data` (e.g. { key, uri } for METADATA_CHANGE, { actual } for BALLOON_CHANGE).
 */
export interface DomainEvent {
  eventId: number;
  dom: DomainRef;
  event?: number;
  detail?: number;
  data?: Record<string, unknown>;
}
export interface NetworkEvent {
  eventId: number;
  net: NetworkRef;
  event?: number;
  detail?: number;
  data?: Record<string, unknown>;
}
export interface StoragePoolEvent {
  eventId: number;
  pool: StoragePoolRef;
  event?: number;
  detail?: number;
}
export interface NodeDeviceEvent {
  eventId: number;
  dev: NodeDeviceRef;
  event?: number;
  detail?: number;
}
export interface SecretEvent {
  eventId: number;
  secret: SecretRef;
  event?: number;
  detail?: number;
}
