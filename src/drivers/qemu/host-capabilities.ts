// Host + guest capabilities for qemu:///… (what `virsh capabilities` shows and virt-install
// reads): host CPU/NUMA from /sys, one guest per probed QEMU binary with its machine types.
// Domain type 'kvm' is listed only where the KVM probe found KVM really working.
import { readdirSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { Capabilities, CapsCpu, CapsGuest, CapsNumaCell } from "../../conf/capabilities/index.js";
import type { QemuCaps } from "./capabilities.js";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Expands a kernel cpulist ("0-3,8") into numbers. */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b ?? a) && i - a < 65536; i++) out.push(i);
  }
  return out;
}

function cpuInfo(id: number): CapsCpu {
  const base = `/sys/devices/system/cpu/cpu${id}/topology`;
  const num = (f: string) => {
    const v = readText(`${base}/${f}`);
    return v !== undefined ? Number(v) : undefined;
  };
  const c: CapsCpu = {
    id,
    socketId: num("physical_package_id"),
    dieId: num("die_id") ?? 0,
    coreId: num("core_id"),
  };
  const sib = readText(`${base}/thread_siblings_list`);
  if (sib !== undefined) c.siblings = sib;
  return c;
}

function hostCells(): CapsNumaCell[] {
  const cells: CapsNumaCell[] = [];
  let nodes: string[] = [];
  try {
    nodes = readdirSync("/sys/devices/system/node").filter((n) => /^node\d+$/.test(n));
  } catch {}
  for (const n of nodes.sort((x, y) => Number(x.slice(4)) - Number(y.slice(4)))) {
    const id = Number(n.slice(4));
    const meminfo = readText(`/sys/devices/system/node/${n}/meminfo`) ?? "";
    const m = /MemTotal:\s+(\d+) kB/.exec(meminfo);
    const list = parseCpuList(readText(`/sys/devices/system/node/${n}/cpulist`) ?? "");
    cells.push({
      id,
      memoryKiB: m ? Number(m[1]) : 0,
      pages: [{ sizeKiB: 4, count: Math.floor((m ? Number(m[1]) : 0) / 4) }],
      cpus: list.map(cpuInfo),
    });
  }
  if (cells.length === 0) {
    const kib = Math.floor(totalmem() / 1024);
    cells.push({
      id: 0,
      memoryKiB: kib,
      pages: [{ sizeKiB: 4, count: Math.floor(kib / 4) }],
      cpus: cpus().map((_, i) => cpuInfo(i)),
    });
  }
  return cells;
}

function hostUuid(): string | undefined {
  const dmi = readText("/sys/class/dmi/id/product_uuid");
  if (dmi && /^[0-9a-f-]{36}$/i.test(dmi)) return dmi.toLowerCase();
  const mid = readText("/etc/machine-id");
  if (mid && /^[0-9a-f]{32}$/.test(mid)) {
    return `${mid.slice(0, 8)}-${mid.slice(8, 12)}-${mid.slice(12, 16)}-${mid.slice(16, 20)}-${mid.slice(20)}`;
  }
  return undefined;
}

const WORDSIZE: Record<string, number> = {
  x86_64: 64,
  i686: 32,
  aarch64: 64,
  riscv64: 64,
  ppc64le: 64,
  s390x: 64,
};

export function guestCapabilities(caps: QemuCaps): CapsGuest {
  // The default machine comes first, as libvirtd lists it: virt-install and virt-manager take the
  // first <machine> of a guest as the default when the user names none.
  const machines = [...caps.machines.filter((m) => m.isDefault), ...caps.machines.filter((m) => !m.isDefault)]
    .filter((m) => m.name !== "none")
    .flatMap((m) => {
      const dep = m.deprecated ? { deprecated: true } : {};
      const list: { name: string; canonical?: string; maxCpus?: number; deprecated?: boolean }[] = [
        { name: m.name, maxCpus: m.cpuMax, ...dep },
      ];
      if (m.alias) list.push({ name: m.alias, canonical: m.name, maxCpus: m.cpuMax, ...dep });
      return list;
    });
  const domains = [{ type: "qemu" }, ...(caps.kvm.usable ? [{ type: "kvm" }] : [])];
  const x86 = caps.arch === "x86_64" || caps.arch === "i386";
  return {
    osType: "hvm",
    arch: caps.arch === "i386" ? "i686" : caps.arch,
    wordsize: WORDSIZE[caps.arch === "i386" ? "i686" : caps.arch] ?? 64,
    emulator: caps.binary,
    machines,
    domains,
    features: x86
      ? [
          ...(caps.arch === "i386" ? ["pae", "nonpae"] : []),
          { name: "acpi", default: "on", toggle: true },
          { name: "apic", default: "on", toggle: false },
          "cpuselection",
          "deviceboot",
          { name: "disksnapshot", default: "on", toggle: false },
        ]
      : ["cpuselection", "deviceboot", { name: "disksnapshot", default: "on", toggle: false }],
  };
}

export function qemuHostCapabilities(all: QemuCaps[]): Capabilities {
  const arch = process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch;
  const flags = (readText("/proc/cpuinfo") ?? "").match(/^flags\s*:\s*(.*)$/m)?.[1]?.split(" ") ?? [];
  return {
    host: {
      uuid: hostUuid(),
      arch,
      cpuFeatures: ["vmx", "svm"].filter((f) => flags.includes(f)),
      pagesSizes: [{ sizeKiB: 4 }, { sizeKiB: 2048 }, { sizeKiB: 1048576 }],
      powerManagement: [],
      iommu: false,
      cells: hostCells(),
      secmodels: [{ model: "none", doi: "0" }],
    },
    guests: all.map(guestCapabilities),
  };
}
