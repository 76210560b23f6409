// `<devices>`: dispatches each child to its device parser and formats the list back in
// libvirt's fixed per-kind order (virDomainDefFormatInternal), whatever the input order.

import { elements, escapeXml, formatElement, textContent, type XmlElement } from "../../xml/index.js";
import { formatChr, parseChr } from "./devices/chardev.js";
import {
  fillControllerDefaults,
  formatController,
  insertController,
  parseController,
} from "./devices/controller.js";
import { type DiskInsertState, diskInsertState, formatDisk, insertDisk, parseDisk } from "./devices/disk.js";
import { formatGraphics, parseGraphics } from "./devices/graphics.js";
import { formatInput, formatMemballoon, parseInput, parseMemballoon } from "./devices/input.js";
import { formatInterface, parseInterface } from "./devices/interface.js";
import { formatVideo, parseVideo } from "./devices/video.js";
import { canonGeneric, fillGenericDefaults } from "./generic.js";
import type { ControllerDef, DomainDevices } from "./types.js";

/** Generic device kinds, each with the modelled kind it is formatted after (its slot). */
const GENERIC_SLOTS: Record<string, string> = {
  lease: "controller",
  filesystem: "controller",
  smartcard: "interface",
  tpm: "input",
  sound: "graphics",
  audio: "graphics",
  hostdev: "video",
  redirdev: "video",
  redirfilter: "video",
  hub: "video",
  watchdog: "video",
  rng: "memballoon",
  nvram: "memballoon",
  panic: "memballoon",
  shmem: "memballoon",
  memory: "memballoon",
  iommu: "memballoon",
  vsock: "memballoon",
  crypto: "memballoon",
};
/** Generic kinds in their formatting order (within one slot). */
const GENERIC_ORDER = Object.keys(GENERIC_SLOTS);

export function emptyDevices(): DomainDevices {
  // (each list made apart: a literal holding literals is copied in the runtime by baseline code)
  const disks: DomainDevices["disks"] = [];
  const controllers: DomainDevices["controllers"] = [];
  const interfaces: DomainDevices["interfaces"] = [];
  const graphics: DomainDevices["graphics"] = [];
  const videos: DomainDevices["videos"] = [];
  const serials: DomainDevices["serials"] = [];
  const parallels: DomainDevices["parallels"] = [];
  const consoles: DomainDevices["consoles"] = [];
  const channels: DomainDevices["channels"] = [];
  const inputs: DomainDevices["inputs"] = [];
  const other: DomainDevices["other"] = [];
  return {
    disks,
    controllers,
    interfaces,
    graphics,
    videos,
    serials,
    parallels,
    consoles,
    channels,
    inputs,
    other,
  };
}

export function parseDevices(e: XmlElement | undefined, osType: string): DomainDevices {
  const d = emptyDevices();
  if (!e) return d;
  let lastUsb: ControllerDef | undefined;
  let disks: DiskInsertState | undefined;
  for (const c of elements(e)) {
    switch (c.name) {
      case "emulator":
        d.emulator = textContent(c);
        break;
      case "disk":
        insertDisk(d.disks, parseDisk(c), (disks ??= diskInsertState()));
        break;
      case "controller":
        {
          const ctl = parseController(c);
          // An index-less controller takes the next index after those of its type parsed so far;
          // an ICH9 UHCI companion the index of the USB controller parsed just before it.
          if (ctl.index === -1 && ctl.type === "usb" && /^ich9-uhci[123]$/.test(ctl.model ?? "") && lastUsb) {
            ctl.index = lastUsb.index;
          }
          if (ctl.index === -1) {
            ctl.index =
              1 + Math.max(-1, ...d.controllers.filter((o) => o.type === ctl.type).map((o) => o.index));
          }
          if (ctl.type === "usb") lastUsb = ctl;
          // companions get their <master> first, so they sort after their master (as in libvirt's parse)
          fillControllerDefaults(ctl);
          insertController(d.controllers, ctl);
        }
        break;
      case "interface":
        d.interfaces.push(parseInterface(c));
        break;
      case "graphics":
        d.graphics.push(parseGraphics(c));
        break;
      case "video":
        d.videos.push(parseVideo(c));
        break;
      case "serial":
        d.serials.push(parseChr(c));
        break;
      case "parallel":
        d.parallels.push(parseChr(c));
        break;
      case "console":
        d.consoles.push(parseChr(c));
        break;
      case "channel":
        d.channels.push(parseChr(c));
        break;
      case "input":
        d.inputs.push(parseInput(c, osType));
        break;
      case "memballoon":
        if (!d.memballoon) d.memballoon = parseMemballoon(c);
        break;
      default:
        // libvirt ignores elements it does not know; known-but-unmodelled kinds are kept.
        if (c.name in GENERIC_SLOTS) {
          const x = canonGeneric(c, "devices");
          fillGenericDefaults(x);
          d.other.push({ kind: c.name, xml: x });
        }
    }
  }
  return d;
}

/** Generic kinds by slot, each slot's kinds in formatting order (made once). */
const GENERIC_BY_SLOT = new Map<string, string[]>();
for (let i = 0; i < GENERIC_ORDER.length; i++) {
  const kind = GENERIC_ORDER[i]!;
  const slot = GENERIC_SLOTS[kind]!;
  let list = GENERIC_BY_SLOT.get(slot);
  if (!list) GENERIC_BY_SLOT.set(slot, (list = []));
  list.push(kind);
}

/** Formats the kept generic devices of one slot (kind order, then document order) onto `s`. */
function generics(d: DomainDevices, slot: string): string {
  const other = d.other;
  if (other.length === 0) return ""; // the usual case: nothing kept
  const kinds = GENERIC_BY_SLOT.get(slot)!;
  let s = "";
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i];
    for (let j = 0; j < other.length; j++) if (other[j]!.kind === kind) s += formatElement(other[j]!.xml, 2);
  }
  return s;
}

// Each device formatted straight into the <devices> text (at depth 2), rather than collected into
// one element whose children are then formatted: the same text, without the intermediate lists.
function each<T>(list: T[], fmt: (x: T) => XmlElement): string {
  let s = "";
  for (let i = 0; i < list.length; i++) s += formatElement(fmt(list[i]!), 2);
  return s;
}

/** `inactive`: VIR_DOMAIN_XML_INACTIVE (a running domain's live-only values left out). */
export function formatDevices(d: DomainDevices, secure: boolean, inactive = false): string {
  let s = "";
  if (d.emulator !== undefined) s += `    <emulator>${escapeXml(d.emulator)}</emulator>\n`;
  for (let i = 0; i < d.disks.length; i++) s += formatElement(formatDisk(d.disks[i]!, secure), 2);
  s += each(d.controllers, formatController);
  s += generics(d, "controller");
  for (let i = 0; i < d.interfaces.length; i++)
    s += formatElement(formatInterface(d.interfaces[i]!, inactive), 2);
  s += generics(d, "interface");
  for (let i = 0; i < d.serials.length; i++) s += formatElement(formatChr("serial", d.serials[i]!), 2);
  for (let i = 0; i < d.parallels.length; i++) s += formatElement(formatChr("parallel", d.parallels[i]!), 2);
  for (let i = 0; i < d.consoles.length; i++) s += formatElement(formatChr("console", d.consoles[i]!), 2);
  for (let i = 0; i < d.channels.length; i++)
    s += formatElement(formatChr("channel", d.channels[i]!, inactive), 2);
  s += each(d.inputs, formatInput);
  s += generics(d, "input");
  for (let i = 0; i < d.graphics.length; i++)
    s += formatElement(formatGraphics(d.graphics[i]!, secure, inactive), 2);
  s += generics(d, "graphics");
  s += each(d.videos, formatVideo);
  s += generics(d, "video");
  if (d.memballoon) s += formatElement(formatMemballoon(d.memballoon), 2);
  s += generics(d, "memballoon");
  // libvirt always opens and closes <devices>, even when it is empty.
  return `  <devices>\n${s}  </devices>\n`;
}
