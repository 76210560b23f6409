// Typed virtual-network definition (libvirt's virNetworkDef, network.rng): what parse produces,
// post-parse completes and format prints. Field comments name the XML they come from.

import type { XmlElement } from "../../xml/index.js";
import type { IpAddr } from "./ip-addr.js";

export const FORWARD_MODES = [
  "none",
  "nat",
  "route",
  "open",
  "bridge",
  "private",
  "vepa",
  "passthrough",
  "hostdev",
] as const;
export type ForwardMode = (typeof FORWARD_MODES)[number];

export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  function: number;
}

/** `<forward>`: how the network reaches the outside. */
export interface NetworkForward {
  mode: ForwardMode;
  /** `managed='yes'` for hostdev pools. */
  managed?: boolean;
  /** `<driver name=>` (hostdev: vfio/kvm). */
  driverName?: string;
  /** `<nat>` address and port ranges, `ipv6='yes'`. */
  nat?: { addrStart?: IpAddr; addrEnd?: IpAddr; portStart?: number; portEnd?: number; ipv6?: boolean };
  /** `<pf dev=>` physical functions (at most one). */
  pfs: string[];
  /** `<interface dev=>` netdevs or `<address type='pci'>` functions. */
  ifs: ({ dev: string } | { pci: PciAddress })[];
}

export interface NetworkBridge {
  name?: string;
  /** firewalld zone. */
  zone?: string;
  /** Spanning tree: anything but 'off' means on. */
  stp: boolean;
  /** STP forward delay in seconds. */
  delay: number;
  macTableManager?: "kernel" | "libvirt";
  /** Which attributes the user wrote (bridge-mode networks refuse stp/delay). */
  stpGiven?: boolean;
  delayGiven?: boolean;
}

export interface DhcpLease {
  expiry: bigint;
  unit?: "seconds" | "minutes" | "hours";
}
export interface DhcpRange {
  start: IpAddr;
  end: IpAddr;
  lease?: DhcpLease;
}
export interface DhcpHost {
  /** MAC exactly as written (libvirt keeps the user's spelling). */
  mac?: string;
  /** DHCPv6 client id. */
  id?: string;
  name?: string;
  ip?: IpAddr;
  lease?: DhcpLease;
}

/** One `<ip>` element: address, mask, DHCP and TFTP. */
export interface NetworkIp {
  family?: "ipv4" | "ipv6";
  address: IpAddr;
  netmask?: IpAddr;
  prefix?: number;
  localPtr?: boolean;
  tftpRoot?: string;
  dhcpRanges: DhcpRange[];
  dhcpHosts: DhcpHost[];
  bootp?: { file: string; server?: IpAddr };
  /** True when `<dhcp>` was present even if empty. */
  dhcp?: boolean;
}

export interface NetworkRoute {
  family?: "ipv4" | "ipv6";
  address: IpAddr;
  netmask?: IpAddr;
  prefix?: number;
  gateway: IpAddr;
  metric?: number;
}

export interface DnsDef {
  enable?: boolean;
  forwardPlainNames?: boolean;
  forwarders: { domain?: string; addr?: IpAddr }[];
  txts: { name: string; value: string }[];
  srvs: {
    service: string;
    protocol: string;
    domain?: string;
    target?: string;
    port?: number;
    priority?: number;
    weight?: number;
  }[];
  hosts: { ip: IpAddr; hostnames: string[] }[];
}

export interface VlanDef {
  trunk: boolean;
  tags: { id: number; nativeMode?: "tagged" | "untagged" }[];
}

export interface BandwidthRate {
  average?: bigint;
  peak?: bigint;
  floor?: bigint;
  burst?: bigint;
}
export interface BandwidthDef {
  inbound?: BandwidthRate;
  outbound?: BandwidthRate;
}

export interface VirtualPortDef {
  type?: "802.1Qbg" | "802.1Qbh" | "openvswitch" | "midonet";
  managerid?: number;
  typeid?: number;
  typeidversion?: number;
  instanceid?: string;
  profileid?: string;
  interfaceid?: string;
}

export interface PortGroup {
  name: string;
  isDefault?: boolean;
  trustGuestRxFilters?: boolean;
  vlan?: VlanDef;
  virtualport?: VirtualPortDef;
  bandwidth?: BandwidthDef;
}

export interface NetworkDef {
  name: string;
  uuid: string;
  /** `<network ipv6='yes'>`: guest-to-guest IPv6 without a gateway. */
  ipv6?: boolean;
  trustGuestRxFilters?: boolean;
  /** Active connections (shown only in live XML). */
  connections?: number;
  metadata?: XmlElement;
  forward: NetworkForward;
  bridge: NetworkBridge;
  mtu?: number;
  mac?: string;
  domain?: { name: string; localOnly?: boolean };
  dns?: DnsDef;
  vlan?: VlanDef;
  bandwidth?: BandwidthDef;
  portIsolated?: boolean;
  ips: NetworkIp[];
  routes: NetworkRoute[];
  virtualport?: VirtualPortDef;
  portgroups: PortGroup[];
}

export interface NetworkFormatOptions {
  /** VIR_NETWORK_XML_INACTIVE: leave out live-only data (connections). */
  inactive?: boolean;
}
