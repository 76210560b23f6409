// Starting and stopping QEMU domains: build the argv, run the process, track its state from QMP
// events and its exit, emit lifecycle events (libvirt's qemuProcessStart/Stop, reduced).
import { closeSync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { formatDomainXML } from "../../conf/domain/index.js";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_ID,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_SHUTDOWN,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTDOWN,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_STATE,
} from "../../driver/index.js";
import type { ChrDef, DomainDef } from "../../conf/domain/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { allocateTapName, attachTapToBridge, listLinks, validIfname } from "../../host/netdev.js";
import { findFreePort } from "../../host/ports.js";
import { attr, el } from "../../xml/index.js";
import { unsupported } from "./command-util.js";
import { buildQemuCommand, clockEnv, qemuCommandlineEnv } from "./command.js";
import { assignDeviceAliases } from "./domain-aliases.js";
import { stripForMigration } from "./domain-migratable.js";
import { domRef, isActive, notRunning, type QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";
import type { QmpEvent } from "./monitor/qmp-client.js";
import { writeStatus } from "./domain-status.js";
import { applyHostModel } from "./host-model.js";
import { copyCpu, forgetOrigCpu, prepareLiveCpu, rememberOrigCpu, updateLiveCpu } from "./live-cpu.js";
import { applyLiveState, fillListenAddresses, forgetLiveMarks, runShortName } from "./live-state.js";
import { type QemuExit, type QemuProcess, qemuPaths, startQemu } from "./process.js";
// Loaded with the code that runs guests: the console module must be in memory before a console
// can be opened (driver.ts imports it on that call, and a refusal such as "Active console session
// exists" must come within the stream call's early-refusal window: rpc/server/dispatch.ts).
import "./domain-console.js";

const VNC_PORT_MIN = 5900;
const VNC_PORT_MAX = 65535;

/** Starts an inactive domain; on failure the domain stays shut off and nothing is left running. */
export async function startDomain(
  st: QemuDriverState,
  d: QemuDomain,
  paused: boolean,
  /** Restore: the saved live XML to run instead of the definition, and `-incoming defer`. */
  restore?: {
    xml: string;
    extraArgs: string[];
    /** Lifecycle details to report instead of booted/paused (a snapshot revert: from-snapshot). */
    events?: { started: number; suspended?: number };
  },
): Promise<void> {
  // a saved image's XML is read as libvirt reads its own (a migratable definition): what the
  // saved run's start added is left out and comes again from this start
  const parsed = await st.parse(restore ? await asMigratable(st, restore.xml) : formatForRestart(d));
  const caps = parsed.caps;
  // A domain created from XML (not defined) runs the definition parsed from that XML, as libvirt's
  // create does: a copy through the XML would order implicit controllers as a reparse does.
  const live = !restore && !d.persistent ? d.def : parsed.def;
  const paths = qemuPaths(st.opts.libDir, st.opts.runDir, d.name);
  // one display port pool for VNC and SPICE (the builder supports one display)
  const needsVnc = live.devices.graphics.some(
    (g) =>
      (g.type === "vnc" || g.type === "spice") &&
      g.attrs.some(([k, v]) => (k === "autoport" && v === "yes") || (k === "port" && v === "-1")),
  );
  const taken = new Set<number>();
  for (const o of st.domains.values()) if (o.proc && o.id >= 0) for (const p of vncPorts(o)) taken.add(p);
  const vncPort = needsVnc ? await findFreePort(VNC_PORT_MIN, VNC_PORT_MAX, "127.0.0.1", taken) : undefined;
  checkVsockHost(live);
  // file-backed RAM lives in the domain's memory directory, removed when QEMU is gone
  const memoryDir = live.extra.memoryBacking?.length ? ramDir(st, d.name) : undefined;
  if (memoryDir) mkdirSync(memoryDir, { recursive: true, mode: 0o700 });
  let channelDir: string | undefined;
  const dropRamDir = (e: unknown) => {
    if (memoryDir) rmSync(memoryDir, { recursive: true, force: true });
    if (channelDir) rmSync(channelDir, { recursive: true, force: true });
    forgetLiveMarks(d.uuid);
    throw e;
  };
  const taps = await prepareTaps(st, live).catch(dropRamDir);
  // the run's number (libvirt's qemuProcessInit; a start that fails after this has used it) names
  // its directory of channel sockets, which the live XML shows
  const id = st.allocId();
  channelDir = channelTargetDir(st, id, d.name);
  mkdirSync(channelDir, { recursive: true, mode: 0o700 });
  // a TCG host-model CPU runs as the custom CPU libvirt computes for it
  applyHostModel(live, caps);
  let argv: string[];
  try {
    argv = buildQemuCommand(live, caps, {
      monitorPath: paths.monitor,
      pidfile: paths.pidfile,
      channelDir,
      memoryDir,
      vncPort,
      tapNames: taps.map((t) => t?.tap),
    });
  } catch (e) {
    dropRamDir(e);
    throw e;
  }
  if (restore) argv.push(...restore.extraArgs);
  // libvirt names every device at start (qemuAssignDeviceAliases); the live XML shows the names.
  assignDeviceAliases(live);
  await applyLiveState(live, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }).catch(
    dropRamDir,
  );
  prepareLiveCpu(live);
  const origCpu = copyCpu(live);
  let cpuUpdated = false;
  const proc = await startQemu({
    name: d.name,
    argv,
    paths,
    paused,
    env: [["LC_ALL", "C"], ...clockEnv(live), ...qemuCommandlineEnv(live)],
    qemuVersion: `${caps.version.major}.${caps.version.minor}.${caps.version.micro}`,
    // QEMU created the taps (ifname=); plug them into their bridges before the guest runs.
    beforeCont: async (qp) => {
      cpuUpdated = await updateLiveCpu(qp.monitor, live);
      await setLinkStates(qp, live);
      await setGraphicsPasswords(qp, live);
      await fillChardevPaths(qp, live, channelDir);
      for (const t of taps) {
        if (!t?.bridge) continue;
        try {
          await attachTapToBridge(t.tap, t.bridge);
        } catch (e) {
          throw virError(
            ErrorCode.OPERATION_FAILED,
            ErrorDomain.QEMU,
            `cannot attach ${t.tap} to bridge '${t.bridge}': ${(e as Error).message}`,
          );
        }
      }
    },
  }).catch(dropRamDir);
  taps.forEach((t, i) => {
    if (t) live.devices.interfaces[i]!.target = t.tap;
  });
  if (d.persistent) d.newDef = d.def;
  d.def = live;
  rememberOrigCpu(d.uuid, live, cpuUpdated ? origCpu : undefined);
  if (vncPort !== undefined) {
    for (const g of live.devices.graphics) {
      if (g.type === "vnc") g.attrs = g.attrs.map(([k, v]) => [k, k === "port" ? String(vncPort) : v]);
      if (g.type === "spice" && !g.attrs.some(([k]) => k === "port"))
        g.attrs.unshift(["port", String(vncPort)]);
    }
  }
  // the address the argv builder gave QEMU for a listen without one (qemu.conf's default)
  fillListenAddresses(d.uuid, live, "127.0.0.1");
  d.caps = caps;
  d.id = id;
  if (paused) setState(d, VIR_DOMAIN_STATE.PAUSED, VIR_DOMAIN_PAUSED.USER);
  else setState(d, VIR_DOMAIN_STATE.RUNNING, VIR_DOMAIN_RUNNING.BOOTED);
  attachProcess(st, d, proc);
  const ev = restore?.events ?? {
    started: VIR_DOMAIN_EVENT_STARTED.BOOTED,
    suspended: VIR_DOMAIN_EVENT_SUSPENDED.PAUSED,
  };
  st.lifecycle(d, VIR_DOMAIN_EVENT.STARTED, ev.started);
  if (paused && ev.suspended !== undefined) st.lifecycle(d, VIR_DOMAIN_EVENT.SUSPENDED, ev.suspended);
}

/**
 * qemuProcessRefreshChannelState/qemuProcessLookupPTYs, reduced: the live XML names the pty QEMU
 * opened for each pty chardev (`<source path>`, and `tty=` on a console; a serial console shows
 * its serial's) and the socket a unix channel without a path got, so `virsh ttyconsole` and
 * clients reading the live XML find them.
 */
export async function fillChardevPaths(qp: QemuProcess, def: DomainDef, channelDir: string): Promise<void> {
  type Chardev = { label: string; filename: string; "frontend-open"?: boolean };
  const list = await qp.monitor.execute<Chardev[]>("query-chardev").catch(() => [] as Chardev[]);
  const files = new Map(list.map((c) => [c.label, c.filename]));
  const open = new Map(list.map((c) => [c.label, c["frontend-open"]]));
  const setSource = (c: ChrDef, attrs: [string, string][]) => {
    const src = c.children.find((k) => k.name === "source");
    if (src && attr(src, "path") !== undefined) return;
    if (src) src.attrs.push(...attrs);
    else c.children.unshift(el("source", attrs));
  };
  const pty = (c: ChrDef, label: string): string | undefined => {
    const f = c.type === "pty" ? files.get(label) : undefined;
    if (!f?.startsWith("pty:")) return undefined;
    setSource(c, [["path", f.slice(4)]]);
    return f.slice(4);
  };
  const serials = def.devices.serials.map((c, i) => pty(c, `charserial${i}`));
  def.devices.parallels.forEach((c, i) => {
    pty(c, `charparallel${i}`);
  });
  def.devices.channels.forEach((c, i) => {
    const name = c.target?.attrs.find(([k]) => k === "name")?.[1];
    if (c.type === "unix" && name)
      setSource(c, [
        ["mode", "bind"],
        ["path", `${channelDir}/${name}`],
      ]);
    else pty(c, `charchannel${i}`);
    // a virtio port's state: whether the guest side has it open (qemuProcessRefreshChannelVirtioState)
    const fo = open.get(`charchannel${i}`);
    const t = c.target;
    if (t && fo !== undefined && t.attrs.some(([k, v]) => k === "type" && v === "virtio")) {
      t.attrs = [...t.attrs.filter(([k]) => k !== "state"), ["state", fo ? "connected" : "disconnected"]];
    }
  });
  def.devices.consoles.forEach((c, i) => {
    const serialType = (c.target?.attrs.find(([k]) => k === "type")?.[1] ?? "serial") === "serial";
    const path = serialType ? (c.type === "pty" ? serials[i] : undefined) : pty(c, `charconsole${i}`);
    if (path === undefined) return;
    if (serialType) setSource(c, [["path", path]]);
    if (!c.attrs.some(([k]) => k === "tty")) c.attrs.unshift(["tty", path]);
  });
}

/**
 * qemuProcessSetLinkStates: NICs with `<link state='down'/>` get QMP set_link before the guest
 * runs (QEMU has no command-line option for it). The argv builder names NIC i `net<i>`.
 */
async function setLinkStates(qp: QemuProcess, def: DomainDef): Promise<void> {
  for (const [i, n] of def.devices.interfaces.entries()) {
    const link = n.extra.link?.[0];
    if (!link || attr(link, "state") !== "down") continue;
    try {
      await qp.monitor.execute("set_link", { name: `net${i}`, up: false });
    } catch {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        `Couldn't set link state on interface: ${n.alias ?? `net${i}`}`,
      );
    }
  }
}

/**
 * qemuProcessInitPasswords: a VNC/SPICE `passwd` is not on the command line (the argv only says
 * password=on / leaves SPICE ticketing on); it is set over QMP before the guest runs, then its
 * expiry: `passwdValidTo` (UTC) as seconds since the epoch, "now" once past, else "never".
 */
export async function setGraphicsPasswords(qp: QemuProcess, def: DomainDef, now = Date.now()): Promise<void> {
  for (const g of def.devices.graphics) {
    if (g.type !== "vnc" && g.type !== "spice") continue;
    const ga = (k: string) => g.attrs.find(([n]) => n === k)?.[1];
    const password = ga("passwd");
    if (password === undefined) continue;
    const args: Record<string, unknown> = { protocol: g.type, password };
    const connected = ga("connected");
    if (connected !== undefined) args.connected = connected;
    const validTo = ga("passwdValidTo");
    let time = "never";
    if (validTo !== undefined) {
      const secs = Math.floor(
        Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(validTo) ? validTo : `${validTo}Z`) / 1000,
      );
      time = secs * 1000 <= now ? "now" : String(secs);
    }
    try {
      await qp.monitor.execute("set_password", args);
      await qp.monitor.execute("expire_password", { protocol: g.type, time });
    } catch (e) {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        `cannot set ${g.type.toUpperCase()} password: ${(e as Error).message}`,
      );
    }
  }
}

/**
 * `<vsock>`: libvirt opens /dev/vhost-vsock, sets (or acquires) the guest CID on it and hands the
 * fd to QEMU. Without the device it refuses as libvirt does; with it, the fd hand-over and CID
 * ioctls are not implemented yet, so it refuses too (the argv builder is ready for them).
 */
function checkVsockHost(def: DomainDef): void {
  if (!def.devices.other.some((o) => o.kind === "vsock")) return;
  let fd: number;
  try {
    fd = openSync("/dev/vhost-vsock", "r+");
  } catch {
    throw unsupported("unable to open vhost-vsock device");
  }
  closeSync(fd);
  throw unsupported("passing a vhost-vsock device to QEMU is not supported by the QEMU driver yet");
}

/** Tap name and bridge per interface (undefined for user networking). */
async function prepareTaps(
  st: QemuDriverState,
  def: DomainDef,
): Promise<({ tap: string; bridge?: string } | undefined)[]> {
  const taken = new Set<string>();
  for (const o of st.domains.values()) {
    if (o.proc) for (const n of o.def.devices.interfaces) if (n.target) taken.add(n.target);
  }
  const out: ({ tap: string; bridge?: string } | undefined)[] = [];
  let existing: Set<string> | undefined;
  for (const n of def.devices.interfaces) {
    if (n.type !== "bridge" && n.type !== "network" && n.type !== "ethernet") {
      out.push(undefined);
      continue;
    }
    const src = (k: string) => (n.source ? attr(n.source, k) : undefined);
    let bridge: string | undefined;
    if (n.type === "bridge") {
      bridge = src("bridge");
      if (!bridge) throw unsupported("interface of type 'bridge' needs <source bridge=...>");
    } else if (n.type === "network") {
      const net = src("network");
      if (!net || !st.opts.networkBridge) {
        throw unsupported(
          `interface type 'network' needs the network driver to name the bridge of '${net ?? ""}'`,
        );
      }
      bridge = await st.opts.networkBridge(net);
    }
    // A user-given target dev is used as is; libvirt's auto names (vnetN) are reallocated each start.
    const given = n.target && !/^vnet\d+$/.test(n.target) ? n.target : undefined;
    if (given && !validIfname(given)) throw unsupported(`invalid interface target dev '${given}'`);
    existing ??= await listLinks();
    const tap = given ?? allocateTapName(existing, taken);
    taken.add(tap);
    out.push({ tap, bridge });
  }
  return out;
}

function vncPorts(d: QemuDomain): number[] {
  return d.def.devices.graphics
    .filter((g) => g.type === "vnc" || g.type === "spice")
    .map((g) => Number(g.attrs.find(([k]) => k === "port")?.[1] ?? -1))
    .filter((p) => p >= VNC_PORT_MIN);
}

/** A saved live definition as a migratable one (what libvirt keeps in a save image), as XML. */
async function asMigratable(st: QemuDriverState, xml: string): Promise<string> {
  const { def } = await st.parse(xml);
  stripForMigration(def);
  return formatDomainXML(def, { inactive: true, securityInfo: true });
}

/** The persistent XML to start from; re-parsing gives a fresh live copy with this binary's caps. */
function formatForRestart(d: QemuDomain): string {
  // with the secure parts (graphics passwords), which the started domain must keep
  return formatDomainXML(d.newDef ?? d.def, { inactive: true, securityInfo: true });
}

/** Ties a running QEMU to its domain: state from QMP events, cleanup on exit, status file. */
export function attachProcess(st: QemuDriverState, d: QemuDomain, proc: QemuProcess): void {
  d.proc = proc;
  d.stopping = undefined;
  proc.on("event", (e: QmpEvent) => onQmpEvent(st, d, e));
  proc.once("exit", (ex: QemuExit) => onExit(st, d, ex));
  writeStatus(d, proc.paths);
}

export function setState(d: QemuDomain, state: number, reason: number): void {
  d.state = state;
  d.reason = reason;
  if (d.proc?.running()) writeStatus(d, d.proc.paths);
}

function onQmpEvent(st: QemuDriverState, d: QemuDomain, e: QmpEvent): void {
  if (d.stopping) return;
  if (e.event === "SHUTDOWN") {
    onGuestShutdown(st, d, e);
    return;
  }
  if (e.event === "RESET") {
    // <on_reboot>destroy: QEMU reset the guest (libvirt 9.0 passes no -no-reboot); it ends as a
    // shutdown, as libvirtd's RESET handling ends it (not for the reset of our own restart)
    if (d.def.onReboot === "destroy" && !d.poweringOff) {
      resetAsShutdown(st, d, e.data?.guest === true);
      return;
    }
    st.events.emit({ eventId: VIR_DOMAIN_EVENT_ID.REBOOT, dom: domRef(d) });
    return;
  }
  // Our own stop/cont report their state change themselves; a powered-off guest's STOP is not a pause.
  if (d.userOp || d.poweringOff) return;
  if (e.event === "STOP" && d.state === VIR_DOMAIN_STATE.RUNNING) {
    setState(d, VIR_DOMAIN_STATE.PAUSED, VIR_DOMAIN_PAUSED.UNKNOWN);
    st.lifecycle(d, VIR_DOMAIN_EVENT.SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED.PAUSED);
  } else if (e.event === "RESUME" && d.state === VIR_DOMAIN_STATE.PAUSED) {
    setState(d, VIR_DOMAIN_STATE.RUNNING, VIR_DOMAIN_RUNNING.UNPAUSED);
    st.lifecycle(d, VIR_DOMAIN_EVENT.RESUMED, VIR_DOMAIN_EVENT_RESUMED.UNPAUSED);
  }
}

/**
 * The guest powered off (QEMU runs with -no-shutdown, so it stopped rather than exited): a reboot
 * we asked for (or <on_poweroff>restart) resets and continues it; otherwise QEMU is told to quit.
 */
function onGuestShutdown(st: QemuDriverState, d: QemuDomain, e: QmpEvent): void {
  const proc = d.proc;
  if (!proc || e.data?.guest !== true) return;
  // With <on_reboot>destroy (-no-reboot) a guest reboot arrives as SHUTDOWN reason guest-reset.
  const reset = e.data?.reason === "guest-reset";
  const restart =
    !reset && (d.fakeReboot || d.def.onPoweroff === "restart" || d.def.onPoweroff === "rename-restart");
  d.fakeReboot = false;
  if (restart) {
    d.poweringOff = true;
    void (async () => {
      try {
        await proc.monitor.execute("system_reset");
        await proc.monitor.execute("cont");
      } catch {
        // The process is going away; its exit handler reports that.
      } finally {
        d.poweringOff = false;
      }
    })();
    return;
  }
  d.poweringOff = true;
  setState(d, VIR_DOMAIN_STATE.SHUTDOWN, VIR_DOMAIN_SHUTDOWN.USER);
  st.lifecycle(d, VIR_DOMAIN_EVENT.SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN.GUEST);
  if (d.def.onPoweroff === "preserve") return;
  proc.monitor.execute("quit").catch(() => proc.destroy(1000));
}

/** A reset of a guest that is not to reboot: shut down (guest or host request), QEMU told to quit. */
function resetAsShutdown(st: QemuDriverState, d: QemuDomain, guest: boolean): void {
  const proc = d.proc;
  if (!proc) return;
  d.poweringOff = true;
  setState(d, VIR_DOMAIN_STATE.SHUTDOWN, VIR_DOMAIN_SHUTDOWN.USER);
  st.lifecycle(
    d,
    VIR_DOMAIN_EVENT.SHUTDOWN,
    guest ? VIR_DOMAIN_EVENT_SHUTDOWN.GUEST : VIR_DOMAIN_EVENT_SHUTDOWN.HOST,
  );
  proc.monitor.execute("quit").catch(() => proc.destroy(1000));
}

/** The directory of a run's unix channel sockets (libvirt's channelTargetDir/domain-ID-NAME). */
export function channelTargetDir(st: QemuDriverState, id: number, name: string): string {
  return join(st.opts.libDir, "qemu", "channel", "target", runShortName(id, name));
}

/** libvirt's memory_backing_dir/<domain>: file-backed guest RAM (qemuProcessBuildDestroyMemoryPaths). */
function ramDir(st: QemuDriverState, name: string): string {
  return join(st.opts.libDir, "qemu", "ram", name);
}

/** QEMU ended: record why, drop the live definition, forget transient domains. */
function onExit(st: QemuDriverState, d: QemuDomain, ex: QemuExit): void {
  rmSync(ramDir(st, d.name), { recursive: true, force: true });
  if (d.id >= 0) rmSync(channelTargetDir(st, d.id, d.name), { recursive: true, force: true });
  let reason: number;
  let detail: number;
  if (d.stopping) ({ reason, detail } = d.stopping);
  else if (ex.signal !== null || (ex.code !== 0 && ex.shutdownReason === undefined)) {
    reason = VIR_DOMAIN_SHUTOFF.CRASHED;
    detail = VIR_DOMAIN_EVENT_STOPPED.CRASHED;
  } else {
    reason = VIR_DOMAIN_SHUTOFF.SHUTDOWN;
    detail = VIR_DOMAIN_EVENT_STOPPED.SHUTDOWN;
  }
  // what the start added is forgotten, but a saved guest's until it is restored from its image
  // (startDomain's asMigratable)
  if (reason !== VIR_DOMAIN_SHUTOFF.SAVED) {
    forgetOrigCpu(d.uuid);
    forgetLiveMarks(d.uuid);
  }
  setState(d, VIR_DOMAIN_STATE.SHUTOFF, reason);
  st.lifecycle(d, VIR_DOMAIN_EVENT.STOPPED, detail);
  d.id = -1;
  d.proc = undefined;
  d.stopping = undefined;
  d.poweringOff = false;
  d.fakeReboot = false;
  if (d.newDef) {
    d.def = d.newDef;
    d.newDef = undefined;
  }
  if (!d.persistent) st.domains.remove(d);
}

/** virsh destroy: kill QEMU (SIGTERM, then SIGKILL unless graceful) and wait until it is gone. */
export async function destroyDomain(d: QemuDomain, graceful: boolean): Promise<void> {
  if (!isActive(d) || !d.proc) throw notRunning();
  d.stopping = { reason: VIR_DOMAIN_SHUTOFF.DESTROYED, detail: VIR_DOMAIN_EVENT_STOPPED.DESTROYED };
  await d.proc.destroy(graceful ? 10_000 : 3000);
}

/** virsh reboot: ACPI power button, and when the guest has powered off, reset and run it again. */
export async function rebootDomain(d: QemuDomain): Promise<void> {
  if (!isActive(d) || !d.proc) throw notRunning();
  d.fakeReboot = true;
  try {
    await d.proc.powerdown();
  } catch (e) {
    d.fakeReboot = false;
    throw e;
  }
}

/** virsh reset: a hard reset of the virtual machine, no guest involvement. */
export async function resetDomain(d: QemuDomain): Promise<void> {
  if (!isActive(d) || !d.proc) throw notRunning();
  await d.proc.monitor.execute("system_reset");
}

/** virsh shutdown: press the ACPI power button; the guest decides. */
export async function shutdownDomain(d: QemuDomain): Promise<void> {
  if (!isActive(d) || !d.proc) throw notRunning();
  await d.proc.powerdown();
}

export async function suspendDomain(st: QemuDriverState, d: QemuDomain): Promise<void> {
  if (!isActive(d) || !d.proc) throw notRunning();
  if (d.state === VIR_DOMAIN_STATE.PAUSED) return;
  d.userOp = true;
  try {
    await d.proc.monitor.execute("stop");
  } finally {
    d.userOp = false;
  }
  setState(d, VIR_DOMAIN_STATE.PAUSED, VIR_DOMAIN_PAUSED.USER);
  st.lifecycle(d, VIR_DOMAIN_EVENT.SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED.PAUSED);
}

export async function resumeDomain(st: QemuDriverState, d: QemuDomain): Promise<void> {
  if (!isActive(d) || !d.proc) throw notRunning();
  if (d.state === VIR_DOMAIN_STATE.RUNNING) return;
  d.userOp = true;
  try {
    await d.proc.monitor.execute("cont");
  } finally {
    d.userOp = false;
  }
  setState(d, VIR_DOMAIN_STATE.RUNNING, VIR_DOMAIN_RUNNING.UNPAUSED);
  st.lifecycle(d, VIR_DOMAIN_EVENT.RESUMED, VIR_DOMAIN_EVENT_RESUMED.UNPAUSED);
}
