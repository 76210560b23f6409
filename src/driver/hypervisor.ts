// The hypervisor driver table (libvirt's virHypervisorDriver, src/driver-hypervisor.h): every
// slot optional and named as libvirt's, in camelCase; absent means VIR_ERR_NO_SUPPORT.
// Arguments and results are wire-shaped plain data so the RPC dispatcher can map them 1:1.

import type { DomainEvent } from "./events.js";
import type { DomainCheckpointRef, DomainRef, DomainSnapshotRef } from "./refs.js";
import type {
  DomainBlockInfo,
  DomainBlockStats,
  DomainControlInfo,
  DomainFSInfo,
  DomainInfo,
  DomainInterface,
  DomainInterfaceStats,
  DomainMemoryStat,
  DomainStateInfo,
  DomainStatsRecord,
  ByteStream,
  DomainVcpus,
  IOThreadInfo,
  NodeInfo,
  SecurityLabel,
  SecurityModel,
  TypedParam,
} from "./types.js";

type P<T> = Promise<T>;

export interface HypervisorDriver {
  /** Driver name as virConnectGetType reports it ("TEST", "QEMU"). */
  readonly name: string;

  connectClose?(): P<void>;
  connectGetType?(): P<string>;
  connectGetVersion?(): P<number>;
  connectGetLibVersion?(): P<number>;
  connectGetHostname?(): P<string>;
  connectGetURI?(): P<string>;
  connectGetSysinfo?(flags: number): P<string>;
  connectGetMaxVcpus?(type: string | null): P<number>;
  connectGetCapabilities?(): P<string>;
  connectGetDomainCapabilities?(
    emulatorbin: string | null,
    arch: string | null,
    machine: string | null,
    virttype: string | null,
    flags: number,
  ): P<string>;
  connectIsAlive?(): P<boolean>;
  connectIsSecure?(): P<boolean>;
  connectIsEncrypted?(): P<boolean>;
  nodeGetInfo?(): P<NodeInfo>;
  nodeGetFreeMemory?(): P<number>;
  nodeGetCellsFreeMemory?(startCell: number, maxCells: number): P<number[]>;
  nodeGetSecurityModel?(): P<SecurityModel>;
  /** Host CPU time counters as (field, ULLONG) params: user, kernel, idle, iowait. */
  nodeGetCPUStats?(cpuNum: number, flags: number): P<TypedParam[]>;
  nodeGetCPUMap?(flags: number): P<{ cpumap: Uint8Array; online: number; cpus: number }>;
  nodeGetMemoryStats?(cellNum: number, flags: number): P<TypedParam[]>;
  nodeGetMemoryParameters?(flags: number): P<TypedParam[]>;
  connectGetCPUModelNames?(arch: string, flags: number): P<string[]>;
  connectBaselineCPU?(xmlCPUs: string[], flags: number): P<string>;
  connectCompareCPU?(xml: string, flags: number): P<number>;
  connectDomainXMLFromNative?(nativeFormat: string, nativeConfig: string, flags: number): P<string>;
  connectDomainXMLToNative?(nativeFormat: string, domainXml: string, flags: number): P<string>;
  nodeGetFreePages?(pages: number[], startCell: number, cellCount: number, flags: number): P<number[]>;
  /** `doms` null means every domain (virConnectGetAllDomainStats). */
  connectGetAllDomainStats?(doms: DomainRef[] | null, stats: number, flags: number): P<DomainStatsRecord[]>;

  connectNumOfDomains?(): P<number>;
  connectListDomains?(maxids: number): P<number[]>;
  connectNumOfDefinedDomains?(): P<number>;
  connectListDefinedDomains?(maxnames: number): P<string[]>;
  connectListAllDomains?(flags: number): P<DomainRef[]>;

  domainLookupByID?(id: number): P<DomainRef>;
  domainLookupByName?(name: string): P<DomainRef>;
  domainLookupByUUID?(uuid: string): P<DomainRef>;
  domainCreateXML?(xml: string, flags: number): P<DomainRef>;
  domainDefineXMLFlags?(xml: string, flags: number): P<DomainRef>;
  domainUndefineFlags?(dom: DomainRef, flags: number): P<void>;
  domainCreateWithFlags?(dom: DomainRef, flags: number): P<DomainRef>;
  /**
   * virDomainCreateXMLWithFiles / virDomainCreateWithFiles without the descriptors (tsvirtd
   * receives none): libvirt's test driver ignores them and creates as domainCreateXML /
   * domainCreateWithFlags do.
   */
  domainCreateXMLWithFiles?(xml: string, flags: number): P<DomainRef>;
  domainCreateWithFiles?(dom: DomainRef, flags: number): P<DomainRef>;
  domainShutdownFlags?(dom: DomainRef, flags: number): P<void>;
  domainRebootFlags?(dom: DomainRef, flags: number): P<void>;
  domainReset?(dom: DomainRef, flags: number): P<void>;
  domainDestroyFlags?(dom: DomainRef, flags: number): P<void>;
  domainSuspend?(dom: DomainRef): P<void>;
  domainResume?(dom: DomainRef): P<void>;
  domainPMSuspendForDuration?(dom: DomainRef, target: number, duration: number, flags: number): P<void>;
  domainPMWakeup?(dom: DomainRef, flags: number): P<void>;
  domainRename?(dom: DomainRef, newName: string, flags: number): P<void>;

  domainGetInfo?(dom: DomainRef): P<DomainInfo>;
  domainGetState?(dom: DomainRef, flags: number): P<DomainStateInfo>;
  domainGetControlInfo?(dom: DomainRef, flags: number): P<DomainControlInfo>;
  domainGetXMLDesc?(dom: DomainRef, flags: number): P<string>;
  domainGetOSType?(dom: DomainRef): P<string>;
  domainGetHostname?(dom: DomainRef, flags: number): P<string>;
  domainIsActive?(dom: DomainRef): P<boolean>;
  domainIsPersistent?(dom: DomainRef): P<boolean>;
  domainIsUpdated?(dom: DomainRef): P<boolean>;
  domainGetAutostart?(dom: DomainRef): P<boolean>;
  domainSetAutostart?(dom: DomainRef, autostart: boolean): P<void>;

  domainGetMaxMemory?(dom: DomainRef): P<number>;
  domainSetMemoryFlags?(dom: DomainRef, memory: number, flags: number): P<void>;
  domainSetMaxMemory?(dom: DomainRef, memory: number): P<void>;
  domainMemoryStats?(dom: DomainRef, maxStats: number, flags: number): P<DomainMemoryStat[]>;
  domainSetVcpusFlags?(dom: DomainRef, nvcpus: number, flags: number): P<void>;
  domainGetVcpusFlags?(dom: DomainRef, flags: number): P<number>;
  domainGetMaxVcpus?(dom: DomainRef): P<number>;
  domainGetVcpus?(dom: DomainRef, maxinfo: number, maplen: number): P<DomainVcpus>;
  domainPinVcpuFlags?(dom: DomainRef, vcpu: number, cpumap: Uint8Array, flags: number): P<void>;
  /**
   * virDomainPinVcpu, the flag-less call, where a driver gives it its own meaning (libvirt's test
   * driver: flags 0, which its PinVcpuFlags alone accepts); without it the daemon calls
   * domainPinVcpuFlags with VIR_DOMAIN_AFFECT_LIVE, as libvirt's QEMU driver does.
   */
  domainPinVcpu?(dom: DomainRef, vcpu: number, cpumap: Uint8Array): P<void>;
  domainGetVcpuPinInfo?(dom: DomainRef, ncpumaps: number, maplen: number, flags: number): P<Uint8Array[]>;
  domainGetSchedulerType?(dom: DomainRef): P<{ type: string; nparams: number }>;
  domainGetSchedulerParametersFlags?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainSetSchedulerParametersFlags?(dom: DomainRef, params: TypedParam[], flags: number): P<void>;

  domainGetSecurityLabel?(dom: DomainRef): P<SecurityLabel>;
  domainInterfaceAddresses?(dom: DomainRef, source: number, flags: number): P<DomainInterface[]>;
  domainGetTime?(dom: DomainRef, flags: number): P<{ seconds: number; nseconds: number }>;
  domainSetTime?(dom: DomainRef, seconds: number, nseconds: number, flags: number): P<void>;
  domainGetMemoryParameters?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainSetMemoryParameters?(dom: DomainRef, params: TypedParam[], flags: number): P<void>;
  domainGetBlkioParameters?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainGetNumaParameters?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainGetPerfEvents?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainGetIOThreadInfo?(dom: DomainRef, flags: number): P<IOThreadInfo[]>;
  domainGetEmulatorPinInfo?(dom: DomainRef, maplen: number, flags: number): P<Uint8Array>;
  domainGetFSInfo?(dom: DomainRef, flags: number): P<DomainFSInfo[]>;
  domainSetLifecycleAction?(dom: DomainRef, type: number, action: number, flags: number): P<void>;
  domainSetBlkioParameters?(dom: DomainRef, params: TypedParam[], flags: number): P<void>;
  domainSetNumaParameters?(dom: DomainRef, params: TypedParam[], flags: number): P<void>;
  domainSetPerfEvents?(dom: DomainRef, params: TypedParam[], flags: number): P<void>;
  /** `nparams` (over RPC): 0 when the client asks for the count alone. */
  domainGetInterfaceParameters?(
    dom: DomainRef,
    device: string,
    flags: number,
    nparams?: number,
  ): P<TypedParam[]>;
  domainSetInterfaceParameters?(dom: DomainRef, device: string, params: TypedParam[], flags: number): P<void>;
  domainGetBlockIoTune?(dom: DomainRef, disk: string | null, flags: number): P<TypedParam[]>;
  domainSetBlockIoTune?(dom: DomainRef, disk: string, params: TypedParam[], flags: number): P<void>;
  domainBlockStatsFlags?(dom: DomainRef, path: string, flags: number): P<TypedParam[]>;
  /** Per-CPU rows (startCpu >= 0) or the total (startCpu -1, ncpus 1) as typed parameters. */
  domainGetCPUStats?(dom: DomainRef, startCpu: number, ncpus: number, flags: number): P<TypedParam[][]>;
  domainSetMemoryStatsPeriod?(dom: DomainRef, period: number, flags: number): P<void>;
  domainPinEmulator?(dom: DomainRef, cpumap: Uint8Array, flags: number): P<void>;
  domainAddIOThread?(dom: DomainRef, iothreadId: number, flags: number): P<void>;
  domainDelIOThread?(dom: DomainRef, iothreadId: number, flags: number): P<void>;
  domainPinIOThread?(dom: DomainRef, iothreadId: number, cpumap: Uint8Array, flags: number): P<void>;
  domainSetIOThreadParams?(dom: DomainRef, iothreadId: number, params: TypedParam[], flags: number): P<void>;
  domainSendProcessSignal?(dom: DomainRef, pidValue: number, signum: number, flags: number): P<void>;
  domainFSTrim?(dom: DomainRef, mountPoint: string | null, minimum: number, flags: number): P<void>;
  domainInjectNMI?(dom: DomainRef, flags: number): P<void>;
  /** `size` in KiB, or bytes with VIR_DOMAIN_BLOCK_RESIZE_BYTES. */
  domainBlockResize?(dom: DomainRef, disk: string, size: number | bigint, flags: number): P<void>;
  domainSetBlockThreshold?(dom: DomainRef, dev: string, threshold: number | bigint, flags: number): P<void>;
  domainStartDirtyRateCalc?(dom: DomainRef, seconds: number, flags: number): P<void>;
  /** `found` 0: no block job on the disk. */
  domainGetBlockJobInfo?(
    dom: DomainRef,
    path: string,
    flags: number,
  ): P<{
    found: number;
    type: number;
    bandwidth: number | bigint;
    cur: number | bigint;
    end: number | bigint;
  }>;
  domainGetGuestVcpus?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainSetGuestVcpus?(dom: DomainRef, cpumap: string, state: number, flags: number): P<void>;
  domainSetVcpu?(dom: DomainRef, cpumap: string, state: number, flags: number): P<void>;
  domainGetJobInfo?(dom: DomainRef): P<TypedParam[]>;
  domainGetJobStats?(dom: DomainRef, flags: number): P<{ type: number; params: TypedParam[] }>;
  domainAbortJob?(dom: DomainRef): P<void>;
  domainGetSecurityLabelList?(dom: DomainRef): P<SecurityLabel[]>;
  domainSaveImageDefineXML?(file: string, dxml: string, flags: number): P<void>;
  domainManagedSaveDefineXML?(dom: DomainRef, dxml: string | null, flags: number): P<void>;
  domainGetMessages?(dom: DomainRef, flags: number): P<string[]>;
  domainFSFreeze?(dom: DomainRef, mountpoints: string[], flags: number): P<number>;
  domainFSThaw?(dom: DomainRef, mountpoints: string[], flags: number): P<number>;
  domainSetUserPassword?(dom: DomainRef, user: string, password: string, flags: number): P<void>;
  domainGetDiskErrors?(
    dom: DomainRef,
    maxerrors: number,
    flags: number,
  ): P<{ disk: string; error: number }[]>;
  domainGetLaunchSecurityInfo?(dom: DomainRef, flags: number): P<TypedParam[]>;
  domainMemoryPeek?(dom: DomainRef, offset: number, size: number, flags: number): P<Uint8Array>;

  /** libvirt-qemu's virDomainQemuMonitorCommand: QEMU's reply text (flags 1: an HMP command line). */
  domainQemuMonitorCommand?(dom: DomainRef, cmd: string, flags: number): P<string>;
  /** libvirt-qemu's virDomainQemuAgentCommand: the guest agent's reply text. */
  domainQemuAgentCommand?(dom: DomainRef, cmd: string, timeout: number, flags: number): P<string | null>;
  domainGetMetadata?(dom: DomainRef, type: number, uri: string | null, flags: number): P<string>;
  domainSetMetadata?(
    dom: DomainRef,
    type: number,
    metadata: string | null,
    key: string | null,
    uri: string | null,
    flags: number,
  ): P<void>;

  domainGetBlockInfo?(dom: DomainRef, path: string, flags: number): P<DomainBlockInfo>;
  domainBlockStats?(dom: DomainRef, path: string): P<DomainBlockStats>;
  domainInterfaceStats?(dom: DomainRef, device: string): P<DomainInterfaceStats>;
  domainAttachDeviceFlags?(dom: DomainRef, xml: string, flags: number): P<void>;
  domainDetachDeviceFlags?(dom: DomainRef, xml: string, flags: number): P<void>;
  domainUpdateDeviceFlags?(dom: DomainRef, xml: string, flags: number): P<void>;

  domainSave?(dom: DomainRef, to: string, dxml: string | null, flags: number): P<void>;
  domainRestore?(from: string, dxml: string | null, flags: number): P<void>;
  domainSaveImageGetXMLDesc?(file: string, flags: number): P<string>;
  domainCoreDump?(dom: DomainRef, to: string, flags: number): P<void>;
  domainCoreDumpWithFormat?(dom: DomainRef, to: string, dumpformat: number, flags: number): P<void>;
  domainManagedSave?(dom: DomainRef, flags: number): P<void>;
  domainHasManagedSaveImage?(dom: DomainRef, flags: number): P<boolean>;
  domainManagedSaveRemove?(dom: DomainRef, flags: number): P<void>;
  domainManagedSaveGetXMLDesc?(dom: DomainRef, flags: number): P<string>;
  domainSendKey?(
    dom: DomainRef,
    codeset: number,
    holdtime: number,
    keycodes: number[],
    flags: number,
  ): P<void>;
  /** Connects `stream` to the guest console `devName` (null: the first one). */
  domainOpenConsole?(dom: DomainRef, devName: string | null, stream: ByteStream, flags: number): P<void>;
  domainOpenChannel?(dom: DomainRef, name: string | null, stream: ByteStream, flags: number): P<void>;
  domainScreenshot?(dom: DomainRef, screen: number, flags: number): P<{ mime: string; data: Uint8Array }>;

  domainSnapshotCreateXML?(dom: DomainRef, xml: string, flags: number): P<DomainSnapshotRef>;
  domainSnapshotGetXMLDesc?(snap: DomainSnapshotRef, flags: number): P<string>;
  domainSnapshotNum?(dom: DomainRef, flags: number): P<number>;
  domainSnapshotListNames?(dom: DomainRef, maxnames: number, flags: number): P<string[]>;
  domainListAllSnapshots?(dom: DomainRef, flags: number): P<DomainSnapshotRef[]>;
  domainSnapshotNumChildren?(snap: DomainSnapshotRef, flags: number): P<number>;
  domainSnapshotListChildrenNames?(snap: DomainSnapshotRef, maxnames: number, flags: number): P<string[]>;
  domainSnapshotListAllChildren?(snap: DomainSnapshotRef, flags: number): P<DomainSnapshotRef[]>;
  domainSnapshotLookupByName?(dom: DomainRef, name: string, flags: number): P<DomainSnapshotRef>;
  domainHasCurrentSnapshot?(dom: DomainRef, flags: number): P<boolean>;
  domainSnapshotGetParent?(snap: DomainSnapshotRef, flags: number): P<DomainSnapshotRef>;
  domainSnapshotCurrent?(dom: DomainRef, flags: number): P<DomainSnapshotRef>;
  domainSnapshotIsCurrent?(snap: DomainSnapshotRef, flags: number): P<boolean>;
  domainSnapshotHasMetadata?(snap: DomainSnapshotRef, flags: number): P<boolean>;
  domainRevertToSnapshot?(snap: DomainSnapshotRef, flags: number): P<void>;
  domainSnapshotDelete?(snap: DomainSnapshotRef, flags: number): P<void>;

  domainCheckpointCreateXML?(dom: DomainRef, xml: string, flags: number): P<DomainCheckpointRef>;
  domainCheckpointGetXMLDesc?(cp: DomainCheckpointRef, flags: number): P<string>;
  domainListAllCheckpoints?(dom: DomainRef, flags: number): P<DomainCheckpointRef[]>;
  domainCheckpointListAllChildren?(cp: DomainCheckpointRef, flags: number): P<DomainCheckpointRef[]>;
  domainCheckpointLookupByName?(dom: DomainRef, name: string, flags: number): P<DomainCheckpointRef>;
  domainCheckpointGetParent?(cp: DomainCheckpointRef, flags: number): P<DomainCheckpointRef>;
  domainCheckpointDelete?(cp: DomainCheckpointRef, flags: number): P<void>;

  /** Returns a callback id; `dom` null means every domain. */
  connectDomainEventRegisterAny?(
    dom: DomainRef | null,
    eventId: number,
    cb: (ev: DomainEvent) => void,
  ): P<number>;
  connectDomainEventDeregisterAny?(callbackId: number): P<void>;
}
