// The QEMU hypervisor driver table (qemu:///system, qemu:///session): composition of the
// driver state, definitions and lifecycle into libvirt's slot names. No logic of its own beyond
// argument checks and locking.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { formatDomainXML } from "../../conf/domain/index.js";
import type { ConnectionDriverFactory, DomainRef, HypervisorDriver } from "../../driver/index.js";
import {
  VIR_DOMAIN_DESTROY,
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_DOMAIN_MEM_MAXIMUM,
  VIR_DOMAIN_SHUTDOWN_FLAGS,
  VIR_DOMAIN_SAVE,
  VIR_DOMAIN_START,
  VIR_DOMAIN_XML,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { processCpuTimeNs } from "../../host/proc-stat.js";
import type { AutoDestroyList } from "./autodestroy.js";
import { checkFlags, domRef, isActive, newQemuDomain, notRunning, type QemuDomain } from "./domain-obj.js";
import { defineDomain, replayDefineIntents } from "./domain-define.js";
import { hasManagedSave, managedSavePath } from "./managed-save.js";
import { loadAllSnapshots, undefineSnapshots } from "./snapshot-load.js";
import { connectSlots, listFilter } from "./driver-connect.js";
import { lazyQemuSlots } from "./lazy-slots.js";
import { hasQemuStatusFiles } from "./state-has-work.js";

// What a define, a listing or an XML dump never runs loads with its first use: starting and
// stopping QEMU (domain-lifecycle.ts and the command line, process and monitor code under it),
// save/restore, hotplug, snapshots (lazy-slots.ts), consoles, statistics and vCPU queries. A
// daemon that only keeps definitions saves ~1 MiB of heap (bench/rpc-define.ts, 500 defined).
const lifecycleModule = () => import("./domain-lifecycle.js");
const saveModule = () => import("./domain-save.js");
const configModule = () => import("./domain-config.js");
const hotplugModule = () => import("./hotplug.js");
const statsModule = () => import("./domain-stats.js");
const vcpuModule = () => import("./domain-vcpu-info.js");
import { type QemuDriverOptions, QemuDriverState } from "./driver-state.js";

export { type QemuDriverOptions, QemuDriverState };

/** The console module once a console was opened (see domainOpenConsole). */
let consoleModule: typeof import("./domain-console.js") | undefined;

/** Creates the driver's shared state and loads persistent definitions. */
export async function createQemuDriverState(o: QemuDriverOptions): Promise<QemuDriverState> {
  const st = new QemuDriverState(o);
  await st.load();
  // Defines a crash cut off between their journal intent and the config file (domain-define.ts):
  // replayed before anything else looks at the domains, as if their files had been there.
  st.replayErrors.push(...(await replayDefineIntents(st)));
  if (hasQemuStatusFiles(st.opts.runDir)) {
    const { reconnectDomains } = await import("./domain-status.js");
    const { attachProcess } = await lifecycleModule();
    await reconnectDomains(st, (d, proc) => attachProcess(st, d, proc));
    const { dropUnpluggedDevices } = await import("./hotplug-reconnect.js");
    for (const d of st.domains.values()) if (d.proc) await dropUnpluggedDevices(d).catch(() => false);
  }
  await loadAllSnapshots(st);
  if (o.autostart !== false) {
    // Like libvirtd at start: run the persistent domains marked autostart that are not running.
    for (const d of st.domains.values()) {
      if (!d.autostart || !d.persistent || isActive(d)) continue;
      const { startDomain } = await lifecycleModule();
      await st.jobs
        .run(d.uuid, () => startDomain(st, d, false))
        .catch((e: Error) => {
          st.autostartErrors.push(`${d.name}: ${e.message}`);
        });
    }
  }
  return st;
}

/** virDomainUndefineFlagsValues: VIR_DOMAIN_UNDEFINE_MANAGED_SAVE. */
const VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1;
const SAVE_FLAGS = VIR_DOMAIN_SAVE.BYPASS_CACHE | VIR_DOMAIN_SAVE.RUNNING | VIR_DOMAIN_SAVE.PAUSED;

/** A table that can hand each daemon client its own table over the same shared state. */
export interface ClientScopedDriver extends HypervisorDriver {
  /** A fresh table for one client: its connectClose ends what that client tied to its lifetime. */
  newClientTable(): HypervisorDriver;
}

/**
 * The hypervisor table for one connection; every connection shares `st`. Closing the daemon's
 * shared table (`perClient` false; the daemon's shutdown closes it) also flushes the config store.
 */
export function qemuHypervisorDriver(st: QemuDriverState, perClient = false): ClientScopedDriver {
  const job = <T>(d: QemuDomain, fn: () => Promise<T>) => st.jobs.run(d.uuid, fn);
  // this connection's VIR_DOMAIN_START_AUTODESTROY guests, made with the first such start
  let autodestroy: Promise<AutoDestroyList> | undefined;
  const autodestroyList = () =>
    (autodestroy ??= import("./autodestroy.js").then((m) => new m.AutoDestroyList()));
  const table: HypervisorDriver = {
    name: "QEMU",
    async connectClose() {
      if (autodestroy) await (await autodestroy).closeAll();
      if (!perClient) await st.store.flush();
      // A define's config file is written after its reply (a deferred save): a client that
      // closes its connection (`virsh define x.xml && cat /etc/libvirt/qemu/x.xml`) finds it.
      else await st.store.writeDeferred();
    },
    ...connectSlots(st),
    ...lazyQemuSlots(st),
    async connectNumOfDomains() {
      return st.domains.filter(isActive).length;
    },
    async connectListDomains(maxids) {
      return st.domains
        .filter(isActive)
        .map((d) => d.id)
        .sort((a, b) => a - b)
        .slice(0, maxids);
    },
    async connectNumOfDefinedDomains() {
      return st.domains.filter((d) => !isActive(d)).length;
    },
    async connectListDefinedDomains(maxnames) {
      return st.domains
        .filter((d) => !isActive(d))
        .map((d) => d.name)
        .sort()
        .slice(0, maxnames);
    },
    async connectListAllDomains(flags) {
      return st.domains.filter((d) => listFilter(d, flags, (x) => hasManagedSave(st, x))).map(domRef);
    },
    async connectGetAllDomainStats(doms, stats, flags) {
      // The list-state bits of the flags are those of virConnectListAllDomains.
      const list = doms
        ? doms.map((r) => st.byRef(r))
        : st.domains.filter((d) => listFilter(d, flags & 0xff));
      const { domainStats } = await import("./domain-stats-all.js");
      return Promise.all(list.map((d) => domainStats(d, stats, flags)));
    },
    async domainLookupByID(id) {
      return domRef(st.byId(id));
    },
    async domainLookupByName(name) {
      return domRef(st.byName(name));
    },
    async domainLookupByUUID(uuid) {
      const d = st.domains.byUuid(uuid);
      if (!d) throw virError(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, `no domain with matching uuid '${uuid}'`);
      return domRef(d);
    },

    async domainDefineXMLFlags(xml, flags) {
      checkFlags(flags, 1, "qemuDomainDefineXMLFlags");
      return domRef(await defineDomain(st, xml, flags));
    },
    async domainUndefineFlags(ref, flags) {
      checkFlags(flags, 0x7f, "qemuDomainUndefineFlags");
      const d = st.byRef(ref);
      await job(d, async () => {
        if (!d.persistent) {
          throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, "cannot undefine transient domain");
        }
        await undefineSnapshots(st, d, flags);
        if (hasManagedSave(st, d)) {
          if ((flags & VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) === 0)
            throw virError(
              ErrorCode.OPERATION_INVALID,
              ErrorDomain.QEMU,
              "Refusing to undefine while domain managed save image exists",
            );
          rmSync(managedSavePath(st, d.name), { force: true });
        }
        await st.store.remove(d.name);
        st.lifecycle(d, VIR_DOMAIN_EVENT.UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED.REMOVED);
        if (isActive(d)) {
          d.persistent = false;
          d.newDef = undefined;
        } else st.domains.remove(d);
      });
    },
    async domainCreateXML(xml, flags) {
      checkFlags(
        flags,
        VIR_DOMAIN_START.PAUSED | VIR_DOMAIN_START.AUTODESTROY | VIR_DOMAIN_START.VALIDATE,
        "qemuDomainCreateXML",
      );
      const { def } = await st.parse(xml);
      const clash = st.domains.byName(def.name) ?? st.domains.byUuid(def.uuid);
      if (clash) {
        if (isActive(clash))
          throw virError(
            ErrorCode.OPERATION_INVALID,
            ErrorDomain.QEMU,
            `domain '${clash.name}' is already active`,
          );
        throw virError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.QEMU,
          `domain '${clash.name}' is already defined with uuid ${clash.uuid}`,
        );
      }
      const { startDomain } = await lifecycleModule();
      const ad = flags & VIR_DOMAIN_START.AUTODESTROY ? await autodestroyList() : undefined;
      const d = newQemuDomain(def);
      st.domains.add(d);
      try {
        await job(d, () => startDomain(st, d, (flags & VIR_DOMAIN_START.PAUSED) !== 0));
      } catch (e) {
        st.domains.remove(d);
        throw e;
      }
      ad?.add(d);
      return domRef(d);
    },
    async domainCreateWithFlags(ref, flags) {
      checkFlags(
        flags,
        VIR_DOMAIN_START.PAUSED | VIR_DOMAIN_START.AUTODESTROY | VIR_DOMAIN_START.FORCE_BOOT,
        "qemuDomainCreateWithFlags",
      );
      const d = st.byRef(ref);
      const [{ startDomain }, { startFromManagedSave }] = await Promise.all([
        lifecycleModule(),
        saveModule(),
      ]);
      const ad = flags & VIR_DOMAIN_START.AUTODESTROY ? await autodestroyList() : undefined;
      await job(d, async () => {
        if (isActive(d))
          throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, "domain is already running");
        const paused = (flags & VIR_DOMAIN_START.PAUSED) !== 0;
        if ((flags & VIR_DOMAIN_START.FORCE_BOOT) !== 0) rmSync(managedSavePath(st, d.name), { force: true });
        if (!(await startFromManagedSave(st, d, paused))) await startDomain(st, d, paused);
        ad?.add(d);
      });
      return domRef(d);
    },
    async domainShutdownFlags(ref, flags) {
      checkFlags(flags, VIR_DOMAIN_SHUTDOWN_FLAGS.ACPI_POWER_BTN, "qemuDomainShutdownFlags");
      const d = st.byRef(ref);
      const { shutdownDomain } = await lifecycleModule();
      await job(d, () => shutdownDomain(d));
    },
    async domainRebootFlags(ref, flags) {
      checkFlags(flags, VIR_DOMAIN_SHUTDOWN_FLAGS.ACPI_POWER_BTN, "qemuDomainReboot");
      const d = st.byRef(ref);
      const { rebootDomain } = await lifecycleModule();
      await job(d, () => rebootDomain(d));
    },
    async domainReset(ref, flags) {
      checkFlags(flags, 0, "qemuDomainReset");
      const d = st.byRef(ref);
      const { resetDomain } = await lifecycleModule();
      await job(d, () => resetDomain(d));
    },
    async domainDestroyFlags(ref: DomainRef, flags) {
      checkFlags(flags, VIR_DOMAIN_DESTROY.GRACEFUL, "qemuDomainDestroyFlags");
      const d = st.byRef(ref);
      // Not serialized behind a hung job: destroy must be able to kill a stuck QEMU.
      const { destroyDomain } = await lifecycleModule();
      await destroyDomain(d, (flags & VIR_DOMAIN_DESTROY.GRACEFUL) !== 0);
    },
    async domainSuspend(ref) {
      const d = st.byRef(ref);
      const { suspendDomain } = await lifecycleModule();
      await job(d, () => suspendDomain(st, d));
    },
    async domainResume(ref) {
      const d = st.byRef(ref);
      const { resumeDomain } = await lifecycleModule();
      await job(d, () => resumeDomain(st, d));
    },
    async domainGetInfo(ref) {
      const d = st.byRef(ref);
      return {
        state: d.state,
        maxMem: d.def.memory,
        memory: d.def.currentMemory,
        nrVirtCpu: d.def.vcpu.current ?? d.def.vcpu.max,
        cpuTime: d.proc ? processCpuTimeNs(d.proc.pid) : 0,
      };
    },
    async domainGetState(ref, flags) {
      checkFlags(flags, 0, "qemuDomainGetState");
      const d = st.byRef(ref);
      return { state: d.state, reason: d.reason };
    },
    async domainGetXMLDesc(ref, flags) {
      checkFlags(
        flags,
        VIR_DOMAIN_XML.SECURE | VIR_DOMAIN_XML.INACTIVE | VIR_DOMAIN_XML.MIGRATABLE,
        "qemuDomainGetXMLDesc",
      );
      const d = st.byRef(ref);
      const inactive = (flags & VIR_DOMAIN_XML.INACTIVE) !== 0;
      let def = inactive ? (d.newDef ?? d.def) : d.def;
      if ((flags & VIR_DOMAIN_XML.MIGRATABLE) !== 0) {
        // libvirt copies the definition through its inactive XML, then strips (domain-migratable.ts)
        def = (await st.parse(formatDomainXML(def, { inactive: true, securityInfo: true }))).def;
        (await import("./domain-migratable.js")).stripForMigration(def);
      }
      return formatDomainXML(def, {
        // the migratable copy is a parsed definition: no id even for a running domain
        id: isActive(d) && !inactive && (flags & VIR_DOMAIN_XML.MIGRATABLE) === 0 ? d.id : undefined,
        inactive,
        // a migratable definition carries the display passwords (libvirt 9.0 shows them)
        securityInfo: (flags & (VIR_DOMAIN_XML.SECURE | VIR_DOMAIN_XML.MIGRATABLE)) !== 0,
      });
    },
    async domainGetOSType(ref) {
      return st.byRef(ref).def.os.type;
    },
    async domainIsActive(ref) {
      return isActive(st.byRef(ref));
    },
    async domainIsPersistent(ref) {
      return st.byRef(ref).persistent;
    },
    async domainIsUpdated(ref) {
      st.byRef(ref);
      return false; // no live device changes are supported yet
    },
    async domainSetMemoryFlags(ref, memory, flags) {
      const d = st.byRef(ref);
      const { setMemory } = await configModule();
      await job(d, () => setMemory(st, d, memory, flags));
    },
    async domainSetMaxMemory(ref, memory) {
      const d = st.byRef(ref);
      const { setMemory } = await configModule();
      await job(d, () => setMemory(st, d, memory, VIR_DOMAIN_MEM_MAXIMUM));
    },
    async domainGetVcpusFlags(ref, flags) {
      return (await configModule()).getVcpus(st.byRef(ref), flags);
    },
    async domainSetVcpusFlags(ref, nvcpus, flags) {
      const d = st.byRef(ref);
      const { setVcpus } = await configModule();
      await job(d, () => setVcpus(st, d, nvcpus, flags));
    },
    async domainGetMaxMemory(ref) {
      return st.byRef(ref).def.memory;
    },
    async domainGetMaxVcpus(ref) {
      const d = st.byRef(ref);
      if (!isActive(d))
        throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, "domain is not running");
      return d.def.vcpu.max;
    },
    async domainBlockStats(ref, path) {
      return (await statsModule()).blockStats(st.byRef(ref), path);
    },
    async domainGetBlockInfo(ref, path, flags) {
      checkFlags(flags, 0, "qemuDomainGetBlockInfo");
      return (await statsModule()).blockInfo(st.byRef(ref), path);
    },
    async domainInterfaceStats(ref, device) {
      return (await statsModule()).interfaceStats(st.byRef(ref), device);
    },
    async domainBlockStatsFlags(ref, path, flags) {
      const d = st.byRef(ref);
      const { blockStatsFlags } = await statsModule();
      return job(d, () => blockStatsFlags(d, path, flags));
    },
    async domainGetVcpus(ref, maxinfo, maplen) {
      return (await vcpuModule()).getVcpus(st.byRef(ref), maxinfo, maplen);
    },
    async domainGetVcpuPinInfo(ref, ncpumaps, maplen, flags) {
      return (await vcpuModule()).getVcpuPinInfo(st.byRef(ref), ncpumaps, maplen, flags);
    },
    async domainGetEmulatorPinInfo(ref, maplen, flags) {
      return (await vcpuModule()).getEmulatorPinInfo(st.byRef(ref), maplen, flags);
    },
    async domainGetCPUStats(ref, startCpu, ncpus, flags) {
      const { getCPUStats } = await import("./domain-cpu-stats.js");
      return getCPUStats(st.byRef(ref), startCpu, ncpus, flags);
    },
    async domainGetBlockIoTune(ref, disk, flags) {
      const d = st.byRef(ref);
      const { getBlockIoTune } = await statsModule();
      return job(d, () => getBlockIoTune(d, disk, flags));
    },
    async domainGetMessages(ref, flags) {
      const { getMessages } = await import("./domain-messages.js");
      return getMessages(st.byRef(ref), flags, st.opts.uri === "qemu:///system");
    },
    async domainMemoryStats(ref, maxStats, flags) {
      checkFlags(flags, 0, "qemuDomainMemoryStats");
      return (await statsModule()).memoryStats(st.byRef(ref), maxStats);
    },
    async domainScreenshot(ref, screen, flags) {
      checkFlags(flags, 0, "qemuDomainScreenshot");
      if (screen !== 0)
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          "currently is supported only taking screenshots of screen ID 0",
        );
      const d = st.byRef(ref);
      const { screenshot } = await statsModule();
      return job(d, () => screenshot(d, join(st.opts.runDir, "qemu")));
    },
    async domainSendKey(ref, codeset, holdtime, keycodes, flags) {
      const d = st.byRef(ref);
      const { sendKey } = await import("./domain-send-key.js");
      await job(d, () => sendKey(d, codeset, holdtime, keycodes, flags));
    },
    async domainOpenConsole(ref, devName, stream, flags) {
      const d = st.byRef(ref);
      // A refusal must be the call's reply, which rpc/server/dispatch.ts sends once a
      // setImmediate has passed: checked before the first import, and no import after it (under
      // a loader hook even a cached import() takes longer than that).
      if (!d.proc) throw notRunning();
      consoleModule ??= await import("./domain-console.js");
      await consoleModule.openConsole(d, devName, stream, flags);
    },
    async domainGetSecurityLabel(ref) {
      st.byRef(ref);
      return { label: "", enforcing: false };
    },
    async domainHasManagedSaveImage(ref, flags) {
      checkFlags(flags, 0, "qemuDomainHasManagedSaveImage");
      return hasManagedSave(st, st.byRef(ref));
    },
    async domainSave(ref, to, dxml, flags) {
      checkFlags(flags, SAVE_FLAGS, "qemuDomainSaveFlags");
      if (dxml)
        throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.QEMU, "changing the XML on save is not supported");
      const d = st.byRef(ref);
      const { saveDomain } = await saveModule();
      await job(d, () => saveDomain(st, d, to, flags));
    },
    async domainRestore(from, dxml, flags) {
      checkFlags(flags, SAVE_FLAGS, "qemuDomainRestoreFlags");
      if (dxml)
        throw virError(
          ErrorCode.NO_SUPPORT,
          ErrorDomain.QEMU,
          "changing the XML on restore is not supported",
        );
      await (await saveModule()).restoreDomain(st, from, flags);
    },
    async domainSaveImageGetXMLDesc(file, flags) {
      checkFlags(flags, VIR_DOMAIN_XML.SECURE, "qemuDomainSaveImageGetXMLDesc");
      const h = await (await saveModule()).readSaveHeader(file);
      const { def } = await st.parse(h.xml);
      return formatDomainXML(def, { securityInfo: (flags & VIR_DOMAIN_XML.SECURE) !== 0 });
    },
    async domainManagedSave(ref, flags) {
      checkFlags(flags, SAVE_FLAGS, "qemuDomainManagedSave");
      const d = st.byRef(ref);
      const { managedSave } = await saveModule();
      await job(d, () => managedSave(st, d, flags));
    },
    async domainManagedSaveRemove(ref, flags) {
      checkFlags(flags, 0, "qemuDomainManagedSaveRemove");
      rmSync(managedSavePath(st, st.byRef(ref).name), { force: true });
    },
    async domainManagedSaveGetXMLDesc(ref, flags) {
      checkFlags(flags, VIR_DOMAIN_XML.SECURE, "qemuDomainManagedSaveGetXMLDesc");
      const d = st.byRef(ref);
      if (!hasManagedSave(st, d))
        throw virError(
          ErrorCode.OPERATION_INVALID,
          ErrorDomain.QEMU,
          "domain does not have managed save image",
        );
      const h = await (await saveModule()).readSaveHeader(managedSavePath(st, d.name));
      const { def } = await st.parse(h.xml);
      return formatDomainXML(def, { securityInfo: (flags & VIR_DOMAIN_XML.SECURE) !== 0 });
    },
    async domainAttachDeviceFlags(ref, xml, flags) {
      const d = st.byRef(ref);
      const { attachDevice } = await hotplugModule();
      await job(d, () => attachDevice(st, d, xml, flags));
    },
    async domainDetachDeviceFlags(ref, xml, flags) {
      const d = st.byRef(ref);
      const { detachDevice } = await hotplugModule();
      await job(d, () => detachDevice(st, d, xml, flags));
    },
    async domainUpdateDeviceFlags(ref, xml, flags) {
      const d = st.byRef(ref);
      const { updateDevice } = await hotplugModule();
      await job(d, () => updateDevice(st, d, xml, flags));
    },
    async domainGetAutostart(ref) {
      return st.byRef(ref).autostart;
    },
    async domainSetAutostart(ref, autostart) {
      const d = st.byRef(ref);
      if (!d.persistent) {
        throw virError(
          ErrorCode.OPERATION_INVALID,
          ErrorDomain.QEMU,
          "cannot set autostart for transient domain",
        );
      }
      await st.store.setAutostart(d.name, autostart);
      d.autostart = autostart;
    },
  };
  return Object.assign(table, { newClientTable: () => qemuHypervisorDriver(st, true) });
}

/** Registers qemu:///system (root) or qemu:///session with shared state built by `stateFor`. */
export function qemuConnectionFactory(
  stateFor: (path: string) => Promise<QemuDriverState>,
): ConnectionDriverFactory {
  return {
    name: "qemu",
    accepts(uri) {
      return uri.scheme === "qemu" && !uri.host && (uri.path === "/system" || uri.path === "/session");
    },
    async open(uri) {
      const st = await stateFor(uri.path);
      return { uri: uri.text, hypervisor: qemuHypervisorDriver(st) };
    },
  };
}
