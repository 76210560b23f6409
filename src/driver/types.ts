// Wire-shaped result records shared by driver slots (the remote_*_ret structs of
// remote_protocol.x). 64-bit counters are JavaScript numbers: exact up to 2^53.

/** remote_node_get_info_ret / virNodeInfo. */
export interface NodeInfo {
  model: string;
  /** KiB. */
  memory: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

/** remote_domain_get_info_ret / virDomainInfo. Memory in KiB, cpuTime in ns. */
export interface DomainInfo {
  state: number;
  maxMem: number;
  memory: number;
  nrVirtCpu: number;
  cpuTime: number;
}

export interface DomainStateInfo {
  state: number;
  reason: number;
}

/** remote_vcpu_info / virVcpuInfo. */
export interface VcpuInfo {
  number: number;
  state: number;
  cpuTime: number;
  cpu: number;
}

/** virDomainGetVcpus result: per-vCPU info and `maplen`-byte affinity bitmaps, one per vCPU. */
export interface DomainVcpus {
  info: VcpuInfo[];
  cpumaps: Uint8Array[];
}

/** virDomainBlockInfo, bytes. */
export interface DomainBlockInfo {
  capacity: number;
  allocation: number;
  physical: number;
}

/** virDomainControlInfo. */
export interface DomainControlInfo {
  state: number;
  details: number;
  stateTime: number;
}

/** A typed parameter (virTypedParameter), as remote_typed_param. */
export interface TypedParam {
  field: string;
  /** VIR_TYPED_PARAM_INT=1, UINT=2, LLONG=3, ULLONG=4, DOUBLE=5, BOOLEAN=6, STRING=7. */
  type: number;
  value: number | string | boolean;
}
export const VIR_TYPED_PARAM = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

/** virDomainInterfaceStats / virDomainBlockStats. */
export interface DomainInterfaceStats {
  rxBytes: number;
  rxPackets: number;
  rxErrs: number;
  rxDrop: number;
  txBytes: number;
  txPackets: number;
  txErrs: number;
  txDrop: number;
}
export interface DomainBlockStats {
  rdReq: number;
  rdBytes: number;
  wrReq: number;
  wrBytes: number;
  errs: number;
}

/** virDomainMemoryStat (tag = VIR_DOMAIN_MEMORY_STAT_*). */
export interface DomainMemoryStat {
  tag: number;
  val: number;
}

/** virStoragePoolInfo, bytes. */
export interface StoragePoolInfo {
  state: number;
  capacity: number;
  allocation: number;
  available: number;
}

/** virStorageVolInfo, bytes. */
export interface StorageVolInfo {
  type: number;
  capacity: number;
  allocation: number;
}

/** virNetworkDHCPLease / remote_network_dhcp_lease. */
export interface NetworkDHCPLease {
  iface: string;
  expirytime: number;
  type: number;
  mac: string | null;
  iaid: string | null;
  ipaddr: string;
  prefix: number;
  hostname: string | null;
  clientid: string | null;
}

/** virSecurityLabel / virSecurityModel. */
export interface SecurityLabel {
  label: string;
  enforcing: boolean;
}
export interface SecurityModel {
  model: string;
  doi: string;
}

/** virDomainInterface: one guest NIC with its addresses (type: VIR_IP_ADDR_TYPE_IPV4=0, IPV6=1). */
export interface DomainInterface {
  name: string;
  hwaddr: string | null;
  addrs: { type: number; addr: string; prefix: number }[];
}

/** One record of virConnectGetAllDomainStats. */
export interface DomainStatsRecord {
  dom: import("./refs.js").DomainRef;
  params: TypedParam[];
}

/** virDomainIOThreadInfo. */
export interface IOThreadInfo {
  iothreadId: number;
  cpumap: Uint8Array;
}

/** virDomainFSInfo. */
export interface DomainFSInfo {
  mountpoint: string;
  name: string;
  fstype: string;
  devAliases: string[];
}

/**
 * A byte stream between a client and a driver (virStream): the driver reads what the client
 * sends through `incoming` and sends with `write`; `close` ends its side. The RPC edge maps
 * it to VIR_NET_STREAM packets.
 */
export interface ByteStream {
  incoming: AsyncIterable<Uint8Array>;
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Sparse streams: a hole of `length` bytes instead of that many zeros (VIR_NET_STREAM_HOLE). */
  writeHole?(length: number): Promise<void>;
  /** Sparse streams: the client's data in order with its holes (a number is a hole's length). */
  incomingSparse?: AsyncIterable<Uint8Array | number>;
}
