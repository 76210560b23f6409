// The host storage driver's objects (libvirt's virStoragePoolObj / virStorageVolDef with the
// live fields the backends fill in): a pool's definitions, run state and scanned volumes.
import type { StoragePoolDef, StoragePerms, StorageVolDef } from "../../conf/storage/index.js";

/** st_atim/st_mtim/st_ctim as libvirt prints them ("sec.nsec"). */
export interface VolTimes {
  atime: string;
  mtime: string;
  ctime: string;
}

/** What stat() says about a file: shown in <permissions> and <timestamps>. */
export interface FileFacts {
  perms: StoragePerms;
  times: VolTimes;
}

export interface HostVol {
  def: StorageVolDef;
  /** st_size of the file (libvirt's target.physical); 0 for directories. */
  physical: bigint;
  facts?: FileFacts;
  backingFacts?: FileFacts;
  /** qcow2 v3 header seen by a pool scan: libvirt then prints `<features/>` even when empty. */
  v3Features?: boolean;
}

export interface HostPool {
  name: string;
  uuid: string;
  /** The definition in effect (live sizes in capacity/allocation/available). */
  def: StoragePoolDef;
  /** Definition to apply at the next start (virStoragePoolObj.newDef). */
  newDef?: StoragePoolDef;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  /** Volumes by name, sorted by name after each scan. */
  volumes: Map<string, HostVol>;
  /** Target directory facts while active (libvirt prints them in the live pool XML). */
  targetFacts?: FileFacts;
}
