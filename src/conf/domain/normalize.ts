// libvirt's canonical forms for top-level parts tsvirt keeps as elements: <cpu> defaults and
// child order, <features> in enum order with switch states, <cputune> child order, and CPU
// set strings (virBitmapFormat).

import { attr, child, el, elements, type XmlElement } from "../../xml/index.js";
import { unitScale } from "../common/units.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { missingAttr } from "./errors.js";
import { orderAttrs } from "./xml-util.js";

/**
 * Rewrites a scaled size held in an element (`<x unit='MiB'>4</x>`, or `unitAttr` on a sibling
 * attribute when `valueAttr` is given) to KiB, as libvirt stores and prints it.
 */
export function scaledToKiB(e: XmlElement, unitAttr: string, valueAttr?: string): void {
  const unit = attr(e, unitAttr);
  const raw = valueAttr
    ? attr(e, valueAttr)
    : e.children.map((c) => (c.kind === "text" ? c.text : "")).join("");
  if (raw === undefined || !/^\s*[0-9]+\s*$/.test(raw)) return;
  const scale = unitScale(unit, 1024);
  if (scale === undefined) return;
  const kib = (BigInt(raw.trim()) * BigInt(scale) + 1023n) / 1024n;
  e.attrs = e.attrs.map(([k, v]) =>
    k === unitAttr ? [k, "KiB"] : valueAttr && k === valueAttr ? [k, String(kib)] : [k, v],
  );
  if (!e.attrs.some(([k]) => k === unitAttr)) e.attrs.push([unitAttr, "KiB"]);
  if (!valueAttr) e.children = [{ kind: "text", text: String(kib) }];
}

/** virDomainFeature enum order (libvirt 9.0). */
const FEATURE_ORDER = [
  "acpi",
  "apic",
  "pae",
  "hap",
  "viridian",
  "privnet",
  "hyperv",
  "kvm",
  "pvspinlock",
  "capabilities",
  "pmu",
  "vmport",
  "gic",
  "smm",
  "ioapic",
  "hpt",
  "vmcoreinfo",
  "htm",
  "nested-hv",
  "msrs",
  "ccf-assist",
  "xen",
  "cfpc",
  "sbbc",
  "ibs",
  "tcg",
  "async-teardown",
];
/** Features printed as `<name state='on|off'/>` (an empty element means on). */
const SWITCH_FEATURES = [
  "hap",
  "pmu",
  "vmport",
  "pvspinlock",
  "smm",
  "vmcoreinfo",
  "htm",
  "nested-hv",
  "ccf-assist",
];
/** Features whose state attribute is mandatory (virXMLPropTristateSwitch with REQUIRED). */
const STATE_REQUIRED = ["htm", "nested-hv", "ccf-assist"];
/** Hyper-V enlightenments in libvirt 9.0's enum order (virDomainHyperv): the XML's child order and
 * the order QEMU's CPU properties are written in. */
export const HYPERV_ORDER = [
  "relaxed",
  "vapic",
  "spinlocks",
  "vpindex",
  "runtime",
  "synic",
  "stimer",
  "reset",
  "vendor_id",
  "frequencies",
  "reenlightenment",
  "tlbflush",
  "ipi",
  "evmcs",
  "avic",
];
const KVM_ORDER = ["hidden", "hint-dedicated", "poll-control", "pv-ipi", "dirty-ring"];
const CPU_CHILD_ORDER = ["model", "vendor", "topology", "cache", "maxphysaddr", "feature", "numa"];
const CPUTUNE_ORDER = [
  "shares",
  "period",
  "quota",
  "global_period",
  "global_quota",
  "emulator_period",
  "emulator_quota",
  "iothread_period",
  "iothread_quota",
  "vcpupin",
  "emulatorpin",
  "iothreadpin",
  "vcpusched",
  "iothreadsched",
  "emulatorsched",
  "cachetune",
  "memorytune",
];

/** Stable sort of element children by a name order (unknown names last, document order kept). */
export function sortChildren(e: XmlElement, order: readonly string[]): void {
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i < 0 ? order.length : i;
  };
  const kids = elements(e);
  e.children = kids
    .map((k, i) => [k, i] as const)
    .sort((a, b) => rank(a[0].name) - rank(b[0].name) || a[1] - b[1])
    .map((x) => x[0]);
}

export function normalizeFeatures(f: XmlElement): void {
  sortChildren(f, FEATURE_ORDER);
  for (const c of elements(f)) {
    if (STATE_REQUIRED.includes(c.name) && attr(c, "state") === undefined) throw missingAttr("state", c.name);
    if (SWITCH_FEATURES.includes(c.name) && attr(c, "state") === undefined) c.attrs.unshift(["state", "on"]);
    if (c.name === "tcg") for (const t of elements(c, "tb-cache")) scaledToKiB(t, "unit");
    if (c.name === "hyperv") {
      // no mode is the custom one (each enlightenment as listed)
      if (attr(c, "mode") === undefined) c.attrs.unshift(["mode", "custom"]);
      sortChildren(c, HYPERV_ORDER);
      // A switched-off enlightenment keeps no parameters.
      for (const h of elements(c)) {
        if (attr(h, "state") === "off") h.attrs = h.attrs.filter(([k]) => k === "state");
      }
    }
    if (c.name === "kvm") sortChildren(c, KVM_ORDER);
  }
}

export function normalizeCpu(cpu: XmlElement): void {
  for (const f of elements(cpu, "feature")) {
    const p = attr(f, "policy");
    if (p !== undefined && !["force", "require", "optional", "disable", "forbid"].includes(p)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.CPU, "Invalid CPU feature policy");
    }
    // a guest CPU's feature without a policy is required (virCPUDefParseXML)
    if (p === undefined && attr(f, "name") !== undefined) f.attrs.unshift(["policy", "require"]);
  }
  const vid = child(cpu, "model") ? attr(child(cpu, "model")!, "vendor_id") : undefined;
  if (vid !== undefined && vid.length !== 12) {
    throw virError(ErrorCode.XML_ERROR, ErrorDomain.CPU, "vendor_id must be exactly 12 characters long");
  }
  const fb = child(cpu, "model") ? attr(child(cpu, "model")!, "fallback") : undefined;
  if (fb !== undefined && fb !== "allow" && fb !== "forbid") {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.CPU, "Invalid fallback attribute");
  }
  const mode = attr(cpu, "mode");
  const model = child(cpu, "model");
  const hasModelName = model?.children.some((c) => c.kind === "text" && c.text.trim() !== "");
  if (
    model &&
    !hasModelName &&
    (mode === "host-model" || mode === "host-passthrough" || mode === "maximum")
  ) {
    cpu.children = cpu.children.filter((c) => c !== model);
  }
  if (hasModelName && (mode === undefined || mode === "custom")) {
    if (mode === undefined) cpu.attrs.push(["mode", "custom"]);
    if (attr(cpu, "match") === undefined) cpu.attrs.push(["match", "exact"]);
    if (attr(model!, "fallback") === undefined) model!.attrs.push(["fallback", "allow"]);
    model!.attrs = orderAttrs(model!.attrs, ["fallback", "vendor_id"]);
  }
  // match only means something for a custom model: libvirt checks its value but keeps it for
  // host-model/host-passthrough/maximum (virt-xml --edit --cpu host-passthrough leaves it).
  if (mode !== undefined && mode !== "custom") cpu.attrs = cpu.attrs.filter(([k]) => k !== "match");
  cpu.attrs = orderAttrs(cpu.attrs, ["mode", "match", "check", "migratable"]);
  const topo = child(cpu, "topology");
  if (topo && attr(topo, "dies") === undefined) {
    topo.attrs.push(["dies", "1"]);
    topo.attrs = orderAttrs(topo.attrs, ["sockets", "dies", "clusters", "cores", "threads"]);
  }
  sortChildren(cpu, CPU_CHILD_ORDER);
  // NUMA cells (and their distance siblings) are stored by id and printed in id order.
  const byId = (a: XmlElement["children"][number], b: XmlElement["children"][number]) =>
    (a.kind === "element" ? Number(attr(a, "id") ?? 0) : 0) -
    (b.kind === "element" ? Number(attr(b, "id") ?? 0) : 0);
  const numa = child(cpu, "numa");
  if (numa) {
    // cell sizes are kept in KiB and printed with unit='KiB' (virDomainNumaDefFormatXML)
    for (const cell of elements(numa, "cell")) {
      scaledToKiB(cell, "unit", "memory");
      cell.attrs = orderAttrs(cell.attrs, ["id", "cpus", "memory", "unit", "memAccess", "discard"]);
    }
    numaDistances(elements(numa, "cell"));
    numa.children.sort(byId);
    for (const cell of elements(numa))
      for (const dist of elements(cell, "distances")) dist.children.sort(byId);
  }
}

/**
 * NUMA distances as virDomainNumaDefNodeDistanceParseXML fills them, cell by cell in document
 * order: a cell naming a sibling gets its own local distance (10), and the sibling gets its
 * local distance and, unless it has one already, the same distance back (symmetry).
 */
function numaDistances(cells: XmlElement[]): void {
  const ids = cells.map((c) => Number(attr(c, "id")));
  if (!cells.some((c) => child(c, "distances"))) return;
  if (ids.some((id, i) => !Number.isInteger(id) || id !== i)) {
    // ids were checked contiguous from 0; a cell order other than by id is left as written
    if ([...ids].sort((a, b) => a - b).some((id, i) => id !== i)) return;
  }
  const n = cells.length;
  const dist: (number[] | undefined)[] = new Array(n).fill(undefined);
  const byCell = new Map(ids.map((id, i) => [id, cells[i]!]));
  for (const cell of cells) {
    const cur = Number(attr(cell, "id"));
    const d = child(cell, "distances");
    if (!d) continue;
    for (const sib of elements(d, "sibling")) {
      const j = Number(attr(sib, "id"));
      const v = Number(attr(sib, "value"));
      if (!Number.isInteger(j) || j < 0 || j >= n || !Number.isInteger(v)) return;
      if (!dist[cur]) {
        dist[cur] = new Array(n).fill(0);
        dist[cur]![cur] = 10;
      }
      dist[cur]![j] = v;
      if (!dist[j]) {
        dist[j] = new Array(n).fill(0);
        dist[j]![j] = 10;
      }
      if (!dist[j]![cur]) dist[j]![cur] = v;
    }
  }
  dist.forEach((row, id) => {
    if (!row) return;
    const cell = byCell.get(id)!;
    const sibs = row.flatMap((v, j) =>
      v
        ? [
            el("sibling", [
              ["id", String(j)],
              ["value", String(v)],
            ] as [string, string][]),
          ]
        : [],
    );
    const d = child(cell, "distances");
    if (d) d.children = sibs;
    else {
      cell.children = cell.children.filter((k) => k.kind === "element");
      cell.children.push(el("distances", {}, ...sibs));
    }
  });
}

export function normalizeCputune(ct: XmlElement): void {
  sortChildren(ct, CPUTUNE_ORDER);
  // Pins are kept per vCPU / IOThread and printed in id order.
  const key = (c: XmlElement["children"][number]) => {
    if (c.kind !== "element") return 0;
    if (c.name === "vcpupin") return Number(attr(c, "vcpu") ?? 0);
    if (c.name === "iothreadpin") return Number(attr(c, "iothread") ?? 0);
    return 0;
  };
  // Only real-time schedulers have a priority.
  for (const s of elements(ct, "vcpusched")) {
    if (!["fifo", "rr"].includes(attr(s, "scheduler") ?? ""))
      s.attrs = s.attrs.filter(([k]) => k !== "priority");
  }
  const rank = (c: XmlElement["children"][number]) =>
    c.kind === "element" ? CPUTUNE_ORDER.indexOf(c.name) : -1;
  ct.children.sort((a, b) => rank(a) - rank(b) || key(a) - key(b));
}

/** Parses a libvirt CPU/node set ("0-3,^2,8") into sorted ids; undefined when malformed. */
export function parseCpuSet(s: string): number[] | undefined {
  const set = new Set<number>();
  for (const raw of s.split(",")) {
    const part = raw.trim();
    if (part === "") return undefined;
    const neg = part.startsWith("^");
    const body = neg ? part.slice(1) : part;
    const m = /^(\d+)(?:-(\d+))?$/.exec(body);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a || b > 65535) return undefined;
    for (let i = a; i <= b; i++) {
      if (neg) set.delete(i);
      else set.add(i);
    }
  }
  return [...set].sort((x, y) => x - y);
}

/** virBitmapFormat: consecutive runs as "a-b", joined by commas. */
export function formatCpuSet(ids: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(i === j ? String(ids[i]) : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

/** The `<numatune>` libvirt adds when vcpu placement is auto and none was given. */
export function autoNumatune(): XmlElement {
  return el("numatune", {}, el("memory", { mode: "strict", placement: "auto" }));
}

/** SMBIOS entry order per block (virSysinfoFormat writes fixed fields in this order). */
const SMBIOS_ENTRIES: Record<string, string[]> = {
  bios: ["vendor", "version", "date", "release"],
  system: ["manufacturer", "product", "version", "serial", "uuid", "sku", "family"],
  baseBoard: ["manufacturer", "product", "version", "serial", "asset", "location"],
  chassis: ["manufacturer", "version", "serial", "asset", "sku"],
  processor: [
    "socket_destination",
    "type",
    "family",
    "manufacturer",
    "signature",
    "version",
    "external_clock",
    "max_speed",
    "status",
    "serial_number",
    "part_number",
  ],
};

export function normalizeSysinfo(s: XmlElement): void {
  // fw_cfg sysinfo holds only <entry> elements; SMBIOS blocks there are ignored.
  if (attr(s, "type") === "fwcfg")
    s.children = s.children.filter((c) => c.kind === "element" && c.name === "entry");
  if (attr(s, "type") !== "smbios") return;
  for (const block of elements(s)) {
    const order = SMBIOS_ENTRIES[block.name];
    if (!order) continue;
    const rank = (c: XmlElement["children"][number]) => {
      const i = c.kind === "element" ? order.indexOf(attr(c, "name") ?? "") : -1;
      return i < 0 ? order.length : i;
    };
    block.children = block.children.filter((c) => c.kind === "element").sort((a, b) => rank(a) - rank(b));
  }
}
