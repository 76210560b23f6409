// CPU model commands (tools/virsh-host.c: cpu-compare, cpu-baseline, cpu-models, hypervisor-cpu-*),
// domjobinfo's lookups, blkdeviotune, save-image-edit and managedsave-edit (tools/virsh-domain.c).
import { resolve } from "node:path";
import { checkExclusive } from "../../../api/check.js";
import type { TypedParam } from "../../../driver/types.js";
import { ErrorCode, ErrorDomain, isVirError, virError } from "../../../errors/index.js";
import { attr, formatElement, type XmlElement } from "../../../xml/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, lookupDomain, req } from "../lookup.js";
import { OptionError, optBool, optScaled, optString, optULongLong, ULLONG_MAX } from "../options.js";
import {
  affectFlags,
  childrenAt,
  editText,
  exclusive,
  liveConfigRefused,
  parseDoc,
  requires,
} from "../util.js";
import { typedValue } from "./monitor-extra.js";

type H = Handler<Ctl>;

const noSupport = (fn: string) => virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, fn);

/**
 * virshGetCPUDefs-style extraction: the <cpu> elements of a CPU, domain, capabilities or domain
 * capabilities document; virsh's message when there is none (or the file is not XML).
 */
async function cpuDefs(ctl: Ctl, file: string): Promise<string[]> {
  const text = await ctl.readFile(file);
  const none = new CmdFailure(
    `File '${file}' does not contain any <cpu> element or valid domain XML, host capabilities XML, or domain capabilities XML`,
  );
  let root: XmlElement;
  try {
    root = parseDoc(text);
  } catch {
    throw none;
  }
  let cpus: XmlElement[] = [];
  if (root.name === "cpu") cpus = [root];
  else if (root.name === "domain") cpus = childrenAt(root, "cpu");
  else if (root.name === "capabilities") cpus = childrenAt(root, "host/cpu");
  else if (root.name === "domainCapabilities")
    cpus = childrenAt(root, "cpu/mode").filter((m) => attr(m, "name") === "host-model");
  else cpus = childrenAt(root, "cpu");
  if (cpus.length === 0) throw none;
  return cpus.map((c) => formatElement(c));
}

/** virConnectCompareCPU's answers (VIR_CPU_COMPARE_*). */
function printCompare(ctl: Ctl, result: number, file: string, what: string): boolean {
  switch (result) {
    case 1:
      ctl.print(`CPU described in ${file} is identical to ${what} CPU\n`);
      return true;
    case 2:
      ctl.print(`${what[0]!.toUpperCase()}${what.slice(1)} CPU is a superset of CPU described in ${file}\n`);
      return true;
    case 0:
      ctl.print(`CPU described in ${file} is incompatible with ${what} CPU\n`);
      return false;
    default:
      throw new CmdFailure(`Failed to compare ${what} CPU with ${file}`);
  }
}

const cpuCompare: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const [xml] = await cpuDefs(ctl, file);
  const flags = (optBool(cmd, "error") ? 1 : 0) | (optBool(cmd, "validate") ? 2 : 0);
  const r = await attempt(`Failed to compare host CPU with ${file}`, () =>
    conn(ctl).hv("connectCompareCPU", "virConnectCompareCPU")(xml!, flags),
  );
  return printCompare(ctl, r, file, "host");
};

/** The hypervisor-cpu-* commands read these before anything else. */
const hypervisorOpts = (cmd: ParsedCmd) => {
  for (const o of ["virttype", "emulator", "arch", "machine"]) optString(cmd, o);
};

const hypervisorCpuCompare: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  hypervisorOpts(cmd);
  await cpuDefs(ctl, file);
  throw new CmdFailure(
    `Failed to compare hypervisor CPU with ${file}`,
    noSupport("virConnectCompareHypervisorCPU"),
  );
};

const cpuBaseline: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const cpus = await cpuDefs(ctl, file);
  const flags = (optBool(cmd, "features") ? 1 : 0) | (optBool(cmd, "migratable") ? 2 : 0);
  ctl.print(await conn(ctl).hv("connectBaselineCPU", "virConnectBaselineCPU")(cpus, flags));
  return true;
};

const hypervisorCpuBaseline: H = async (ctl, cmd) => {
  const file = optString(cmd, "file");
  hypervisorOpts(cmd);
  const model = optString(cmd, "model");
  if (file === undefined && model === undefined)
    throw new CmdFailure("Either --file or --model must be provided");
  if (file !== undefined && model !== undefined)
    throw new CmdFailure("Options --file and --model are mutually exclusive");
  if (file !== undefined) await cpuDefs(ctl, file);
  throw noSupport("virConnectBaselineHypervisorCPU");
};

const cpuModels: H = async (ctl, cmd) => {
  const arch = req(cmd, "arch");
  const names = await attempt("failed to get CPU model names", () =>
    conn(ctl).hv("connectGetCPUModelNames", "virConnectGetCPUModelNames")(arch, 0),
  );
  // virsh: an empty list means the driver checks no model names (arm, s390 in libvirt 9.0).
  if (names.length === 0) ctl.printExtra("all CPU models are accepted\n");
  for (const n of names) ctl.print(`${n}\n`);
  return true;
};

/** VIR_DOMAIN_JOB_STATS_COMPLETED / _KEEP_COMPLETED. */
const domjobinfo: H = async (ctl, cmd) => {
  requires(cmd, "completed", "keep-completed");
  const dom = await lookupDomain(ctl, cmd);
  let flags = 0;
  if (optBool(cmd, "completed")) flags |= 1;
  if (optBool(cmd, "keep-completed")) flags |= 2;
  const raw = optBool(cmd, "rawstats");
  let stats: { type: number; params: TypedParam[] } | null = null;
  try {
    stats = await dom.conn.hv("domainGetJobStats", "virDomainGetJobStats")(dom.ref, flags);
  } catch (e) {
    if (!(isVirError(e) && e.code === ErrorCode.NO_SUPPORT)) throw e;
    if (flags || raw) throw new CmdFailure("Optional flags or --rawstats are not supported by the daemon", e);
  }
  const params = stats ? stats.params : await dom.getJobInfo();
  const num = (f: string) => {
    const p = params.find((x) => x.field === f);
    return p === undefined ? undefined : BigInt(p.value as number | bigint);
  };
  const type = stats ? stats.type : Number(num("type") ?? 0);
  if (raw) {
    ctl.print(`Job type: ${type}\n\n`);
    for (const p of params) ctl.print(`${p.field}: ${typedValue(p)}\n`);
    return true;
  }
  const line = (label: string, value: string) => ctl.print(`${label.padEnd(17)} ${value}\n`);
  line("Job type:", (JOB_TYPES[type] ?? "unknown").padEnd(12));
  // VIR_DOMAIN_JOB_NONE
  if (type === 0) return true;
  // the other job types' layout is virsh's first lines only (no tsvirt driver runs such jobs yet)
  line("Operation:", (JOB_OPERATIONS[Number(num("operation") ?? 0)] ?? "unknown").padEnd(12));
  line("Time elapsed:", `${String(num("time_elapsed") ?? 0).padEnd(12)} ms`);
  if (type === 1) line("Time remaining:", `${String(num("time_remaining") ?? 0).padEnd(12)} ms`);
  return true;
};

/** virDomainJobType names as virsh shows them. */
const JOB_TYPES = ["None", "Bounded", "Unbounded", "Completed", "Failed", "Cancelled"];
/** virDomainJobOperation names as virsh shows them. */
const JOB_OPERATIONS = [
  "Unknown",
  "Start",
  "Save",
  "Restore",
  "Incoming migration",
  "Outgoing migration",
  "Snapshot",
  "Snapshot revert",
  "Dump",
  "Backup",
  "Snapshot delete",
];

/** blkdeviotune's settable fields: [option, field, kind] (scaled bytes, plain ULL or string). */
const IOTUNE: [string, string, "bytes" | "ull" | "string"][] = [
  ["total-bytes-sec", "total_bytes_sec", "bytes"],
  ["read-bytes-sec", "read_bytes_sec", "bytes"],
  ["write-bytes-sec", "write_bytes_sec", "bytes"],
  ["total-iops-sec", "total_iops_sec", "ull"],
  ["read-iops-sec", "read_iops_sec", "ull"],
  ["write-iops-sec", "write_iops_sec", "ull"],
  ["total-bytes-sec-max", "total_bytes_sec_max", "bytes"],
  ["read-bytes-sec-max", "read_bytes_sec_max", "bytes"],
  ["write-bytes-sec-max", "write_bytes_sec_max", "bytes"],
  ["total-iops-sec-max", "total_iops_sec_max", "ull"],
  ["read-iops-sec-max", "read_iops_sec_max", "ull"],
  ["write-iops-sec-max", "write_iops_sec_max", "ull"],
  ["size-iops-sec", "size_iops_sec", "ull"],
  ["group-name", "group_name", "string"],
  ["total-bytes-sec-max-length", "total_bytes_sec_max_length", "ull"],
  ["read-bytes-sec-max-length", "read_bytes_sec_max_length", "ull"],
  ["write-bytes-sec-max-length", "write_bytes_sec_max_length", "ull"],
  ["total-iops-sec-max-length", "total_iops_sec_max_length", "ull"],
  ["read-iops-sec-max-length", "read_iops_sec_max_length", "ull"],
  ["write-iops-sec-max-length", "write_iops_sec_max_length", "ull"],
];

const blkdeviotune: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const disk = req(cmd, "device");
  const params: TypedParam[] = [];
  // a bad value: the option's own error, then virsh's "Unable to parse … parameter"
  const parsed = <T>(f: () => T, what: string): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof OptionError)) throw e;
      ctl.error(e.message);
      throw new CmdFailure(`Unable to parse ${what} parameter`, e.cause);
    }
  };
  for (const [opt, field, kind] of IOTUNE) {
    if (kind === "string") {
      const v = parsed(() => optString(cmd, opt), opt);
      if (v !== undefined) params.push({ field, type: 7, value: v });
      continue;
    }
    const v = parsed(
      () => (kind === "bytes" ? optScaled(cmd, opt, 1n, ULLONG_MAX) : optULongLong(cmd, opt)),
      "integer",
    );
    if (v !== undefined) params.push({ field, type: 4, value: Number(v) });
  }
  if (params.length === 0) {
    liveConfigRefused(flags, "Unable to get number of block I/O throttle parameters");
    const got = await attempt("Unable to get block I/O throttle parameters", () =>
      dom.getBlockIoTune(disk, flags),
    );
    for (const p of got) ctl.print(`${p.field.padEnd(15)}: ${typedValue(p)}\n`);
    return true;
  }
  await attempt("Unable to change block I/O throttle", () => dom.setBlockIoTune(disk, params, flags));
  return true;
};

/** VIR_DOMAIN_SAVE_RUNNING / _PAUSED, checked as libvirt's public API checks them. */
function saveFlags(cmd: ParsedCmd): number {
  const flags = (optBool(cmd, "running") ? 2 : 0) | (optBool(cmd, "paused") ? 4 : 0);
  return flags;
}

const saveImageEdit: H = async (ctl, cmd) => {
  exclusive(cmd, "running", "paused");
  const file = req(cmd, "file");
  const flags = saveFlags(cmd);
  const c = conn(ctl);
  // libvirt's API makes the path absolute before the driver sees it
  const before = await c.domainSaveImageGetXMLDesc(resolve(ctl.cwd, file), 1);
  const after = editText(before);
  if (after === before) {
    ctl.printExtra(`Saved image ${file} XML configuration not changed.\n`);
    return true;
  }
  await attempt(`Failed to update ${file}`, async () => {
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainSaveImageDefineXML");
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    return c.hv("domainSaveImageDefineXML", "virDomainSaveImageDefineXML")(
      resolve(ctl.cwd, file),
      after,
      flags,
    );
  });
  ctl.printExtra(`State file ${file} edited.\n`);
  return true;
};

const managedsaveEdit: H = async (ctl, cmd) => {
  exclusive(cmd, "running", "paused");
  const flags = saveFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const before = await dom.managedSaveGetXMLDesc(1);
  const after = editText(before);
  if (after === before) {
    ctl.printExtra(`Managed save image of domain '${dom.name}' XML configuration not changed.\n`);
    return true;
  }
  const c = conn(ctl);
  await attempt(`Failed to update ${dom.name} XML configuration`, async () => {
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainManagedSaveDefineXML");
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    return c.hv("domainManagedSaveDefineXML", "virDomainManagedSaveDefineXML")(dom.ref, after, flags);
  });
  ctl.printExtra(`Managed save image of Domain '${dom.name}' XML configuration edited.\n`);
  return true;
};

export const cpuAndJobHandlers: Record<string, H> = {
  "cpu-compare": cpuCompare,
  "hypervisor-cpu-compare": hypervisorCpuCompare,
  "cpu-baseline": cpuBaseline,
  "hypervisor-cpu-baseline": hypervisorCpuBaseline,
  "cpu-models": cpuModels,
  domjobinfo,
  blkdeviotune,
  "save-image-edit": saveImageEdit,
  "managedsave-edit": managedsaveEdit,
};
