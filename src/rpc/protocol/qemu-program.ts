// libvirt-qemu's program (qemu_protocol.x: QEMU_PROGRAM 0x20008087, version 1): the calls virsh's
// qemu-monitor-command, qemu-agent-command, qemu-attach and qemu-monitor-event make. Names follow
// the public API (virDomainQemuMonitorCommand ...), so a driver without the slot answers with
// libvirt's "this function is not supported by the connection driver: virDomainQemu…".
import { int, optional, uint } from "../xdr/index.js";
import { type ProcedureDef, proc } from "./procedure.js";
import { domainRef as D, nstr, ostr } from "./remote-types.js";

export const QEMU_PROGRAM = 0x20008087;
export const QEMU_PROTOCOL_VERSION = 1;

export const qemuProcedures: ReadonlyMap<number, ProcedureDef> = new Map(
  [
    proc(1, "DOMAIN_QEMU_MONITOR_COMMAND", { dom: D, cmd: nstr, flags: uint }, { result: nstr }),
    proc(2, "DOMAIN_QEMU_ATTACH", { pidValue: uint, flags: uint }, { dom: D }),
    proc(3, "DOMAIN_QEMU_AGENT_COMMAND", { dom: D, cmd: nstr, timeout: int, flags: uint }, { result: ostr }),
    proc(
      4,
      "CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER",
      { dom: optional(D), event: ostr, flags: uint },
      { callbackID: int },
      { high: true },
    ),
    proc(5, "CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER", { callbackID: int }, null, { high: true }),
    proc(7, "DOMAIN_QEMU_MONITOR_COMMAND_WITH_FILES", { dom: D, cmd: nstr, flags: uint }, { result: nstr }),
  ].map((p) => [p.num, p]),
);

/** libvirt-lxc's program (lxc_protocol.x): virDomainLxcOpenNamespace, which no tsvirt driver offers. */
export const LXC_PROGRAM = 0x00068000;
export const LXC_PROTOCOL_VERSION = 1;

export const lxcProcedures: ReadonlyMap<number, ProcedureDef> = new Map(
  [proc(1, "DOMAIN_LXC_OPEN_NAMESPACE", { dom: D, flags: uint }, null)].map((p) => [p.num, p]),
);
