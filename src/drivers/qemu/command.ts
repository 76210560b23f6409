// Pure: a domain definition plus the binary's capabilities → QEMU argv in the modern style
// (-nodefaults, -blockdev, JSON -device, QMP on a unix socket). No I/O, no defaults from the host.
import type { DomainDef } from "../../conf/domain/index.js";
import { HYPERV_ORDER } from "../../conf/domain/normalize.js";
import type { XmlElement } from "../../xml/index.js";
import { type QemuCaps, resolveMachine } from "./capabilities.js";
import { buildChardevs, type ChardevRuntime } from "./command-chardev.js";
import {
  buildAudio,
  buildControllers,
  buildGraphics,
  buildInputs,
  buildInterfaces,
  buildMemballoon,
  buildOtherDevices,
  buildHubs,
  buildIommu,
  buildRedirdevs,
  buildSound,
  buildVideo,
  buildVsock,
  buildWatchdog,
  type DeviceRuntime,
} from "./command-devices.js";
import { buildDisks } from "./command-disk.js";
import {
  checkMemory,
  memLocked,
  memMergeOff,
  memoryBackendProps,
  needsRamBackend,
} from "./command-memory.js";
import { buildNuma, hasNumaCells } from "./command-numa.js";
import {
  attr,
  type BuildContext,
  add,
  addDevice,
  child,
  elementChildren,
  qemuEscape,
  textContent,
  unsupported,
} from "./command-util.js";

export interface CommandRuntime extends ChardevRuntime, DeviceRuntime {
  /** QMP monitor socket path. */
  monitorPath: string;
  pidfile?: string;
  /** The domain's directory for file-backed guest RAM (a file per RAM backend, named by its id). */
  memoryDir?: string;
  /** The time the guest starts (ms since the epoch) for `<clock offset='variable'>`; now by default. */
  now?: number;
}

/** Top-level elements that do not change the command line (tuning applied through cgroups, etc.). */
const IGNORABLE_EXTRA = new Set([
  "pm", // built by buildPm
  "iothreads", // built by buildIothreads
  "iothreadids",
  "blkiotune",
  "memtune",
  "cputune",
  "resource",
  "seclabel",
  "perf",
  "keywrap",
  "sysinfo",
  "memoryBacking", // RAM backends: command-memory.ts
  "numatune",
]);

/** libvirt's text (qemu_validate.c) for a KVM domain on a host without working KVM. */
const KVM_MISSING =
  "Domain requires KVM, but it is not available. Check that virtualization is enabled in the host BIOS, and host configuration is setup to load the kvm modules.";

export function buildQemuCommand(def: DomainDef, caps: QemuCaps, rt: CommandRuntime): string[] {
  if (caps.versionNumber < 6_002_000) throw unsupported("QEMU versions older than 6.2 are not supported");
  if (def.type !== "qemu" && def.type !== "kvm") {
    throw unsupported(`Emulator '${caps.binary}' does not support virt type '${def.type}'`);
  }
  if (def.type === "kvm" && !caps.kvm.usable) {
    throw unsupported(caps.kvm.reason ? `${KVM_MISSING} (${caps.kvm.reason})` : KVM_MISSING);
  }
  if (def.os.type !== "hvm")
    throw unsupported(`OS type '${def.os.type}' is not supported by the QEMU driver`);
  if (def.os.arch !== caps.arch) {
    throw unsupported(
      `No emulator for architecture '${def.os.arch}' (binary ${caps.binary} is ${caps.arch})`,
    );
  }
  if (def.devices.emulator !== undefined && def.devices.emulator !== caps.binary) {
    throw unsupported(`emulator '${def.devices.emulator}' does not match the probed binary '${caps.binary}'`);
  }
  for (const k of Object.keys(def.extra)) {
    if (k === "ns" && def.extra.ns!.every((e) => isQemuCommandline(def, e))) continue;
    if (def.extra[k]!.length > 0 && !IGNORABLE_EXTRA.has(k)) {
      throw unsupported(`<${k}> is not supported by the QEMU driver yet`);
    }
  }
  const machine = resolveMachine(caps, def.os.machine ?? "pc");
  if (!machine)
    throw unsupported(`Emulator '${caps.binary}' does not support machine type '${def.os.machine}'`);
  const q35 = machine.name.startsWith("pc-q35") || machine.name === "q35";
  if (!q35 && !machine.name.startsWith("pc-i440fx") && machine.name !== "pc") {
    throw unsupported(`machine type '${machine.name}' is not supported by the QEMU driver yet`);
  }
  const ctx: BuildContext = {
    def,
    caps,
    argv: [caps.binary],
    q35,
    bootIndex: new Map(),
    buses: new Set(),
    memoryDir: rt.memoryDir,
  };
  checkMemory(ctx);
  // the machine's RAM gets its own backend object when it is not plain anonymous RAM (and no
  // NUMA cells carry it), as libvirt 9.0 does; its default pc.ram object changes nothing
  const ramBackend = needsRamBackend(ctx) && !hasNumaCells(ctx);

  // Option order follows libvirt 9.0's qemuBuildCommandLine, so the argv reads the same.
  add(ctx, "-name", `guest=${qemuEscape(def.name)},debug-threads=on`, "-S");
  add(ctx, "-machine", machineOption(ctx, machine.name, ramBackend));
  add(ctx, "-accel", def.type === "kvm" ? "kvm" : "tcg");
  const smmEl = featureNames(def).get("smm");
  const tseg = smmEl ? child(smmEl, "tseg") : undefined;
  // the TSEG size is given in MiB to the q35 host bridge
  if (tseg) {
    const mib: Record<string, number> = {
      b: 1 / 1048576,
      bytes: 1 / 1048576,
      KiB: 1 / 1024,
      K: 1 / 1024,
      k: 1 / 1024,
    };
    const unit = attr(tseg, "unit") ?? "MiB";
    const scale = mib[unit] ?? (unit === "GiB" || unit === "G" ? 1024 : 1);
    add(ctx, "-global", `mch.extended-tseg-mbytes=${Math.floor(Number(textContent(tseg).trim()) * scale)}`);
  }
  buildCpu(ctx);
  buildLoader(ctx);
  // Whole MiB, as libvirt 9.0 passes it (it rounds memory up to 1 MiB in post-parse).
  const mib = Math.ceil(def.memory / 1024);
  add(ctx, "-m", String(mib));
  if (ramBackend)
    add(ctx, "-object", JSON.stringify(memoryBackendProps(ctx, "pc.ram", mib * 1048576, undefined)));
  add(ctx, "-overcommit", `mem-lock=${memLocked(ctx) ? "on" : "off"}`);
  add(ctx, "-smp", smpOption(def));
  buildIothreads(ctx);
  buildNuma(ctx);
  add(ctx, "-uuid", def.uuid);
  buildSmbios(ctx);
  for (const si of (def.extra.sysinfo ?? []).filter((e) => attr(e, "type") === "fwcfg")) {
    // fw_cfg entries: a string, or a file (qemuBuildSysinfoCommandLine)
    for (const e of elementChildren(si).filter((x) => x.name === "entry")) {
      const file = attr(e, "file");
      const val = file !== undefined ? `file=${qemuEscape(file)}` : `string=${qemuEscape(textContent(e))}`;
      add(ctx, "-fw_cfg", `name=${qemuEscape(attr(e, "name") ?? "")},${val}`);
    }
  }
  if (def.genid !== undefined) addDevice(ctx, { driver: "vmgenid", guid: def.genid, id: "vmgenid0" });
  if (def.devices.graphics.length === 0) add(ctx, "-display", "none");
  add(ctx, "-no-user-config", "-nodefaults");
  add(ctx, "-chardev", `socket,id=charmonitor,path=${qemuEscape(rt.monitorPath)},server=on,wait=off`);
  add(ctx, "-mon", "chardev=charmonitor,id=monitor,mode=control");
  if (rt.pidfile !== undefined) add(ctx, "-pidfile", rt.pidfile);
  add(ctx, "-rtc", rtcOption(def, rt.now ?? Date.now()));
  if (pitDelay(def)) add(ctx, "-global", "kvm-pit.lost_tick_policy=delay");
  // <timer name='hpet' present='no'/>: -no-hpet before QEMU 8.0, the machine's hpet=off after
  if (hpetOff(def) && caps.versionNumber < 8_000_000) add(ctx, "-no-hpet");
  // QEMU stops instead of exiting when the guest powers off, so the driver can tell a guest
  // poweroff from a reboot it asked for (virsh reboot) and apply <on_poweroff>, as libvirt does.
  add(ctx, "-no-shutdown");
  if (!featureNames(def).has("acpi") && caps.versionNumber < 8_000_000) add(ctx, "-no-acpi");
  buildPm(ctx);
  buildOs(ctx);
  assignBootIndexes(ctx);
  buildIommu(ctx);
  buildControllers(ctx);
  buildHubs(ctx); // hubs come between the controllers and the disks (qemuBuildHubCommandLine)
  buildDisks(ctx);
  buildInterfaces(ctx, rt);
  buildChardevs(ctx, rt);
  buildInputs(ctx);
  buildAudio(ctx);
  buildGraphics(ctx, rt);
  buildVideo(ctx);
  buildSound(ctx);
  buildWatchdog(ctx);
  buildRedirdevs(ctx);
  buildMemballoon(ctx);
  buildOtherDevices(ctx);
  const vmcore = featureNames(def).get("vmcoreinfo");
  if (vmcore && attr(vmcore, "state") !== "off") addDevice(ctx, { driver: "vmcoreinfo" });
  // <qemu:commandline> arguments go last but for the sandbox and message options
  for (const a of qemuCommandlineArgs(def)) ctx.argv.push(a);
  if (caps.sandbox) {
    add(ctx, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
  buildVsock(ctx, rt);
  add(ctx, "-msg", "timestamp=on");
  return ctx.argv;
}

function featureNames(def: DomainDef): Map<string, XmlElement> {
  const m = new Map<string, XmlElement>();
  for (const f of elementChildren(def.features)) m.set(f.name, f);
  return m;
}

/** `<features>` this builder turns into argv (or that change none: pae, hap, privnet, msrs). */
const MACHINE_FEATURES = new Set([
  "acpi",
  "apic",
  "pae",
  "hap",
  "privnet",
  "vmport",
  "smm",
  "ioapic",
  "hyperv",
  "kvm",
  "pvspinlock",
  "pmu",
  "vmcoreinfo",
  "msrs",
]);

/**
 * What follows the model and its features in -cpu (qemuBuildCpuCommandLine): paravirtual timers,
 * KVM PV EOI/unhalt, Hyper-V enlightenments, KVM features, PMU.
 */
function cpuExtras(def: DomainDef): string[] {
  const out: string[] = [];
  const f = featureNames(def);
  for (const t of def.clock.children) {
    if (t.name !== "timer") continue;
    const present = attr(t, "present");
    if (attr(t, "name") === "kvmclock" && present !== undefined)
      out.push(`kvmclock=${present === "yes" ? "on" : "off"}`);
    if (attr(t, "name") === "hypervclock" && present === "yes") out.push("hv-time=on");
  }
  const apic = f.get("apic");
  const eoi = apic ? attr(apic, "eoi") : undefined;
  if (eoi !== undefined) out.push(`kvm-pv-eoi=${eoi}`);
  const pv = f.get("pvspinlock");
  if (pv) out.push(`kvm-pv-unhalt=${attr(pv, "state") === "off" ? "off" : "on"}`);
  const hv = f.get("hyperv");
  if (hv && (attr(hv, "mode") ?? "custom") === "passthrough") out.push("hv-passthrough=on");
  else if (hv) {
    const kids = new Map(elementChildren(hv).map((e) => [e.name, e]));
    for (const name of HYPERV_ORDER) {
      const e = kids.get(name);
      if (!e || attr(e, "state") !== "on") continue;
      if (name === "spinlocks") out.push(`hv-spinlocks=0x${Number(attr(e, "retries") ?? 0).toString(16)}`);
      else if (name === "vendor_id") out.push(`hv-vendor-id=${attr(e, "value") ?? ""}`);
      else {
        out.push(`hv-${name}=on`);
        const direct = child(e, "direct");
        if (name === "stimer" && direct && attr(direct, "state") === "on") out.push("hv-stimer-direct=on");
      }
    }
  }
  // a Hyper-V panic device is the hv-crash CPU flag (no '=on', as libvirt writes it)
  if (def.devices.other.some((o) => o.kind === "panic" && attr(o.xml, "model") === "hyperv"))
    out.push("hv-crash");
  const kvm = f.get("kvm");
  if (kvm) {
    const on = (n: string) => {
      const e = child(kvm, n);
      return e ? attr(e, "state") : undefined;
    };
    if (on("hidden") === "on") out.push("kvm=off");
    if (on("hint-dedicated") !== undefined) out.push(`kvm-hint-dedicated=${on("hint-dedicated")}`);
    if (on("poll-control") !== undefined) out.push(`kvm-poll-control=${on("poll-control")}`);
  }
  const pmu = f.get("pmu");
  if (pmu) out.push(`pmu=${attr(pmu, "state") === "off" ? "off" : "on"}`);
  return out;
}

function machineOption(ctx: BuildContext, name: string, ramBackend: boolean): string {
  const f = featureNames(ctx.def);
  for (const k of f.keys()) {
    if (!MACHINE_FEATURES.has(k)) {
      throw unsupported(`feature '${k}' is not supported by the QEMU driver yet`);
    }
  }
  // libvirt's order: usb, vmport, smm, kernel_irqchip, then dump-guest-core (qemuBuildMachineCommandLine)
  const parts = [name, "usb=off"];
  const onOff = (k: string) => {
    const e = f.get(k);
    if (!e) return undefined;
    return attr(e, "state") === "off" ? "off" : "on";
  };
  const vmport = onOff("vmport");
  if (vmport) parts.push(`vmport=${vmport}`);
  const smm = onOff("smm");
  if (smm) parts.push(`smm=${smm}`);
  const ioapic = f.get("ioapic");
  const irq = ioapic ? attr(ioapic, "driver") : undefined;
  if (irq === "qemu") parts.push("kernel_irqchip=split");
  else if (irq === "kvm") parts.push("kernel_irqchip=on");
  parts.push("dump-guest-core=off");
  if (memMergeOff(ctx)) parts.push("mem-merge=off");
  if (ramBackend) parts.push("memory-backend=pc.ram");
  // Before QEMU 8.0 libvirt says -no-acpi (added after -no-shutdown); later the machine property.
  if (!f.has("acpi") && ctx.caps.versionNumber >= 8_000_000) parts.push("acpi=off");
  if (hpetOff(ctx.def) && ctx.caps.versionNumber >= 8_000_000) parts.push("hpet=off");
  return parts.join(",");
}

function buildCpu(ctx: BuildContext): void {
  const cpu = ctx.def.cpu;
  if (!cpu) {
    // libvirt gives TCG x86 guests its default model rather than QEMU's machine default.
    if (ctx.def.type === "qemu" && ctx.caps.arch === "x86_64") add(ctx, "-cpu", "qemu64");
    return;
  }
  const mode = attr(cpu, "mode") ?? "custom";
  const kvm = ctx.def.type === "kvm";
  let model: string;
  if (mode === "host-passthrough") {
    if (!kvm)
      throw unsupported(
        "CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor",
      );
    // libvirt marks passthrough CPUs migratable unless <cpu migratable='off'>.
    model = attr(cpu, "migratable") === "off" ? "host,migratable=off" : "host,migratable=on";
  } else if (mode === "host-model") {
    model = kvm ? "host" : "max";
  } else if (mode === "maximum") {
    model = "max";
  } else if (mode === "custom") {
    const m = child(cpu, "model");
    if (!m) return; // topology only
    model = textContent(m).trim();
    if (!ctx.caps.cpuModels.some((c) => c.name === model)) {
      throw unsupported(`CPU model '${model}' is not supported by hypervisor`);
    }
  } else throw unsupported(`CPU mode '${mode}' is not supported by the QEMU driver yet`);
  const feats: string[] = [];
  for (const f of elementChildren(cpu).filter((e) => e.name === "feature")) {
    const policy = attr(f, "policy") ?? "require";
    const name = attr(f, "name");
    if (!name) continue;
    const q = qemuFeatureName(name);
    if (policy === "require" || policy === "force") feats.push(`${q}=on`);
    else if (policy === "disable" || policy === "forbid") feats.push(`${q}=off`);
  }
  const cache = child(cpu, "cache");
  const cmode = cache ? attr(cache, "mode") : undefined;
  const cacheFlags =
    cmode === "emulate"
      ? ["l3-cache=on"]
      : cmode === "passthrough"
        ? ["host-cache-info=on", "l3-cache=off"]
        : cmode === "disable"
          ? ["l3-cache=off"]
          : [];
  add(ctx, "-cpu", [model, ...feats, ...cpuExtras(ctx.def), ...cacheFlags].join(","));
}

/**
 * QEMU's name of a CPU map feature (virQEMUCapsCPUFeatureToQEMU): the map spells some with '_'
 * (fxsr_opt, lahf_lm, tsc_adjust, ...) where QEMU's properties use '-', and pclmulqdq differently.
 */
function qemuFeatureName(name: string): string {
  if (name === "pclmuldq") return "pclmulqdq";
  return name.includes("_") ? name.replace(/_/g, "-") : name;
}

function smpOption(def: DomainDef): string {
  const max = def.vcpu.max;
  const cur = def.vcpu.current ?? max;
  const topo = def.cpu ? child(def.cpu, "topology") : undefined;
  const n = (k: string) => (topo && attr(topo, k) !== undefined ? Number(attr(topo, k)) : undefined);
  const sockets = n("sockets") ?? max;
  const dies = n("dies");
  const cores = n("cores") ?? 1;
  const threads = n("threads") ?? 1;
  if (sockets * (dies ?? 1) * cores * threads !== max) {
    throw unsupported(`CPU topology doesn't match maximum vcpu count`);
  }
  const parts = [String(cur)];
  if (cur !== max) parts.push(`maxcpus=${max}`);
  parts.push(`sockets=${sockets}`);
  if (dies !== undefined) parts.push(`dies=${dies}`);
  parts.push(`cores=${cores}`, `threads=${threads}`);
  return parts.join(",");
}

function pitDelay(def: DomainDef): boolean {
  return def.clock.children.some(
    (t) => t.name === "timer" && attr(t, "name") === "pit" && attr(t, "tickpolicy") === "delay",
  );
}

/** One iothread object per IOThread id (`<iothreadids>`, else 1..`<iothreads>`). */
function buildIothreads(ctx: BuildContext): void {
  const ids = ctx.def.extra.iothreadids?.[0];
  const count = ctx.def.extra.iothreads?.[0];
  const list = ids
    ? elementChildren(ids)
        .filter((e) => e.name === "iothread")
        .map((e) => Number(attr(e, "id")))
    : Array.from({ length: count ? Number(textContent(count).trim()) || 0 : 0 }, (_, i) => i + 1);
  for (const id of list) add(ctx, "-object", JSON.stringify({ "qom-type": "iothread", id: `iothread${id}` }));
}

function hpetOff(def: DomainDef): boolean {
  return def.clock.children.some(
    (t) => t.name === "timer" && attr(t, "name") === "hpet" && attr(t, "present") === "no",
  );
}

/** `<pm>` suspend states as the chipset's disable_s3/disable_s4 (qemuBuildPMCommandLine). */
function buildPm(ctx: BuildContext): void {
  const pm = ctx.def.extra.pm?.[0];
  if (!pm) return;
  const lpc = ctx.q35 ? "ICH9-LPC" : "PIIX4_PM";
  for (const [el, prop] of [
    ["suspend-to-mem", "disable_s3"],
    ["suspend-to-disk", "disable_s4"],
  ] as const) {
    const e = child(pm, el);
    const enabled = e ? attr(e, "enabled") : undefined;
    if (enabled === "yes" || enabled === "no")
      add(ctx, "-global", `${lpc}.${prop}=${enabled === "no" ? 1 : 0}`);
  }
}

/** `YYYY-MM-DDTHH:MM:SS` of a UTC time in seconds, as QEMU's -rtc base= takes it. */
function rtcDate(secs: number): string {
  return new Date(secs * 1000).toISOString().slice(0, 19);
}

/**
 * The host's offset from UTC in seconds at a time (TZ of this process), as libvirt's
 * virTimeLocalOffsetFromUTC gives it for `basis='localtime'`.
 */
function localOffsetSecs(ms: number): number {
  return -new Date(ms).getTimezoneOffset() * 60;
}

/**
 * The -rtc base (qemuBuildClockArgStr): utc and localtime as they are; a timezone is
 * base=localtime with TZ set in QEMU's environment (see clockEnv); absolute is the start time;
 * variable is the start of the guest plus the adjustment, plus the host's UTC offset for
 * basis='localtime', as a UTC date (utc/localtime with a number of seconds as adjustment too).
 */
function rtcBase(def: DomainDef, now: number): string {
  const { offset } = def.clock;
  const ca = (k: string) => def.clock.attrs.find(([n]) => n === k)?.[1];
  const adjustment = ca("adjustment");
  switch (offset) {
    case "utc":
    case "localtime":
      // a number of seconds makes it a start-relative base, as offset='variable' with this basis
      if (adjustment === undefined || !/^[+-]?\d+$/.test(adjustment)) return offset;
      return rtcDate(
        Math.floor(now / 1000) + Number(adjustment) + (offset === "localtime" ? localOffsetSecs(now) : 0),
      );
    case "timezone":
      return "localtime";
    case "absolute":
      return rtcDate(Number(ca("start") ?? 0));
    case "variable": {
      let secs = Math.floor(now / 1000) + Number(ca("adjustment") ?? 0);
      if (ca("basis") === "localtime") secs += localOffsetSecs(now);
      return rtcDate(secs);
    }
    default:
      throw unsupported(`clock offset '${offset}' is not supported by the QEMU driver yet`);
  }
}

/** QEMU's environment for `<clock offset='timezone' timezone='X'>`: TZ=X (libvirt sets the same). */
/** libvirt's QEMU XML namespace (`<qemu:commandline>` and friends). */
const QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0";

/** True for a `<P:commandline>` whose prefix P names libvirt's QEMU namespace. */
function isQemuCommandline(def: DomainDef, e: XmlElement): boolean {
  const at = e.name.indexOf(":");
  if (at < 0 || e.name.slice(at + 1) !== "commandline") return false;
  const decl = `xmlns:${e.name.slice(0, at)}`;
  const uri = e.attrs.find(([k]) => k === decl)?.[1] ?? def.rootAttrs.find(([k]) => k === decl)?.[1];
  return uri === QEMU_NS;
}

/** The children of the domain's `<qemu:commandline>` elements with one local name (arg or env). */
function commandlineItems(def: DomainDef, local: string): XmlElement[] {
  return (def.extra.ns ?? [])
    .filter((e) => isQemuCommandline(def, e))
    .flatMap((e) => elementChildren(e).filter((c) => c.name.slice(c.name.indexOf(":") + 1) === local));
}

/** `<qemu:arg value=...>` in order: extra QEMU arguments. */
export function qemuCommandlineArgs(def: DomainDef): string[] {
  return commandlineItems(def, "arg").map((a) => attr(a, "value") ?? "");
}

/** `<qemu:env name=... value=...>` in order: extra variables of QEMU's environment (no value: empty). */
export function qemuCommandlineEnv(def: DomainDef): [string, string][] {
  return commandlineItems(def, "env")
    .filter((e) => attr(e, "name") !== undefined)
    .map((e) => [attr(e, "name")!, attr(e, "value") ?? ""]);
}

export function clockEnv(def: DomainDef): [string, string][] {
  const tz =
    def.clock.offset === "timezone" ? def.clock.attrs.find(([n]) => n === "timezone")?.[1] : undefined;
  return tz !== undefined ? [["TZ", tz]] : [];
}

function rtcOption(def: DomainDef, now: number): string {
  let v = `base=${rtcBase(def, now)}`;
  for (const t of def.clock.children.filter((c) => c.name === "timer")) {
    const name = attr(t, "name");
    if (name === "rtc") {
      // what the RTC tracks, then its catch-up policy (qemuBuildClockArgStr)
      const clock = { guest: "vm", wall: "host", realtime: "rt" }[attr(t, "track") ?? ""];
      if (clock) v += `,clock=${clock}`;
      if (attr(t, "tickpolicy") === "catchup") v += ",driftfix=slew";
    } else if (["pit", "hpet", "kvmclock", "hypervclock", "tsc"].includes(name ?? "")) continue;
    else throw unsupported(`timer '${name}' is not supported by the QEMU driver yet`);
  }
  return v;
}

function buildSmbios(ctx: BuildContext): void {
  const sm = ctx.def.os.extra.smbios?.[0];
  if (!sm) return;
  const mode = attr(sm, "mode");
  if (mode !== "sysinfo") throw unsupported(`smbios mode '${mode}' is not supported by the QEMU driver yet`);
  const si = (ctx.def.extra.sysinfo ?? []).find((e) => attr(e, "type") === "smbios");
  if (!si) throw unsupported("Domain requests SMBIOS 'sysinfo' but none is defined");
  for (const [section, type] of [
    ["bios", 0],
    ["system", 1],
  ] as const) {
    const s = child(si, section);
    if (!s) continue;
    const entries = elementChildren(s)
      .filter((e) => e.name === "entry")
      .map((e) => `${attr(e, "name")}=${qemuEscape(textContent(e).trim())}`);
    if (entries.length > 0) add(ctx, "-smbios", [`type=${type}`, ...entries].join(","));
  }
}

function buildOs(ctx: BuildContext): void {
  const os = ctx.def.os;
  if (os.firmware !== undefined)
    throw unsupported(`firmware autoselection ('${os.firmware}') is not supported yet`);
  if (os.nvram) throw unsupported("<nvram> is not supported by the QEMU driver yet");
  for (const k of Object.keys(os.extra)) {
    if (!["bootmenu", "smbios", "acpi"].includes(k))
      throw unsupported(`<os><${k}> is not supported by the QEMU driver yet`);
  }
  const bm = os.extra.bootmenu?.[0];
  const menu = bm
    ? attr(bm, "enable") === "yes"
      ? "menu=on,"
      : attr(bm, "enable") === "no"
        ? "menu=off,"
        : ""
    : "";
  add(ctx, "-boot", `${menu}strict=on`);
  // a ROM loader's -bios was given right after -cpu (buildLoader)
  if (os.kernel !== undefined) add(ctx, "-kernel", os.kernel);
  if (os.initrd !== undefined) add(ctx, "-initrd", os.initrd);
  if (os.cmdline !== undefined) add(ctx, "-append", os.cmdline);
  if (os.dtb !== undefined) add(ctx, "-dtb", os.dtb);
}

/** A ROM `<loader>` as -bios, right after -cpu as libvirt 9.0 writes it. */
function buildLoader(ctx: BuildContext): void {
  const loader = ctx.def.os.loader;
  if (!loader) return;
  const type = attr(loader, "type") ?? "rom";
  if (type !== "rom") throw unsupported(`loader type '${type}' is not supported by the QEMU driver yet`);
  add(ctx, "-bios", textContent(loader).trim());
}

/** `<os><boot dev>` order or per-device `<boot order>` → bootindex on devices (libvirt does the same). */
function assignBootIndexes(ctx: BuildContext): void {
  const d = ctx.def.devices;
  const perDevice = [...d.disks, ...d.interfaces].some((x) => x.boot !== undefined);
  if (perDevice) {
    d.disks.forEach((x, i) => {
      if (x.boot) ctx.bootIndex.set(`disk:${i}`, x.boot.order);
    });
    d.interfaces.forEach((x, i) => {
      if (x.boot) ctx.bootIndex.set(`net:${i}`, x.boot.order);
    });
    return;
  }
  let next = 1;
  for (const dev of ctx.def.os.bootDevs) {
    let key: string | undefined;
    if (dev === "hd")
      key = idx(
        "disk",
        d.disks.findIndex((x) => x.device === "disk"),
      );
    else if (dev === "cdrom")
      key = idx(
        "disk",
        d.disks.findIndex((x) => x.device === "cdrom"),
      );
    else if (dev === "network") key = idx("net", d.interfaces.length > 0 ? 0 : -1);
    else if (dev === "fd") key = undefined;
    if (key && !ctx.bootIndex.has(key)) ctx.bootIndex.set(key, next++);
  }
}

function idx(kind: string, i: number): string | undefined {
  return i >= 0 ? `${kind}:${i}` : undefined;
}
