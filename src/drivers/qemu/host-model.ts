// The host-model CPU of a TCG guest as libvirt 9.0 computes it (virQEMUCapsInitCPUModelX86 +
// x86Decode): QEMU's 'max' CPU (query-cpu-model-expansion, migratable features only) read as
// CPUID bits through libvirt's CPU map, then named after the map's model that needs the fewest
// feature changes (among the models QEMU knows, of the CPU's vendor, preferring one whose
// signature is the CPU's family/model), with the features QEMU has beyond it required and the
// model's features QEMU lacks (or marks unavailable for it) disabled. Debian's libvirt-daemon CPU
// map (/usr/share/libvirt/cpu_map) is read once; without it there is no host-model CPU.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DomainDef } from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, el, elements, parseXml, type XmlElement } from "../../xml/index.js";
import type { QemuCaps } from "./capabilities.js";
import { CPU_MAP_DIR } from "./live-cpu.js";

/** What the capability probe keeps of QEMU's 'max' CPU. */
export interface HostCpuData {
  /** query-cpu-model-expansion type=full of 'max' with migratable=on: its properties. */
  props: Record<string, unknown>;
  /** query-cpu-definitions: each model's unavailable-features. */
  blockers: Record<string, string[]>;
}

type Words = Map<string, number>;

interface Feature {
  name: string;
  bits: [string, number][];
}

interface Model {
  name: string;
  decodeHost: boolean;
  vendor?: string;
  signatures: [number, number][];
  features: string[];
}

interface FullMap {
  features: Feature[];
  byName: Map<string, Feature>;
  /** QEMU's spelling (and the map's own) → map feature */
  byQemuName: Map<string, Feature>;
  models: Model[];
  vendors: Map<string, string>;
}

let cached: FullMap | null | undefined;

function parseFile(dir: string, f: string): XmlElement | undefined {
  const p = join(dir, f);
  return existsSync(p) ? parseXml(readFileSync(p, "utf8")) : undefined;
}

function loadMap(dir = CPU_MAP_DIR): FullMap | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const index = parseFile(dir, "index.xml");
    const arch = index ? elements(index, "arch").find((a) => attr(a, "name") === "x86") : undefined;
    if (!arch) return null;
    const map: FullMap = {
      features: [],
      byName: new Map(),
      byQemuName: new Map(),
      models: [],
      vendors: new Map(),
    };
    const rawModels = new Map<string, XmlElement>();
    for (const inc of elements(arch, "include")) {
      const root = parseFile(dir, attr(inc, "filename") ?? "");
      if (!root) continue;
      for (const v of elements(root, "vendor"))
        map.vendors.set(attr(v, "string") ?? "", attr(v, "name") ?? "");
      for (const f of elements(root, "feature")) {
        const name = attr(f, "name");
        if (name === undefined) continue;
        const bits: [string, number][] = [];
        for (const c of elements(f, "cpuid")) {
          const key = `${Number(attr(c, "eax_in") ?? "0")}/${Number(attr(c, "ecx_in") ?? "0")}`;
          for (const reg of ["eax", "ebx", "ecx", "edx"]) {
            const v = attr(c, reg);
            if (v !== undefined && Number(v) !== 0) bits.push([`${key}/${reg}`, Number(v) >>> 0]);
          }
        }
        if (bits.length === 0) continue; // MSR features: not in QEMU's CPUID view
        const feat = { name, bits };
        map.features.push(feat);
        map.byName.set(name, feat);
        map.byQemuName.set(name, feat);
        for (const a of elements(f, "alias"))
          if (attr(a, "source") === "qemu") map.byQemuName.set(attr(a, "name") ?? "", feat);
      }
      for (const m of elements(root, "model")) if (attr(m, "name")) rawModels.set(attr(m, "name")!, m);
    }
    const featuresOf = (name: string, seen: Set<string>): string[] => {
      const m = rawModels.get(name);
      if (!m || seen.has(name)) return [];
      seen.add(name);
      const out: string[] = [];
      for (const c of elements(m)) {
        if (c.name === "model" && attr(c, "name")) out.push(...featuresOf(attr(c, "name")!, seen));
        // (a feature QEMU's model lost, removed='yes', is not the model's when decoding)
        if (c.name === "feature" && attr(c, "name") && attr(c, "removed") !== "yes")
          out.push(attr(c, "name")!);
      }
      return out;
    };
    const inherited = (
      name: string,
      what: (m: XmlElement) => XmlElement | undefined,
    ): XmlElement | undefined => {
      const m = rawModels.get(name);
      if (!m) return undefined;
      const own = what(m);
      if (own) return own;
      const parent = elements(m, "model")[0];
      return parent ? inherited(attr(parent, "name") ?? "", what) : undefined;
    };
    for (const [name, m] of rawModels) {
      const decode = elements(m, "decode")[0];
      const vendor = inherited(name, (x) => elements(x, "vendor")[0]);
      map.models.push({
        name,
        decodeHost: decode ? attr(decode, "host") === "on" : true,
        vendor: vendor ? attr(vendor, "name") : undefined,
        signatures: elements(m, "signature").map((s) => [
          Number(attr(s, "family")),
          Number(attr(s, "model")),
        ]),
        features: featuresOf(name, new Set()),
      });
    }
    cached = map;
  } catch {
    cached = null;
  }
  return cached;
}

function add(w: Words, f: Feature): void {
  for (const [k, m] of f.bits) w.set(k, ((w.get(k) ?? 0) | m) >>> 0);
}

function subset(w: Words, f: Feature): boolean {
  return f.bits.every(([k, m]) => ((w.get(k) ?? 0) & m) >>> 0 === m);
}

function minus(a: Words, b: Words): Words {
  const out: Words = new Map();
  for (const [k, v] of a) out.set(k, (v & ~(b.get(k) ?? 0)) >>> 0);
  return out;
}

/** The map's features whose bits `w` holds, in map order, each taking its bits (aliases once). */
function featuresIn(map: FullMap, w: Words): string[] {
  const left = new Map(w);
  const out: string[] = [];
  for (const f of map.features) {
    if (!subset(left, f)) continue;
    out.push(f.name);
    for (const [k, m] of f.bits) left.set(k, ((left.get(k) ?? 0) & ~m) >>> 0);
  }
  return out;
}

/**
 * The host-model CPU (`<cpu mode='custom' match='exact'>` with model, vendor and features) for
 * QEMU's 'max' CPU, or undefined when the data or the map is missing.
 */
export function hostModelCpu(
  data: HostCpuData | undefined,
  qemuModels: readonly string[],
): XmlElement | undefined {
  return decodeHost(data, qemuModels)?.cpu;
}

function decodeHost(
  data: HostCpuData | undefined,
  qemuModels: readonly string[],
): { cpu: XmlElement; has: (feature: string) => boolean } | undefined {
  if (!data) return undefined;
  const map = loadMap();
  if (!map) return undefined;
  const cpuData: Words = new Map();
  for (const [k, v] of Object.entries(data.props)) {
    if (v !== true) continue;
    const f = map.byQemuName.get(k) ?? map.byQemuName.get(k.replace(/-/g, "_"));
    if (f) add(cpuData, f);
  }
  const vendor = map.vendors.get(String(data.props.vendor ?? ""));
  const family = Number(data.props.family ?? 0);
  const modelNo = Number(data.props.model ?? 0);
  const sigMatch = (m: Model) => m.signatures.some(([f, n]) => f === family && n === modelNo);
  const known = new Set(qemuModels);
  let best: { m: Model; require: string[]; disable: string[] } | undefined;
  for (const m of map.models) {
    if (!m.decodeHost || !known.has(m.name)) continue;
    if (vendor && m.vendor && m.vendor !== vendor) continue;
    const modelData: Words = new Map();
    for (const n of m.features) {
      const f = map.byName.get(n);
      if (f) add(modelData, f);
    }
    // what QEMU says it cannot give for this model counts as the model's
    for (const b of data.blockers[m.name] ?? []) {
      const f = map.byQemuName.get(b) ?? map.byQemuName.get(b.replace(/-/g, "_"));
      if (f && !subset(cpuData, f)) add(modelData, f);
    }
    const require = featuresIn(map, minus(cpuData, modelData));
    const disable = featuresIn(map, minus(modelData, cpuData));
    const cand = { m, require, disable };
    if (!best) {
      best = cand;
      continue;
    }
    const n = (x: typeof cand) => x.require.length + x.disable.length;
    if (sigMatch(best.m) && !sigMatch(m)) continue;
    if (n(best) > n(cand) || (sigMatch(m) && !sigMatch(best.m))) best = cand;
  }
  if (!best) return undefined;
  const cpu = el("cpu", { mode: "custom", match: "exact" }, el("model", { fallback: "forbid" }, best.m.name));
  if (vendor) cpu.children.push(el("vendor", {}, vendor));
  for (const name of best.require) cpu.children.push(el("feature", { policy: "require", name }));
  for (const name of best.disable) cpu.children.push(el("feature", { policy: "disable", name }));
  const has = (name: string) => {
    const f = map.byName.get(name) ?? map.byQemuName.get(name);
    return f !== undefined && subset(cpuData, f);
  };
  return { cpu, has };
}

/**
 * At start (and for domxml-to-native): a TCG x86 guest's host-model CPU becomes the custom CPU
 * libvirt runs it as (qemuProcessUpdateGuestCPU): the host model's model, vendor and features,
 * the definition's own features applied over them, its topology, cache and NUMA kept. Without
 * the probe data (an old capability cache) the CPU is left as it is (and runs as 'max').
 */
export function applyHostModel(def: DomainDef, caps: QemuCaps): void {
  const cpu = def.cpu;
  if (!cpu || attr(cpu, "mode") !== "host-model" || def.type === "kvm") return;
  if (def.os.arch !== "x86_64" && def.os.arch !== "i686") return;
  const decoded = decodeHost(
    caps.hostCpu ?? undefined,
    caps.cpuModels.map((m) => m.name),
  );
  if (!decoded) return;
  // what the definition requires must be the host's (virCPUUpdate of a host-model CPU)
  const missing = elements(cpu, "feature")
    .filter((f) => (attr(f, "policy") ?? "require") === "require" && !decoded.has(attr(f, "name") ?? ""))
    .map((f) => attr(f, "name") ?? "");
  if (missing.length > 0)
    throw virError(
      ErrorCode.CPU_INCOMPATIBLE,
      ErrorDomain.CPU,
      `Host CPU does not provide required features: ${missing.join(", ")}`,
    );
  const hostKids = elements(decoded.cpu);
  const features = hostKids.filter((k) => k.name === "feature");
  for (const f of elements(cpu, "feature")) {
    const name = attr(f, "name");
    if (name === undefined) continue;
    const policy = attr(f, "policy") ?? "require";
    const i = features.findIndex((x) => attr(x, "name") === name);
    const nf = el("feature", { policy, name });
    if (i >= 0) features[i] = nf;
    else features.push(nf);
  }
  const own = elements(cpu);
  const check = attr(cpu, "check");
  def.cpu = el(
    "cpu",
    [
      ["mode", "custom"],
      ["match", "exact"],
      ...(check !== undefined ? ([["check", check]] as [string, string][]) : []),
    ],
    ...hostKids.filter((k) => k.name === "model" || k.name === "vendor"),
    ...own.filter((k) => k.name === "topology" || k.name === "cache" || k.name === "maxphysaddr"),
    ...features,
    ...own.filter((k) => k.name === "numa"),
  );
}

/**
 * The custom-mode CPU models of `virsh domcapabilities` for TCG as libvirt lists them: the models
 * both QEMU and the CPU map know, in reverse byte order of their names, usable unless QEMU names
 * features it cannot give them, with the map's vendor. Undefined without the map or the probe.
 */
export function tcgCpuModels(
  caps: QemuCaps,
): { name: string; usable: boolean; vendor: string }[] | undefined {
  const map = caps.hostCpu ? loadMap() : null;
  if (!map || !caps.hostCpu) return undefined;
  const known = new Map(map.models.map((m) => [m.name, m]));
  const blockers = caps.hostCpu.blockers;
  return caps.cpuModels
    .filter((m) => known.has(m.name))
    .map((m) => m.name)
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .map((name) => ({
      name,
      usable: (blockers[name]?.length ?? 0) === 0,
      vendor: known.get(name)!.vendor ?? "unknown",
    }));
}
