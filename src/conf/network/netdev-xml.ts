// <vlan>, <bandwidth> and <virtualport> as networks and portgroups carry them (libvirt's
// netdev_vlan_conf.c, netdev_bandwidth_conf.c, netdev_vport_profile_conf.c): parse and format.

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, elements, type XmlElement } from "../../xml/index.js";
import { parseUuid } from "../common/uuid.js";
import { a, type XmlBuf } from "./conf-xml.js";
import type { BandwidthDef, BandwidthRate, VirtualPortDef, VlanDef } from "./types.js";

const D = ErrorDomain.NONE;

function uint(s: string | undefined, what: string, max = 0xffffffff): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s.trim()) || Number(s) > max) throw virError(ErrorCode.XML_ERROR, D, what);
  return Number(s);
}

export function parseVlan(e: XmlElement): VlanDef {
  const tags = elements(e, "tag").map((t) => {
    const idS = attr(t, "id");
    if (idS === undefined) throw virError(ErrorCode.XML_ERROR, D, "missing id for VLAN tag");
    const id = uint(idS, "invalid VLAN tag id")!;
    if (id > 4095) throw virError(ErrorCode.XML_ERROR, D, `vlan tag id ${id} too large (maximum 4095)`);
    const nm = attr(t, "nativeMode");
    if (nm !== undefined && nm !== "tagged" && nm !== "untagged") {
      throw virError(ErrorCode.INTERNAL_ERROR, D, `Attribute "nativeMode='${nm}'" is invalid`);
    }
    return { id, nativeMode: nm as "tagged" | "untagged" | undefined };
  });
  if (tags.length === 0)
    throw virError(
      ErrorCode.XML_ERROR,
      D,
      "missing tag id - each <vlan> must have at least one <tag id='n'/> subelement",
    );
  const trunkS = attr(e, "trunk");
  let trunk = tags.length > 1;
  if (trunkS === "yes") trunk = true;
  else if (trunkS === "no" && tags.length > 1) {
    throw virError(ErrorCode.XML_ERROR, D, "invalid \"trunk='no'\" setting - multiple vlan tags specified");
  }
  return { trunk, tags };
}

export function formatVlan(buf: XmlBuf, v: VlanDef | undefined): void {
  if (!v) return;
  buf.line(`<vlan${v.trunk ? " trunk='yes'" : ""}>`);
  buf.indent();
  for (const t of v.tags) buf.line(`<tag${a("id", t.id)}${a("nativeMode", t.nativeMode)}/>`);
  buf.dedent();
  buf.line("</vlan>");
}

function parseRate(e: XmlElement | undefined): BandwidthRate | undefined {
  if (!e) return undefined;
  const big = (n: string) => {
    const s = attr(e, n);
    if (s === undefined) return undefined;
    if (!/^[0-9]+$/.test(s))
      throw virError(ErrorCode.INVALID_ARG, D, `could not convert bandwidth ${n} value '${s}'`);
    return BigInt(s);
  };
  const r: BandwidthRate = {
    average: big("average"),
    peak: big("peak"),
    floor: big("floor"),
    burst: big("burst"),
  };
  if (r.average === undefined && r.floor === undefined) {
    throw virError(ErrorCode.XML_DETAIL, D, "Missing mandatory average or floor attributes");
  }
  return r;
}

export function parseBandwidth(e: XmlElement, allowFloor: boolean): BandwidthDef {
  const inbound = parseRate(child(e, "inbound"));
  const outbound = parseRate(child(e, "outbound"));
  if (outbound?.floor !== undefined)
    throw virError(ErrorCode.XML_DETAIL, D, "'floor' attribute allowed only in <inbound> element");
  if (!allowFloor && inbound?.floor !== undefined) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, D, "floor attribute is not supported for this config");
  }
  return { inbound, outbound };
}

export function formatBandwidth(buf: XmlBuf, b: BandwidthDef | undefined): void {
  if (!b || (!b.inbound && !b.outbound)) return;
  buf.line("<bandwidth>");
  buf.indent();
  for (const [name, r] of [
    ["inbound", b.inbound],
    ["outbound", b.outbound],
  ] as const) {
    if (!r) continue;
    buf.line(
      `<${name}${a("average", r.average?.toString())}${a("peak", r.peak?.toString())}${a("floor", r.floor?.toString())}${a("burst", r.burst?.toString())}/>`,
    );
  }
  buf.dedent();
  buf.line("</bandwidth>");
}

const VPORT_TYPES = ["802.1Qbg", "802.1Qbh", "openvswitch", "midonet"] as const;

export function parseVirtualPort(e: XmlElement): VirtualPortDef {
  const type = attr(e, "type");
  if (type !== undefined && !(VPORT_TYPES as readonly string[]).includes(type)) {
    throw virError(ErrorCode.XML_ERROR, D, "unknown virtualport type");
  }
  const p = child(e, "parameters");
  const v: VirtualPortDef = { type: type as VirtualPortDef["type"] };
  if (!p) return v;
  v.managerid = uint(attr(p, "managerid"), "cannot parse value of managerid parameter", 255);
  v.typeid = uint(attr(p, "typeid"), "cannot parse value of typeid parameter", 0xffffff);
  v.typeidversion = uint(attr(p, "typeidversion"), "cannot parse value of typeidversion parameter", 255);
  for (const k of ["instanceid", "interfaceid"] as const) {
    const s = attr(p, k);
    if (s === undefined) continue;
    const u = parseUuid(s);
    if (!u) throw virError(ErrorCode.XML_ERROR, D, `cannot parse ${k} parameter as a uuid`);
    v[k] = u;
  }
  v.profileid = attr(p, "profileid");
  return v;
}

export function formatVirtualPort(buf: XmlBuf, v: VirtualPortDef | undefined): void {
  if (!v) return;
  const params =
    a("managerid", v.managerid) +
    a("typeid", v.typeid) +
    a("typeidversion", v.typeidversion) +
    a("instanceid", v.instanceid) +
    a("profileid", v.profileid) +
    a("interfaceid", v.interfaceid);
  if (params === "") {
    buf.line(`<virtualport${a("type", v.type)}/>`);
    return;
  }
  buf.line(`<virtualport${a("type", v.type)}>`);
  buf.indent();
  buf.line(`<parameters${params}/>`);
  buf.dedent();
  buf.line("</virtualport>");
}
