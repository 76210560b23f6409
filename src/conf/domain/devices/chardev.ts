// Character devices: `<serial>`, `<parallel>`, `<console>`, `<channel>` (virDomainChrDef).
// Sources are kept as elements in libvirt's attribute order; targets are typed per family.

import { isIP } from "node:net";
import { ErrorCode, ErrorDomain, VirError } from "../../../errors/index.js";
import { attr, el, elements, type XmlElement } from "../../../xml/index.js";
import { canonGeneric } from "../generic.js";
import { DEVICE_INFO_CHILDREN, formatDeviceInfo, parseDeviceInfo } from "../device-info.js";
import { unsupported, xmlErr } from "../errors.js";
import type { ChrDef } from "../types.js";
import { enumAttr, orderAttrs } from "../xml-util.js";
import { clonePlain } from "../clone.js";

export const CHR_TYPES = [
  "null",
  "vc",
  "pty",
  "dev",
  "file",
  "pipe",
  "stdio",
  "udp",
  "tcp",
  "unix",
  "spicevmc",
  "spiceport",
  "nmdm",
  "qemu-vdagent",
  "dbus",
];
const SOURCE_ORDER = ["mode", "host", "service", "path", "tls", "append", "channel", "master", "slave"];
const TARGET_TYPES: Record<string, string[]> = {
  serial: [
    "isa-serial",
    "usb-serial",
    "pci-serial",
    "spapr-vio-serial",
    "system-serial",
    "sclp-serial",
    "isa-debug",
  ],
  console: ["serial", "xen", "uml", "virtio", "lxc", "openvz", "sclp", "sclplm"],
  channel: ["guestfwd", "virtio", "xen"],
  parallel: [],
};
const TARGET_ORDER = ["type", "address", "port", "name", "state"];

export function parseChr(e: XmlElement): ChrDef {
  const ta = attr(e, "type");
  if (ta !== undefined && !CHR_TYPES.includes(ta)) {
    throw unsupported(`unknown type presented to host for character device: ${ta}`);
  }
  const type = ta ?? "null";
  const attrs: ChrDef["attrs"] = [];
  const children: ChrDef["children"] = [];
  const d: ChrDef = { type, attrs, children };
  // UDP has a bind and a connect source; libvirt prints bind first.
  const seenMode = new Set<string>();
  const sources = elements(e, "source")
    .sort((a, b) => (attr(a, "mode") === "bind" ? 0 : 1) - (attr(b, "mode") === "bind" ? 0 : 1))
    .filter((s) => {
      // UDP keeps the first source of each mode (virDomainChrSourceDefParseUDP)
      if (type !== "udp") return true;
      const mode = attr(s, "mode") ?? "connect";
      if (seenMode.has(mode)) return false;
      seenMode.add(mode);
      return true;
    });
  for (const s of sources) {
    const c = canonGeneric(s, e.name);
    if (type === "tcp" || type === "unix") {
      const mode = enumAttr(s, "mode", ["bind", "connect"]);
      if (mode === undefined) c.attrs.unshift(["mode", "connect"]);
    }
    c.attrs = orderAttrs(c.attrs, SOURCE_ORDER);
    // Only sockets have a mode.
    if (!["tcp", "unix", "udp"].includes(type)) c.attrs = c.attrs.filter(([k]) => k !== "mode");
    // A pty's path is allocated at start-up: the persistent definition drops it.
    if (type === "pty") c.attrs = c.attrs.filter(([k]) => k !== "path");
    // a unix socket without a path (a virtio channel's gets one at start-up): nothing of it is printed
    if (type === "unix" && attr(c, "path") === undefined && !elements(c).length) continue;
    if (c.attrs.length || c.children.length) d.children.push(c);
  }
  const proto = elements(e, "protocol")[0];
  if (proto) d.children.push(canonGeneric(proto, e.name));
  else if (type === "tcp") d.children.push(el("protocol", { type: "raw" }));
  const log = elements(e, "log")[0];
  if (log) d.children.push(canonGeneric(log, e.name));
  const t = elements(e, "target")[0];
  if (t) {
    const allowed = TARGET_TYPES[e.name] ?? [];
    const tt = attr(t, "type");
    if (tt !== undefined && !allowed.includes(tt)) {
      throw unsupported(`unknown target type '${tt}' specified for character device`);
    }
    d.target = {
      // state='connected' is a running guest agent's status, not configuration.
      attrs: orderAttrs(
        t.attrs
          .filter(([k]) => !(e.name === "channel" && k === "state"))
          .map(([k, v]) => [k, v] as [string, string]),
        TARGET_ORDER,
      ),
      children: elements(t).map((x) => canonGeneric(x, "target")),
    };
  }
  if (d.target && targetAttr(d, "type") === "guestfwd") {
    const a = targetAttr(d, "address");
    if (a !== undefined && isIP(a) === 0) {
      throw new VirError({
        code: ErrorCode.SYSTEM_ERROR,
        domain: ErrorDomain.NONE,
        message: `Cannot parse socket address '${a}': Name or service not known`,
      });
    }
  }
  if (e.name === "channel") {
    const tt = d.target ? d.target.attrs.find(([k]) => k === "type")?.[1] : undefined;
    if (tt === undefined) throw xmlErr("target type must be specified for channel device");
  }
  for (const k of elements(e)) {
    if (["source", "protocol", "log", "target", ...DEVICE_INFO_CHILDREN].includes(k.name)) continue;
    d.children.push(canonGeneric(k, e.name));
  }
  parseDeviceInfo(e, d, false);
  return d;
}

export function targetAttr(d: ChrDef, k: string): string | undefined {
  return d.target?.attrs.find(([a]) => a === k)?.[1];
}

export function setTargetAttr(d: ChrDef, k: string, v: string): void {
  if (!d.target) d.target = { attrs: [], children: [] };
  const i = d.target.attrs.findIndex(([a]) => a === k);
  if (i >= 0) d.target.attrs[i] = [k, v];
  else d.target.attrs.push([k, v]);
  d.target.attrs = orderAttrs(d.target.attrs, TARGET_ORDER);
}

/**
 * `inactive` (VIR_DOMAIN_XML_INACTIVE): a channel's target state= (whether the guest has the port
 * open, which a start fills in) is left out, as libvirt leaves it out of the inactive XML.
 */
export function formatChr(kind: string, d: ChrDef, inactive = false): XmlElement {
  const t = d.target;
  const tattrs = t && inactive && kind === "channel" ? t.attrs.filter(([k]) => k !== "state") : t?.attrs;
  return el(
    kind,
    [["type", d.type], ...d.attrs],
    d.children,
    t && el("target", tattrs, ...t.children),
    formatDeviceInfo(d),
  );
}

/** Deep copy used when a console mirrors a serial port. */
export function cloneChr(d: ChrDef): ChrDef {
  return clonePlain(d);
}
