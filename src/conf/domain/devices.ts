// `<devices>`: dispatches each child to its device parser and formats the list back in
// libvirt's fixed per-kind order (virDomainDefFormatInternal), whatever the input order.

import { el, elements, formatElement, textContent, type XmlElement } from "../../xml/index.js";
import { formatChr, parseChr } from "./devices/chardev.js";
import {
  fillControllerDefaults,
  formatController,
  insertController,
  parseController,
} from "./devices/controller.js";
import { formatDisk, insertDisk, parseDisk } from "./devices/disk.js";
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
  return {
    disks: [],
    controllers: [],
    interfaces: [],
    graphics: [],
    videos: [],
    serials: [],
    parallels: [],
    consoles: [],
    channels: [],
    inputs: [],
    other: [],
  };
}

export function parseDevices(e: XmlElement | undefined, osType: string): DomainDevices {
  const d = emptyDevices();
  if (!e) return d;
  let lastUsb: ControllerDef | undefined;
  for (const c of elements(e)) {
    switch (c.name) {
      case "emulator":
        d.emulator = textContent(c);
        break;
      case "disk":
        insertDisk(d.disks, parseDisk(c));
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

function generics(d: DomainDevices, slot: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const kind of GENERIC_ORDER) {
    if (GENERIC_SLOTS[kind] !== slot) continue;
    for (const g of d.other) if (g.kind === kind) out.push(g.xml);
  }
  return out;
}

export function formatDevices(d: DomainDevices, secure: boolean): string {
  const kids = [
    d.emulator !== undefined && el("emulator", {}, d.emulator),
    d.disks.map(formatDisk),
    d.controllers.map(formatController),
    generics(d, "controller"),
    d.interfaces.map(formatInterface),
    generics(d, "interface"),
    d.serials.map((s) => formatChr("serial", s)),
    d.parallels.map((s) => formatChr("parallel", s)),
    d.consoles.map((s) => formatChr("console", s)),
    d.channels.map((s) => formatChr("channel", s)),
    d.inputs.map(formatInput),
    generics(d, "input"),
    d.graphics.map((g) => formatGraphics(g, secure)),
    generics(d, "graphics"),
    d.videos.map(formatVideo),
    generics(d, "video"),
    d.memballoon && formatMemballoon(d.memballoon),
    generics(d, "memballoon"),
  ];
  const out = formatElement(el("devices", {}, ...kids), 1);
  // libvirt always opens and closes <devices>, even when it is empty.
  return out === "  <devices/>\n" ? "  <devices>\n  </devices>\n" : out;
}
