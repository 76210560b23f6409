// Wire constants of libvirt's RPC layer. Sources: src/rpc/virnetprotocol.x (message sizes, types,
// status), src/remote/remote_protocol.x (program, string/list limits), virkeepaliveprotocol.x.

/** virnetprotocol.x VIR_NET_MESSAGE_MAX: largest serialised message, length word excluded. */
export const VIR_NET_MESSAGE_MAX = 33554432;
/** virnetprotocol.x VIR_NET_MESSAGE_HEADER_MAX: serialised virNetMessageHeader (6 words). */
export const VIR_NET_MESSAGE_HEADER_MAX = 24;
/** virnetprotocol.x VIR_NET_MESSAGE_PAYLOAD_MAX. */
export const VIR_NET_MESSAGE_PAYLOAD_MAX = VIR_NET_MESSAGE_MAX - VIR_NET_MESSAGE_HEADER_MAX;
/** virnetprotocol.x VIR_NET_MESSAGE_LEN_MAX: the length word in front of every message. */
export const VIR_NET_MESSAGE_LEN_MAX = 4;
/** virnetprotocol.x VIR_NET_MESSAGE_INITIAL: libvirt's first receive buffer size. */
export const VIR_NET_MESSAGE_INITIAL = 65536;
/** virnetprotocol.x VIR_NET_MESSAGE_STRING_MAX. */
export const VIR_NET_MESSAGE_STRING_MAX = 4194304;
/** virnetprotocol.x VIR_NET_MESSAGE_NUM_FDS_MAX. */
export const VIR_NET_MESSAGE_NUM_FDS_MAX = 32;

/** virnetprotocol.x enum virNetMessageType. */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

/** virnetprotocol.x enum virNetMessageStatus. */
export const MessageStatus = {
  OK: 0,
  ERROR: 1,
  CONTINUE: 2,
} as const;

/** remote_protocol.x REMOTE_PROGRAM / REMOTE_PROTOCOL_VERSION. */
export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

/** virkeepaliveprotocol.x KEEPALIVE_PROGRAM ("keep") / version / procedures. */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;
export const KeepaliveProc = { PING: 1, PONG: 2 } as const;

/** remote_protocol.x limits (libvirt 9.0 values). */
export const REMOTE_STRING_MAX = 4194304;
export const REMOTE_DOMAIN_LIST_MAX = 16384;
export const REMOTE_CPUMAP_MAX = 2048;
export const REMOTE_VCPUINFO_MAX = 16384;
export const REMOTE_CPUMAPS_MAX = 8388608;
export const REMOTE_MIGRATE_COOKIE_MAX = 4194304;
export const REMOTE_NETWORK_LIST_MAX = 16384;
export const REMOTE_INTERFACE_LIST_MAX = 16384;
export const REMOTE_STORAGE_POOL_LIST_MAX = 4096;
export const REMOTE_STORAGE_VOL_LIST_MAX = 16384;
export const REMOTE_NODE_DEVICE_LIST_MAX = 16384;
export const REMOTE_NODE_DEVICE_CAPS_LIST_MAX = 65536;
export const REMOTE_NWFILTER_LIST_MAX = 1024;
export const REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX = 16;
export const REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX = 16;
export const REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX = 16;
export const REMOTE_NODE_CPU_STATS_MAX = 16;
export const REMOTE_NODE_MEMORY_STATS_MAX = 16;
export const REMOTE_NODE_MAX_CELLS = 1024;
export const REMOTE_AUTH_TYPE_LIST_MAX = 20;
export const REMOTE_DOMAIN_MEMORY_STATS_MAX = 1024;
export const REMOTE_DOMAIN_SNAPSHOT_LIST_MAX = 1024;
export const REMOTE_SECRET_VALUE_MAX = 65536;
export const REMOTE_SECRET_LIST_MAX = 16384;
export const REMOTE_DOMAIN_JOB_STATS_MAX = 64;
export const REMOTE_DOMAIN_EVENT_TUNABLE_MAX = 2048;
export const REMOTE_NETWORK_DHCP_LEASES_MAX = 65536;
export const REMOTE_DOMAIN_INTERFACE_MAX = 2048;
export const REMOTE_DOMAIN_IP_ADDR_MAX = 2048;
export const REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX = 262144;
/** libvirt.h VIR_UUID_BUFLEN. */
export const VIR_UUID_BUFLEN = 16;
/** libvirt-host.h VIR_SECURITY_MODEL_BUFLEN / VIR_SECURITY_DOI_BUFLEN / VIR_SECURITY_LABEL_BUFLEN. */
export const VIR_SECURITY_MODEL_BUFLEN = 257;
export const VIR_SECURITY_DOI_BUFLEN = 257;
export const VIR_SECURITY_LABEL_BUFLEN = 4097;

/** remote_protocol.x enum remote_auth_type. */
export const RemoteAuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;
