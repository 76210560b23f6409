// `<input>` and `<memballoon>`: small devices with a type/model and optional children.

import { attr, el, elements, type XmlElement } from "../../../xml/index.js";
import { canonGeneric } from "../generic.js";
import { DEVICE_INFO_CHILDREN, formatDeviceInfo, parseDeviceInfo } from "../device-info.js";
import { CHILD_ORDER_BY_PATH } from "../child-order.js";
import { sortChildren } from "../normalize.js";
import { internalErr, missingAttr, unsupported, xmlErr } from "../errors.js";
import type { InputDef, MemballoonDef } from "../types.js";
import { enumAttr } from "../xml-util.js";

const INPUT_TYPES = ["mouse", "tablet", "keyboard", "passthrough", "evdev"];
const INPUT_BUSES = ["ps2", "usb", "xen", "parallels", "virtio", "none"];

export function parseInput(e: XmlElement, osType: string): InputDef {
  const type = attr(e, "type");
  if (type === undefined) throw xmlErr("missing input device type");
  if (!INPUT_TYPES.includes(type)) throw unsupported(`unknown input device type '${type}'`);
  let bus = attr(e, "bus");
  if (bus !== undefined && !INPUT_BUSES.includes(bus)) throw unsupported(`unknown input bus type '${bus}'`);
  if (bus === undefined && osType === "hvm") {
    if (type === "mouse" || type === "keyboard") bus = "ps2";
    else if (type === "tablet") bus = "usb";
    else if (type === "passthrough") bus = "virtio";
  }
  if (osType === "hvm") {
    if (bus === "ps2" && type !== "mouse" && type !== "keyboard") {
      throw internalErr(`ps2 bus does not support ${type} input device`);
    }
    if (bus === "xen") throw internalErr(`unsupported input bus ${bus}`);
  }
  const attrs: InputDef["attrs"] = [];
  const children: InputDef["children"] = [];
  const d: InputDef = { type, attrs, children };
  if (bus !== undefined) d.bus = bus;
  for (const [k, v] of e.attrs) if (k !== "type" && k !== "bus") d.attrs.push([k, v]);
  for (const c of elements(e))
    if (!DEVICE_INFO_CHILDREN.includes(c.name)) d.children.push(canonGeneric(c, e.name));
  parseDeviceInfo(e, d, false);
  return d;
}

export function formatInput(d: InputDef): XmlElement {
  const attrs: [string, unknown][] = [["type", d.type]];
  if (d.bus) attrs.push(["bus", d.bus]);
  for (let i = 0; i < d.attrs.length; i++) attrs.push(d.attrs[i]!);
  return el("input", attrs, d.children, formatDeviceInfo(d));
}

export function parseMemballoon(e: XmlElement): MemballoonDef {
  const model = enumAttr(e, "model", [
    "virtio",
    "xen",
    "none",
    "virtio-transitional",
    "virtio-non-transitional",
  ]);
  if (model === undefined) throw missingAttr("model", "memballoon");
  const attrs: MemballoonDef["attrs"] = [];
  const children: MemballoonDef["children"] = [];
  const d: MemballoonDef = { model, attrs, children };
  for (const k of ["autodeflate", "freePageReporting"]) {
    const v = enumAttr(e, k, ["on", "off"]);
    if (v !== undefined) d.attrs.push([k, v]);
  }
  for (const c of elements(e))
    if (!DEVICE_INFO_CHILDREN.includes(c.name)) d.children.push(canonGeneric(c, e.name));
  parseDeviceInfo(e, d, false);
  sortChildren(d as unknown as XmlElement, CHILD_ORDER_BY_PATH["devices/memballoon"]!);
  return d;
}

export function formatMemballoon(d: MemballoonDef): XmlElement {
  // <stats>, the device info, then the virtio <driver> options (virDomainMemballoonDefFormat)
  const attrs: [string, unknown][] = [["model", d.model]];
  for (let i = 0; i < d.attrs.length; i++) attrs.push(d.attrs[i]!);
  if (d.children.length === 0) return el("memballoon", attrs, formatDeviceInfo(d));
  const drv = d.children.filter((k) => k.name === "driver");
  const rest = d.children.filter((k) => k.name !== "driver");
  return el("memballoon", attrs, rest, formatDeviceInfo(d), drv);
}
