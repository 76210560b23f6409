// The VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE> filter bit of each pool type (libvirt-storage.h), for
// drivers filtering listAllStoragePools and for `virsh pool-list --type`.
import { VIR_CONNECT_LIST_STORAGE_POOLS as LP } from "./flags.js";

export const POOL_TYPE_LIST_BITS: Readonly<Record<string, number>> = {
  dir: LP.DIR,
  fs: LP.FS,
  netfs: LP.NETFS,
  logical: LP.LOGICAL,
  disk: LP.DISK,
  iscsi: LP.ISCSI,
  scsi: LP.SCSI,
  mpath: LP.MPATH,
  rbd: LP.RBD,
  sheepdog: LP.SHEEPDOG,
  gluster: LP.GLUSTER,
  zfs: LP.ZFS,
  vstorage: LP.VSTORAGE,
  "iscsi-direct": LP.ISCSI_DIRECT,
};
