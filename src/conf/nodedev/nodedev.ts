// Node device XML ⇄ NodeDeviceDef as libvirt 9.0's node_device_conf.c prints it. Unmodelled
// capability types round-trip verbatim. No I/O: sysfs probing belongs to the node driver.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import {
  attr,
  child,
  childText,
  elements,
  formatElement,
  textContent,
  type XmlElement,
} from "../../xml/index.js";
import { a, esc, parseRoot, XmlBuf } from "../network/conf-xml.js";
import type { NodeDevCap, NodeDeviceDef, PciAddr } from "./types.js";

const ND = ErrorDomain.NODEDEV;
const internal = (msg: string) => virError(ErrorCode.INTERNAL_ERROR, ND, msg);

function num(e: XmlElement, name: string, dev: string, hexOk = true): number {
  const s = childText(e, name)?.trim();
  if (s === undefined) throw internal(`no ${name} supplied for '${dev}'`);
  const v =
    hexOk && /^0[xX][0-9a-fA-F]+$/.test(s)
      ? Number.parseInt(s, 16)
      : /^[0-9]+$/.test(s)
        ? Number(s)
        : Number.NaN;
  if (Number.isNaN(v)) throw internal(`invalid ${name} supplied for '${dev}'`);
  return v;
}

function optNum(e: XmlElement, name: string, dev: string): number | undefined {
  return child(e, name) ? num(e, name, dev) : undefined;
}

function idName(e: XmlElement | undefined, what: string, dev: string): { id: number; name?: string } {
  const id = e ? attr(e, "id") : undefined;
  if (!e || id === undefined || !/^(0[xX])?[0-9a-fA-F]+$/.test(id))
    throw internal(`invalid ${what} ID supplied for '${dev}'`);
  const text = textContent(e);
  return { id: Number.parseInt(id.replace(/^0[xX]/, ""), 16), name: text.trim() === "" ? undefined : text };
}

function pciAddrAttrs(e: XmlElement): PciAddr {
  const h = (n: string) => Number.parseInt((attr(e, n) ?? "0").replace(/^0[xX]/, ""), 16) || 0;
  return { domain: h("domain"), bus: h("bus"), slot: h("slot"), function: h("function") };
}

function parseCap(e: XmlElement, dev: string): NodeDevCap {
  const type = attr(e, "type");
  if (type === undefined) throw internal(`missing capability type for '${dev}'`);
  switch (type) {
    case "system": {
      const hw = child(e, "hardware");
      const fw = child(e, "firmware");
      return {
        type,
        product: childText(e, "product"),
        hardware: hw && {
          vendor: childText(hw, "vendor"),
          version: childText(hw, "version"),
          serial: childText(hw, "serial"),
          uuid: childText(hw, "uuid"),
        },
        firmware: fw && {
          vendor: childText(fw, "vendor"),
          version: childText(fw, "version"),
          releaseDate: childText(fw, "release_date"),
        },
      };
    }
    case "pci": {
      const cls = childText(e, "class");
      const ig = child(e, "iommuGroup");
      const numa = child(e, "numa");
      return {
        type,
        class: cls === undefined ? undefined : Number.parseInt(cls.replace(/^0[xX]/, ""), 16),
        addr: {
          domain: num(e, "domain", dev),
          bus: num(e, "bus", dev),
          slot: num(e, "slot", dev),
          function: num(e, "function", dev),
        },
        product: idName(child(e, "product"), "product", dev),
        vendor: idName(child(e, "vendor"), "vendor", dev),
        iommuGroup: ig && {
          number: Number(attr(ig, "number") ?? 0),
          addresses: elements(ig, "address").map(pciAddrAttrs),
        },
        numaNode: numa && attr(numa, "node") !== undefined ? Number(attr(numa, "node")) : undefined,
      };
    }
    case "usb_device":
      return {
        type,
        bus: num(e, "bus", dev, false),
        device: num(e, "device", dev, false),
        product: idName(child(e, "product"), "product", dev),
        vendor: idName(child(e, "vendor"), "vendor", dev),
      };
    case "usb":
      return {
        type,
        number: num(e, "number", dev, false),
        class: num(e, "class", dev, false),
        subclass: num(e, "subclass", dev, false),
        protocol: num(e, "protocol", dev, false),
        description: childText(e, "description"),
      };
    case "net": {
      const iface = childText(e, "interface");
      if (!iface) throw internal(`network interface has no name for '${dev}'`);
      const link = child(e, "link");
      const sub = elements(e, "capability")
        .map((c) => attr(c, "type"))
        .find((t) => t === "80203" || t === "80211") as "80203" | "80211" | undefined;
      return {
        type,
        iface,
        address: childText(e, "address"),
        link: link && {
          speed: attr(link, "speed") ? Number(attr(link, "speed")) : undefined,
          state: attr(link, "state"),
        },
        features: elements(e, "feature")
          .map((f) => attr(f, "name"))
          .filter((n): n is string => n !== undefined),
        subtype: sub,
      };
    }
    case "scsi_host": {
      const cap: NodeDevCap = {
        type,
        host: child(e, "host") ? num(e, "host", dev, false) : undefined,
        uniqueId: optNum(e, "unique_id", dev),
      };
      for (const c of elements(e, "capability")) {
        const t = attr(c, "type");
        if (t === "fc_host")
          cap.fcHost = {
            wwnn: childText(c, "wwnn"),
            wwpn: childText(c, "wwpn"),
            fabricWwn: childText(c, "fabric_wwn"),
          };
        else if (t === "vport_ops")
          cap.vportOps = {
            maxVports: optNum(c, "max_vports", dev) ?? 0,
            vports: optNum(c, "vports", dev) ?? 0,
          };
      }
      return cap;
    }
    case "scsi_target": {
      const target = childText(e, "target");
      if (!target) throw internal(`no target name supplied for '${dev}'`);
      return { type, target };
    }
    case "scsi":
      return {
        type,
        host: num(e, "host", dev, false),
        bus: num(e, "bus", dev, false),
        target: num(e, "target", dev, false),
        lun: num(e, "lun", dev, false),
        scsiType: childText(e, "type"),
      };
    case "storage": {
      const size = childText(e, "size");
      return {
        type,
        block: childText(e, "block"),
        bus: childText(e, "bus"),
        driveType: childText(e, "drive_type"),
        model: childText(e, "model"),
        vendor: childText(e, "vendor"),
        serial: childText(e, "serial"),
        size: size !== undefined && /^[0-9]+$/.test(size.trim()) ? BigInt(size.trim()) : undefined,
      };
    }
    case "drm":
      return { type, drmType: childText(e, "type") ?? "primary" };
    default:
      return { type: "raw", element: e };
  }
}

/** Parses `<device>` XML (virNodeDeviceDefParseString). */
export function parseNodeDeviceXML(xml: string): NodeDeviceDef {
  const root = parseRoot(xml, "device", "(node_device_definition)", ND);
  const name = childText(root, "name")?.trim() || "new device";
  const def: NodeDeviceDef = { name, devnodes: [], caps: [] };
  def.path = childText(root, "path");
  for (const d of elements(root, "devnode")) {
    const t = attr(d, "type");
    if (t !== "dev" && t !== "link") throw internal(`unknown devnode type '${t ?? ""}'`);
    def.devnodes.push({ type: t, path: textContent(d) });
  }
  const p = child(root, "parent");
  if (p) {
    def.parent = textContent(p).trim() || undefined;
    def.parentWwnn = attr(p, "wwnn");
    def.parentWwpn = attr(p, "wwpn");
    def.parentFabricWwn = attr(p, "fabric_wwn");
  }
  const drv = child(root, "driver");
  if (drv) def.driver = childText(drv, "name");
  const caps = elements(root, "capability");
  if (caps.length === 0) throw internal(`no device capabilities for '${name}'`);
  for (const c of caps) def.caps.push(parseCap(c, name));
  return def;
}

const hx = (n: number, w: number) => `0x${n.toString(16).padStart(w, "0")}`;

function idLine(buf: XmlBuf, tag: string, v: { id: number; name?: string }): void {
  if (v.name !== undefined) buf.line(`<${tag} id='${hx(v.id, 4)}'>${esc(v.name)}</${tag}>`);
  else buf.line(`<${tag} id='${hx(v.id, 4)}'/>`);
}

function opt(buf: XmlBuf, tag: string, v: string | number | bigint | undefined): void {
  if (v !== undefined) buf.line(`<${tag}>${esc(String(v))}</${tag}>`);
}

function formatCap(buf: XmlBuf, c: NodeDevCap): void {
  if (c.type === "raw") {
    buf.raw(formatElement(c.element));
    return;
  }
  buf.block("capability", ` type='${c.type}'`, () => {
    switch (c.type) {
      case "system":
        opt(buf, "product", c.product);
        if (c.hardware) {
          const hw = c.hardware;
          buf.block("hardware", "", () => {
            opt(buf, "vendor", hw.vendor);
            opt(buf, "version", hw.version);
            opt(buf, "serial", hw.serial);
            opt(buf, "uuid", hw.uuid);
          });
        }
        if (c.firmware) {
          const fw = c.firmware;
          buf.block("firmware", "", () => {
            opt(buf, "vendor", fw.vendor);
            opt(buf, "version", fw.version);
            opt(buf, "release_date", fw.releaseDate);
          });
        }
        break;
      case "pci":
        if (c.class !== undefined) buf.line(`<class>${hx(c.class, 6)}</class>`);
        opt(buf, "domain", c.addr.domain);
        opt(buf, "bus", c.addr.bus);
        opt(buf, "slot", c.addr.slot);
        opt(buf, "function", c.addr.function);
        idLine(buf, "product", c.product);
        idLine(buf, "vendor", c.vendor);
        if (c.iommuGroup) {
          const group = c.iommuGroup;
          buf.block("iommuGroup", ` number='${group.number}'`, () => {
            for (const ad of group.addresses) {
              buf.line(
                `<address domain='${hx(ad.domain, 4)}' bus='${hx(ad.bus, 2)}' slot='${hx(ad.slot, 2)}' function='${hx(ad.function, 1)}'/>`,
              );
            }
          });
        }
        if (c.numaNode !== undefined) buf.line(`<numa node='${c.numaNode}'/>`);
        break;
      case "usb_device":
        opt(buf, "bus", c.bus);
        opt(buf, "device", c.device);
        idLine(buf, "product", c.product);
        idLine(buf, "vendor", c.vendor);
        break;
      case "usb":
        opt(buf, "number", c.number);
        opt(buf, "class", c.class);
        opt(buf, "subclass", c.subclass);
        opt(buf, "protocol", c.protocol);
        opt(buf, "description", c.description);
        break;
      case "net":
        opt(buf, "interface", c.iface);
        opt(buf, "address", c.address);
        if (c.link) buf.line(`<link${a("speed", c.link.speed)}${a("state", c.link.state ?? "unknown")}/>`);
        for (const f of c.features) buf.line(`<feature name='${esc(f)}'/>`);
        if (c.subtype) buf.line(`<capability type='${c.subtype}'/>`);
        break;
      case "scsi_host":
        opt(buf, "host", c.host);
        opt(buf, "unique_id", c.uniqueId);
        if (c.fcHost) {
          const fc = c.fcHost;
          buf.block("capability", " type='fc_host'", () => {
            opt(buf, "wwnn", fc.wwnn);
            opt(buf, "wwpn", fc.wwpn);
            opt(buf, "fabric_wwn", fc.fabricWwn);
          });
        }
        if (c.vportOps) {
          const ops = c.vportOps;
          buf.block("capability", " type='vport_ops'", () => {
            opt(buf, "max_vports", ops.maxVports);
            opt(buf, "vports", ops.vports);
          });
        }
        break;
      case "scsi_target":
        opt(buf, "target", c.target);
        break;
      case "scsi":
        opt(buf, "host", c.host);
        opt(buf, "bus", c.bus);
        opt(buf, "target", c.target);
        opt(buf, "lun", c.lun);
        opt(buf, "type", c.scsiType);
        break;
      case "storage":
        opt(buf, "block", c.block);
        opt(buf, "bus", c.bus);
        opt(buf, "drive_type", c.driveType);
        opt(buf, "model", c.model);
        opt(buf, "vendor", c.vendor);
        opt(buf, "serial", c.serial);
        opt(buf, "size", c.size);
        break;
      case "drm":
        opt(buf, "type", c.drmType);
        break;
    }
  });
}

/** Formats a node device as `virsh nodedev-dumpxml` shows it. */
export function formatNodeDeviceXML(def: NodeDeviceDef): string {
  const buf = new XmlBuf();
  buf.block("device", "", () => {
    buf.line(`<name>${esc(def.name)}</name>`);
    opt(buf, "path", def.path);
    for (const d of def.devnodes) buf.line(`<devnode type='${d.type}'>${esc(d.path)}</devnode>`);
    if (def.parent !== undefined || def.parentWwnn !== undefined || def.parentFabricWwn !== undefined) {
      const attrs = `${a("wwnn", def.parentWwnn)}${a("wwpn", def.parentWwpn)}${a("fabric_wwn", def.parentFabricWwn)}`;
      if (def.parent !== undefined) buf.line(`<parent${attrs}>${esc(def.parent)}</parent>`);
      else buf.line(`<parent${attrs}/>`);
    }
    const driver = def.driver;
    if (driver !== undefined) buf.block("driver", "", () => buf.line(`<name>${esc(driver)}</name>`));
    for (const c of def.caps) formatCap(buf, c);
  });
  return buf.toString();
}
