// Renders a DomainDef as libvirt's test driver returns it from XMLDesc
// (virDomainDefFormatInternal): fixed element order, canonical attributes, defaults included.

import { migratableView } from "./migratable.js";
import {
  el,
  escapeXml,
  formatElement,
  formatLibxml,
  takeOpenCloseSeen,
  type XmlElement,
  type XmlNode,
} from "../../xml/index.js";
import { formatDevices } from "./devices.js";
import { autoNumatune } from "./normalize.js";
import { hasKeys } from "./xml-util.js";
import type { DomainDef } from "./types.js";

export interface FormatOptions {
  /** Domain id for a running domain (`<domain type='test' id='1'>`). */
  id?: number;
  /** VIR_DOMAIN_XML_INACTIVE: the persistent form (no id, no runtime state). */
  inactive?: boolean;
  /** VIR_DOMAIN_XML_SECURE: include passwords. */
  securityInfo?: boolean;
  /** VIR_DOMAIN_XML_MIGRATABLE. */
  migratable?: boolean;
}

const OS_TAIL = ["bootmenu", "bios", "smbios"];

function line(depth: number, e: XmlElement): string {
  return formatElement(e, depth);
}

/** `<os>` with only its type and boot devices (most definitions), written directly. */
function formatPlainOs(o: DomainDef["os"]): string {
  let s = o.firmware !== undefined ? `  <os firmware='${escapeXml(String(o.firmware))}'>\n` : "  <os>\n";
  s += "    <type";
  if (o.arch) s += ` arch='${escapeXml(String(o.arch))}'`;
  if (o.machine !== undefined && o.machine !== null) s += ` machine='${escapeXml(String(o.machine))}'`;
  s += `>${escapeXml(o.type)}</type>\n`;
  for (let i = 0; i < o.bootDevs.length; i++) {
    const dev = o.bootDevs[i];
    s +=
      dev !== undefined && dev !== null ? `    <boot dev='${escapeXml(String(dev))}'/>\n` : "    <boot/>\n";
  }
  return `${s}  </os>\n`;
}

function formatOs(def: DomainDef): string {
  const o = def.os;
  if (
    typeof o.type === "string" &&
    o.init === undefined &&
    o.initargs.length === 0 &&
    !o.loader &&
    !o.nvram &&
    o.kernel === undefined &&
    o.initrd === undefined &&
    o.cmdline === undefined &&
    o.dtb === undefined &&
    !hasKeys(o.extra)
  )
    return formatPlainOs(o);
  // Children pushed in libvirt's order as they exist (no list of mostly absent entries spread
  // into el(): a spread call and its rest array cost more than the element in cold code).
  const kids: XmlNode[] = [];
  const ex = (n: string) => {
    const list = o.extra[n];
    if (list !== undefined) for (let i = 0; i < list.length; i++) kids.push(list[i]!);
  };
  const text = (name: string, v: string | undefined) => {
    if (v !== undefined) kids.push(el(name, undefined, v));
  };
  kids.push(el("type", { arch: o.arch || undefined, machine: o.machine }, o.type));
  ex("firmware");
  text("init", o.init);
  for (let i = 0; i < o.initargs.length; i++) text("initarg", o.initargs[i]);
  ex("initenv");
  ex("initdir");
  ex("inituser");
  ex("initgroup");
  if (o.loader) kids.push(o.loader);
  if (o.nvram) kids.push(o.nvram);
  text("kernel", o.kernel);
  text("initrd", o.initrd);
  text("cmdline", o.cmdline);
  text("dtb", o.dtb);
  ex("root");
  ex("acpi");
  for (let i = 0; i < o.bootDevs.length; i++) kids.push(el("boot", { dev: o.bootDevs[i] }));
  for (let i = 0; i < OS_TAIL.length; i++) ex(OS_TAIL[i]!);
  const attrs: [string, string][] = o.firmware !== undefined ? [["firmware", o.firmware]] : [];
  return line(1, { kind: "element", name: "os", attrs, children: kids, line: 0 });
}

/** The top-level elements kept verbatim under `name`, formatted ("" when none, the usual case). */
function extras(def: DomainDef, name: string): string {
  const list = def.extra[name];
  if (list === undefined) return "";
  let s = "";
  for (const e of list) s += line(1, e);
  return s;
}

/** `<clock>` (an element built only when it has attributes or children besides the offset). */
function formatClock(c: DomainDef["clock"]): string {
  if (c.attrs.length === 0 && c.children.length === 0)
    return `  <clock offset='${escapeXml(String(c.offset))}'/>\n`;
  return line(1, el("clock", [["offset", c.offset], ...c.attrs], ...c.children));
}

/** Whether a value formatDomainXML writes without escaping has a '<' (never, for a parsed definition). */
function unescapedMarkup(def: DomainDef, id: unknown): boolean {
  return (
    hasLt(def.uuid) ||
    hasLt(def.onPoweroff) ||
    hasLt(def.onReboot) ||
    hasLt(def.onCrash) ||
    hasLt(def.onLockfailure) ||
    hasLt(def.currentMemory) ||
    hasLt(id)
  );
}

function hasLt(v: unknown): boolean {
  return typeof v === "string" ? v.includes("<") : v !== undefined && String(v).includes("<");
}

export function formatDomainXML(def: DomainDef, opts: FormatOptions = {}): string {
  if (opts.migratable) return formatDomainXML(migratableView(def), { ...opts, migratable: false });
  takeOpenCloseSeen(); // notes of an earlier format
  const anyExtra = hasKeys(def.extra);
  const ex = (n: string) => (anyExtra ? extras(def, n) : "");
  let s = `<domain type='${escapeXml(def.type)}'`;
  if (opts.id !== undefined && !opts.inactive) s += ` id='${opts.id}'`;
  const ra = def.rootAttrs;
  for (let i = 0; i < ra.length; i++) s += ` ${ra[i]![0]}='${escapeXml(ra[i]![1])}'`;
  s += ">\n";
  s += `  <name>${escapeXml(def.name)}</name>\n`;
  s += `  <uuid>${def.uuid}</uuid>\n`;
  if (def.genid !== undefined) s += `  <genid>${escapeXml(def.genid)}</genid>\n`;
  if (def.title !== undefined) s += `  <title>${escapeXml(def.title)}</title>\n`;
  if (def.description !== undefined) s += `  <description>${escapeXml(def.description)}</description>\n`;
  if (def.metadata) s += `  ${formatLibxml(def.metadata, 1)}\n`;
  if (def.maxMemory) {
    s += line(1, el("maxMemory", { slots: def.maxMemory.slots, unit: "KiB" }, String(def.maxMemory.kib)));
  }
  s += "  <memory";
  if (def.memoryDumpCore !== undefined && def.memoryDumpCore !== null)
    s += ` dumpCore='${escapeXml(String(def.memoryDumpCore))}'`;
  s += ` unit='KiB'>${escapeXml(String(def.memory))}</memory>\n`;
  s += `  <currentMemory unit='KiB'>${def.currentMemory}</currentMemory>\n`;
  s += ex("blkiotune") + ex("memtune") + ex("memoryBacking");
  const v = def.vcpu;
  s += "  <vcpu";
  if (v.placement !== undefined && v.placement !== null)
    s += ` placement='${escapeXml(String(v.placement))}'`;
  if (v.cpuset !== undefined && v.cpuset !== null) s += ` cpuset='${escapeXml(String(v.cpuset))}'`;
  if (v.current !== undefined && v.current !== v.max && v.current !== null)
    s += ` current='${escapeXml(String(v.current))}'`;
  s += `>${escapeXml(String(v.max))}</vcpu>\n`;
  s += ex("vcpus") + ex("iothreads") + ex("iothreadids") + ex("cputune");
  s += def.vcpu.placement === "auto" && !def.extra["numatune"] ? line(1, autoNumatune()) : ex("numatune");
  s += ex("resource");
  s += ex("sysinfo") + ex("bootloader") + ex("bootloader_args");
  s += formatOs(def);
  s += ex("idmap");
  if (def.features) s += line(1, def.features);
  if (def.cpu) s += line(1, def.cpu);
  s += formatClock(def.clock);
  s += `  <on_poweroff>${def.onPoweroff}</on_poweroff>\n`;
  s += `  <on_reboot>${def.onReboot}</on_reboot>\n`;
  s += `  <on_crash>${def.onCrash}</on_crash>\n`;
  if (def.onLockfailure !== undefined) s += `  <on_lockfailure>${def.onLockfailure}</on_lockfailure>\n`;
  s += ex("pm") + ex("perf");
  s += formatDevices(def.devices, opts.securityInfo === true, opts.inactive === true);
  s += ex("seclabel") + ex("keywrap") + ex("launchSecurity") + ex("ns");
  // libvirt writes these elements with separate open and close tags even when empty.
  // (Each rewrite scans the whole document: done only when the element may occur at all, that is
  // when formatElement wrote one empty or a comment, or text went out unescaped: metadata, or a
  // value written as it is that has a '<'.)
  const seen = takeOpenCloseSeen();
  if (!(seen || def.metadata || unescapedMarkup(def, opts.id))) return `${s}</domain>\n`;
  if (s.includes("<hyperv") || s.includes("<redirdev")) {
    s = s.replace(/^( *)<(hyperv|redirdev)( [^>]*)?\/>$/gm, "$1<$2$3>\n$1</$2>");
  }
  if (s.includes("<nvram/>")) s = s.replace(/^ {4}<nvram\/>$/gm, "    <nvram>\n    </nvram>");
  return `${s}</domain>\n`;
}
