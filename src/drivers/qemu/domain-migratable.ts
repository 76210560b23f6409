// The QEMU driver's `dumpxml --migratable` (VIR_DOMAIN_XML_MIGRATABLE), as libvirtd 9.0 shows it:
// the definition is first copied through its inactive XML (formatted and parsed again, so the
// order of controllers is the one a reparse gives), then what older libvirt added on its own is
// left out so that an older destination accepts the XML: the implicit PS/2 keyboard, the implicit
// audio backend, a lone piix3-uhci USB controller 0, a lone pci-root, and a SPICE display's
// implicit `<listen type='none'/>` (shown as autoport='no' instead). Observed with
// scripts/oracle/qemu-dumpxml-golden.ts (<case>.libvirt-migratable.xml). Pure.
import type { DomainDef } from "../../conf/domain/index.js";
import { attr, type XmlElement } from "../../xml/index.js";
import { restoreOrigCpu } from "./live-cpu.js";
import { isImplicitDacLabel, stripFilledListens, stripGivenChainNumbers } from "./live-state.js";

/** A socket in a run's channel directory (live-state.ts runShortName under qemu/channel/target). */
const CHANNEL_TARGET = /\/qemu\/channel\/target\/domain-[0-9]+-[^/]*\/[^/]+$/;

const isX86 = (arch: string) => arch === "x86_64" || arch === "i686";

/** Strips, in place, what libvirt 9.0 leaves out of a migratable definition (the copy, not the domain's own). */
export function stripForMigration(def: DomainDef): void {
  const d = def.devices;
  // a running domain's CPU as it was before QEMU's view was added (libvirt's origCPU)
  restoreOrigCpu(def);
  // display addresses a running domain's start filled in from the daemon's default
  stripFilledListens(def);
  const usb = d.controllers.filter((c) => c.type === "usb");
  const drop = new Set<object>();
  if (
    usb.length === 1 &&
    usb[0]!.index === 0 &&
    usb[0]!.model === "piix3-uhci" &&
    !isUserAlias(usb[0]!.alias)
  )
    drop.add(usb[0]!);
  const pci = d.controllers.filter((c) => c.type === "pci");
  if (
    pci.length === 1 &&
    pci[0]!.index === 0 &&
    pci[0]!.model === "pci-root" &&
    !isUserAlias(pci[0]!.alias)
  ) {
    // a pci-root with a pcihole64 size stays (it is not the default one)
    if (!pci[0]!.children.some((k) => k.name === "pcihole64")) drop.add(pci[0]!);
  }
  d.controllers = d.controllers.filter((c) => !drop.has(c));
  if (isX86(def.os.arch)) {
    d.inputs = d.inputs.filter(
      (i) => !(i.type === "keyboard" && i.bus === "ps2" && !isUserAlias(i.alias) && i.address === undefined),
    );
  }
  d.other = d.other.filter((o) => !(o.kind === "audio" && isImplicitAudio(def, o.xml)));
  // the DAC label a start gives a running domain (live-state.ts) is the destination's to choose
  if (def.extra.seclabel) {
    def.extra.seclabel = def.extra.seclabel.filter((l) => !isImplicitDacLabel(def, l));
    if (def.extra.seclabel.length === 0) delete def.extra.seclabel;
  }
  // a backing chain read from the images at start (numbered) is the destination's to read again;
  // one the XML gave stays, without its numbers
  stripGivenChainNumbers(def);
  for (const disk of d.disks) {
    if (disk.backingStore && attr(disk.backingStore, "index") !== undefined) delete disk.backingStore;
  }
  // a unix channel's socket in the daemon's channel directory is named again by the destination
  for (const c of d.channels) {
    if (c.type !== "unix") continue;
    c.children = c.children.filter((src) => {
      if (src.name !== "source") return true;
      const path = attr(src, "path");
      if (path === undefined || !CHANNEL_TARGET.test(path)) return true;
      // libvirt then prints no <source> at all unless something besides the mode remains
      src.attrs = src.attrs.filter(([k]) => k !== "path");
      return src.attrs.some(([k]) => k !== "mode") || src.children.some((k) => k.kind === "element");
    });
  }
  for (const g of d.graphics) {
    // a VNC socket shown as socket= leaves out its <listen>, yet the element stays open
    const sock = g.type === "vnc" ? g.attrs.find(([k]) => k === "socket")?.[1] : undefined;
    if (sock !== undefined) {
      const rest = g.children.filter(
        (k) => !(k.name === "listen" && attr(k, "type") === "socket" && attr(k, "socket") === sock),
      );
      g.children = rest.length ? rest : [{ kind: "text", text: "\n    " } as unknown as XmlElement];
    }
    if (g.type !== "spice") continue;
    const listens = g.children.filter((k) => k.name === "listen");
    if (listens.length !== 1 || attr(listens[0]!, "type") !== "none") continue;
    g.children = g.children.filter((k) => k !== listens[0]);
    if (!g.attrs.some(([k]) => k === "autoport")) g.attrs.push(["autoport", "no"]);
  }
}

function isUserAlias(alias: string | undefined): boolean {
  return alias?.startsWith("ua-") === true;
}

/** The `<audio id='1'>` backend the QEMU post-parse adds (none, or spice with SPICE graphics). */
function isImplicitAudio(def: DomainDef, a: XmlElement): boolean {
  if (a.attrs.length !== 2 || attr(a, "id") !== "1") return false;
  if (a.children.some((k) => k.kind === "element")) return false;
  const spice = def.devices.graphics.some((g) => g.type === "spice");
  return attr(a, "type") === (spice ? "spice" : "none");
}
