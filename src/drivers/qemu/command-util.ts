// Helpers shared by the QEMU argv builders: option escaping, JSON device args, PCI addresses,
// and the CONFIG_UNSUPPORTED error every builder raises for configuration it cannot express.
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import type { DeviceAddress, DomainDef } from "../../conf/domain/index.js";
import { attr, child, elements, textContent, type XmlElement } from "../../xml/index.js";
import type { QemuCaps } from "./capabilities.js";

export function unsupported(detail: string): VirError {
  return virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, detail);
}

/** QEMU's key=value option parser treats "," as a separator; a literal comma is written ",,". */
export function qemuEscape(v: string): string {
  return v.replace(/,/g, ",,");
}

/** Per-build state: the argv being built and facts the device builders share. */
export interface BuildContext {
  def: DomainDef;
  caps: QemuCaps;
  argv: string[];
  q35: boolean;
  /** bootindex per device key ("disk:N", "net:N"). */
  bootIndex: Map<string, number>;
  /** Controller ids present, e.g. "usb", "virtio-serial0", "scsi0", "ide". */
  buses: Set<string>;
  /** The domain's directory for file-backed RAM (CommandRuntime.memoryDir). */
  memoryDir?: string;
}

export function add(ctx: BuildContext, ...args: string[]): void {
  ctx.argv.push(...args);
}

/** Adds `-device {json}` (QEMU ≥ 6.2 accepts JSON for -device, qemu-options.hx). */
/** QEMU device aliases libvirt uses, and the QOM type the binary lists for each. */
const DEVICE_ALIASES: Record<string, string> = { lsi: "lsi53c895a", ahci: "ich9-ahci" };

export function addDevice(ctx: BuildContext, props: Record<string, unknown>): void {
  const driver = String(props.driver);
  if (!ctx.caps.devices.includes(DEVICE_ALIASES[driver] ?? driver)) {
    throw unsupported(`this QEMU binary does not support device '${String(props.driver)}'`);
  }
  // a bigint (a 64-bit WWN) is written as a plain JSON number, exactly
  const json = JSON.stringify(props, (_k, v) => (typeof v === "bigint" ? `\u0000big:${v}` : v));
  ctx.argv.push("-device", json.replace(/"\\u0000big:(\d+)"/g, "$1"));
}

/** Turns a `<address type='pci'>` into bus/addr properties; other or no address → QEMU assigns. */
export function pciProps(ctx: BuildContext, a: DeviceAddress | undefined): Record<string, unknown> {
  if (!a) return {};
  if (a.type !== "pci") throw unsupported(`address type '${a.type}' is not supported for this device`);
  const get = (k: string) => Number(a.attrs.find(([n]) => n === k)?.[1] ?? 0);
  const domain = get("domain");
  if (domain !== 0) throw unsupported("PCI domains other than 0 are not supported");
  const bus = get("bus");
  const slot = get("slot");
  const fn = get("function");
  const multi = a.attrs.find(([n]) => n === "multifunction")?.[1] === "on";
  // libvirt's property order: bus, multifunction, addr
  const out: Record<string, unknown> = { bus: bus === 0 ? (ctx.q35 ? "pcie.0" : "pci.0") : `pci.${bus}` };
  if (multi) out.multifunction = true;
  out.addr = fn === 0 ? `0x${slot.toString(16)}` : `0x${slot.toString(16)}.0x${fn.toString(16)}`;
  return out;
}

export function elementChildren(e: XmlElement | undefined): XmlElement[] {
  return e ? elements(e) : [];
}

export { attr, child, textContent };
