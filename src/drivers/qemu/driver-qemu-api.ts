// libvirt-qemu's calls (virDomainQemuMonitorCommand: virsh qemu-monitor-command) and the calls
// libvirt's QEMU driver answers through the guest agent. tsvirtd does not connect to guest agents,
// so those fail the way libvirt's do while no agent is connected (qemuDomainAgentAvailable).
import { readFileSync } from "node:fs";
import type { DomainInterface, HypervisorDriver } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, type VirError, virError } from "../../errors/index.js";
import { taintDomain } from "./domain-messages.js";
import { attr } from "../../xml/index.js";
import { checkFlags, isActive, notRunning, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

/** virDomainInterfaceAddressesSource. */
const SRC_LEASE = 0;
const SRC_AGENT = 1;
const SRC_ARP = 2;

/**
 * qemuARPGetInterfaces: the host's neighbour entries (/proc/net/arp here) of each NIC's MAC, IPv4
 * with prefix 0, named by the NIC's host-side device.
 */
function arpAddresses(d: QemuDomain): DomainInterface[] {
  let table = "";
  try {
    table = readFileSync("/proc/net/arp", "utf8");
  } catch {
    return [];
  }
  const rows = table
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4);
  const out: DomainInterface[] = [];
  for (const n of d.def.devices.interfaces) {
    if (!n.mac) continue;
    const mac = n.mac.toLowerCase();
    const addrs = rows
      .filter((f) => f[3]!.toLowerCase() === mac)
      .map((f) => ({ type: 0, addr: f[0]!, prefix: 0 }));
    if (addrs.length > 0) out.push({ name: n.target ?? "", hwaddr: n.mac, addrs });
  }
  return out;
}

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
    // qemuDomainInterfaceAddresses: DHCP leases of the virtual networks' NICs, the host's ARP
    // table, or the guest agent
    async domainInterfaceAddresses(ref, source, flags) {
      checkFlags(flags, 0, "qemuDomainInterfaceAddresses");
      const d = st.byRef(ref);
      if (!isActive(d)) throw notRunning();
      if (source === SRC_AGENT) return agent(ref);
      if (source === SRC_ARP) return arpAddresses(d);
      if (source !== SRC_LEASE) {
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `Unknown IP address data source ${source}`);
      }
      const out: DomainInterface[] = [];
      for (const n of d.def.devices.interfaces) {
        const network = n.type === "network" && n.source ? attr(n.source, "network") : undefined;
        if (!network || !n.mac) continue;
        const leases = (await st.opts.networkLeases?.(network, n.mac)) ?? [];
        if (leases.length === 0) continue;
        out.push({
          name: n.target ?? "",
          hwaddr: n.mac,
          addrs: leases.map((l) => ({ type: l.type, addr: l.ipaddr, prefix: l.prefix })),
        });
      }
      return out;
    },
    async domainFSTrim(ref, _mountPoint, _minimum, flags) {
      checkFlags(flags, 0, "qemuDomainFSTrim");
      return agent(ref);
    },
  };
}
