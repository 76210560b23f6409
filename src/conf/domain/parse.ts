// Turns domain XML into a DomainDef (virDomainDefParseXML): reads and checks every field it
// models, keeps the rest verbatim, and reports the first error as libvirt does.

import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, child, elements, parseXml, textContent, type XmlElement } from "../../xml/index.js";
import { parseMemoryKiB } from "../common/units.js";
import { generateUuid, parseUuid } from "../common/uuid.js";
import { parseDevices } from "./devices.js";
import { internalErr, unsupported, xmlErr, xmlPropErr } from "./errors.js";
import { validateAttributes } from "./attr-validate.js";
import { checkContext } from "./context-checks.js";
import { canonGeneric } from "./generic.js";
import {
  formatCpuSet,
  normalizeCpu,
  normalizeCputune,
  normalizeFeatures,
  normalizeSysinfo,
  parseCpuSet,
  scaledToKiB,
} from "./normalize.js";
import type { DomainDef, OsDef } from "./types.js";
import { cloneElement, enumAttr, orderAttrs, pushExtra } from "./xml-util.js";

export const VIRT_TYPES = [
  "none",
  "qemu",
  "kqemu",
  "kvm",
  "xen",
  "lxc",
  "uml",
  "openvz",
  "test",
  "vmware",
  "hyperv",
  "vbox",
  "phyp",
  "parallels",
  "bhyve",
  "vz",
  "hvf",
];
export const OS_TYPES = ["hvm", "xen", "linux", "exe", "uml", "xenpvh"];
export const ARCHES = [
  "none",
  "alpha",
  "armv6l",
  "armv7l",
  "armv7b",
  "aarch64",
  "cris",
  "i686",
  "ia64",
  "lm32",
  "loongarch64",
  "m68k",
  "microblaze",
  "microblazeel",
  "mips",
  "mipsel",
  "mips64",
  "mips64el",
  "openrisc",
  "parisc",
  "parisc64",
  "ppc",
  "ppcle",
  "ppc64",
  "ppc64le",
  "ppcemb",
  "riscv32",
  "riscv64",
  "s390",
  "s390x",
  "sh4",
  "sh4eb",
  "sparc",
  "sparc64",
  "unicore32",
  "x86_64",
  "xtensa",
  "xtensaeb",
];
const LIFECYCLE = ["destroy", "restart", "rename-restart", "preserve"];
const CRASH = [...LIFECYCLE, "coredump-destroy", "coredump-restart"];
const CLOCK_OFFSETS = ["utc", "localtime", "variable", "timezone", "absolute"];
const BOOT_DEVS = ["fd", "cdrom", "hd", "network"];
const VCPU_PLACEMENTS = ["static", "auto"];
const ON_OFF = ["on", "off"];

/** Top-level elements libvirt knows but tsvirt keeps verbatim. */
export const TOP_GENERIC = [
  "blkiotune",
  "memtune",
  "memoryBacking",
  "vcpus",
  "iothreads",
  "iothreadids",
  "cputune",
  "numatune",
  "resource",
  "sysinfo",
  "bootloader",
  "bootloader_args",
  "idmap",
  "pm",
  "perf",
  "seclabel",
  "keywrap",
  "launchSecurity",
];
const OS_EXTRA = [
  "bootmenu",
  "smbios",
  "bios",
  "acpi",
  "root",
  "initenv",
  "initdir",
  "inituser",
  "initgroup",
  "firmware",
];

// The lists above as sets, for the checks every define makes (a set lookup instead of a scan).
const VIRT_TYPE_SET = new Set(VIRT_TYPES);
const OS_TYPE_SET = new Set(OS_TYPES);
const ARCH_SET = new Set(ARCHES);
const TOP_GENERIC_SET = new Set(TOP_GENERIC);
const OS_EXTRA_SET = new Set(OS_EXTRA);

export function parseDomainXMLTree(text: string): XmlElement {
  const root = parseXml(text, { context: "(domain_definition)", domain: ErrorDomain.DOMAIN });
  if (root.name !== "domain") throw xmlPropErr(`expecting root element of 'domain', not '${root.name}'`);
  return root;
}

function parseOs(root: XmlElement, virtType: string): OsDef {
  const os = child(root, "os");
  const typeEl = os ? child(os, "type") : undefined;
  if (!typeEl) throw xmlErr("an os <type> must be specified");
  const type = textContent(typeEl).trim();
  if (!OS_TYPE_SET.has(type)) throw unsupported(`unknown OS type '${type}'`);
  const arch = attr(typeEl, "arch");
  if (arch !== undefined && !ARCH_SET.has(arch)) throw unsupported(`Unknown architecture ${arch}`);
  const bootDevs: string[] = [];
  const initargs: string[] = [];
  const extra: OsDef["extra"] = {};
  const o: OsDef = { type, arch: arch ?? "", bootDevs, initargs, extra };
  void virtType;
  const machine = attr(typeEl, "machine");
  if (machine !== undefined) o.machine = machine;
  const fw = os ? attr(os, "firmware") : undefined;
  if (fw !== undefined) {
    if (!["bios", "efi"].includes(fw))
      throw xmlPropErr(`Invalid value for attribute 'firmware' in element 'os': '${fw}'.`);
    o.firmware = fw;
  }
  if (!os) return o;
  const kids = os.children;
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i]!;
    if (c.kind !== "element") continue;
    switch (c.name) {
      case "kernel":
      case "initrd":
      case "cmdline":
      case "dtb":
      case "init":
        o[c.name] = textContent(c);
        break;
      case "initarg":
        o.initargs.push(textContent(c));
        break;
      case "loader":
        o.loader = canonGeneric(c, "os");
        o.loader.attrs = orderAttrs(o.loader.attrs, ["readonly", "secure", "type", "stateless", "format"]);
        break;
      case "nvram":
        o.nvram = canonGeneric(c, "os");
        break;
      case "boot":
        if (o.bootDevs.length < 4) {
          const dev = enumAttr(c, "dev", BOOT_DEVS);
          if (dev === undefined) throw xmlErr("missing boot device");
          o.bootDevs.push(dev);
        }
        break;
      default:
        if (OS_EXTRA_SET.has(c.name)) {
          const g = canonGeneric(c, "os");
          // A disabled boot menu has no timeout.
          if (g.name === "bootmenu" && attr(g, "enable") === "no")
            g.attrs = g.attrs.filter(([k]) => k !== "timeout");
          pushExtra(o.extra, c.name, g);
        }
    }
  }
  return o;
}

function parseMemory(root: XmlElement, name: string): number | undefined {
  const m = child(root, name);
  if (!m) return undefined;
  try {
    return parseMemoryKiB(textContent(m), attr(m, "unit"), `./${name}[1]`, ErrorDomain.DOMAIN);
  } catch (e) {
    if (e instanceof VirError && e.code === ErrorCode.XML_ERROR) {
      throw xmlPropErr(`Invalid value '${textContent(m)}' for element or attribute './${name}[1]'`);
    }
    throw e;
  }
}

function parseVcpu(root: XmlElement): DomainDef["vcpu"] {
  const v = child(root, "vcpu");
  if (!v) return { max: 1, placement: "static" };
  const text = textContent(v).trim();
  if (!/^[0-9]+$/.test(text)) throw xmlErr("maximum vcpus count must be an integer");
  const max = Number(text);
  const out: DomainDef["vcpu"] = { max, placement: "static" };
  const cur = attr(v, "current");
  if (cur !== undefined) {
    if (!/^[0-9]+$/.test(cur)) throw xmlErr("current vcpus count must be an integer");
    out.current = Number(cur);
  }
  const pl = enumAttr(v, "placement", VCPU_PLACEMENTS);
  if (pl) out.placement = pl;
  if (pl === "auto") return out; // automatic placement ignores a cpuset
  const cs = attr(v, "cpuset");
  if (cs !== undefined) {
    const ids = parseCpuSet(cs);
    if (ids === undefined) throw xmlErr(`Failed to parse bitmap '${cs}'`);
    out.cpuset = formatCpuSet(ids);
  }
  return out;
}

function lifecycle(root: XmlElement, name: string, values: string[], dflt: string): string {
  const e = child(root, name);
  if (!e) return dflt;
  const v = textContent(e).trim();
  if (!values.includes(v)) throw unsupported(`unknown ${name} action: ${v}`);
  return v;
}

/** The devices of a definition until they are parsed (never changed: frozen). */
const NO_DEVICES: DomainDef["devices"] = Object.freeze(parseDevices(undefined, "hvm"));
/** Placeholders for the vCPUs and the OS until they are parsed (frozen likewise). */
const NO_VCPU: DomainDef["vcpu"] = Object.freeze({ max: 1, placement: "static" });
const NO_OS: OsDef = Object.freeze({ type: "hvm", arch: "", bootDevs: [], initargs: [], extra: {} });

/** The root's attributes but type and id (kept as they are, in order). */
function rootAttrsOf(root: XmlElement): [string, string][] {
  const out: [string, string][] = [];
  const a = root.attrs;
  for (let i = 0; i < a.length; i++) {
    const k = a[i]![0];
    if (k !== "type" && k !== "id") out.push(a[i]!);
  }
  return out;
}

export function parseDomainTree(root: XmlElement): DomainDef {
  const type = attr(root, "type");
  if (type === undefined) throw internalErr("missing domain type attribute");
  if (!VIRT_TYPE_SET.has(type)) throw unsupported(`invalid domain type ${type}`);
  const nameEl = child(root, "name");
  const name = nameEl ? textContent(nameEl) : "";
  if (name === "") throw virError(ErrorCode.NO_NAME, ErrorDomain.DOMAIN);
  if (name.includes("/")) throw xmlErr(`name ${name} cannot contain '/'`);
  let uuid = "";
  const uuidEl = child(root, "uuid");
  if (uuidEl) {
    const u = parseUuid(textContent(uuidEl));
    if (u === undefined) throw internalErr("malformed uuid element");
    uuid = u;
  }
  validateAttributes(root);
  checkContext(root);
  // (nested parts made apart: a literal holding literals is copied in the runtime by baseline
  // code; vcpu and os are placeholders, both replaced below)
  const clockAttrs: DomainDef["clock"]["attrs"] = [];
  const clockChildren: DomainDef["clock"]["children"] = [];
  const clock0: DomainDef["clock"] = { offset: "utc", attrs: clockAttrs, children: clockChildren };
  const extra: DomainDef["extra"] = {};
  const def: DomainDef = {
    type,
    rootAttrs: rootAttrsOf(root),
    name,
    uuid,
    memory: 0,
    currentMemory: 0,
    vcpu: NO_VCPU,
    os: NO_OS,
    clock: clock0,
    onPoweroff: "destroy",
    onReboot: "restart",
    onCrash: "destroy",
    // (a placeholder: the devices are parsed last, below)
    devices: NO_DEVICES,
    extra,
  };
  const genid = child(root, "genid");
  // an empty <genid/> asks for a generated one
  if (genid) def.genid = textContent(genid).trim() === "" ? generateUuid() : textContent(genid);
  const title = child(root, "title");
  if (title) {
    const t = textContent(title);
    if (t.includes("\n")) throw xmlErr("Domain title can't contain newlines");
    if (t !== "") def.title = t;
  }
  const desc = child(root, "description");
  if (desc && textContent(desc) !== "") def.description = textContent(desc);
  const md = child(root, "metadata");
  if (md) def.metadata = cloneMetadata(md);

  def.memory = parseMemory(root, "memory") ?? 0;
  def.currentMemory = parseMemory(root, "currentMemory") ?? 0;
  const mx = child(root, "maxMemory");
  if (mx) {
    const kib = parseMemory(root, "maxMemory")!;
    const slots = attr(mx, "slots");
    if (slots === undefined) throw xmlErr("both maximum memory size and memory slot count must be specified");
    def.maxMemory = slots !== undefined ? { kib, slots: Number(slots) } : { kib };
  }
  const memEl = child(root, "memory");
  const dc = memEl ? enumAttr(memEl, "dumpCore", ON_OFF) : undefined;
  if (dc) def.memoryDumpCore = dc;
  def.vcpu = parseVcpu(root);

  def.os = parseOs(root, type);
  const feats = child(root, "features");
  const featsCanon = feats ? canonGeneric(feats, "domain") : undefined;
  if (featsCanon && !isEmptyElement(featsCanon)) {
    def.features = featsCanon;
    normalizeFeatures(def.features);
  }
  const cpu = child(root, "cpu");
  if (cpu) {
    def.cpu = canonGeneric(cpu, "domain");
    normalizeCpu(def.cpu);
    // A custom-mode CPU that describes nothing is dropped.
    const mode = attr(def.cpu, "mode") ?? "custom";
    if (mode === "custom" && elements(def.cpu).length === 0) delete def.cpu;
  }
  const clock = child(root, "clock");
  if (clock) {
    const off = attr(clock, "offset") ?? "utc";
    if (!CLOCK_OFFSETS.includes(off)) throw unsupported(`unknown clock offset '${off}'`);
    if (off === "absolute" && !/^[0-9]+$/.test(attr(clock, "start") ?? "")) {
      throw internalErr("missing 'start' attribute for clock with offset='absolute'");
    }
    def.clock = {
      offset: off,
      attrs: orderAttrs(
        clock.attrs.filter(([k]) => k !== "offset"),
        ["start", "adjustment", "basis", "timezone"],
      ),
      children: elements(clock).map((x) => canonGeneric(x, "clock")),
    };
  }
  def.onPoweroff = lifecycle(root, "on_poweroff", LIFECYCLE, "destroy");
  def.onReboot = lifecycle(root, "on_reboot", LIFECYCLE, "restart");
  def.onCrash = lifecycle(root, "on_crash", CRASH, "destroy");
  const lf = child(root, "on_lockfailure");
  if (lf) def.onLockfailure = textContent(lf).trim();
  if (lf && !["default", "poweroff", "restart", "pause", "ignore"].includes(def.onLockfailure!)) {
    throw unsupported(`unknown on_lockfailure action: ${def.onLockfailure}`);
  }
  const top = root.children;
  for (let i = 0; i < top.length; i++) {
    const c = top[i]!;
    if (c.kind !== "element") continue;
    if (c.name === "idmap") {
      for (const m of elements(c)) {
        if (!["start", "target", "count"].every((k) => /^[0-9]+$/.test(attr(m, k) ?? ""))) {
          throw xmlErr("invalid idmap start/target/count settings");
        }
      }
    }
    // An empty top-level container (no attributes, nothing inside) is not printed by libvirt.
    if (TOP_GENERIC_SET.has(c.name)) {
      const g = canonGeneric(c, "domain");
      if (c.name !== "bootloader" && isEmptyElement(g)) continue;
      if (c.name === "cputune") normalizeCputune(g);
      if (c.name === "sysinfo") normalizeSysinfo(g);
      if (c.name === "memtune") for (const k of elements(g)) scaledToKiB(k, "unit");
      if (c.name === "memoryBacking") {
        // huge page sizes are kept in KiB
        for (const hp of elements(g, "hugepages")) {
          for (const p of elements(hp, "page")) {
            scaledToKiB(p, "unit", "size");
            p.attrs = orderAttrs(p.attrs, ["size", "unit", "nodeset"]);
          }
        }
      }
      pushExtra(def.extra, c.name, g);
    } else if (c.name.includes(":")) pushExtra(def.extra, "ns", cloneElement(c));
  }
  def.devices = parseDevices(child(root, "devices"), def.os.type);
  return def;
}

function isEmptyElement(e: XmlElement): boolean {
  return e.attrs.length === 0 && e.children.length === 0;
}

/** Metadata keeps only namespaced children, verbatim (libvirt drops the others). */
function cloneMetadata(md: XmlElement): XmlElement {
  const c = cloneElement(md);
  c.children = c.children.filter(
    (k) => k.kind === "element" && (k.name.includes(":") || k.attrs.some(([a]) => a === "xmlns")),
  );
  return c;
}

export { orderAttrs };
