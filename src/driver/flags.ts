// libvirt's public enum and flag values (include/libvirt/libvirt-*.h). They are wire-visible:
// flags travel unchanged in RPC calls, so every value here must equal libvirt's.

export const VIR_CONNECT_RO = 1;

/** virConnectListAllDomainsFlags. */
export const VIR_CONNECT_LIST_DOMAINS = {
  ACTIVE: 1 << 0,
  INACTIVE: 1 << 1,
  PERSISTENT: 1 << 2,
  TRANSIENT: 1 << 3,
  RUNNING: 1 << 4,
  PAUSED: 1 << 5,
  SHUTOFF: 1 << 6,
  OTHER: 1 << 7,
  MANAGEDSAVE: 1 << 8,
  NO_MANAGEDSAVE: 1 << 9,
  AUTOSTART: 1 << 10,
  NO_AUTOSTART: 1 << 11,
  HAS_SNAPSHOT: 1 << 12,
  NO_SNAPSHOT: 1 << 13,
  HAS_CHECKPOINT: 1 << 14,
  NO_CHECKPOINT: 1 << 15,
} as const;

/** virDomainState. */
export const VIR_DOMAIN_STATE = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** virDomainRunningReason. */
export const VIR_DOMAIN_RUNNING = {
  UNKNOWN: 0,
  BOOTED: 1,
  MIGRATED: 2,
  RESTORED: 3,
  FROM_SNAPSHOT: 4,
  UNPAUSED: 5,
  MIGRATION_CANCELED: 6,
  SAVE_CANCELED: 7,
  WAKEUP: 8,
  CRASHED: 9,
  POSTCOPY: 10,
  POSTCOPY_FAILED: 11,
} as const;

/** virDomainPausedReason. */
export const VIR_DOMAIN_PAUSED = {
  UNKNOWN: 0,
  USER: 1,
  MIGRATION: 2,
  SAVE: 3,
  DUMP: 4,
  IOERROR: 5,
  WATCHDOG: 6,
  FROM_SNAPSHOT: 7,
  SHUTTING_DOWN: 8,
  SNAPSHOT: 9,
  CRASHED: 10,
  STARTING_UP: 11,
  POSTCOPY: 12,
  POSTCOPY_FAILED: 13,
  API_ERROR: 14,
} as const;

/** virDomainShutdownReason. */
export const VIR_DOMAIN_SHUTDOWN = { UNKNOWN: 0, USER: 1 } as const;

/** virDomainShutoffReason. */
export const VIR_DOMAIN_SHUTOFF = {
  UNKNOWN: 0,
  SHUTDOWN: 1,
  DESTROYED: 2,
  CRASHED: 3,
  MIGRATED: 4,
  SAVED: 5,
  FAILED: 6,
  FROM_SNAPSHOT: 7,
  DAEMON: 8,
} as const;

/** virDomainCrashedReason / virDomainPMSuspendedReason. */
export const VIR_DOMAIN_CRASHED = { UNKNOWN: 0, PANICKED: 1 } as const;
export const VIR_DOMAIN_PMSUSPENDED = { UNKNOWN: 0 } as const;

/** virDomainCreateFlags (also domainCreateXML). */
export const VIR_DOMAIN_START = {
  PAUSED: 1 << 0,
  AUTODESTROY: 1 << 1,
  BYPASS_CACHE: 1 << 2,
  FORCE_BOOT: 1 << 3,
  VALIDATE: 1 << 4,
  RESET_NVRAM: 1 << 5,
} as const;

export const VIR_DOMAIN_DEFINE_VALIDATE = 1 << 0;

/** virDomainXMLFlags. */
export const VIR_DOMAIN_XML = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const;

/** virDomainModificationImpact. */
export const VIR_DOMAIN_AFFECT = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

/** virDomainMemoryModFlags / virDomainVcpuFlags extra bits. */
export const VIR_DOMAIN_MEM_MAXIMUM = 4;
export const VIR_DOMAIN_VCPU = { MAXIMUM: 4, GUEST: 8, HOTPLUGGABLE: 16 } as const;

/** virDomainUndefineFlagsValues. */
export const VIR_DOMAIN_UNDEFINE = {
  MANAGED_SAVE: 1,
  SNAPSHOTS_METADATA: 2,
  NVRAM: 4,
  KEEP_NVRAM: 8,
  CHECKPOINTS_METADATA: 16,
  TPM: 32,
  KEEP_TPM: 64,
} as const;

/** virDomainShutdownFlagValues (virDomainRebootFlagValues uses the same bits). */
export const VIR_DOMAIN_SHUTDOWN_FLAGS = {
  DEFAULT: 0,
  ACPI_POWER_BTN: 1,
  GUEST_AGENT: 2,
  INITCTL: 4,
  SIGNAL: 8,
  PARAVIRT: 16,
} as const;

export const VIR_DOMAIN_DESTROY = { DEFAULT: 0, GRACEFUL: 1, REMOVE_LOGS: 2 } as const;

/** virDomainSaveRestoreFlags. */
export const VIR_DOMAIN_SAVE = { BYPASS_CACHE: 1, RUNNING: 2, PAUSED: 4, RESET_NVRAM: 8 } as const;

/** virDomainMetadataType. */
export const VIR_DOMAIN_METADATA = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;

/** virDomainSnapshotCreateFlags. */
export const VIR_DOMAIN_SNAPSHOT_CREATE = {
  REDEFINE: 1,
  CURRENT: 2,
  NO_METADATA: 4,
  HALT: 8,
  DISK_ONLY: 16,
  REUSE_EXT: 32,
  QUIESCE: 64,
  ATOMIC: 128,
  LIVE: 256,
  VALIDATE: 512,
} as const;

/** virDomainSnapshotListFlags (DESCENDANTS and ROOTS share bit 0). */
export const VIR_DOMAIN_SNAPSHOT_LIST = {
  DESCENDANTS: 1,
  ROOTS: 1,
  METADATA: 2,
  LEAVES: 4,
  NO_LEAVES: 8,
  NO_METADATA: 16,
  INACTIVE: 32,
  ACTIVE: 64,
  DISK_ONLY: 128,
  INTERNAL: 256,
  EXTERNAL: 512,
  TOPOLOGICAL: 1024,
} as const;

export const VIR_DOMAIN_SNAPSHOT_DELETE = { CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4 } as const;
export const VIR_DOMAIN_SNAPSHOT_REVERT = { RUNNING: 1, PAUSED: 2, FORCE: 4, RESET_NVRAM: 8 } as const;
export const VIR_DOMAIN_SNAPSHOT_XML_SECURE = 1;

/** virDomainCheckpointCreateFlags / ListFlags / XMLFlags / DeleteFlags. */
export const VIR_DOMAIN_CHECKPOINT_CREATE = { REDEFINE: 1, QUIESCE: 2, REDEFINE_VALIDATE: 4 } as const;
export const VIR_DOMAIN_CHECKPOINT_LIST = {
  ROOTS: 1,
  DESCENDANTS: 1,
  TOPOLOGICAL: 2,
  LEAVES: 4,
  NO_LEAVES: 8,
} as const;
export const VIR_DOMAIN_CHECKPOINT_XML = { SECURE: 1, NO_DOMAIN: 2, SIZE: 4 } as const;
export const VIR_DOMAIN_CHECKPOINT_DELETE = { CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4 } as const;

/** virConnectListAllNetworksFlags. */
export const VIR_CONNECT_LIST_NETWORKS = {
  INACTIVE: 1,
  ACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  AUTOSTART: 16,
  NO_AUTOSTART: 32,
} as const;

export const VIR_NETWORK_XML_INACTIVE = 1;
export const VIR_NETWORK_UPDATE_COMMAND = {
  NONE: 0,
  MODIFY: 1,
  DELETE: 2,
  ADD_LAST: 3,
  ADD_FIRST: 4,
} as const;
export const VIR_NETWORK_SECTION = {
  NONE: 0,
  BRIDGE: 1,
  DOMAIN: 2,
  IP: 3,
  IP_DHCP_HOST: 4,
  IP_DHCP_RANGE: 5,
  FORWARD: 6,
  FORWARD_INTERFACE: 7,
  FORWARD_PF: 8,
  PORTGROUP: 9,
  DNS_HOST: 10,
  DNS_TXT: 11,
  DNS_SRV: 12,
} as const;
export const VIR_NETWORK_UPDATE_AFFECT = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

/** virConnectListAllStoragePoolsFlags. */
export const VIR_CONNECT_LIST_STORAGE_POOLS = {
  INACTIVE: 1,
  ACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  AUTOSTART: 16,
  NO_AUTOSTART: 32,
  DIR: 64,
  FS: 128,
  NETFS: 256,
  LOGICAL: 512,
  DISK: 1024,
  ISCSI: 2048,
  SCSI: 4096,
  MPATH: 8192,
  RBD: 16384,
  SHEEPDOG: 32768,
  GLUSTER: 65536,
  ZFS: 131072,
  VSTORAGE: 262144,
  ISCSI_DIRECT: 524288,
} as const;

/** virStoragePoolState. */
export const VIR_STORAGE_POOL_STATE = {
  INACTIVE: 0,
  BUILDING: 1,
  RUNNING: 2,
  DEGRADED: 3,
  INACCESSIBLE: 4,
} as const;
export const VIR_STORAGE_POOL_BUILD = {
  NEW: 0,
  REPAIR: 1,
  RESIZE: 2,
  NO_OVERWRITE: 4,
  OVERWRITE: 8,
} as const;
export const VIR_STORAGE_POOL_CREATE = { NORMAL: 0, WITH_BUILD: 1, OVERWRITE: 2, NO_OVERWRITE: 4 } as const;
export const VIR_STORAGE_POOL_DELETE = { NORMAL: 0, ZEROED: 1 } as const;
export const VIR_STORAGE_XML_INACTIVE = 1;

/** virStorageVolType. */
export const VIR_STORAGE_VOL_TYPE = { FILE: 0, BLOCK: 1, DIR: 2, NETWORK: 3, NETDIR: 4, PLOOP: 5 } as const;
export const VIR_STORAGE_VOL_CREATE = { PREALLOC_METADATA: 1, REFLINK: 2, VALIDATE: 4 } as const;
export const VIR_STORAGE_VOL_DELETE = { NORMAL: 0, ZEROED: 1, WITH_SNAPSHOTS: 2 } as const;
export const VIR_STORAGE_VOL_RESIZE = { ALLOCATE: 1, DELTA: 2, SHRINK: 4 } as const;
export const VIR_STORAGE_VOL_GET_PHYSICAL = 1;

/** virConnectListAllInterfacesFlags / virInterfaceXMLFlags. */
export const VIR_CONNECT_LIST_INTERFACES = { INACTIVE: 1, ACTIVE: 2 } as const;
export const VIR_INTERFACE_XML_INACTIVE = 1;

/** virConnectListAllNodeDeviceFlags. */
export const VIR_CONNECT_LIST_NODE_DEVICES_CAP = {
  SYSTEM: 1 << 0,
  PCI_DEV: 1 << 1,
  USB_DEV: 1 << 2,
  USB_INTERFACE: 1 << 3,
  NET: 1 << 4,
  SCSI_HOST: 1 << 5,
  SCSI_TARGET: 1 << 6,
  SCSI: 1 << 7,
  STORAGE: 1 << 8,
  FC_HOST: 1 << 9,
  VPORTS: 1 << 10,
  SCSI_GENERIC: 1 << 11,
  DRM: 1 << 12,
  MDEV_TYPES: 1 << 13,
  MDEV: 1 << 14,
  CCW_DEV: 1 << 15,
  CSS_DEV: 1 << 16,
  VDPA: 1 << 17,
  AP_CARD: 1 << 18,
  AP_QUEUE: 1 << 19,
  AP_MATRIX: 1 << 20,
  VPD: 1 << 21,
  INACTIVE: 1 << 30,
  ACTIVE: 2 ** 31,
} as const;

/** virConnectListAllSecretsFlags and virSecretUsageType. */
export const VIR_CONNECT_LIST_SECRETS = { EPHEMERAL: 1, NO_EPHEMERAL: 2, PRIVATE: 4, NO_PRIVATE: 8 } as const;
export const VIR_SECRET_USAGE_TYPE = { NONE: 0, VOLUME: 1, CEPH: 2, ISCSI: 3, TLS: 4, VTPM: 5 } as const;
