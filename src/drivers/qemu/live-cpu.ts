// The guest CPU of a running x86 domain as libvirtd 9.0 shows it (qemuProcessUpdateGuestCPU and
// qemuProcessUpdateLiveGuestCPU, reduced to custom-mode models): before QEMU starts the model may
// no longer fall back to another (fallback='forbid'); once QEMU runs, the CPUID feature words of
// its first vCPU are read over QMP and the live definition lists what QEMU enabled beyond the
// model (policy='require') and the model features QEMU could not give (policy='disable'), with
// check='full'. Feature and model definitions are libvirt's CPU map as installed on this host
// (/usr/share/libvirt/cpu_map, Debian's libvirt-daemon): without it the CPU is left as defined.
// `dumpxml --migratable` shows the CPU as it was before QEMU's view was added (libvirt's
// origCPU); rememberOrigCpu/migratableCpu keep it per running domain.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DomainDef } from "../../conf/domain/index.js";
import { attr, child, el, elements, formatElement, parseXml, type XmlElement } from "../../xml/index.js";

export const CPU_MAP_DIR = "/usr/share/libvirt/cpu_map";

/** One CPUID bit set of a libvirt feature: leaf, subleaf, register, mask. */
interface CpuidBits {
  leaf: number;
  subleaf: number;
  reg: "eax" | "ebx" | "ecx" | "edx";
  mask: number;
}

interface CpuMap {
  /** Features in the map's order with their CPUID bits (MSR-only features left out). */
  features: { name: string; bits: CpuidBits[] }[];
  models: Map<string, string[] | null>;
}

let mapCache: CpuMap | null | undefined;

function loadFeatures(dir: string): CpuMap["features"] | null {
  const file = join(dir, "x86_features.xml");
  if (!existsSync(file)) return null;
  const root = parseXml(readFileSync(file, "utf8"));
  const out: CpuMap["features"] = [];
  for (const f of elements(root, "feature")) {
    const name = attr(f, "name");
    if (name === undefined) continue;
    const bits: CpuidBits[] = [];
    for (const c of elements(f, "cpuid")) {
      const leaf = Number(attr(c, "eax_in") ?? "0");
      const subleaf = Number(attr(c, "ecx_in") ?? "0");
      for (const reg of ["eax", "ebx", "ecx", "edx"] as const) {
        const v = attr(c, reg);
        if (v !== undefined && Number(v) !== 0) bits.push({ leaf, subleaf, reg, mask: Number(v) >>> 0 });
      }
    }
    if (bits.length) out.push({ name, bits });
  }
  return out;
}

function cpuMap(dir = CPU_MAP_DIR): CpuMap | null {
  if (mapCache !== undefined) return mapCache;
  try {
    const features = loadFeatures(dir);
    mapCache = features ? { features, models: new Map() } : null;
  } catch {
    mapCache = null;
  }
  return mapCache;
}

/** The feature names a model of the map lists, or null when the map has no such model. */
function modelFeatures(map: CpuMap, model: string, dir = CPU_MAP_DIR): string[] | null {
  if (map.models.has(model)) return map.models.get(model)!;
  let out: string[] | null = null;
  try {
    // model names are file names of the map (x86_<model>.xml); nothing else is read
    if (/^[A-Za-z0-9._-]+$/.test(model)) {
      const file = join(dir, `x86_${model}.xml`);
      if (existsSync(file)) {
        const m = elements(parseXml(readFileSync(file, "utf8")), "model").find((e) => attr(e, "name") === model);
        if (m) {
          out = [];
          for (const c of elements(m)) {
            if (c.name === "feature" && attr(c, "name") !== undefined) out.push(attr(c, "name")!);
            // a model based on another one (<model name='...'/>) has that one's features too
            if (c.name === "model" && attr(c, "name") !== undefined && attr(c, "name") !== model)
              out.push(...(modelFeatures(map, attr(c, "name")!, dir) ?? []));
          }
        }
      }
    }
  } catch {
    out = null;
  }
  map.models.set(model, out);
  return out;
}

const isX86 = (arch: string) => arch === "x86_64" || arch === "i686";

/** A custom-mode CPU with a model: the only kind updated here. */
function customModel(def: DomainDef): { cpu: XmlElement; model: XmlElement; name: string } | undefined {
  const cpu = def.cpu;
  if (!cpu || !isX86(def.os.arch)) return undefined;
  if ((attr(cpu, "mode") ?? "custom") !== "custom") return undefined;
  const model = child(cpu, "model");
  const name = model ? model.children.map((c) => (c.kind === "text" ? c.text : "")).join("").trim() : "";
  if (!model || name === "") return undefined;
  return { cpu, model, name };
}

function setAttr(e: XmlElement, k: string, v: string, before?: string): void {
  const i = e.attrs.findIndex(([n]) => n === k);
  if (i >= 0) e.attrs[i] = [k, v];
  else {
    const at = before === undefined ? -1 : e.attrs.findIndex(([n]) => n === before);
    if (at >= 0) e.attrs.splice(at, 0, [k, v]);
    else e.attrs.push([k, v]);
  }
}

/** Before QEMU starts: a custom model runs as named or not at all (fallback='forbid'). */
export function prepareLiveCpu(def: DomainDef): void {
  const c = customModel(def);
  if (!c || !cpuMap()) return;
  setAttr(c.model, "fallback", "forbid");
}

interface FeatureWord {
  "cpuid-input-eax": number;
  "cpuid-input-ecx"?: number;
  "cpuid-register": string;
  features: number;
}

type Words = Map<string, number>;

function wordsOf(list: unknown): Words {
  const out: Words = new Map();
  if (!Array.isArray(list)) return out;
  for (const w of list as FeatureWord[]) {
    const reg = String(w["cpuid-register"] ?? "").toLowerCase();
    const key = `${w["cpuid-input-eax"]}/${w["cpuid-input-ecx"] ?? 0}/${reg}`;
    out.set(key, ((out.get(key) ?? 0) | (w.features >>> 0)) >>> 0);
  }
  return out;
}

function has(words: Words, bits: CpuidBits[]): boolean {
  return bits.every((b) => (((words.get(`${b.leaf}/${b.subleaf}/${b.reg}`) ?? 0) & b.mask) >>> 0) === b.mask);
}

/** What the QMP monitor of the running QEMU answers (QemuProcess.monitor). */
export interface QmpLike {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/**
 * Once QEMU runs (vCPUs still stopped): the live CPU lists the features QEMU enabled beyond the
 * model and the features XML (listed or through the model) asks for that it filtered out, and is
 * checked in full. Returns whether features were added or changed. A QEMU or map that cannot
 * tell leaves the CPU as it is.
 */
export async function updateLiveCpu(qmp: QmpLike, def: DomainDef): Promise<boolean> {
  const c = customModel(def);
  const map = c ? cpuMap() : null;
  if (!c || !map) return false;
  const inModel = modelFeatures(map, c.name);
  if (!inModel) return false;
  let enabled: Words;
  let filtered: Words;
  try {
    const cpus = await qmp.execute<{ "qom-path"?: string }[]>("query-cpus-fast");
    const path = cpus[0]?.["qom-path"];
    if (!path) return false;
    enabled = wordsOf(await qmp.execute("qom-get", { path, property: "feature-words" }));
    filtered = wordsOf(await qmp.execute("qom-get", { path, property: "filtered-features" }));
  } catch {
    return false;
  }
  // what the definition asks for: the model's features with the listed ones applied
  const listed = new Map<string, XmlElement>();
  for (const f of elements(c.cpu, "feature")) {
    const n = attr(f, "name");
    if (n !== undefined) listed.set(n, f);
  }
  const expected = new Set(inModel);
  for (const [n, f] of listed) {
    const policy = attr(f, "policy") ?? "require";
    if (policy === "require" || policy === "force") expected.add(n);
    else if (policy === "disable" || policy === "forbid") expected.delete(n);
  }
  let changed = false;
  const kids = c.cpu.children.filter((k) => k.kind === "element");
  const update = (name: string, policy: string) => {
    changed = true;
    const f = listed.get(name);
    if (f) setAttr(f, "policy", policy, "name");
    else kids.push(el("feature", { policy, name }));
  };
  // QEMU's view, in the map's order: what it enabled beyond what was asked for, and what was asked
  // for that it filtered out (the accelerator cannot give it)
  for (const f of map.features) {
    if (!expected.has(f.name) && has(enabled, f.bits)) update(f.name, "require");
    else if (expected.has(f.name) && has(filtered, f.bits) && !has(enabled, f.bits)) update(f.name, "disable");
  }
  if (changed) c.cpu.children = kids;
  setAttr(c.cpu, "check", "full");
  return changed;
}

/** The CPU each running domain had before QEMU's view was added, by UUID (libvirt's origCPU). */
const origCpus = new Map<string, { live: string; orig: XmlElement }>();

/** The CPU element as text without layout (a definition copied through its XML compares equal). */
function serialise(e: XmlElement): string {
  const kids = elements(e).map(serialise).join("");
  const text = kids === "" ? e.children.map((c) => (c.kind === "text" ? c.text : "")).join("").trim() : "";
  return `<${e.name}${e.attrs.map(([k, v]) => ` ${k}=${JSON.stringify(v)}`).join("")}>${text}${kids}</${e.name}>`;
}

function clone(e: XmlElement): XmlElement {
  return JSON.parse(JSON.stringify(e)) as XmlElement;
}

/** A copy of the CPU before updateLiveCpu, taken while QEMU starts. */
export function copyCpu(def: DomainDef): XmlElement | undefined {
  return def.cpu ? clone(def.cpu) : undefined;
}

/** Remembers a running domain's original CPU for `dumpxml --migratable` (forgotten at its exit). */
export function rememberOrigCpu(uuid: string, live: DomainDef, orig: XmlElement | undefined): void {
  if (orig && live.cpu) origCpus.set(uuid, { live: serialise(live.cpu), orig });
  else origCpus.delete(uuid);
}

export function forgetOrigCpu(uuid: string): void {
  origCpus.delete(uuid);
}

/**
 * For the migratable copy of a running domain's definition: its CPU as it was before QEMU's view
 * was added, when the copy's CPU is that domain's live one.
 */
export function restoreOrigCpu(def: DomainDef): void {
  const o = origCpus.get(def.uuid);
  if (!o || !def.cpu || serialise(def.cpu) !== o.live) return;
  def.cpu = clone(o.orig);
}

/** The remembered original CPU of a running domain as XML text, for its status file. */
export function origCpuXml(uuid: string): string | undefined {
  const o = origCpus.get(uuid);
  return o ? formatElement(o.orig) : undefined;
}

/** Remembers again, after a daemon restart, the original CPU a status file kept. */
export function restoreOrigCpuXml(uuid: string, live: DomainDef, xml: unknown): void {
  if (typeof xml !== "string" || !live.cpu) return;
  try {
    const orig = parseXml(xml);
    if (orig.name === "cpu") origCpus.set(uuid, { live: serialise(live.cpu), orig });
  } catch {
    // an unreadable entry: --migratable shows the live CPU
  }
}
