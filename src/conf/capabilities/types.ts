// Typed host capabilities (libvirt's virCaps, capability.rng) and node info (virNodeInfo):
// what `virsh capabilities` and `virsh nodeinfo` report.

/** `<pages unit='KiB' size=>`: a supported page size, with a count when inside a NUMA cell. */
export interface PageSize {
  sizeKiB: number;
  count?: number;
}

export interface CapsCpu {
  id: number;
  socketId?: number;
  dieId?: number;
  coreId?: number;
  /** CPU list string as libvirt prints it ("0-1,4"). */
  siblings?: string;
}

export interface CapsNumaCell {
  id: number;
  memoryKiB: number;
  pages: PageSize[];
  distances?: { id: number; value: number }[];
  cpus: CapsCpu[];
}

export interface CapsHost {
  uuid?: string;
  arch: string;
  /** Host CPU model block pieces (absent in the test driver). */
  cpuModel?: string;
  cpuVendor?: string;
  /** Bare `<features>` flags (pae, nonpae, vmx, svm...). */
  cpuFeatures: string[];
  pagesSizes: PageSize[];
  /** `<power_management>` children (suspend_mem, suspend_disk, suspend_hybrid). */
  powerManagement: string[];
  iommu: boolean;
  migrationUriTransports?: string[];
  cells: CapsNumaCell[];
  secmodels: { model: string; doi: string; baselabels?: { type: string; label: string }[] }[];
}

export interface CapsGuestDomain {
  type: string;
  emulator?: string;
  machines?: { name: string; canonical?: string; maxCpus?: number; deprecated?: boolean }[];
}

export interface CapsGuest {
  osType: string;
  arch: string;
  wordsize: number;
  emulator?: string;
  loader?: string;
  machines: { name: string; canonical?: string; maxCpus?: number; deprecated?: boolean }[];
  domains: CapsGuestDomain[];
  /** `<features>`: bare flags, or toggles printed as `<name default='on' toggle='no'/>`. */
  features: (string | { name: string; default: "on" | "off"; toggle: boolean })[];
}

export interface Capabilities {
  host: CapsHost;
  guests: CapsGuest[];
}

/** virNodeInfo: the eight numbers virNodeGetInfo returns (memory in KiB, as on the wire). */
export interface NodeInfo {
  model: string;
  memoryKiB: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}
