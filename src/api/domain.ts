// Domain: a handle on one guest (virDomain*). Holds the wire ref; every call checks arguments
// and read-only access as src/libvirt-domain.c does, then dispatches to the hypervisor slot.

import type {
  DomainBlockInfo,
  DomainBlockStats,
  DomainControlInfo,
  DomainFSInfo,
  DomainInfo,
  DomainInterface,
  DomainInterfaceStats,
  DomainMemoryStat,
  DomainRef,
  DomainStateInfo,
  DomainVcpus,
  IOThreadInfo,
  SecurityLabel,
  TypedParam,
} from "../driver/index.js";
import { VIR_DOMAIN_AFFECT, VIR_DOMAIN_METADATA, VIR_DOMAIN_VCPU, VIR_DOMAIN_XML } from "../driver/index.js";
import { ErrorCode, ErrorDomain, VirError } from "../errors/index.js";
import {
  checkExclusive,
  checkNonEmpty,
  checkNonNegative,
  checkNonNull,
  checkNonZero,
  checkRequires,
  invalidArg,
} from "./check.js";
import type { Connection } from "./connection.js";
import { DomainCheckpoint } from "./domain-checkpoint.js";
import { DomainSnapshot } from "./domain-snapshot.js";

const D = ErrorDomain.DOMAIN;
/** VIR_TYPED_PARAM_STRING_OKAY: libvirt's public API adds it for drivers that support string parameters. */
const VIR_TYPED_PARAM_STRING_OKAY = 1 << 2;

export class Domain {
  constructor(
    readonly conn: Connection,
    public ref: DomainRef,
  ) {}

  get name(): string {
    return this.ref.name;
  }
  get uuid(): string {
    return this.ref.uuid;
  }
  /** Running id, -1 when inactive (as of the last call that reported it). */
  get id(): number {
    return this.ref.id;
  }

  private hv<K extends Parameters<Connection["hv"]>[0]>(key: K, fn: string) {
    return this.conn.hv(key, fn);
  }
  private rw(fn: string): void {
    this.conn.checkWritable(D, fn);
  }

  // ---- lifecycle ----
  /** VIR_EXCLUSIVE_FLAGS_GOTO(LIVE, CONFIG): the public API's check, before any driver is asked. */
  private liveXorConfig(flags: number): void {
    checkExclusive(
      flags,
      VIR_DOMAIN_AFFECT.LIVE,
      "VIR_DOMAIN_AFFECT_LIVE",
      VIR_DOMAIN_AFFECT.CONFIG,
      "VIR_DOMAIN_AFFECT_CONFIG",
      D,
    );
  }
  async create(flags = 0): Promise<void> {
    this.rw(flags ? "virDomainCreateWithFlags" : "virDomainCreate");
    const ref = await this.hv("domainCreateWithFlags", "virDomainCreateWithFlags")(this.ref, flags);
    // Like libvirt, only the id of the handle changes; its name stays as it was looked up.
    if (ref) this.ref = { ...this.ref, id: ref.id };
  }
  /** virDomainCreateWithFiles with no descriptors (tsvirt passes none). */
  async createWithFiles(flags = 0): Promise<void> {
    this.rw("virDomainCreateWithFiles");
    const ref = await this.hv("domainCreateWithFiles", "virDomainCreateWithFiles")(this.ref, flags);
    if (ref) this.ref = { ...this.ref, id: ref.id };
  }
  async shutdown(flags = 0): Promise<void> {
    this.rw(flags ? "virDomainShutdownFlags" : "virDomainShutdown");
    return this.hv("domainShutdownFlags", "virDomainShutdownFlags")(this.ref, flags);
  }
  async reboot(flags = 0): Promise<void> {
    this.rw("virDomainReboot");
    return this.hv("domainRebootFlags", "virDomainReboot")(this.ref, flags);
  }
  async reset(flags = 0): Promise<void> {
    this.rw("virDomainReset");
    return this.hv("domainReset", "virDomainReset")(this.ref, flags);
  }
  async destroy(flags = 0): Promise<void> {
    this.rw(flags ? "virDomainDestroyFlags" : "virDomainDestroy");
    await this.hv("domainDestroyFlags", "virDomainDestroyFlags")(this.ref, flags);
    this.ref = { ...this.ref, id: -1 };
  }
  async suspend(): Promise<void> {
    this.rw("virDomainSuspend");
    return this.hv("domainSuspend", "virDomainSuspend")(this.ref);
  }
  async resume(): Promise<void> {
    this.rw("virDomainResume");
    return this.hv("domainResume", "virDomainResume")(this.ref);
  }
  async pmSuspendForDuration(target: number, duration: number, flags = 0): Promise<void> {
    this.rw("virDomainPMSuspendForDuration");
    return this.hv("domainPMSuspendForDuration", "virDomainPMSuspendForDuration")(
      this.ref,
      target,
      duration,
      flags,
    );
  }
  async pmWakeup(flags = 0): Promise<void> {
    this.rw("virDomainPMWakeup");
    return this.hv("domainPMWakeup", "virDomainPMWakeup")(this.ref, flags);
  }
  async undefine(flags = 0): Promise<void> {
    this.rw(flags ? "virDomainUndefineFlags" : "virDomainUndefine");
    return this.hv("domainUndefineFlags", "virDomainUndefineFlags")(this.ref, flags);
  }
  async rename(newName: string, flags = 0): Promise<void> {
    this.rw("virDomainRename");
    checkNonNull(newName, "new_name", D, "virDomainRename");
    checkNonEmpty(newName, "new_name", D, "virDomainRename");
    // As in libvirt the handle keeps the name it was looked up by; look the domain up again.
    await this.hv("domainRename", "virDomainRename")(this.ref, newName, flags);
  }

  // ---- information ----
  async getInfo(): Promise<DomainInfo> {
    return this.hv("domainGetInfo", "virDomainGetInfo")(this.ref);
  }
  async getState(flags = 0): Promise<DomainStateInfo> {
    return this.hv("domainGetState", "virDomainGetState")(this.ref, flags);
  }
  async getControlInfo(flags = 0): Promise<DomainControlInfo> {
    return this.hv("domainGetControlInfo", "virDomainGetControlInfo")(this.ref, flags);
  }
  async getXMLDesc(flags = 0): Promise<string> {
    if (this.conn.readOnly && flags & VIR_DOMAIN_XML.SECURE) {
      throw new VirError({
        code: ErrorCode.OPERATION_DENIED,
        domain: D,
        message: "operation forbidden: virDomainGetXMLDesc with secure flag",
      });
    }
    return this.hv("domainGetXMLDesc", "virDomainGetXMLDesc")(this.ref, flags);
  }
  async getOSType(): Promise<string> {
    return this.hv("domainGetOSType", "virDomainGetOSType")(this.ref);
  }
  async getHostname(flags = 0): Promise<string> {
    return this.hv("domainGetHostname", "virDomainGetHostname")(this.ref, flags);
  }
  async isActive(): Promise<boolean> {
    return this.hv("domainIsActive", "virDomainIsActive")(this.ref);
  }
  async isPersistent(): Promise<boolean> {
    return this.hv("domainIsPersistent", "virDomainIsPersistent")(this.ref);
  }
  async isUpdated(): Promise<boolean> {
    return this.hv("domainIsUpdated", "virDomainIsUpdated")(this.ref);
  }
  async getAutostart(): Promise<boolean> {
    return this.hv("domainGetAutostart", "virDomainGetAutostart")(this.ref);
  }
  async setAutostart(autostart: boolean): Promise<void> {
    this.rw("virDomainSetAutostart");
    return this.hv("domainSetAutostart", "virDomainSetAutostart")(this.ref, autostart);
  }

  // ---- memory and vCPUs ----
  async getMaxMemory(): Promise<number> {
    return this.hv("domainGetMaxMemory", "virDomainGetMaxMemory")(this.ref);
  }
  async setMemory(memory: number, flags = 0): Promise<void> {
    this.rw("virDomainSetMemoryFlags");
    checkNonZero(memory, "memory", D, "virDomainSetMemoryFlags");
    return this.hv("domainSetMemoryFlags", "virDomainSetMemoryFlags")(this.ref, memory, flags);
  }
  async setMaxMemory(memory: number): Promise<void> {
    this.rw("virDomainSetMaxMemory");
    checkNonZero(memory, "memory", D, "virDomainSetMaxMemory");
    return this.hv("domainSetMaxMemory", "virDomainSetMaxMemory")(this.ref, memory);
  }
  async memoryStats(maxStats = 13, flags = 0): Promise<DomainMemoryStat[]> {
    return this.hv("domainMemoryStats", "virDomainMemoryStats")(this.ref, maxStats, flags);
  }
  async setVcpus(nvcpus: number, flags = 0): Promise<void> {
    this.rw("virDomainSetVcpusFlags");
    checkRequires(
      flags,
      VIR_DOMAIN_VCPU.MAXIMUM,
      "VIR_DOMAIN_VCPU_MAXIMUM",
      VIR_DOMAIN_AFFECT.CONFIG,
      "VIR_DOMAIN_AFFECT_CONFIG",
      D,
    );
    checkNonZero(nvcpus, "nvcpus", D, "virDomainSetVcpusFlags");
    if (nvcpus > 0xffff) {
      throw new VirError({ code: ErrorCode.OVERFLOW, domain: D, message: `input too large: ${nvcpus}` });
    }
    return this.hv("domainSetVcpusFlags", "virDomainSetVcpusFlags")(this.ref, nvcpus, flags);
  }
  /** virDomainGetVcpusFlags: the vCPU count selected by flags. */
  async getVcpusFlags(flags = 0): Promise<number> {
    if (flags & VIR_DOMAIN_VCPU.GUEST) this.rw("virDomainGetVcpusFlags");
    this.liveXorConfig(flags);
    return this.hv("domainGetVcpusFlags", "virDomainGetVcpusFlags")(this.ref, flags);
  }
  async getMaxVcpus(): Promise<number> {
    return this.hv("domainGetMaxVcpus", "virDomainGetMaxVcpus")(this.ref);
  }
  /** virDomainGetVcpus: per-vCPU info and affinity maps. */
  async getVcpus(maxinfo: number, maplen: number): Promise<DomainVcpus> {
    return this.hv("domainGetVcpus", "virDomainGetVcpus")(this.ref, maxinfo, maplen);
  }
  /** virDomainPinVcpu, the flag-less call (a driver's domainPinVcpu, else PinVcpuFlags with LIVE). */
  async pinVcpuLegacy(vcpu: number, cpumap: Uint8Array): Promise<void> {
    this.rw("virDomainPinVcpu");
    const own = this.conn.drivers.hypervisor.domainPinVcpu;
    if (own) return own.call(this.conn.drivers.hypervisor, this.ref, vcpu, cpumap);
    return this.hv("domainPinVcpuFlags", "virDomainPinVcpu")(this.ref, vcpu, cpumap, VIR_DOMAIN_AFFECT.LIVE);
  }
  async pinVcpu(vcpu: number, cpumap: Uint8Array, flags = 0): Promise<void> {
    this.rw("virDomainPinVcpuFlags");
    return this.hv("domainPinVcpuFlags", "virDomainPinVcpuFlags")(this.ref, vcpu, cpumap, flags);
  }
  async getVcpuPinInfo(ncpumaps: number, maplen: number, flags = 0): Promise<Uint8Array[]> {
    return this.hv("domainGetVcpuPinInfo", "virDomainGetVcpuPinInfo")(this.ref, ncpumaps, maplen, flags);
  }
  async getSchedulerType(): Promise<{ type: string; nparams: number }> {
    return this.hv("domainGetSchedulerType", "virDomainGetSchedulerType")(this.ref);
  }
  /**
   * virDomainGetSchedulerParameters (no flags) or virDomainGetSchedulerParametersFlags; the latter
   * adds VIR_TYPED_PARAM_STRING_OKAY as libvirt's public API does, so drivers see it as libvirt's do.
   */
  async getSchedulerParameters(flags?: number): Promise<TypedParam[]> {
    if (flags === undefined) {
      return this.hv("domainGetSchedulerParametersFlags", "virDomainGetSchedulerParameters")(this.ref, 0);
    }
    this.liveXorConfig(flags);
    const f = this.hv("domainGetSchedulerParametersFlags", "virDomainGetSchedulerParametersFlags");
    return f(this.ref, flags | VIR_TYPED_PARAM_STRING_OKAY);
  }
  /** virDomainSetSchedulerParameters (no flags) or virDomainSetSchedulerParametersFlags. */
  async setSchedulerParameters(params: TypedParam[], flags?: number): Promise<void> {
    const name =
      flags === undefined ? "virDomainSetSchedulerParameters" : "virDomainSetSchedulerParametersFlags";
    this.rw(name);
    this.liveXorConfig(flags ?? 0);
    const f = this.hv("domainSetSchedulerParametersFlags", name);
    return f(this.ref, params, flags ?? 0);
  }

  // ---- tunables and guest information ----
  async getSecurityLabel(): Promise<SecurityLabel> {
    return this.hv("domainGetSecurityLabel", "virDomainGetSecurityLabel")(this.ref);
  }
  /** source: VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE=0, AGENT=1, ARP=2. */
  async interfaceAddresses(source = 0, flags = 0): Promise<DomainInterface[]> {
    if (source === 1) this.rw("virDomainInterfaceAddresses");
    return this.hv("domainInterfaceAddresses", "virDomainInterfaceAddresses")(this.ref, source, flags);
  }
  async getTime(flags = 0): Promise<{ seconds: number; nseconds: number }> {
    this.rw("virDomainGetTime");
    return this.hv("domainGetTime", "virDomainGetTime")(this.ref, flags);
  }
  async setTime(seconds: number, nseconds = 0, flags = 0): Promise<void> {
    this.rw("virDomainSetTime");
    return this.hv("domainSetTime", "virDomainSetTime")(this.ref, seconds, nseconds, flags);
  }
  async getMemoryParameters(flags = 0): Promise<TypedParam[]> {
    this.liveXorConfig(flags);
    return this.hv("domainGetMemoryParameters", "virDomainGetMemoryParameters")(this.ref, flags);
  }
  async setMemoryParameters(params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetMemoryParameters");
    this.liveXorConfig(flags);
    return this.hv("domainSetMemoryParameters", "virDomainSetMemoryParameters")(this.ref, params, flags);
  }
  async getBlkioParameters(flags = 0): Promise<TypedParam[]> {
    this.liveXorConfig(flags);
    return this.hv("domainGetBlkioParameters", "virDomainGetBlkioParameters")(this.ref, flags);
  }
  async getNumaParameters(flags = 0): Promise<TypedParam[]> {
    return this.hv("domainGetNumaParameters", "virDomainGetNumaParameters")(this.ref, flags);
  }
  async getPerfEvents(flags = 0): Promise<TypedParam[]> {
    return this.hv("domainGetPerfEvents", "virDomainGetPerfEvents")(this.ref, flags);
  }
  async getIOThreadInfo(flags = 0): Promise<IOThreadInfo[]> {
    this.liveXorConfig(flags);
    return this.hv("domainGetIOThreadInfo", "virDomainGetIOThreadInfo")(this.ref, flags);
  }
  async getEmulatorPinInfo(maplen: number, flags = 0): Promise<Uint8Array> {
    this.liveXorConfig(flags);
    return this.hv("domainGetEmulatorPinInfo", "virDomainGetEmulatorPinInfo")(this.ref, maplen, flags);
  }
  async getFSInfo(flags = 0): Promise<DomainFSInfo[]> {
    this.rw("virDomainGetFSInfo");
    return this.hv("domainGetFSInfo", "virDomainGetFSInfo")(this.ref, flags);
  }
  async setLifecycleAction(type: number, action: number, flags = 0): Promise<void> {
    this.rw("virDomainSetLifecycleAction");
    // VIR_DOMAIN_LIFECYCLE_LAST = 3, VIR_DOMAIN_LIFECYCLE_ACTION_LAST = 6
    if (type >= 3)
      throw new VirError({
        code: ErrorCode.INVALID_ARG,
        domain: D,
        message: `invalid argument: invalid lifecycle type '${type}'`,
      });
    if (action >= 6)
      throw new VirError({
        code: ErrorCode.INVALID_ARG,
        domain: D,
        message: `invalid argument: invalid lifecycle action '${action}'`,
      });
    return this.hv("domainSetLifecycleAction", "virDomainSetLifecycleAction")(this.ref, type, action, flags);
  }

  async setBlkioParameters(params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetBlkioParameters");
    this.liveXorConfig(flags);
    return this.hv("domainSetBlkioParameters", "virDomainSetBlkioParameters")(this.ref, params, flags);
  }
  async setNumaParameters(params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetNumaParameters");
    return this.hv("domainSetNumaParameters", "virDomainSetNumaParameters")(this.ref, params, flags);
  }
  async setPerfEvents(params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetPerfEvents");
    return this.hv("domainSetPerfEvents", "virDomainSetPerfEvents")(this.ref, params, flags);
  }
  async getInterfaceParameters(device: string, flags = 0): Promise<TypedParam[]> {
    return this.hv("domainGetInterfaceParameters", "virDomainGetInterfaceParameters")(
      this.ref,
      device,
      flags,
    );
  }
  async setInterfaceParameters(device: string, params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetInterfaceParameters");
    const f = this.hv("domainSetInterfaceParameters", "virDomainSetInterfaceParameters");
    return f(this.ref, device, params, flags);
  }
  async getBlockIoTune(disk: string | null, flags = 0): Promise<TypedParam[]> {
    this.liveXorConfig(flags);
    return this.hv("domainGetBlockIoTune", "virDomainGetBlockIoTune")(this.ref, disk, flags);
  }
  async setBlockIoTune(disk: string, params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetBlockIoTune");
    this.liveXorConfig(flags);
    return this.hv("domainSetBlockIoTune", "virDomainSetBlockIoTune")(this.ref, disk, params, flags);
  }
  async blockStatsFlags(path: string, flags = 0): Promise<TypedParam[]> {
    return this.hv("domainBlockStatsFlags", "virDomainBlockStatsFlags")(this.ref, path, flags);
  }
  /** startCpu -1 with ncpus 1 asks for the domain total. */
  async getCPUStats(startCpu: number, ncpus: number, flags = 0): Promise<TypedParam[][]> {
    const f = this.hv("domainGetCPUStats", "virDomainGetCPUStats");
    return f(this.ref, startCpu, ncpus, flags | VIR_TYPED_PARAM_STRING_OKAY);
  }
  async setMemoryStatsPeriod(period: number, flags = 0): Promise<void> {
    this.rw("virDomainSetMemoryStatsPeriod");
    checkNonNegative(period, "period", D, "virDomainSetMemoryStatsPeriod");
    return this.hv("domainSetMemoryStatsPeriod", "virDomainSetMemoryStatsPeriod")(this.ref, period, flags);
  }
  async pinEmulator(cpumap: Uint8Array, flags = 0): Promise<void> {
    this.rw("virDomainPinEmulator");
    return this.hv("domainPinEmulator", "virDomainPinEmulator")(this.ref, cpumap, flags);
  }
  async addIOThread(iothreadId: number, flags = 0): Promise<void> {
    this.rw("virDomainAddIOThread");
    return this.hv("domainAddIOThread", "virDomainAddIOThread")(this.ref, iothreadId, flags);
  }
  async delIOThread(iothreadId: number, flags = 0): Promise<void> {
    this.rw("virDomainDelIOThread");
    return this.hv("domainDelIOThread", "virDomainDelIOThread")(this.ref, iothreadId, flags);
  }
  async pinIOThread(iothreadId: number, cpumap: Uint8Array, flags = 0): Promise<void> {
    this.rw("virDomainPinIOThread");
    return this.hv("domainPinIOThread", "virDomainPinIOThread")(this.ref, iothreadId, cpumap, flags);
  }
  async setIOThreadParams(iothreadId: number, params: TypedParam[], flags = 0): Promise<void> {
    this.rw("virDomainSetIOThreadParams");
    if (params.length === 0) throw invalidArg(D, "params in virDomainSetIOThreadParams must not be NULL");
    const f = this.hv("domainSetIOThreadParams", "virDomainSetIOThreadParams");
    return f(this.ref, iothreadId, params, flags);
  }
  async sendProcessSignal(pidValue: number, signum: number, flags = 0): Promise<void> {
    this.rw("virDomainSendProcessSignal");
    checkNonZero(pidValue, "pid_value", D, "virDomainSendProcessSignal");
    const f = this.hv("domainSendProcessSignal", "virDomainSendProcessSignal");
    return f(this.ref, pidValue, signum, flags);
  }
  async fsTrim(mountPoint: string | null, minimum = 0, flags = 0): Promise<void> {
    this.rw("virDomainFSTrim");
    return this.hv("domainFSTrim", "virDomainFSTrim")(this.ref, mountPoint, minimum, flags);
  }
  async injectNMI(flags = 0): Promise<void> {
    this.rw("virDomainInjectNMI");
    return this.hv("domainInjectNMI", "virDomainInjectNMI")(this.ref, flags);
  }
  async getJobInfo(): Promise<TypedParam[]> {
    return this.hv("domainGetJobInfo", "virDomainGetJobInfo")(this.ref);
  }
  async abortJob(): Promise<void> {
    this.rw("virDomainAbortJob");
    return this.hv("domainAbortJob", "virDomainAbortJob")(this.ref);
  }

  // ---- metadata ----
  async getMetadata(type: number, uri: string | null = null, flags = 0): Promise<string> {
    this.liveXorConfig(flags);
    if (type === VIR_DOMAIN_METADATA.ELEMENT) checkNonNull(uri, "uri", D, "virDomainGetMetadata");
    else if (type < VIR_DOMAIN_METADATA.ELEMENT && uri !== null) {
      // types libvirt does not know yet are left to the driver
      throw invalidArg(D, "uri in virDomainGetMetadata must be NULL");
    }
    return this.hv("domainGetMetadata", "virDomainGetMetadata")(this.ref, type, uri, flags);
  }
  async setMetadata(
    type: number,
    metadata: string | null,
    key: string | null = null,
    uri: string | null = null,
    flags = 0,
  ): Promise<void> {
    this.rw("virDomainSetMetadata");
    if (type === VIR_DOMAIN_METADATA.TITLE && metadata && metadata.includes("\n")) {
      throw invalidArg(D, "metadata title can't contain newlines");
    }
    if (type === VIR_DOMAIN_METADATA.ELEMENT) {
      checkNonNull(uri, "uri", D, "virDomainSetMetadata");
      if (metadata) checkNonNull(key, "key", D, "virDomainSetMetadata");
    } else {
      if (key !== null) throw invalidArg(D, "key in virDomainSetMetadata must be NULL");
      if (uri !== null) throw invalidArg(D, "uri in virDomainSetMetadata must be NULL");
    }
    return this.hv("domainSetMetadata", "virDomainSetMetadata")(this.ref, type, metadata, key, uri, flags);
  }

  // ---- devices ----
  async getBlockInfo(path: string, flags = 0): Promise<DomainBlockInfo> {
    checkNonNull(path, "disk", D, "virDomainGetBlockInfo");
    checkNonEmpty(path, "disk", D, "virDomainGetBlockInfo");
    return this.hv("domainGetBlockInfo", "virDomainGetBlockInfo")(this.ref, path, flags);
  }
  async blockStats(path: string): Promise<DomainBlockStats> {
    return this.hv("domainBlockStats", "virDomainBlockStats")(this.ref, path);
  }
  async interfaceStats(device: string): Promise<DomainInterfaceStats> {
    return this.hv("domainInterfaceStats", "virDomainInterfaceStats")(this.ref, device);
  }
  async attachDevice(xml: string, flags = 0): Promise<void> {
    this.rw("virDomainAttachDeviceFlags");
    return this.hv("domainAttachDeviceFlags", "virDomainAttachDeviceFlags")(this.ref, xml, flags);
  }
  async detachDevice(xml: string, flags = 0): Promise<void> {
    this.rw("virDomainDetachDeviceFlags");
    return this.hv("domainDetachDeviceFlags", "virDomainDetachDeviceFlags")(this.ref, xml, flags);
  }
  async updateDevice(xml: string, flags = 0): Promise<void> {
    this.rw("virDomainUpdateDeviceFlags");
    return this.hv("domainUpdateDeviceFlags", "virDomainUpdateDeviceFlags")(this.ref, xml, flags);
  }
  async sendKey(codeset: number, holdtime: number, keycodes: number[], flags = 0): Promise<void> {
    this.rw("virDomainSendKey");
    if (keycodes.length === 0) throw invalidArg(D, "nkeycodes in virDomainSendKey must be greater than zero");
    // VIR_KEYCODE_SET_LAST = 10
    if (codeset >= 10) throw invalidArg(D, `Unsupported codeset '${codeset}'`);
    return this.hv("domainSendKey", "virDomainSendKey")(this.ref, codeset, holdtime, keycodes, flags);
  }

  async fsFreeze(mountpoints: string[] = [], flags = 0): Promise<number> {
    this.rw("virDomainFSFreeze");
    return this.hv("domainFSFreeze", "virDomainFSFreeze")(this.ref, mountpoints, flags);
  }
  async fsThaw(mountpoints: string[] = [], flags = 0): Promise<number> {
    this.rw("virDomainFSThaw");
    return this.hv("domainFSThaw", "virDomainFSThaw")(this.ref, mountpoints, flags);
  }
  async setUserPassword(user: string, password: string, flags = 0): Promise<void> {
    this.rw("virDomainSetUserPassword");
    return this.hv("domainSetUserPassword", "virDomainSetUserPassword")(this.ref, user, password, flags);
  }
  async getDiskErrors(maxerrors = 64, flags = 0): Promise<{ disk: string; error: number }[]> {
    return this.hv("domainGetDiskErrors", "virDomainGetDiskErrors")(this.ref, maxerrors, flags);
  }
  /** virDomainGetLaunchSecurityInfo: read-write only; libvirt's API adds VIR_TYPED_PARAM_STRING_OKAY. */
  async getLaunchSecurityInfo(flags = 0): Promise<TypedParam[]> {
    this.rw("virDomainGetLaunchSecurityInfo");
    const f = this.hv("domainGetLaunchSecurityInfo", "virDomainGetLaunchSecurityInfo");
    return f(this.ref, flags | VIR_TYPED_PARAM_STRING_OKAY);
  }
  /** flags: VIR_MEMORY_VIRTUAL=1 or VIR_MEMORY_PHYSICAL=2. */
  async memoryPeek(offset: number, size: number, flags: number): Promise<Uint8Array> {
    this.rw("virDomainMemoryPeek");
    checkExclusive(flags, 1, "VIR_MEMORY_VIRTUAL", 2, "VIR_MEMORY_PHYSICAL", D);
    return this.hv("domainMemoryPeek", "virDomainMemoryPeek")(this.ref, offset, size, flags);
  }

  /** virDomainScreenshot: the image's MIME type and bytes (the RPC edge streams them). */
  async screenshot(screen = 0, flags = 0): Promise<{ mime: string; data: Uint8Array }> {
    this.rw("virDomainScreenshot");
    return this.hv("domainScreenshot", "virDomainScreenshot")(this.ref, screen, flags);
  }

  // ---- save / managed save ----
  async save(to: string, dxml: string | null = null, flags = 0): Promise<void> {
    this.rw("virDomainSave");
    return this.hv("domainSave", "virDomainSaveFlags")(this.ref, to, dxml, flags);
  }
  async coreDump(to: string, flags = 0): Promise<void> {
    this.rw("virDomainCoreDump");
    this.dumpFlags(flags);
    return this.hv("domainCoreDump", "virDomainCoreDump")(this.ref, to, flags);
  }
  /** virDomainCoreDumpWithFormat: the format (below VIR_DOMAIN_CORE_DUMP_FORMAT_LAST) checked first. */
  async coreDumpWithFormat(to: string, dumpformat: number, flags = 0): Promise<void> {
    this.rw("virDomainCoreDumpWithFormat");
    if (dumpformat >= 5) throw invalidArg(D, `dumpformat '${dumpformat}' is not supported`);
    this.dumpFlags(flags);
    return this.hv("domainCoreDumpWithFormat", "virDomainCoreDumpWithFormat")(
      this.ref,
      to,
      dumpformat,
      flags,
    );
  }
  /** The public API's exclusive VIR_DUMP_* pairs: CRASH/LIVE, CRASH/RESET, LIVE/RESET. */
  private dumpFlags(flags: number): void {
    checkExclusive(flags, 1, "VIR_DUMP_CRASH", 2, "VIR_DUMP_LIVE", D);
    checkExclusive(flags, 1, "VIR_DUMP_CRASH", 8, "VIR_DUMP_RESET", D);
    checkExclusive(flags, 2, "VIR_DUMP_LIVE", 8, "VIR_DUMP_RESET", D);
  }
  async managedSave(flags = 0): Promise<void> {
    this.rw("virDomainManagedSave");
    return this.hv("domainManagedSave", "virDomainManagedSave")(this.ref, flags);
  }
  async hasManagedSaveImage(flags = 0): Promise<boolean> {
    return this.hv("domainHasManagedSaveImage", "virDomainHasManagedSaveImage")(this.ref, flags);
  }
  async managedSaveRemove(flags = 0): Promise<void> {
    this.rw("virDomainManagedSaveRemove");
    return this.hv("domainManagedSaveRemove", "virDomainManagedSaveRemove")(this.ref, flags);
  }
  async managedSaveGetXMLDesc(flags = 0): Promise<string> {
    return this.hv("domainManagedSaveGetXMLDesc", "virDomainManagedSaveGetXMLDesc")(this.ref, flags);
  }

  // ---- snapshots ----
  async snapshotCreateXML(xml: string, flags = 0): Promise<DomainSnapshot> {
    this.conn.checkWritable(ErrorDomain.DOMAIN_SNAPSHOT, "virDomainSnapshotCreateXML");
    // VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE = 1, CURRENT = 2, NO_METADATA = 4
    const S = ErrorDomain.DOMAIN_SNAPSHOT;
    checkRequires(
      flags,
      2,
      "VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT",
      1,
      "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE",
      S,
    );
    checkExclusive(
      flags,
      1,
      "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE",
      4,
      "VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA",
      S,
    );
    const f = this.conn.hv(
      "domainSnapshotCreateXML",
      "virDomainSnapshotCreateXML",
      ErrorDomain.DOMAIN_SNAPSHOT,
    );
    return new DomainSnapshot(this, await f(this.ref, xml, flags));
  }
  async snapshotNum(flags = 0): Promise<number> {
    return this.conn.hv(
      "domainSnapshotNum",
      "virDomainSnapshotNum",
      ErrorDomain.DOMAIN_SNAPSHOT,
    )(this.ref, flags);
  }
  async snapshotListNames(maxnames = 65536, flags = 0): Promise<string[]> {
    const f = this.conn.hv(
      "domainSnapshotListNames",
      "virDomainSnapshotListNames",
      ErrorDomain.DOMAIN_SNAPSHOT,
    );
    return f(this.ref, maxnames, flags);
  }
  async listAllSnapshots(flags = 0): Promise<DomainSnapshot[]> {
    const f = this.conn.hv(
      "domainListAllSnapshots",
      "virDomainListAllSnapshots",
      ErrorDomain.DOMAIN_SNAPSHOT,
    );
    return (await f(this.ref, flags)).map((r) => new DomainSnapshot(this, r));
  }
  async snapshotLookupByName(name: string, flags = 0): Promise<DomainSnapshot> {
    const f = this.conn.hv(
      "domainSnapshotLookupByName",
      "virDomainSnapshotLookupByName",
      ErrorDomain.DOMAIN_SNAPSHOT,
    );
    return new DomainSnapshot(this, await f(this.ref, name, flags));
  }
  async hasCurrentSnapshot(flags = 0): Promise<boolean> {
    const f = this.conn.hv(
      "domainHasCurrentSnapshot",
      "virDomainHasCurrentSnapshot",
      ErrorDomain.DOMAIN_SNAPSHOT,
    );
    return f(this.ref, flags);
  }
  async snapshotCurrent(flags = 0): Promise<DomainSnapshot> {
    const f = this.conn.hv("domainSnapshotCurrent", "virDomainSnapshotCurrent", ErrorDomain.DOMAIN_SNAPSHOT);
    return new DomainSnapshot(this, await f(this.ref, flags));
  }

  // ---- checkpoints ----
  async checkpointCreateXML(xml: string, flags = 0): Promise<DomainCheckpoint> {
    this.conn.checkWritable(ErrorDomain.DOMAIN_CHECKPOINT, "virDomainCheckpointCreateXML");
    // VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE = 1, REDEFINE_VALIDATE = 4
    checkRequires(
      flags,
      4,
      "VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE",
      1,
      "VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE",
      ErrorDomain.DOMAIN_CHECKPOINT,
    );
    const f = this.conn.hv(
      "domainCheckpointCreateXML",
      "virDomainCheckpointCreateXML",
      ErrorDomain.DOMAIN_CHECKPOINT,
    );
    return new DomainCheckpoint(this, await f(this.ref, xml, flags));
  }
  async listAllCheckpoints(flags = 0): Promise<DomainCheckpoint[]> {
    const f = this.conn.hv(
      "domainListAllCheckpoints",
      "virDomainListAllCheckpoints",
      ErrorDomain.DOMAIN_CHECKPOINT,
    );
    return (await f(this.ref, flags)).map((r) => new DomainCheckpoint(this, r));
  }
  async checkpointLookupByName(name: string, flags = 0): Promise<DomainCheckpoint> {
    const f = this.conn.hv(
      "domainCheckpointLookupByName",
      "virDomainCheckpointLookupByName",
      ErrorDomain.DOMAIN_CHECKPOINT,
    );
    return new DomainCheckpoint(this, await f(this.ref, name, flags));
  }
}
