// attach-disk, attach-interface, detach-disk, detach-interface (tools/virsh-domain.c): the device
// XML virsh 9.0 writes from the options (byte for byte, including which values it escapes), and
// the element it picks out of the domain XML for detach (printed the way libxml2 dumps a node).
import { statSync } from "node:fs";
import type { Domain } from "../../../api/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import { VIR_DOMAIN_XML } from "../../../driver/index.js";
import { escapeXml, parseXml } from "../../../xml/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, lookupDomain, req } from "../lookup.js";
import { optBool, optString } from "../options.js";
import { asFlagless, exclusive } from "../util.js";
import { changeMediaHandlers } from "./change-media.js";
import { domifSetlinkHandlers } from "./domif-setlink.js";
import { elementTexts, nodeDump } from "./domain-xml-nodes.js";

type H = Handler<Ctl>;

const LIVE = 1;
const CONFIG = 2;

/** --persistent/--config/--live/--current as these four commands read them. */
function affect(cmd: ParsedCmd): { flags: number; current: boolean; persistent: boolean } {
  const persistent = optBool(cmd, "persistent");
  const current = optBool(cmd, "current");
  exclusive(cmd, "persistent", "current");
  exclusive(cmd, "current", "live");
  exclusive(cmd, "current", "config");
  let flags = 0;
  if (optBool(cmd, "config") || persistent) flags |= CONFIG;
  if (optBool(cmd, "live")) flags |= LIVE;
  return { flags, current, persistent };
}

/**
 * virsh calls virDomainAttachDeviceFlags / DetachDeviceFlags when it has flags or --current, else
 * the flag-less virDomainAttachDevice / DetachDevice, which mean AFFECT_LIVE (a shut-off domain
 * then answers "domain is not running", not a config change).
 */
async function finalFlags(
  dom: Domain,
  a: { flags: number; persistent: boolean; current: boolean },
): Promise<number> {
  let flags = a.flags;
  if (a.persistent && (await dom.isActive())) flags |= LIVE;
  return flags === 0 && !a.current ? LIVE : flags;
}

// --- attach-disk ---

type DiskAddr =
  | { type: "pci"; domain: number; bus: number; slot: number; fn: number }
  | { type: "ccw"; cssid: number; ssid: number; devno: number }
  | { type: "scsi" | "sata" | "ide"; controller: number; bus: number; unit: number }
  | { type: "usb"; bus: number; port: number };

/** Leading integer of `s` in `base` (as strtoul with an end pointer), or undefined when none. */
function lead(s: string | undefined, base: 10 | 16): number | undefined {
  if (s === undefined) return undefined;
  const m = (base === 16 ? /^(?:0x)?([0-9a-f]+)/i : /^([0-9]+)/).exec(s);
  return m ? Number.parseInt(m[1]!, base) : undefined;
}

/** str2DiskAddress: "pci:D.B.S.F", "ccw:C.S.D", "scsi|sata|ide:C.B.U", "usb:B.P". */
function parseDiskAddress(s: string): DiskAddr | undefined {
  const colon = s.indexOf(":");
  if (colon < 0) return undefined;
  const kind = s.slice(0, colon);
  const parts = s.slice(colon + 1).split(".");
  const nums = (n: number, base: 10 | 16) => {
    if (parts.length < n) return undefined;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      // Every field but the last must be a whole number; the last one may trail (strtoul).
      const p = parts[i]!;
      const v = lead(p, base);
      if (v === undefined) return undefined;
      if (i < n - 1 && !(base === 16 ? /^(?:0x)?[0-9a-f]+$/i : /^[0-9]+$/).test(p)) return undefined;
      out.push(v);
    }
    return out;
  };
  switch (kind) {
    case "pci": {
      const v = nums(4, 16);
      return v && { type: "pci", domain: v[0]!, bus: v[1]!, slot: v[2]!, fn: v[3]! };
    }
    case "ccw": {
      const v = nums(3, 16);
      return v && { type: "ccw", cssid: v[0]!, ssid: v[1]!, devno: v[2]! };
    }
    case "scsi":
    case "sata":
    case "ide": {
      const v = nums(3, 10);
      return v && { type: kind, controller: v[0]!, bus: v[1]!, unit: v[2]! };
    }
    case "usb": {
      const v = nums(2, 10);
      return v && { type: "usb", bus: v[0]!, port: v[1]! };
    }
    default:
      return undefined;
  }
}

const hex = (v: number, w: number) => `0x${v.toString(16).padStart(w, "0")}`;

function diskAddressXml(a: DiskAddr, multifunction: boolean): string {
  switch (a.type) {
    case "pci":
      return `<address type='pci' domain='${hex(a.domain, 4)}' bus='${hex(a.bus, 2)}' slot='${hex(a.slot, 2)}' function='${hex(a.fn, 1)}'${multifunction ? " multifunction='on'" : ""}/>`;
    case "ccw":
      return `<address type='ccw' cssid='${hex(a.cssid, 2)}' ssid='${hex(a.ssid, 1)}' devno='${hex(a.devno, 4)}'/>`;
    case "usb":
      return `<address type='usb' bus='${a.bus}' port='${a.port}'/>`;
    default:
      return `<address type='drive' controller='${a.controller}' bus='${a.bus}' unit='${a.unit}'/>`;
  }
}

/** virValidateWWN: 16 hex digits, optionally after "0x". */
function validWwn(w: string): boolean {
  return /^(0x)?[0-9a-fA-F]{16}$/.test(w);
}

function isBlockDevice(path: string): boolean {
  try {
    return statSync(path).isBlockDevice();
  } catch {
    return false;
  }
}

/** The `<disk>` document cmdAttachDisk builds, or throws virsh's complaint about the options. */
export function attachDiskXml(cmd: ParsedCmd): string {
  const source = req(cmd, "source");
  const target = req(cmd, "target");
  const o = (k: string) => optString(cmd, k);
  const driver = o("driver");
  const subdriver = o("subdriver");
  const type = o("type");
  const mode = o("mode");
  const iothread = o("iothread");
  const cache = o("cache");
  const io = o("io");
  const serial = o("serial");
  const wwn = o("wwn");
  const alias = o("alias");
  const straddr = o("address");
  const targetbus = o("targetbus");
  const protocol = o("source-protocol");
  const hostName = o("source-host-name");
  const transport = o("source-host-transport");
  const socket = o("source-host-socket");
  let stype = o("sourcetype");
  if (stype === undefined) {
    if (protocol !== undefined) stype = "network";
    else if (driver === "file" || driver === "tap") stype = "file";
    else stype = isBlockDevice(source) ? "block" : "file";
  } else if (stype !== "file" && stype !== "block" && stype !== "network") {
    throw new CmdFailure(`Unknown source type: '${stype}'`);
  }
  if ((stype === "network") !== (protocol !== undefined)) {
    throw new CmdFailure("--source-protocol option requires --sourcetype network");
  }
  if (mode !== undefined && mode !== "readonly" && mode !== "shareable") {
    throw new CmdFailure(`No support for ${mode} in command 'attach-disk'`);
  }
  if (wwn !== undefined && !validWwn(wwn)) {
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `Malformed wwn: ${wwn}`);
  }
  let addrXml: string | undefined;
  if (straddr !== undefined) {
    const a = parseDiskAddress(straddr);
    if (!a) throw new CmdFailure("Invalid address.");
    if (target.startsWith("vd") && a.type !== "pci" && a.type !== "ccw") {
      throw new CmdFailure("expecting a pci:0000.00.00.00 or ccw:00.0.0000 address.");
    }
    if (target.startsWith("sd") && a.type !== "scsi" && a.type !== "usb" && a.type !== "sata") {
      throw new CmdFailure("expecting a scsi:00.00.00 or usb:00.00 or sata:00.00.00 address.");
    }
    if (target.startsWith("hd") && a.type !== "ide")
      throw new CmdFailure("expecting an ide:00.00.00 address.");
    addrXml = diskAddressXml(a, optBool(cmd, "multifunction"));
  }
  const at = (k: string, v: string | undefined) => (v === undefined ? "" : ` ${k}='${escapeXml(v)}'`);
  const lines: string[] = [];
  lines.push(`<disk${at("type", stype)}${at("device", type)}${optBool(cmd, "rawio") ? " rawio='yes'" : ""}>`);
  if (driver ?? subdriver ?? iothread ?? cache ?? io) {
    lines.push(
      `  <driver${at("name", driver)}${at("type", subdriver)}${at("iothread", iothread)}${at("cache", cache)}${at("io", io)}/>`,
    );
  }
  if (stype === "network") {
    const hasHost = hostName !== undefined || transport !== undefined || socket !== undefined;
    const open = `  <source${at("protocol", protocol)}${at("name", source)}`;
    if (!hasHost) lines.push(`${open}/>`);
    else {
      let name = hostName;
      let port: string | undefined;
      const c = hostName?.indexOf(":") ?? -1;
      if (hostName !== undefined && c >= 0) {
        name = hostName.slice(0, c);
        port = hostName.slice(c + 1);
      }
      lines.push(`${open}>`);
      lines.push(
        `    <host${at("transport", transport)}${at("name", name)}${at("port", port)}${at("socket", socket)}/>`,
      );
      lines.push("  </source>");
    }
  } else lines.push(`  <source${at(stype === "file" ? "file" : "dev", source)}/>`);
  lines.push(`  <target${at("dev", target)}${at("bus", targetbus)}/>`);
  if (mode) lines.push(`  <${mode}/>`);
  if (serial !== undefined) lines.push(`  <serial>${serial}</serial>`);
  if (alias !== undefined) lines.push(`  <alias name='${alias}'/>`);
  if (wwn !== undefined) lines.push(`  <wwn>${wwn}</wwn>`);
  if (addrXml) lines.push(`  ${addrXml}`);
  lines.push("</disk>");
  return `${lines.join("\n")}\n`;
}

const attachDisk: H = async (ctl, cmd) => {
  const a = affect(cmd);
  // VSH_REQUIRE_OPTION: by presence, before any value is read
  const requires = (needed: string, by: string) => {
    if (optBool(cmd, by) && !optBool(cmd, needed))
      throw new CmdFailure(`Option --${needed} is required by option --${by}`);
  };
  requires("source-protocol", "source-host-name");
  requires("source-protocol", "source-host-transport");
  requires("source-protocol", "source-host-socket");
  requires("source-host-transport", "source-host-socket");
  const xml = attachDiskXml(cmd);
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  const dom = await lookupDomain(ctl, cmd);
  const flags = await finalFlags(dom, a);
  await attempt("Failed to attach disk", () =>
    asFlagless(a.flags === 0 && !a.current, "virDomainAttachDeviceFlags", "virDomainAttachDevice", () =>
      dom.attachDevice(xml, flags),
    ),
  );
  ctl.printExtra("Disk attached successfully\n");
  return true;
};

// --- attach-interface ---

/** virDomainNetType names (conf/domain_conf.c). */
const NET_TYPES = new Set([
  "user",
  "ethernet",
  "vhostuser",
  "server",
  "client",
  "mcast",
  "network",
  "bridge",
  "internal",
  "direct",
  "hostdev",
  "udp",
  "vdpa",
  "null",
  "vds",
]);

interface Rate {
  average: bigint;
  peak: bigint;
  burst: bigint;
  floor: bigint;
}

/** virshParseRateStr: "average,peak,burst,floor", empty fields allowed. */
function parseRate(s: string): Rate {
  const tok = s.split(",");
  if (tok.length > 4) throw new CmdFailure(`Rate string '${s}' has too many fields`);
  const names = ["average", "peak", "burst", "floor"] as const;
  const r: Rate = { average: 0n, peak: 0n, burst: 0n, floor: 0n };
  tok.forEach((t, i) => {
    if (t === "") return;
    if (!/^[0-9]+$/.test(t)) throw new CmdFailure(`field '${names[i]}' is malformed`);
    r[names[i]!] = BigInt(t);
  });
  return r;
}

/** "DDDD:BB:SS.F" (virPCIDeviceAddressParse as virsh uses it). */
function parsePci(s: string): { domain: number; bus: number; slot: number; fn: number } | undefined {
  const m = /^([0-9a-f]+):([0-9a-f]+):([0-9a-f]+)\.([0-9a-f]+)$/i.exec(s);
  if (!m) return undefined;
  const [domain, bus, slot, fn] = m.slice(1).map((x) => Number.parseInt(x, 16));
  return { domain: domain!, bus: bus!, slot: slot!, fn: fn! };
}

export function attachInterfaceXml(cmd: ParsedCmd): string {
  const type = req(cmd, "type");
  const source = req(cmd, "source");
  const o = (k: string) => optString(cmd, k);
  const target = o("target");
  const mac = o("mac");
  const script = o("script");
  const model = o("model");
  const alias = o("alias");
  const inboundStr = o("inbound");
  const outboundStr = o("outbound");
  const sourceMode = o("source-mode");
  const noSupport = () => new CmdFailure(`No support for ${type} in command 'attach-interface'`);
  if (!NET_TYPES.has(type)) throw noSupport();
  if (sourceMode !== undefined && sourceMode !== "server" && sourceMode !== "client") {
    throw new CmdFailure(`Invalid source mode: ${sourceMode}`);
  }
  let inbound: Rate | undefined;
  let outbound: Rate | undefined;
  if (inboundStr !== undefined) {
    inbound = parseRate(inboundStr);
    if (!inbound.average && !inbound.floor)
      throw new CmdFailure("either inbound average or floor is mandatory");
  }
  if (outboundStr !== undefined) {
    outbound = parseRate(outboundStr);
    if (outbound.average === 0n) throw new CmdFailure("outbound average is mandatory");
    if (outbound.floor) throw new CmdFailure("outbound floor is unsupported yet");
  }
  const lines = [`<interface type='${type}'${optBool(cmd, "managed") ? " managed='yes'" : ""}>`];
  switch (type) {
    case "network":
    case "bridge":
      lines.push(`  <source ${type}='${source}'/>`);
      break;
    case "direct":
      lines.push(`  <source dev='${source}'/>`);
      break;
    case "hostdev": {
      const p = parsePci(source);
      if (!p) throw new CmdFailure(`cannot parse pci address '${source}' for network interface`);
      lines.push("  <source>");
      lines.push(
        `    <address type='pci' domain='${hex(p.domain, 4)}' bus='${hex(p.bus, 2)}' slot='${hex(p.slot, 2)}' function='${hex(p.fn, 1)}'/>`,
      );
      lines.push("  </source>");
      break;
    }
    case "vhostuser":
      if (sourceMode === undefined) throw new CmdFailure("source-mode is mandatory");
      lines.push(`  <source type='unix' path='${source}' mode='${sourceMode}'/>`);
      break;
    default:
      throw noSupport();
  }
  if (target !== undefined) lines.push(`  <target dev='${target}'/>`);
  if (mac !== undefined) lines.push(`  <mac address='${mac}'/>`);
  if (script !== undefined) lines.push(`  <script path='${script}'/>`);
  if (model !== undefined) lines.push(`  <model type='${model}'/>`);
  if (alias !== undefined) lines.push(`  <alias name='${alias}'/>`);
  if (inbound || outbound) {
    lines.push("  <bandwidth>");
    if (inbound && (inbound.average || inbound.floor)) {
      let s = "    <inbound";
      if (inbound.average > 0n) s += ` average='${inbound.average}'`;
      if (inbound.peak > 0n) s += ` peak='${inbound.peak}'`;
      if (inbound.burst > 0n) s += ` burst='${inbound.burst}'`;
      if (inbound.floor > 0n) s += ` floor='${inbound.floor}'`;
      lines.push(`${s}/>`);
    }
    if (outbound && outbound.average > 0n) {
      let s = `    <outbound average='${outbound.average}'`;
      if (outbound.peak > 0n) s += ` peak='${outbound.peak}'`;
      if (outbound.burst > 0n) s += ` burst='${outbound.burst}'`;
      lines.push(`${s}/>`);
    }
    lines.push("  </bandwidth>");
  }
  lines.push("</interface>");
  return `${lines.join("\n")}\n`;
}

const attachInterface: H = async (ctl, cmd) => {
  const a = affect(cmd);
  const xml = attachInterfaceXml(cmd);
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  const dom = await lookupDomain(ctl, cmd);
  const flags = await finalFlags(dom, a);
  await attempt("Failed to attach interface", () =>
    asFlagless(a.flags === 0 && !a.current, "virDomainAttachDeviceFlags", "virDomainAttachDevice", () =>
      dom.attachDevice(xml, flags),
    ),
  );
  ctl.printExtra("Interface attached successfully\n");
  return true;
};

// --- detach-disk, detach-interface ---

async function domainXmlFor(dom: Domain, flags: number): Promise<string> {
  return dom.getXMLDesc(flags === CONFIG ? VIR_DOMAIN_XML.INACTIVE : 0);
}

const detachDisk: H = async (ctl, cmd) => {
  const a = affect(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const target = req(cmd, "target");
  const xml = await domainXmlFor(dom, a.flags);
  const found = elementTexts(xml, "disk").find((text) => {
    const e = parseXml(text);
    const t = e.children.find((c) => c.kind === "element" && c.name === "target");
    if (t?.kind === "element" && t.attrs.some(([k, v]) => k === "dev" && v === target)) return true;
    const s = e.children.find((c) => c.kind === "element" && c.name === "source");
    return (
      s?.kind === "element" &&
      s.attrs.some(([k, v]) => ["file", "dev", "dir", "name"].includes(k) && v === target)
    );
  });
  if (!found) throw new CmdFailure(`No disk found whose source path or target is ${target}`);
  const node = nodeDump(found);
  if (optBool(cmd, "print-xml")) {
    ctl.print(node);
    return true;
  }
  const flags = await finalFlags(dom, a);
  await attempt("Failed to detach disk", () =>
    asFlagless(a.flags === 0 && !a.current, "virDomainDetachDeviceFlags", "virDomainDetachDevice", () =>
      dom.detachDevice(node, flags),
    ),
  );
  ctl.printExtra("Disk detached successfully\n");
  return true;
};

const detachInterface: H = async (ctl, cmd) => {
  const a = affect(cmd);
  const dom = await lookupDomain(ctl, cmd);
  let type: string;
  let mac: string | undefined;
  try {
    type = req(cmd, "type");
    mac = optString(cmd, "mac");
  } catch (e) {
    // virsh adds its failure line after an unreadable option, --print-xml or not
    if (e instanceof CmdFailure)
      throw new CmdFailure(e.message, new CmdFailure("Failed to detach interface"));
    throw e;
  }
  const xml = await domainXmlFor(dom, a.flags);
  // With --print-xml virsh stops at its own complaint; otherwise it adds that the detach failed.
  const failed = (msg: string) =>
    optBool(cmd, "print-xml")
      ? new CmdFailure(msg)
      : new CmdFailure(msg, new CmdFailure("Failed to detach interface"));
  const ofType = elementTexts(xml, "interface").filter((text) =>
    parseXml(text).attrs.some(([k, v]) => k === "type" && v === type),
  );
  if (ofType.length === 0) throw failed(`No interface found whose type is ${type}`);
  let pick: string[] = ofType;
  if (mac !== undefined) {
    pick = ofType.filter((text) => {
      const m = parseXml(text).children.find((c) => c.kind === "element" && c.name === "mac");
      return (
        m?.kind === "element" &&
        m.attrs.some(([k, v]) => k === "address" && v.toLowerCase() === mac.toLowerCase())
      );
    });
    if (pick.length === 0) throw failed(`No interface with MAC address ${mac} was found`);
    if (pick.length > 1) {
      throw failed(
        `Domain has multiple interfaces matching MAC address ${mac}. You must use detach-device and specify the device pci address to remove it.`,
      );
    }
  } else if (ofType.length > 1) {
    throw failed(`Domain has ${ofType.length} interfaces. Please specify which one to detach using --mac`);
  }
  const node = nodeDump(pick[0]!);
  if (optBool(cmd, "print-xml")) {
    ctl.print(node);
    return true;
  }
  const flags = await finalFlags(dom, a);
  await attempt("Failed to detach interface", () =>
    asFlagless(a.flags === 0 && !a.current, "virDomainDetachDeviceFlags", "virDomainDetachDevice", () =>
      dom.detachDevice(node, flags),
    ),
  );
  ctl.printExtra("Interface detached successfully\n");
  return true;
};

export const domainAttachHandlers: Record<string, H> = {
  "attach-disk": attachDisk,
  "attach-interface": attachInterface,
  "detach-disk": detachDisk,
  "detach-interface": detachInterface,
  ...changeMediaHandlers,
  ...domifSetlinkHandlers,
};
