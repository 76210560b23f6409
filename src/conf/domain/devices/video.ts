// `<video>`: parse, model defaults (vram, heads, primary) and format (virDomainVideoDef).

import { attr, child, el, elements, type XmlElement } from "../../../xml/index.js";
import { canonGeneric } from "../generic.js";
import { DEVICE_INFO_CHILDREN, formatDeviceInfo, parseDeviceInfo } from "../device-info.js";
import type { VideoDef } from "../types.js";
import { unsupported } from "../errors.js";
import { orderAttrs } from "../xml-util.js";

export const VIDEO_TYPES = [
  "default",
  "vga",
  "cirrus",
  "vmvga",
  "xen",
  "vbox",
  "qxl",
  "parallels",
  "virtio",
  "gop",
  "none",
  "bochs",
  "ramfb",
];
const MODEL_ORDER = ["type", "ram", "vram", "vram64", "vgamem", "heads", "primary", "blob"];

/** Default video RAM in KiB per model (virDomainVideoDefaultRAM). */
function defaultVram(type: string): number | undefined {
  switch (type) {
    case "vga":
    case "cirrus":
    case "vmvga":
    case "bochs":
      return 16384;
    case "xen":
      return 4096;
    case "qxl":
      return 65536;
    case "vbox":
      return 8192;
    default:
      return undefined;
  }
}

export function parseVideo(e: XmlElement): VideoDef {
  const m = child(e, "model");
  let type = "default";
  const attrs: [string, string][] = [];
  let children: XmlElement[] = [];
  if (m) {
    const t = attr(m, "type");
    if (t !== undefined && !VIDEO_TYPES.includes(t)) throw unsupported(`unknown video model '${t}'`);
    type = t ?? "default";
    for (const [k, v] of m.attrs) if (k !== "type") attrs.push([k, v]);
    children = elements(m).map((x) => canonGeneric(x, "model"));
  }
  const v: VideoDef = { model: { type, attrs, children } };
  const drv = child(e, "driver");
  if (drv) v.driver = canonGeneric(drv, "video");
  parseDeviceInfo(e, v, false);
  void DEVICE_INFO_CHILDREN;
  return v;
}

/** Fills the model defaults the test driver applies; `primary` marks the first video. */
export function fillVideoDefaults(v: VideoDef, defaultType: string, primary: boolean): void {
  if (v.model.type === "default") v.model.type = defaultType;
  const get = (k: string) => v.model.attrs.find(([a]) => a === k)?.[1];
  const set = (k: string, val: string) => {
    if (get(k) === undefined) v.model.attrs.push([k, val]);
  };
  if (v.model.type !== "none") {
    const vram = defaultVram(v.model.type);
    if (vram !== undefined) set("vram", String(vram));
    if (v.model.type === "qxl") set("ram", "65536");
    set("heads", "1");
    if (primary) set("primary", "yes");
    // RAM and VRAM sizes are rounded up to a power of two (virDomainVideoDefPostParse)
    v.model.attrs = v.model.attrs.map(([k, val]) => {
      if ((k !== "ram" && k !== "vram") || !/^[0-9]+$/.test(val) || Number(val) === 0) return [k, val];
      let p = 1;
      while (p < Number(val)) p *= 2;
      return [k, String(p)];
    });
  }
  v.model.attrs = orderAttrs(v.model.attrs, MODEL_ORDER);
}

export function formatVideo(v: VideoDef): XmlElement {
  return el(
    "video",
    {},
    v.driver,
    el("model", [["type", v.model.type], ...v.model.attrs], v.model.children),
    formatDeviceInfo(v),
  );
}

export { attr };
