// libvirt-qemu's calls (virDomainQemuMonitorCommand: virsh qemu-monitor-command) and the calls
// libvirt's QEMU driver answers through the guest agent. tsvirtd does not connect to guest agents,
// so those fail the way libvirt's do while no agent is connected (qemuDomainAgentAvailable).
import type { HypervisorDriver } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { taintDomain } from "./domain-messages.js";
import { checkFlags, isActive, notRunning, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP. */
const HMP = 1;

/**
 * qemuDomainQemuMonitorCommand: an HMP command line runs through human-monitor-command and gives
 * its text; a QMP command (JSON) is sent as given, with an id added, and gives QEMU's whole reply
 * as compact JSON, error replies included.
 */
export async function monitorCommand(d: QemuDomain, cmd: string, flags: number): Promise<string> {
  checkFlags(flags, HMP, "qemuDomainQemuMonitorCommand");
  if (!isActive(d) || !d.proc) throw notRunning();
  // qemuDomainObjTaint before the command runs: dominfo's Messages report it from now on
  taintDomain(d, "custom-monitor");
  const mon = d.proc.monitor;
  if (flags & HMP) return mon.execute<string>("human-monitor-command", { "command-line": cmd });
  let parsed: unknown;
  try {
    parsed = JSON.parse(cmd);
  } catch {
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `cannot parse json ${cmd}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "command must be a JSON object");
  }
  return JSON.stringify(await mon.passthrough(parsed as Record<string, unknown>));
}

/** qemuDomainAgentAvailable with no agent connection: why the call cannot be made. */
function agentUnavailable(d: QemuDomain): VirError {
  // not "running" while paused either, as libvirt checks the state itself
  if (d.state !== 1) return notRunning();
  // qemuFindAgentConfig: a virtio channel named org.qemu.guest_agent.0
  const configured = d.def.devices.channels.some((c) => {
    const t = new Map(c.target?.attrs ?? []);
    return t.get("type") === "virtio" && t.get("name") === "org.qemu.guest_agent.0";
  });
  return configured
    ? virError(ErrorCode.AGENT_UNRESPONSIVE, ErrorDomain.QEMU, "QEMU guest agent is not connected")
    : virError(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.QEMU, "QEMU guest agent is not configured");
}

export function qemuApiSlots(st: QemuDriverState): Partial<HypervisorDriver> {
  // the agent job comes after virDomainObjCheckActive in every caller
  const agent = (ref: Parameters<QemuDriverState["byRef"]>[0]): never => {
    const d = st.byRef(ref);
    if (!isActive(d)) throw notRunning();
    throw agentUnavailable(d);
  };
  return {
    async domainQemuMonitorCommand(ref, cmd, flags) {
      const d = st.byRef(ref);
      return st.jobs.run(d.uuid, () => monitorCommand(d, cmd, flags));
    },
    async domainQemuAgentCommand(ref, _cmd, _timeout, flags) {
      checkFlags(flags, 0, "qemuDomainQemuAgentCommand");
      return agent(ref);
    },
    async domainGetFSInfo(ref, flags) {
      checkFlags(flags, 0, "qemuDomainGetFSInfo");
      return agent(ref);
    },
    async domainGetHostname(ref, flags) {
      // VIR_DOMAIN_GET_HOSTNAME_AGENT; the DHCP lease source is not offered
      checkFlags(flags, 2, "qemuDomainGetHostname");
      return agent(ref);
    },
    async domainGetTime(ref, flags) {
      checkFlags(flags, 0, "qemuDomainGetTime");
      return agent(ref);
    },
    async domainGetGuestVcpus(ref, flags) {
      checkFlags(flags, 0, "qemuDomainGetGuestVcpus");
      return agent(ref);
    },
    async domainFSTrim(ref, _mountPoint, _minimum, flags) {
      checkFlags(flags, 0, "qemuDomainFSTrim");
      return agent(ref);
    },
  };
}
