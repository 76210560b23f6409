// Typed storage pool and volume definitions (libvirt's virStoragePoolDef / virStorageVolDef,
// storagepool.rng / storagevol.rng). Sizes are bytes as BigInt: volumes reach exabytes.

import type { XmlElement } from "../../xml/index.js";

export const POOL_TYPES = [
  "dir",
  "fs",
  "netfs",
  "logical",
  "disk",
  "iscsi",
  "iscsi-direct",
  "scsi",
  "mpath",
  "rbd",
  "sheepdog",
  "gluster",
  "zfs",
  "vstorage",
] as const;
export type PoolType = (typeof POOL_TYPES)[number];

/** `<permissions>`: mode/owner/group are undefined when libvirt holds them as -1. */
export interface StoragePerms {
  mode?: number;
  owner?: number;
  group?: number;
  label?: string;
}

export interface PoolAuth {
  type: "chap" | "ceph";
  username: string;
  secretUuid?: string;
  secretUsage?: string;
}

export type PoolAdapter =
  | {
      type: "scsi_host";
      name?: string;
      parentaddr?: { uniqueId?: string; domain: number; bus: number; slot: number; function: number };
    }
  | {
      type: "fc_host";
      parent?: string;
      parentWwnn?: string;
      parentWwpn?: string;
      parentFabricWwn?: string;
      managed?: boolean;
      wwnn?: string;
      wwpn?: string;
    };

/** `<source>`: where the pool's storage comes from; which parts matter depends on the pool type. */
export interface PoolSource {
  hosts: { name: string; port?: number }[];
  devices: { path: string; partSeparator?: boolean }[];
  dir?: string;
  adapter?: PoolAdapter;
  /** Source name: VG, RBD pool, gluster volume, zpool. */
  name?: string;
  initiatorIqn?: string;
  /** Filesystem / partition-table / LVM format name. */
  format?: string;
  auth?: PoolAuth;
  /** NFS `<protocol ver=>`. */
  protocolVer?: number;
  vendor?: string;
  product?: string;
}

export interface StoragePoolDef {
  type: PoolType;
  name: string;
  uuid: string;
  /** Live sizes reported by the driver (never read from XML). */
  capacity: bigint;
  allocation: bigint;
  available: bigint;
  /** `<features><cow state=>`: copy-on-write for new volumes (btrfs). */
  cow?: boolean;
  source: PoolSource;
  target: { path?: string; perms?: StoragePerms };
  /** `<refresh><volume allocation='capacity'/>`: report allocation as capacity (rbd). */
  refreshAllocation?: "default" | "capacity";
  /** Namespaced extras (rbd:config_opts) as written; libvirt's test driver drops them. */
  namespaceData?: XmlElement;
}

export interface VolEncryption {
  format: "default" | "qcow" | "luks";
  secrets: { type: "passphrase"; uuid?: string; usage?: string }[];
  cipher?: { name: string; size: number; mode?: string; hash?: string };
  ivgen?: { name: string; hash?: string };
}

export const VOL_TYPES = ["file", "block", "dir", "network", "netdir", "ploop"] as const;
export type VolType = (typeof VOL_TYPES)[number];

export interface StorageVolTarget {
  path?: string;
  format?: string;
  perms?: StoragePerms;
  encryption?: VolEncryption;
  compat?: string;
  clusterSize?: bigint;
  nocow?: boolean;
  features: { lazyRefcounts?: boolean; extendedL2?: boolean };
}

export interface StorageVolDef {
  type: VolType;
  name: string;
  key?: string;
  capacity: bigint;
  allocation: bigint;
  /** Whether the user gave `<allocation>` (libvirt defaults it to capacity otherwise). */
  allocationGiven?: boolean;
  target: StorageVolTarget;
  backingStore?: { path: string; format?: string; perms?: StoragePerms };
}
