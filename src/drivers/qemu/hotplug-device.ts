// Device XML of virDomainAttach/Detach/UpdateDeviceFlags, parsed the way libvirt's
// virDomainDeviceDefParse does it: in the context of the domain it goes into. The element is put
// into a copy of that domain's XML and the whole document goes through the driver's own parse →
// post-parse → validate, so defaults (MACs, drive addresses, implicit controllers) and checks
// (duplicate targets) are the ones define applies. No side effects.
import {
  type ControllerDef,
  type DiskDef,
  type DomainDef,
  diskNameToIndex,
  formatDomainXML,
  type InterfaceDef,
} from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, formatElement, parseXml, type XmlElement } from "../../xml/index.js";
import type { QemuDriverState } from "./driver-state.js";

/** Element name → libvirt's virDomainDeviceType name (the one its error messages print). */
const DEVICE_TYPES: Record<string, string> = {
  disk: "disk",
  lease: "lease",
  filesystem: "filesystem",
  interface: "interface",
  input: "input",
  sound: "sound",
  video: "video",
  hostdev: "hostdev",
  watchdog: "watchdog",
  controller: "controller",
  graphics: "graphics",
  hub: "hub",
  redirdev: "redirdev",
  smartcard: "smartcard",
  serial: "chr",
  parallel: "chr",
  console: "chr",
  channel: "chr",
  memballoon: "memballoon",
  nvram: "nvram",
  rng: "rng",
  shmem: "shmem",
  tpm: "tpm",
  panic: "panic",
  memory: "memory",
  iommu: "iommu",
  vsock: "vsock",
  audio: "audio",
  crypto: "crypto",
};

/** A device element as given, before it is parsed against a domain. */
export interface RawDevice {
  /** Element name (disk, interface, ...). */
  element: string;
  /** libvirt's device type name for messages. */
  type: string;
  xml: XmlElement;
}

export function readDeviceXml(xml: string): RawDevice {
  const root = parseXml(xml, { domain: ErrorDomain.DOMAIN, context: "(device_definition)" });
  const type = DEVICE_TYPES[root.name];
  if (!type) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN, `unknown device type '${root.name}'`);
  }
  return { element: root.name, type, xml: root };
}

/** `<target dev>` of a disk element, as written. */
export function rawDiskTarget(raw: RawDevice): string | undefined {
  const t = child(raw.xml, "target");
  return t ? attr(t, "dev") : undefined;
}

/** What identifies an interface for detach (virDomainNetFindIdx): only what the XML spelled out. */
export interface NetMatch {
  mac?: string;
  alias?: string;
  pci?: string;
}

export function rawNetMatch(raw: RawDevice): NetMatch {
  const mac = child(raw.xml, "mac");
  const alias = child(raw.xml, "alias");
  const addr = child(raw.xml, "address");
  const m: NetMatch = {};
  const macText = mac ? attr(mac, "address") : undefined;
  if (macText !== undefined) m.mac = macText.toLowerCase();
  if (alias && attr(alias, "name") !== undefined) m.alias = attr(alias, "name");
  if (addr && attr(addr, "type") === "pci") m.pci = pciText(addr.attrs);
  return m;
}

/** A PCI address as libvirt prints it in messages: 0000:00:05.0. */
export function pciText(attrs: [string, string][]): string {
  const n = (k: string) => Number(attrs.find(([a]) => a === k)?.[1] ?? 0);
  const h = (v: number, w: number) => v.toString(16).padStart(w, "0");
  return `${h(n("domain"), 4)}:${h(n("bus"), 2)}:${h(n("slot"), 2)}.${n("function").toString(16)}`;
}

/**
 * `def` with the device added, parsed as the driver parses a definition. Throws what that parse
 * throws (XML errors, duplicate disk targets, unsupported values).
 */
export async function parseWithDevice(
  st: QemuDriverState,
  def: DomainDef,
  raw: RawDevice,
): Promise<DomainDef> {
  const xml = formatDomainXML(def, { inactive: true, securityInfo: true });
  const dev = formatElement(raw.xml, 2);
  const end = xml.lastIndexOf("</devices>");
  let joined: string;
  if (end >= 0) joined = `${xml.slice(0, end)}${dev.trimStart()}  ${xml.slice(end)}`;
  else {
    const close = xml.lastIndexOf("</domain>");
    joined = `${xml.slice(0, close)}  <devices>\n${dev}  </devices>\n${xml.slice(close)}`;
  }
  return (await st.parse(joined)).def;
}

/** The disk `def` got for `raw` (the one with its target). */
export async function parseDisk(st: QemuDriverState, def: DomainDef, raw: RawDevice): Promise<DiskDef> {
  const target = rawDiskTarget(raw);
  const parsed = await parseWithDevice(st, def, raw);
  const disk = parsed.devices.disks.find((x) => x.target.dev === target);
  if (!disk) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "cannot find the parsed disk");
  return disk;
}

/** The interface parsed for `raw` (the parser appends it after the existing ones). */
export async function parseInterface(
  st: QemuDriverState,
  def: DomainDef,
  raw: RawDevice,
): Promise<InterfaceDef> {
  const parsed = await parseWithDevice(st, def, raw);
  const net = parsed.devices.interfaces[def.devices.interfaces.length];
  if (!net) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "cannot find the parsed interface");
  return net;
}

/** The controller parsed for `raw`, and the definition it went into (index filled in). */
export async function parseController(
  st: QemuDriverState,
  def: DomainDef,
  raw: RawDevice,
): Promise<{ ctrl: ControllerDef; parsed: DomainDef }> {
  const type = attr(raw.xml, "type");
  const given = attr(raw.xml, "index");
  // an index already taken is libvirt's "already exists" (the parse would refuse the duplicate)
  if (
    given !== undefined &&
    def.devices.controllers.some((c) => c.type === type && String(c.index) === given)
  ) {
    throw virError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `target ${type}:${given} already exists`);
  }
  const parsed = await parseWithDevice(st, def, raw);
  const had = new Set(def.devices.controllers.map((c) => `${c.type}:${c.index}`));
  const ctrl = parsed.devices.controllers.find((c) => c.type === type && !had.has(`${c.type}:${c.index}`));
  if (!ctrl) {
    const index = attr(raw.xml, "index");
    throw virError(
      ErrorCode.OPERATION_FAILED,
      ErrorDomain.QEMU,
      `target ${type}:${index ?? ""} already exists`,
    );
  }
  return { ctrl, parsed };
}

/** virDomainDiskInsert: after the last disk on the same bus, before any later drive index there. */
export function insertDisk(list: DiskDef[], disk: DiskDef): void {
  let at = -1;
  const idx = diskNameToIndex(disk.target.dev) ?? -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const o = list[i]!;
    if (o.target.bus !== disk.target.bus) continue;
    if ((diskNameToIndex(o.target.dev) ?? -1) > idx) at = i;
    else if (at === -1) at = i + 1;
  }
  if (at < 0) list.push(disk);
  else list.splice(at, 0, disk);
}

/** virDomainNetFindIdx over `list`, with libvirt 9.0's messages. */
export function findNet(
  list: InterfaceDef[],
  m: NetMatch,
  pciOf: (n: InterfaceDef) => string | undefined,
): number {
  const hits: number[] = [];
  list.forEach((n, i) => {
    if (m.mac !== undefined && n.mac !== m.mac) return;
    if (m.alias !== undefined && n.alias !== m.alias) return;
    if (m.pci !== undefined && pciOf(n) !== m.pci) return;
    hits.push(i);
  });
  if (hits.length === 0) {
    const show = (v: string | undefined) => v ?? "(<null>)";
    throw virError(
      ErrorCode.DEVICE_MISSING,
      ErrorDomain.DOMAIN,
      `no device found at address '${show(m.pci)}' matching MAC address '${show(m.mac)}' and alias '${show(m.alias)}'`,
    );
  }
  if (hits.length > 1) {
    throw virError(
      ErrorCode.OPERATION_FAILED,
      ErrorDomain.DOMAIN,
      m.pci !== undefined
        ? `multiple devices matching MAC address ${m.mac} found on ${m.pci}`
        : `multiple devices matching MAC address ${m.mac} found`,
    );
  }
  return hits[0]!;
}
