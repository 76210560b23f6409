// Object references as they travel between the API, the drivers and the wire: plain data shaped
// exactly like libvirt's remote_nonnull_* structs (remote_protocol.x), uuid as a canonical string.

/** remote_nonnull_domain: id is -1 for an inactive domain. */
export interface DomainRef {
  name: string;
  uuid: string;
  id: number;
}
/** remote_nonnull_network. */
export interface NetworkRef {
  name: string;
  uuid: string;
}
/** remote_nonnull_storage_pool. */
export interface StoragePoolRef {
  name: string;
  uuid: string;
}
/** remote_nonnull_storage_vol: `pool` is the pool's name, `key` the volume's unique key (a path for dir pools). */
export interface StorageVolRef {
  pool: string;
  name: string;
  key: string;
}
/** remote_nonnull_domain_snapshot. */
export interface DomainSnapshotRef {
  name: string;
  domain: DomainRef;
}
/** remote_nonnull_domain_checkpoint. */
export interface DomainCheckpointRef {
  name: string;
  domain: DomainRef;
}
/** remote_nonnull_interface. */
export interface InterfaceRef {
  name: string;
  mac: string;
}
/** remote_nonnull_node_device. */
export interface NodeDeviceRef {
  name: string;
}
/** remote_nonnull_secret: usageType is a VIR_SECRET_USAGE_TYPE_* value. */
export interface SecretRef {
  uuid: string;
  usageType: number;
  usageID: string;
}
/** remote_nonnull_nwfilter. */
export interface NWFilterRef {
  name: string;
  uuid: string;
}
