// Test driver node-device table: list (with capability filters), lookup, XML, parent and
// capabilities, and the mock vHBA create/destroy of libvirt's test driver.

import { formatNodeDeviceXML, parseNodeDeviceXML } from "../../conf/nodedev/index.js";
import type { NodeDeviceDriver, NodeDeviceRef } from "../../driver/index.js";
import {
  VIR_CONNECT_LIST_NODE_DEVICES_CAP as CAP,
  VIR_NODE_DEVICE_EVENT,
  VIR_NODE_DEVICE_EVENT_ID,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import {
  attr,
  child,
  childText,
  elements,
  formatElement,
  parseXml,
  type XmlElement,
} from "../../xml/index.js";
import { deregisterCallback, registerCallback, type TestCtx } from "./ctx.js";
import { checkFlags, testError } from "./errors.js";
import type { TestNodeDev } from "./node.js";

/** Capability name for each VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bit. */
const CAP_NAMES: [number, string][] = [
  [CAP.SYSTEM, "system"],
  [CAP.PCI_DEV, "pci"],
  [CAP.USB_DEV, "usb_device"],
  [CAP.USB_INTERFACE, "usb"],
  [CAP.NET, "net"],
  [CAP.SCSI_HOST, "scsi_host"],
  [CAP.SCSI_TARGET, "scsi_target"],
  [CAP.SCSI, "scsi"],
  [CAP.STORAGE, "storage"],
  [CAP.FC_HOST, "fc_host"],
  [CAP.VPORTS, "vports"],
  [CAP.SCSI_GENERIC, "scsi_generic"],
  [CAP.DRM, "drm"],
  [CAP.MDEV_TYPES, "mdev_types"],
  [CAP.MDEV, "mdev"],
  [CAP.CCW_DEV, "ccw"],
  [CAP.CSS_DEV, "css"],
  [CAP.VDPA, "vdpa"],
  [CAP.AP_CARD, "ap_card"],
  [CAP.AP_QUEUE, "ap_queue"],
  [CAP.AP_MATRIX, "ap_matrix"],
  [CAP.VPD, "vpd"],
];

/** Reads a `<device>` element into the test driver's record. */
export function nodeDevFromElement(e: XmlElement): TestNodeDev {
  const name = childText(e, "name")?.trim();
  if (!name) throw virError(ErrorCode.XML_ERROR, ErrorDomain.NODEDEV, "missing name in device definition");
  const caps: string[] = [];
  let wwnn: string | undefined;
  let wwpn: string | undefined;
  const walk = (x: XmlElement) => {
    for (const c of elements(x, "capability")) {
      const t = attr(c, "type");
      if (t === "vport_ops") caps.push("vports");
      else if (t) caps.push(t);
      if (t === "fc_host") {
        wwnn = childText(c, "wwnn");
        wwpn = childText(c, "wwpn");
      }
      walk(c);
    }
  };
  walk(e);
  const xml = formatNodeDeviceXML(parseNodeDeviceXML(formatElement(e)));
  return { name, parent: childText(e, "parent")?.trim(), caps, xml, wwnn, wwpn };
}

function ref(d: TestNodeDev): NodeDeviceRef {
  return { name: d.name };
}

export function testNodeDeviceDriver(ctx: TestCtx): NodeDeviceDriver {
  const node = ctx.node;
  const byName = (name: string): TestNodeDev => {
    const d = node.devs.find((x) => x.name === name);
    if (!d) throw testError(ErrorCode.NO_NODE_DEVICE, `no node device with matching name '${name}'`);
    return d;
  };
  const hasCap = (d: TestNodeDev, cap: string | null) => cap === null || d.caps.includes(cap);
  const emit = (d: TestNodeDev, event: number) =>
    node.nodedevEvents.emit({ eventId: VIR_NODE_DEVICE_EVENT_ID.LIFECYCLE, dev: ref(d), event, detail: 0 });
  return {
    name: "TEST",
    async nodeNumOfDevices(cap, flags) {
      checkFlags(flags, 0, "testNodeNumOfDevices");
      return node.devs.filter((d) => hasCap(d, cap)).length;
    },
    async nodeListDevices(cap, max, flags) {
      checkFlags(flags, 0, "testNodeListDevices");
      return node.devs
        .filter((d) => hasCap(d, cap))
        .map((d) => d.name)
        .slice(0, max);
    },
    async connectListAllNodeDevices(flags) {
      checkFlags(flags, (1 << 22) - 1, "testConnectListAllNodeDevices");
      const wanted = CAP_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
      return node.devs.filter((d) => wanted.length === 0 || wanted.some((w) => d.caps.includes(w))).map(ref);
    },
    async nodeDeviceLookupByName(name) {
      return ref(byName(name));
    },
    async nodeDeviceGetXMLDesc(r, flags) {
      checkFlags(flags, 0, "testNodeDeviceGetXMLDesc");
      return byName(r.name).xml;
    },
    async nodeDeviceGetParent(r) {
      return byName(r.name).parent ?? null;
    },
    async nodeDeviceNumOfCaps(r) {
      return byName(r.name).caps.length > 0 ? 1 : 0;
    },
    async nodeDeviceListCaps(r, max) {
      return byName(r.name).caps.slice(0, Math.min(1, max));
    },
    async nodeDeviceCreateXML(xml, flags) {
      // VIR_NODE_DEVICE_CREATE_XML_VALIDATE: accepted, parsed only (no RelaxNG validator)
      checkFlags(flags, 1, "testNodeDeviceCreateXML");
      const e = parseXml(xml, { context: "(node_device_definition)", domain: ErrorDomain.NODEDEV });
      if (e.name !== "device") {
        throw virError(
          ErrorCode.XML_ERROR,
          ErrorDomain.XML,
          `expecting root element of 'device', not '${e.name}'`,
        );
      }
      // virNodeDeviceDefParse for a device to create names it 'new device' whatever <name> says.
      const nd = (msg: string) => virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NODEDEV, msg);
      const caps = elements(e, "capability");
      if (caps.length === 0) throw nd("no device capabilities for 'new device'");
      if (caps.some((c) => attr(c, "type") === "system"))
        throw nd("no system UUID supplied for 'new device'");
      // virNodeDeviceGetWWNs: the fc_host capability inside scsi_host
      const scsi = caps.find((c) => attr(c, "type") === "scsi_host");
      const fc = scsi && elements(scsi, "capability").find((c) => attr(c, "type") === "fc_host");
      if (!fc) throw nd("Device is not a fibre channel HBA");
      const wwnn = childText(fc, "wwnn")?.trim();
      const wwpn = childText(fc, "wwpn")?.trim();
      if (!wwnn) throw nd("no WWNN supplied for 'new device', and auto-generation failed");
      if (!wwpn) throw nd("no WWPN supplied for 'new device', and auto-generation failed");
      // virNodeDeviceObjListGetParentHost: by name, by the parent's WWNs, by fabric, or the first
      // vport-capable host; the parent must be able to create vports.
      const parentEl = child(e, "parent");
      const parentName = parentEl ? childText(e, "parent")?.trim() : undefined;
      const capable = (d: TestNodeDev) => d.caps.includes("vports");
      const notFound = () => nd("Could not find parent device for 'new device'");
      let parent: TestNodeDev | undefined;
      if (parentName) {
        parent = node.devs.find((d) => d.name === parentName);
        if (!parent) throw notFound();
      } else if (parentEl && attr(parentEl, "wwnn") && attr(parentEl, "wwpn")) {
        parent = node.devs.find(
          (d) => d.wwnn === attr(parentEl, "wwnn") && d.wwpn === attr(parentEl, "wwpn") && capable(d),
        );
        if (!parent) throw notFound();
      } else if (parentEl && attr(parentEl, "fabric_wwn")) {
        const fabric = attr(parentEl, "fabric_wwn");
        parent = node.devs.find((d) => capable(d) && d.xml.includes(`<fabric_wwn>${fabric}</fabric_wwn>`));
        if (!parent) throw notFound();
      } else {
        parent = node.devs.find(capable);
        if (!parent) throw nd("Could not find any vport capable device");
      }
      if (!capable(parent)) throw nd(`Parent device ${parent.name} is not capable of vport operations`);
      // The mock vHBA copies scsi_host11's capabilities and is always named scsi_host12,
      // replacing an earlier one (libvirt's testNodeDeviceMockCreateVport).
      const tmpl = node.devs.find((d) => d.name === "scsi_host11");
      // Without scsi_host11 the copy fails and libvirt 9.0 reports no error of its own.
      if (!tmpl) {
        throw new VirError({
          code: ErrorCode.INTERNAL_ERROR,
          domain: ErrorDomain.NONE,
          message: "An error occurred, but the cause is unknown",
        });
      }
      const n = 12;
      const t = parseXml(tmpl.xml);
      const nameEl = child(t, "name");
      if (nameEl) nameEl.children = [{ kind: "text", text: `scsi_host${n}` }];
      const parEl = child(t, "parent");
      if (parEl) parEl.children = [{ kind: "text", text: parent.name }];
      const set = (x: XmlElement) => {
        for (const c of elements(x, "capability")) {
          if (attr(c, "type") === "fc_host") {
            const a = child(c, "wwnn");
            const b = child(c, "wwpn");
            if (a) a.children = [{ kind: "text", text: wwnn }];
            if (b) b.children = [{ kind: "text", text: wwpn }];
          }
          set(c);
        }
      };
      set(t);
      const dev = nodeDevFromElement(t);
      const old = node.devs.findIndex((d) => d.name === dev.name);
      if (old >= 0) node.devs[old] = dev;
      else node.devs.push(dev);
      emit(dev, VIR_NODE_DEVICE_EVENT.CREATED);
      return ref(dev);
    },
    async nodeDeviceDestroy(r) {
      const d = byName(r.name);
      // libvirt 9.0's test driver reports success but keeps a device that has no FC WWNs or
      // whose parent is gone (its failure paths return 0); only real vHBAs disappear.
      if (!d.wwnn || !d.wwpn || !d.parent || !node.devs.some((x) => x.name === d.parent)) return;
      node.devs.splice(node.devs.indexOf(d), 1);
      emit(d, VIR_NODE_DEVICE_EVENT.DELETED);
    },
    // No nodeDeviceIsActive / nodeDeviceIsPersistent: libvirt 9.0's test driver has neither
    // (python-libvirt gets VIR_ERR_NO_SUPPORT in the node-device domain).
    async connectNodeDeviceEventRegisterAny(dev, eventId, cb) {
      return registerCallback(ctx, node.nodedevEvents, eventId, dev ? dev.name : null, cb);
    },
    async connectNodeDeviceEventDeregisterAny(id) {
      deregisterCallback(ctx, node.nodedevEvents, id);
    },
  };
}
