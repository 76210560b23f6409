// The QEMU driver's post-parse (libvirt's qemuDomainDefPostParse, reduced): host arch when the
// XML names none, machine alias → versioned machine, emulator path, default USB and balloon. Pure.
import type { DomainDef } from "../../conf/domain/index.js";
import { attr, child, parseXml } from "../../xml/index.js";
import { type QemuCaps, resolveMachine } from "./capabilities.js";
import { unsupported } from "./command-util.js";

/** True when the domain XML gives `<os><type arch=...>` (the generic parser fills i686 otherwise). */
export function xmlNamesArch(xml: string): boolean {
  const root = parseXml(xml, {});
  const os = child(root, "os");
  const type = os ? child(os, "type") : undefined;
  return type !== undefined && attr(type, "arch") !== undefined;
}

export function qemuPostParse(def: DomainDef, caps: QemuCaps, archGiven: boolean): void {
  if (!archGiven) def.os.arch = caps.arch;
  const wanted = def.os.machine ?? "pc";
  const m = resolveMachine(caps, wanted);
  if (!m) throw unsupported(`Emulator '${caps.binary}' does not support machine type '${wanted}'`);
  def.os.machine = m.name;
  def.devices.emulator ??= caps.binary;
  const q35 = m.name.startsWith("pc-q35");
  const pc = m.name.startsWith("pc-i440fx");
  const d = def.devices;
  // libvirt's QEMU defaults for x86 PC machines: a USB controller and a virtio balloon unless the
  // XML says otherwise (<controller type='usb' model='none'/>, <memballoon model='none'/>).
  if ((q35 || pc) && !d.controllers.some((c) => c.type === "usb")) {
    d.controllers.push({
      type: "usb",
      index: 0,
      model: q35 ? "qemu-xhci" : "piix3-uhci",
      attrs: [],
      children: [],
    });
  }
  if ((q35 || pc) && !d.memballoon) d.memballoon = { model: "virtio", attrs: [], children: [] };
}
