// The typed domain definition (libvirt's virDomainDef, trimmed to what tsvirt models).
// Parts not modelled field by field are kept as verbatim XmlElement trees so nothing is lost.

import type { XmlElement } from "../../xml/index.js";

/** A device address (`<address type='pci' domain=.. bus=.. slot=.. function=..>` etc.), attrs in order. */
export interface DeviceAddress {
  type: string;
  /** Remaining attributes in libvirt's output order, already canonical strings. */
  attrs: [string, string][];
  /** Child elements (e.g. `<zpci>`), verbatim. */
  children?: XmlElement[];
}

/** Fields every device may carry: alias, boot order, address, ACPI index. */
export interface DeviceCommon {
  /** `<alias name=...>` (user aliases start with "ua-"). */
  alias?: string;
  /** `<boot order=N loadparm=...>`. */
  boot?: { order: number; loadparm?: string };
  address?: DeviceAddress;
  /** `<acpi index=N>`. */
  acpiIndex?: number;
}

export interface DiskDef extends DeviceCommon {
  /** file | block | dir | network | volume | nvme | vhostuser */
  type: string;
  /** disk | cdrom | floppy | lun */
  device: string;
  /** Extra attributes of `<disk>` (rawio, sgio, snapshot, model) in libvirt order. */
  attrs: [string, string][];
  /** `<driver>` attributes as written (already validated), verbatim child elements. */
  driver?: XmlElement;
  /** `<source>` verbatim (attributes reordered canonically by the parser). */
  source?: XmlElement;
  /** `<backingStore>` verbatim when given. */
  backingStore?: XmlElement;
  target: { dev: string; bus: string; tray?: string; removable?: string; rotationRate?: string };
  /** The bus as written in the XML (undefined when defaulted); decides libvirt's disk ordering. */
  busGiven?: string;
  readonly: boolean;
  shareable: boolean;
  transient?: XmlElement;
  serial?: string;
  wwn?: string;
  vendor?: string;
  product?: string;
  /** Other children kept verbatim, each in its canonical slot (iotune, blockio, geometry, encryption, auth...). */
  extra: Record<string, XmlElement[]>;
}

export interface ControllerDef extends DeviceCommon {
  /** ide | fdc | scsi | sata | usb | virtio-serial | ccid | pci | xenbus | isa */
  type: string;
  index: number;
  model?: string;
  /** Remaining `<controller>` attributes (ports, vectors, maxGrantFrames...). */
  attrs: [string, string][];
  /** `<driver>`, `<target>`, `<master>`, `<model name>` etc., verbatim. */
  children: XmlElement[];
  /** Added by the generic post-parse, not written in the XML (a driver orders its defaults before it). */
  implicit?: boolean;
}

export interface InterfaceDef extends DeviceCommon {
  /** network | bridge | direct | user | ethernet | vhostuser | hostdev | server | client | mcast | udp | ... */
  type: string;
  /** Extra `<interface>` attributes (managed, trustGuestRxFilters). */
  attrs: [string, string][];
  /** Canonical lowercase MAC; `macType`/`macCheck` are the optional `<mac>` attributes. */
  mac: string;
  macType?: string;
  macCheck?: string;
  source?: XmlElement;
  /** Host-side device name (`<target dev>`); the test driver fills testnetN. */
  target?: string;
  targetManaged?: string;
  model?: string;
  /** Other children in their canonical slots (driver, filterref, bandwidth, vlan, link, mtu, ...). */
  extra: Record<string, XmlElement[]>;
}

export interface GraphicsDef {
  /** vnc | spice | sdl | rdp | desktop | egl-headless | dbus */
  type: string;
  attrs: [string, string][];
  /** `<listen>` elements and other children, verbatim. */
  children: XmlElement[];
}

export interface VideoDef extends DeviceCommon {
  model: { type: string; attrs: [string, string][]; children: XmlElement[] };
  driver?: XmlElement;
}

/** serial | parallel | console | channel share this shape (virDomainChrDef). */
export interface ChrDef extends DeviceCommon {
  /** pty | file | dev | pipe | unix | tcp | udp | stdio | null | vc | spicevmc | spiceport | nmdm | qemu-vdagent | dbus */
  type: string;
  /** Attributes of the `<serial>` etc. element besides type (tty, log...). */
  attrs: [string, string][];
  /** `<source>` elements (udp has two), `<protocol>`, `<log>` ... verbatim, in order. */
  children: XmlElement[];
  /** Target attributes: type, port, name, address, state... (canonical order). */
  target?: { attrs: [string, string][]; children: XmlElement[] };
}

export interface InputDef extends DeviceCommon {
  type: string;
  bus?: string;
  attrs: [string, string][];
  children: XmlElement[];
}

export interface MemballoonDef extends DeviceCommon {
  model: string;
  attrs: [string, string][];
  children: XmlElement[];
}

/** A device kind tsvirt does not model field by field: its element, verbatim. */
export interface GenericDevice {
  /** Element name: sound, hostdev, rng, tpm, watchdog, ... (decides its slot in `<devices>`). */
  kind: string;
  xml: XmlElement;
}

export interface DomainDevices {
  emulator?: string;
  disks: DiskDef[];
  controllers: ControllerDef[];
  interfaces: InterfaceDef[];
  graphics: GraphicsDef[];
  videos: VideoDef[];
  serials: ChrDef[];
  parallels: ChrDef[];
  consoles: ChrDef[];
  channels: ChrDef[];
  inputs: InputDef[];
  memballoon?: MemballoonDef;
  /** Every other device, in document order; formatted in libvirt's per-kind slot. */
  other: GenericDevice[];
}

export interface OsDef {
  /** hvm | linux | xen | exe | uml */
  type: string;
  arch: string;
  machine?: string;
  /** `<os firmware=...>` (efi | bios) for firmware autoselection. */
  firmware?: string;
  /** `<boot dev=...>` in order (hd, cdrom, fd, network). */
  bootDevs: string[];
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  dtb?: string;
  init?: string;
  initargs: string[];
  /** `<loader>` / `<nvram>` verbatim (attributes canonical). */
  loader?: XmlElement;
  nvram?: XmlElement;
  /** Other `<os>` children (bootmenu, smbios, bios, acpi, firmware, initenv, ...), verbatim. */
  extra: Record<string, XmlElement[]>;
}

export interface DomainDef {
  /** Hypervisor type: test | qemu | kvm | xen | lxc ... */
  type: string;
  /** Extra attributes on `<domain>` (xmlns:qemu etc.), kept as written. */
  rootAttrs: [string, string][];
  name: string;
  /** Canonical lowercase UUID string. */
  uuid: string;
  genid?: string;
  title?: string;
  description?: string;
  /** `<metadata>` kept verbatim (foreign namespaces). */
  metadata?: XmlElement;
  /** Memory sizes in KiB. */
  memory: number;
  currentMemory: number;
  maxMemory?: { kib: number; slots?: number };
  /** `<memory dumpCore=...>`. */
  memoryDumpCore?: string;
  vcpu: { max: number; current?: number; placement: string; cpuset?: string };
  os: OsDef;
  /** `<features>` verbatim (children in document order). */
  features?: XmlElement;
  /** `<cpu>` verbatim. */
  cpu?: XmlElement;
  /** `<clock offset=...>` and its children, verbatim except defaults filled. */
  clock: { offset: string; attrs: [string, string][]; children: XmlElement[] };
  onPoweroff: string;
  onReboot: string;
  onCrash: string;
  onLockfailure?: string;
  devices: DomainDevices;
  /**
   * Top-level elements held verbatim, by element name, in document order: memoryBacking,
   * blkiotune, memtune, vcpus, iothreads, iothreadids, cputune, numatune, resource, sysinfo,
   * bootloader, idmap, pm, perf, seclabel, keywrap, launchSecurity, and foreign namespaces.
   */
  extra: Record<string, XmlElement[]>;
}
