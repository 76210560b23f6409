// The test driver's CPU-model slots: connectGetCPUModelNames lists libvirt 9.0's CPU map per
// architecture, connectBaselineCPU answers the single-CPU case; both with libvirt's errors.
// Computing a baseline of several CPUs (or expanding a model's features) needs libvirt's CPUID
// feature tables, which tsvirt does not carry: those requests are refused as unsupported.

import { ARCHES } from "../../conf/domain/parse.js";
import type { HypervisorDriver } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { attr, child, parseXml, textContent, type XmlElement } from "../../xml/index.js";
import { checkFlags, invalidArg } from "./errors.js";

/** VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES; MIGRATABLE (2) is refused by the test driver. */
const EXPAND_FEATURES = 1;

/** The x86 models of libvirt 9.0's cpu_map/index.xml, in its order. */
const X86_MODELS = [
  "486",
  "pentium",
  "pentium2",
  "pentium3",
  "pentiumpro",
  "coreduo",
  "n270",
  "core2duo",
  "qemu32",
  "kvm32",
  "cpu64-rhel5",
  "cpu64-rhel6",
  "qemu64",
  "kvm64",
  "Conroe",
  "Penryn",
  "Nehalem",
  "Nehalem-IBRS",
  "Westmere",
  "Westmere-IBRS",
  "SandyBridge",
  "SandyBridge-IBRS",
  "IvyBridge",
  "IvyBridge-IBRS",
  "Haswell-noTSX",
  "Haswell-noTSX-IBRS",
  "Haswell",
  "Haswell-IBRS",
  "Broadwell-noTSX",
  "Broadwell-noTSX-IBRS",
  "Broadwell",
  "Broadwell-IBRS",
  "Skylake-Client",
  "Skylake-Client-IBRS",
  "Skylake-Client-noTSX-IBRS",
  "Skylake-Server",
  "Skylake-Server-IBRS",
  "Skylake-Server-noTSX-IBRS",
  "Cascadelake-Server",
  "Cascadelake-Server-noTSX",
  "Icelake-Client",
  "Icelake-Client-noTSX",
  "Icelake-Server",
  "Icelake-Server-noTSX",
  "Cooperlake",
  "Snowridge",
  "athlon",
  "phenom",
  "Opteron_G1",
  "Opteron_G2",
  "Opteron_G3",
  "Opteron_G4",
  "Opteron_G5",
  "EPYC",
  "EPYC-IBPB",
  "EPYC-Rome",
  "EPYC-Milan",
  "Dhyana",
];
/** The ppc64 models of the same map. */
const PPC64_MODELS = ["POWER6", "POWER7", "POWER8", "POWER9", "POWER10", "POWERPC_e5500", "POWERPC_e6500"];

/**
 * libvirt 9.0's virArch names as virArchFromString accepts them: the domain parser's list without
 * "none" (which virArchFromString skips) and loongarch64 (not in libvirt 9.0's table; the domain
 * parser's attribute check refuses it first). Checked name by name with `virsh cpu-models`.
 */
const ARCHS = new Set(ARCHES.filter((a) => a !== "none" && a !== "loongarch64"));

type CpuDriver = "x86" | "ppc64" | "s390" | "arm";

/** Which of libvirt's CPU sub-drivers handles `arch` (cpuGetSubDriver). */
function cpuDriver(arch: string): CpuDriver | undefined {
  if (arch === "i686" || arch === "x86_64") return "x86";
  if (arch === "ppc64" || arch === "ppc64le") return "ppc64";
  if (arch === "s390" || arch === "s390x") return "s390";
  if (arch === "armv6l" || arch === "armv7l" || arch === "armv7b" || arch === "aarch64") return "arm";
  return undefined;
}

const cpuErr = (code: ErrorCode, detail: string) => virError(code, ErrorDomain.CPU, detail);
const noCpuDriver = (arch: string) =>
  cpuErr(ErrorCode.NO_SUPPORT, `'${arch}' architecture is not supported by CPU driver`);

interface HostCpu {
  arch: string;
  model: string;
  vendor?: string;
  features: string[];
}

/** virCPUDefParseXML for a host CPU, with the checks the baseline call meets first. */
function parseHostCpu(xml: string): HostCpu {
  let root: XmlElement;
  try {
    root = parseXml(xml, { context: "(CPU_definition)", domain: ErrorDomain.CPU });
  } catch (e) {
    throw e instanceof VirError ? e : cpuErr(ErrorCode.XML_ERROR, String(e));
  }
  if (root.name !== "cpu") throw cpuErr(ErrorCode.XML_ERROR, "XML does not contain expected 'cpu' element");
  if (attr(root, "mode") !== undefined) {
    throw cpuErr(ErrorCode.CONFIG_UNSUPPORTED, "Attribute mode is only allowed for guest CPU");
  }
  const archEl = child(root, "arch");
  if (!archEl) throw cpuErr(ErrorCode.XML_ERROR, "Missing CPU architecture");
  const arch = textContent(archEl).trim();
  if (!ARCHS.has(arch)) throw cpuErr(ErrorCode.CONFIG_UNSUPPORTED, `Unknown architecture ${arch}`);
  const modelEl = child(root, "model");
  if (!modelEl) throw cpuErr(ErrorCode.XML_ERROR, "Missing CPU model name");
  const vendorEl = child(root, "vendor");
  const features = root.children.flatMap((c) =>
    c.kind === "element" && c.name === "feature" ? [attr(c, "name") ?? ""] : [],
  );
  return {
    arch,
    model: textContent(modelEl).trim(),
    vendor: vendorEl ? textContent(vendorEl).trim() : undefined,
    features,
  };
}

const escapeText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function cpuSlots(): Partial<HypervisorDriver> {
  return {
    async connectGetCPUModelNames(arch, flags) {
      checkFlags(flags, 0, "testConnectGetCPUModelNames");
      if (!ARCHS.has(arch)) throw invalidArg(`cannot find architecture ${arch}`);
      const drv = cpuDriver(arch);
      if (drv === undefined) throw noCpuDriver(arch);
      if (drv === "x86") return [...X86_MODELS];
      if (drv === "ppc64") return [...PPC64_MODELS];
      return [];
    },
    async connectBaselineCPU(xmlCPUs, flags) {
      checkFlags(flags, EXPAND_FEATURES, "testConnectBaselineCPU");
      if (xmlCPUs.length === 0) throw cpuErr(ErrorCode.INVALID_ARG, "no CPUs given");
      const cpus = xmlCPUs.map(parseHostCpu);
      const first = cpus[0]!;
      const drv = cpuDriver(first.arch);
      if (drv === undefined) throw noCpuDriver(first.arch);
      if (drv === "s390") {
        throw cpuErr(ErrorCode.NO_SUPPORT, `cannot compute baseline CPU of ${first.arch} architecture`);
      }
      const known = drv === "x86" ? X86_MODELS : drv === "ppc64" ? PPC64_MODELS : undefined;
      if (known && !known.includes(first.model)) {
        throw cpuErr(ErrorCode.INTERNAL_ERROR, `Unknown CPU model ${first.model}`);
      }
      const simple = cpus.length === 1 && first.vendor === undefined && first.features.length === 0;
      if (drv === "x86" && (!simple || flags & EXPAND_FEATURES)) {
        throw cpuErr(
          ErrorCode.NO_SUPPORT,
          "baseline of several x86 CPUs, vendors, features or their expansion is not implemented",
        );
      }
      if (drv !== "x86" && cpus.length > 1) {
        throw cpuErr(ErrorCode.NO_SUPPORT, "baseline of several CPUs is not implemented");
      }
      const fallback = drv === "arm" ? "allow" : "forbid";
      return `<cpu mode='custom' match='exact'>\n  <model fallback='${fallback}'>${escapeText(first.model)}</model>\n</cpu>\n`;
    },
  };
}
