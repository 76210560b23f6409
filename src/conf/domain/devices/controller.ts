// `<controller>`: parse, format, and libvirt's insertion order (same-type controllers sorted by
// index, others appended: virDomainControllerInsertPreAlloced).

import { attr, child, el, elements, type XmlElement } from "../../../xml/index.js";
import { canonGeneric } from "../generic.js";
import { DEVICE_INFO_CHILDREN, formatDeviceInfo, parseDeviceInfo } from "../device-info.js";
import { unsupported, xmlErr } from "../errors.js";
import type { ControllerDef } from "../types.js";
import { enumAttr } from "../xml-util.js";

export const CONTROLLER_TYPES = [
  "ide",
  "fdc",
  "scsi",
  "sata",
  "virtio-serial",
  "ccid",
  "usb",
  "pci",
  "xenbus",
  "isa",
];
const ATTR_ORDER = ["ports", "vectors", "maxGrantFrames", "maxEventChannels"];
const CHILD_ORDER = ["model", "target", "driver", "pcihole64", "master"];

/** Models each controller type accepts (virDomainController*Model enums, libvirt 9.0). */
const MODELS: Record<string, string[]> = {
  ide: ["piix3", "piix4", "ich6"],
  scsi: [
    "auto",
    "buslogic",
    "lsilogic",
    "lsisas1068",
    "vmpvscsi",
    "ibmvscsi",
    "virtio-scsi",
    "lsisas1078",
    "virtio-transitional",
    "virtio-non-transitional",
    "ncr53c90",
    "am53c974",
    "dc390",
  ],
  usb: [
    "piix3-uhci",
    "piix4-uhci",
    "ehci",
    "ich9-ehci1",
    "ich9-uhci1",
    "ich9-uhci2",
    "ich9-uhci3",
    "vt82c686b-uhci",
    "pci-ohci",
    "nec-xhci",
    "qusb1",
    "qusb2",
    "qemu-xhci",
    "none",
  ],
  pci: [
    "pci-root",
    "pcie-root",
    "pci-bridge",
    "dmi-to-pci-bridge",
    "pcie-root-port",
    "pcie-switch-upstream-port",
    "pcie-switch-downstream-port",
    "pci-expander-bus",
    "pcie-expander-bus",
    "pcie-to-pci-bridge",
  ],
  "virtio-serial": ["virtio", "virtio-transitional", "virtio-non-transitional"],
  fdc: [],
  ccid: [],
};

export function parseController(e: XmlElement): ControllerDef {
  const type = enumAttr(e, "type", CONTROLLER_TYPES) ?? "ide";
  const idx = attr(e, "index");
  let index = -1;
  if (idx !== undefined) {
    if (!/^[0-9]+$/.test(idx)) throw xmlErr(`Cannot parse controller index ${idx}`);
    index = Number(idx);
  }
  const attrs: ControllerDef["attrs"] = [];
  const children: ControllerDef["children"] = [];
  const c: ControllerDef = { type, index, attrs, children };
  const model = attr(e, "model");
  if (model !== undefined && MODELS[type] && !MODELS[type]!.includes(model)) {
    throw unsupported(`Unknown model type '${model}'`);
  }
  if (model !== undefined) c.model = model;
  // an I/O thread serves a virtio-scsi controller only (virDomainControllerDriverParse)
  const drv = child(e, "driver");
  if (
    drv &&
    attr(drv, "iothread") !== undefined &&
    !(type === "scsi" && model !== undefined && model.startsWith("virtio"))
  )
    throw xmlErr("'iothread' attribute only supported for virtio scsi controllers");
  for (const k of ATTR_ORDER) {
    const v = attr(e, k);
    if (v !== undefined) c.attrs.push([k, v]);
  }
  const kids = elements(e).filter((k) => !DEVICE_INFO_CHILDREN.includes(k.name));
  for (const n of CHILD_ORDER)
    for (const k of kids) if (k.name === n) c.children.push(canonGeneric(k, "controller"));
  for (const k of kids) if (!CHILD_ORDER.includes(k.name)) c.children.push(canonGeneric(k, "controller"));
  parseDeviceInfo(e, c, false);
  return c;
}

/**
 * Inserts `c` as libvirt does (virDomainControllerInsertPreAlloced): before the first same-type
 * controller with a higher index, else just after the last one of its type, else at the end.
 */
export function insertController(list: ControllerDef[], c: ControllerDef): void {
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    if (cur.type !== c.type) continue;
    if (cur.index > c.index) at = i;
    else if (!isCompanion(c) && isCompanion(cur) && cur.index === c.index) at = i;
    else if (at === -1) at = i + 1;
  }
  if (at < 0) list.push(c);
  else list.splice(at, 0, c);
}

/** A USB companion controller names its master with `<master startport>`. */
function isCompanion(c: ControllerDef): boolean {
  return c.children.some((k) => k.name === "master");
}

/** ICH9 UHCI companions default to their EHCI master's ports 0, 2 and 4. */
export function fillControllerDefaults(c: ControllerDef): void {
  const m = /^ich9-uhci([123])$/.exec(c.model ?? "");
  if (c.type === "usb" && m && !isCompanion(c)) {
    c.children.push(el("master", { startport: (Number(m[1]) - 1) * 2 }));
  }
}

/** Gives controllers without an index the first free one of their type. */
export function assignControllerIndexes(list: ControllerDef[]): void {
  for (const c of list) {
    if (c.index !== -1) continue;
    let n = 0;
    while (list.some((o) => o !== c && o.type === c.type && o.index === n)) n++;
    c.index = n;
  }
}

export function formatController(c: ControllerDef): XmlElement {
  // A USB controller of model none is not a device: libvirt prints no alias or address for it.
  const info = c.type === "usb" && c.model === "none" ? [] : formatDeviceInfo(c);
  // <master> is part of libvirt's device-info tail: after <alias> (live XML), before the address.
  const master = c.children.length === 0 ? c.children : c.children.filter((k) => k.name === "master");
  if (master.length > 0) {
    const tail = info.findIndex((k) => k.name !== "boot" && k.name !== "alias");
    info.splice(tail < 0 ? info.length : tail, 0, ...master);
  }
  const attrs: [string, unknown][] = [
    ["type", c.type],
    ["index", String(c.index)],
  ];
  if (c.model !== undefined) attrs.push(["model", c.model]);
  for (let i = 0; i < c.attrs.length; i++) attrs.push(c.attrs[i]!);
  return el(
    "controller",
    attrs,
    master.length > 0 ? c.children.filter((k) => k.name !== "master") : c.children,
    info,
  );
}
