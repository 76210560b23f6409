// virDomainGetMessages for the QEMU driver: the taint messages libvirt 9.0 keeps for a running
// domain (virDomainObjGetMessages: "tainted: <reason>" in the taint enum's order, then the
// deprecations). Each taint is recorded for one QEMU process, so it ends when the guest stops, as
// libvirt forgets its taints.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { attr, textContent } from "../../xml/index.js";
import { qemuCommandlineArgs, qemuCommandlineEnv } from "./command.js";
import { elementChildren } from "./command-util.js";
import { checkFlags, isActive, type QemuDomain } from "./domain-obj.js";
import type { QemuProcess } from "./process.js";

/** virDomainTaintFlags in order, with virDomainTaintMessage's text. */
const TAINTS = [
  ["custom-argv", "custom configuration parameters specified"],
  ["custom-monitor", "custom monitor control commands issued"],
  ["high-privileges", "running with undesirable elevated privileges"],
  ["shell-scripts", "network configuration using opaque shell scripts"],
  ["disk-probing", "potentially unsafe disk format probing"],
  ["external-launch", "managing externally launched configuration"],
  ["host-cpu", "potentially unsafe use of host CPU passthrough"],
  ["hook-script", "configuration potentially modified by hook script"],
  ["cdrom-passthrough", "use of host cdrom passthrough"],
  ["custom-dtb", "custom device tree blob used"],
  ["custom-ga-command", "custom guest agent control commands issued"],
  ["custom-hypervisor-feature", "hypervisor feature autodetection override"],
  ["deprecated-config", "use of deprecated configuration settings"],
  ["custom-device", "custom device configuration"],
] as const;

export type DomainTaint = (typeof TAINTS)[number][0];

/** VIR_DOMAIN_MESSAGE_DEPRECATION / VIR_DOMAIN_MESSAGE_TAINTING. */
const MESSAGE_DEPRECATION = 1;
const MESSAGE_TAINTING = 2;

/**
 * The taints recorded for one QEMU process, kept next to its pidfile (`<name>.taint`, with the
 * QEMU pid they belong to) so a restarted daemon still reports them, as libvirt keeps them in the
 * domain's status XML; a file left by an earlier QEMU is ignored.
 */
function taintFile(proc: QemuProcess): string {
  return proc.paths.pidfile.replace(/\.pid$/, ".taint");
}

function recorded(proc: QemuProcess): Set<DomainTaint> {
  try {
    const j = JSON.parse(readFileSync(taintFile(proc), "utf8")) as { pid?: number; taints?: DomainTaint[] };
    if (j.pid === proc.pid && Array.isArray(j.taints)) return new Set(j.taints);
    rmSync(taintFile(proc), { force: true });
  } catch {}
  return new Set();
}

/**
 * Marks the running domain tainted (qemuDomainObjTaint), e.g. "custom-monitor" after
 * qemu-monitor-command or "custom-ga-command" after qemu-agent-command.
 */
export function taintDomain(d: QemuDomain, taint: DomainTaint): void {
  if (!d.proc) return;
  const set = recorded(d.proc);
  if (set.has(taint)) return;
  set.add(taint);
  try {
    writeFileSync(taintFile(d.proc), JSON.stringify({ pid: d.proc.pid, taints: [...set] }));
  } catch {}
}

/**
 * The taints libvirt's qemuDomainObjCheckTaint finds when it starts QEMU: the system instance runs
 * QEMU as root without dropping its capabilities, `<qemu:commandline>` arguments or environment,
 * a NIC `<script>`, a custom `<dtb>`.
 */
function startTaints(d: QemuDomain, privileged: boolean): Set<DomainTaint> {
  const t = new Set<DomainTaint>();
  if (privileged) t.add("high-privileges");
  if (qemuCommandlineArgs(d.def).length > 0 || qemuCommandlineEnv(d.def).length > 0) t.add("custom-argv");
  if (d.def.devices.interfaces.some((n) => (n.extra.script?.length ?? 0) > 0)) t.add("shell-scripts");
  if (d.def.os.dtb) t.add("custom-dtb");
  return t;
}

/**
 * qemuDomainObjCheckMachineTaint / CPUTaint: a machine type or CPU model QEMU lists as
 * deprecated, in libvirt's words.
 */
function deprecations(d: QemuDomain): string[] {
  const out: string[] = [];
  const machine = d.def.os.machine;
  if (machine && d.caps?.machines.some((m) => (m.name === machine || m.alias === machine) && m.deprecated))
    out.push(`machine type '${machine}'`);
  const cpu = d.def.cpu;
  const model = cpu ? elementChildren(cpu).find((c) => c.name === "model") : undefined;
  const mode = cpu ? (attr(cpu, "mode") ?? "custom") : undefined;
  const name = model ? textContent(model).trim() : "";
  if (mode === "custom" && name && d.caps?.cpuModels.some((m) => m.name === name && m.deprecated))
    out.push(`CPU model '${name}'`);
  return out;
}

/** qemuDomainGetMessages. `privileged`: the qemu:///system driver (QEMU runs as root). */
export function getMessages(d: QemuDomain, flags: number, privileged: boolean): string[] {
  checkFlags(flags, MESSAGE_DEPRECATION | MESSAGE_TAINTING, "qemuDomainGetMessages");
  if (!isActive(d) || !d.proc) return [];
  const want = flags === 0 ? MESSAGE_DEPRECATION | MESSAGE_TAINTING : flags;
  const have = startTaints(d, privileged);
  for (const t of recorded(d.proc)) have.add(t);
  const deprecated = deprecations(d);
  if (deprecated.length > 0) have.add("deprecated-config");
  const out: string[] = [];
  if (want & MESSAGE_TAINTING)
    out.push(...TAINTS.filter(([k]) => have.has(k)).map(([, text]) => `tainted: ${text}`));
  if (want & MESSAGE_DEPRECATION) out.push(...deprecated.map((m) => `deprecated configuration: ${m}`));
  return out;
}
