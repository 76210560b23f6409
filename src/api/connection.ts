// Connection: the public entry point (virConnect*). Opens a URI through the driver registry and
// hands out typed object handles; checks arguments and read-only access as libvirt's
// src/libvirt-host.c / libvirt-domain.c do before dispatching to a driver slot.

import type {
  DomainEvent,
  DriverSet,
  HypervisorDriver,
  InterfaceDriver,
  NetworkDriver,
  NetworkEvent,
  NodeDeviceDriver,
  NodeDeviceEvent,
  DomainStatsRecord,
  NodeInfo,
  SecretDriver,
  SecurityModel,
  TypedParam,
  SecretEvent,
  StorageDriver,
  StoragePoolEvent,
} from "../driver/index.js";
import { openDriverSet } from "../driver/index.js";
import { ErrorDomain } from "../errors/index.js";
import { checkNonNegative, checkNonNull, checkWritable, slot } from "./check.js";
import { Domain } from "./domain.js";
import { Interface } from "./interface.js";
import { Network } from "./network.js";
import { NodeDevice } from "./node-device.js";
import { Secret } from "./secret.js";
import { StoragePool } from "./storage-pool.js";
import { StorageVol } from "./storage-vol.js";

const D = ErrorDomain;

export interface ConnectionOptions {
  readOnly?: boolean;
}

/** Opens a connection to `uri` (virConnectOpen / virConnectOpenReadOnly). */
export async function openConnection(uri: string, opts: ConnectionOptions = {}): Promise<Connection> {
  const drivers = await openDriverSet(uri, { readOnly: opts.readOnly ?? false });
  return new Connection(drivers, opts.readOnly ?? false);
}

export class Connection {
  private closed = false;

  constructor(
    readonly drivers: DriverSet,
    readonly readOnly: boolean,
  ) {}

  /** Throws VIR_ERR_OPERATION_DENIED on a read-only connection. */
  checkWritable(domain: ErrorDomain, fn: string): void {
    checkWritable(this.readOnly, domain, fn);
  }

  hv<K extends keyof HypervisorDriver>(key: K, fn: string, domain: ErrorDomain = D.DOMAIN) {
    return slot(this.drivers.hypervisor, key, domain, fn);
  }
  net<K extends keyof NetworkDriver>(key: K, fn: string) {
    return slot(this.drivers.network, key, D.NETWORK, fn);
  }
  storage<K extends keyof StorageDriver>(key: K, fn: string) {
    return slot(this.drivers.storage, key, D.STORAGE, fn);
  }
  secretDrv<K extends keyof SecretDriver>(key: K, fn: string) {
    return slot(this.drivers.secret, key, D.SECRET, fn);
  }
  ifaceDrv<K extends keyof InterfaceDriver>(key: K, fn: string) {
    return slot(this.drivers.iface, key, D.INTERFACE, fn);
  }
  nodedevDrv<K extends keyof NodeDeviceDriver>(key: K, fn: string) {
    return slot(this.drivers.nodedev, key, D.NODEDEV, fn);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drivers.hypervisor.connectClose?.();
  }

  // ---- host (libvirt-host.c) ----
  async getType(): Promise<string> {
    const f = this.drivers.hypervisor.connectGetType;
    return f ? f.call(this.drivers.hypervisor) : Promise.resolve(this.drivers.hypervisor.name);
  }
  async getVersion(): Promise<number> {
    return this.hv("connectGetVersion", "virConnectGetVersion")();
  }
  async getLibVersion(): Promise<number> {
    return this.hv("connectGetLibVersion", "virConnectGetLibVersion")();
  }
  async getHostname(): Promise<string> {
    return this.hv("connectGetHostname", "virConnectGetHostname")();
  }
  async getURI(): Promise<string> {
    const f = this.drivers.hypervisor.connectGetURI;
    return f ? f.call(this.drivers.hypervisor) : this.drivers.uri;
  }
  async getSysinfo(flags = 0): Promise<string> {
    return this.hv("connectGetSysinfo", "virConnectGetSysinfo")(flags);
  }
  async getMaxVcpus(type: string | null = null): Promise<number> {
    return this.hv("connectGetMaxVcpus", "virConnectGetMaxVcpus")(type);
  }
  async getCapabilities(): Promise<string> {
    return this.hv("connectGetCapabilities", "virConnectGetCapabilities")();
  }
  async getDomainCapabilities(
    emulatorbin: string | null = null,
    arch: string | null = null,
    machine: string | null = null,
    virttype: string | null = null,
    flags = 0,
  ): Promise<string> {
    return this.hv("connectGetDomainCapabilities", "virConnectGetDomainCapabilities")(
      emulatorbin,
      arch,
      machine,
      virttype,
      flags,
    );
  }
  /** virConnectDomainXMLToNative: the native config (qemu-argv: a shell command line) of a domain XML. */
  async domainXMLToNative(nativeFormat: string, domainXml: string, flags = 0): Promise<string> {
    this.checkWritable(D.DOMAIN, "virConnectDomainXMLToNative");
    return this.hv("connectDomainXMLToNative", "virConnectDomainXMLToNative")(nativeFormat, domainXml, flags);
  }
  /** virConnectDomainXMLFromNative: a domain XML from a native config. */
  async domainXMLFromNative(nativeFormat: string, nativeConfig: string, flags = 0): Promise<string> {
    this.checkWritable(D.DOMAIN, "virConnectDomainXMLFromNative");
    return this.hv("connectDomainXMLFromNative", "virConnectDomainXMLFromNative")(
      nativeFormat,
      nativeConfig,
      flags,
    );
  }
  async isAlive(): Promise<boolean> {
    if (this.closed) return false;
    const f = this.drivers.hypervisor.connectIsAlive;
    return f ? f.call(this.drivers.hypervisor) : true;
  }
  async isSecure(): Promise<boolean> {
    const f = this.drivers.hypervisor.connectIsSecure;
    return f ? f.call(this.drivers.hypervisor) : true;
  }
  async isEncrypted(): Promise<boolean> {
    const f = this.drivers.hypervisor.connectIsEncrypted;
    return f ? f.call(this.drivers.hypervisor) : false;
  }
  async nodeGetInfo(): Promise<NodeInfo> {
    return this.hv("nodeGetInfo", "virNodeGetInfo")();
  }
  async nodeGetFreeMemory(): Promise<number> {
    return this.hv("nodeGetFreeMemory", "virNodeGetFreeMemory")();
  }
  async nodeGetCellsFreeMemory(startCell: number, maxCells: number): Promise<number[]> {
    return this.hv("nodeGetCellsFreeMemory", "virNodeGetCellsFreeMemory")(startCell, maxCells);
  }

  async nodeGetSecurityModel(): Promise<SecurityModel> {
    return this.hv("nodeGetSecurityModel", "virNodeGetSecurityModel")();
  }
  /** cpuNum -1 (VIR_NODE_CPU_STATS_ALL_CPUS) for the host total. */
  async nodeGetCPUStats(cpuNum = -1, flags = 0): Promise<TypedParam[]> {
    return this.hv("nodeGetCPUStats", "virNodeGetCPUStats")(cpuNum, flags);
  }
  async nodeGetCPUMap(flags = 0): Promise<{ cpumap: Uint8Array; online: number; cpus: number }> {
    return this.hv("nodeGetCPUMap", "virNodeGetCPUMap")(flags);
  }
  async nodeGetFreePages(
    pages: number[],
    startCell: number,
    cellCount: number,
    flags = 0,
  ): Promise<number[]> {
    return this.hv("nodeGetFreePages", "virNodeGetFreePages")(pages, startCell, cellCount, flags);
  }
  /** virConnectGetAllDomainStats / virDomainListGetStats (when `doms` is given). */
  async getAllDomainStats(
    stats = 0,
    flags = 0,
    doms: Domain[] | null = null,
  ): Promise<{ dom: Domain; params: TypedParam[] }[]> {
    const f = this.hv(
      "connectGetAllDomainStats",
      doms ? "virDomainListGetStats" : "virConnectGetAllDomainStats",
    );
    const recs: DomainStatsRecord[] = await f(doms ? doms.map((d) => d.ref) : null, stats, flags);
    return recs.map((r) => ({ dom: new Domain(this, r.dom), params: r.params }));
  }

  // ---- domains ----
  async numOfDomains(): Promise<number> {
    return this.hv("connectNumOfDomains", "virConnectNumOfDomains")();
  }
  async listDomains(maxids = 65536): Promise<number[]> {
    return this.hv("connectListDomains", "virConnectListDomains")(maxids);
  }
  async numOfDefinedDomains(): Promise<number> {
    return this.hv("connectNumOfDefinedDomains", "virConnectNumOfDefinedDomains")();
  }
  async listDefinedDomains(maxnames = 65536): Promise<string[]> {
    return this.hv("connectListDefinedDomains", "virConnectListDefinedDomains")(maxnames);
  }
  async listAllDomains(flags = 0): Promise<Domain[]> {
    const refs = await this.hv("connectListAllDomains", "virConnectListAllDomains")(flags);
    return refs.map((r) => new Domain(this, r));
  }
  async domainLookupByName(name: string): Promise<Domain> {
    checkNonNull(name, "name", D.DOMAIN, "virDomainLookupByName");
    return new Domain(this, await this.hv("domainLookupByName", "virDomainLookupByName")(name));
  }
  async domainLookupByUUID(uuid: string): Promise<Domain> {
    return new Domain(this, await this.hv("domainLookupByUUID", "virDomainLookupByUUID")(uuid.toLowerCase()));
  }
  async domainLookupByID(id: number): Promise<Domain> {
    checkNonNegative(id, "id", D.DOMAIN, "virDomainLookupByID");
    return new Domain(this, await this.hv("domainLookupByID", "virDomainLookupByID")(id));
  }
  async domainCreateXML(xml: string, flags = 0): Promise<Domain> {
    this.checkWritable(D.DOMAIN, "virDomainCreateXML");
    return new Domain(this, await this.hv("domainCreateXML", "virDomainCreateXML")(xml, flags));
  }
  /** virDomainCreateXMLWithFiles with no descriptors (tsvirt passes none). */
  async domainCreateXMLWithFiles(xml: string, flags = 0): Promise<Domain> {
    this.checkWritable(D.DOMAIN, "virDomainCreateXMLWithFiles");
    return new Domain(
      this,
      await this.hv("domainCreateXMLWithFiles", "virDomainCreateXMLWithFiles")(xml, flags),
    );
  }
  async domainDefineXML(xml: string, flags = 0): Promise<Domain> {
    this.checkWritable(D.DOMAIN, flags ? "virDomainDefineXMLFlags" : "virDomainDefineXML");
    return new Domain(this, await this.hv("domainDefineXMLFlags", "virDomainDefineXMLFlags")(xml, flags));
  }
  async domainRestore(from: string, dxml: string | null = null, flags = 0): Promise<void> {
    this.checkWritable(D.DOMAIN, "virDomainRestore");
    return this.hv("domainRestore", "virDomainRestoreFlags")(from, dxml, flags);
  }
  async domainSaveImageGetXMLDesc(file: string, flags = 0): Promise<string> {
    return this.hv("domainSaveImageGetXMLDesc", "virDomainSaveImageGetXMLDesc")(file, flags);
  }

  // ---- networks ----
  async numOfNetworks(): Promise<number> {
    return this.net("connectNumOfNetworks", "virConnectNumOfNetworks")();
  }
  async listNetworks(maxnames = 65536): Promise<string[]> {
    return this.net("connectListNetworks", "virConnectListNetworks")(maxnames);
  }
  async numOfDefinedNetworks(): Promise<number> {
    return this.net("connectNumOfDefinedNetworks", "virConnectNumOfDefinedNetworks")();
  }
  async listDefinedNetworks(maxnames = 65536): Promise<string[]> {
    return this.net("connectListDefinedNetworks", "virConnectListDefinedNetworks")(maxnames);
  }
  async listAllNetworks(flags = 0): Promise<Network[]> {
    const refs = await this.net("connectListAllNetworks", "virConnectListAllNetworks")(flags);
    return refs.map((r) => new Network(this, r));
  }
  async networkLookupByName(name: string): Promise<Network> {
    return new Network(this, await this.net("networkLookupByName", "virNetworkLookupByName")(name));
  }
  async networkLookupByUUID(uuid: string): Promise<Network> {
    return new Network(
      this,
      await this.net("networkLookupByUUID", "virNetworkLookupByUUID")(uuid.toLowerCase()),
    );
  }
  async networkCreateXML(xml: string, flags = 0): Promise<Network> {
    this.checkWritable(D.NETWORK, flags ? "virNetworkCreateXMLFlags" : "virNetworkCreateXML");
    return new Network(this, await this.net("networkCreateXMLFlags", "virNetworkCreateXMLFlags")(xml, flags));
  }
  async networkDefineXML(xml: string, flags = 0): Promise<Network> {
    this.checkWritable(D.NETWORK, flags ? "virNetworkDefineXMLFlags" : "virNetworkDefineXML");
    return new Network(this, await this.net("networkDefineXMLFlags", "virNetworkDefineXMLFlags")(xml, flags));
  }

  // ---- storage ----
  async numOfStoragePools(): Promise<number> {
    return this.storage("connectNumOfStoragePools", "virConnectNumOfStoragePools")();
  }
  async listStoragePools(maxnames = 65536): Promise<string[]> {
    return this.storage("connectListStoragePools", "virConnectListStoragePools")(maxnames);
  }
  async numOfDefinedStoragePools(): Promise<number> {
    return this.storage("connectNumOfDefinedStoragePools", "virConnectNumOfDefinedStoragePools")();
  }
  async listDefinedStoragePools(maxnames = 65536): Promise<string[]> {
    return this.storage("connectListDefinedStoragePools", "virConnectListDefinedStoragePools")(maxnames);
  }
  async listAllStoragePools(flags = 0): Promise<StoragePool[]> {
    const refs = await this.storage("connectListAllStoragePools", "virConnectListAllStoragePools")(flags);
    return refs.map((r) => new StoragePool(this, r));
  }
  async findStoragePoolSources(type: string, srcSpec: string | null = null, flags = 0): Promise<string> {
    this.checkWritable(D.STORAGE, "virConnectFindStoragePoolSources");
    return this.storage("connectFindStoragePoolSources", "virConnectFindStoragePoolSources")(
      type,
      srcSpec,
      flags,
    );
  }
  async storagePoolLookupByName(name: string): Promise<StoragePool> {
    return new StoragePool(
      this,
      await this.storage("storagePoolLookupByName", "virStoragePoolLookupByName")(name),
    );
  }
  async storagePoolLookupByUUID(uuid: string): Promise<StoragePool> {
    const f = this.storage("storagePoolLookupByUUID", "virStoragePoolLookupByUUID");
    return new StoragePool(this, await f(uuid.toLowerCase()));
  }
  async storagePoolLookupByTargetPath(path: string): Promise<StoragePool> {
    const f = this.storage("storagePoolLookupByTargetPath", "virStoragePoolLookupByTargetPath");
    return new StoragePool(this, await f(path));
  }
  async storagePoolCreateXML(xml: string, flags = 0): Promise<StoragePool> {
    this.checkWritable(D.STORAGE, "virStoragePoolCreateXML");
    return new StoragePool(
      this,
      await this.storage("storagePoolCreateXML", "virStoragePoolCreateXML")(xml, flags),
    );
  }
  async storagePoolDefineXML(xml: string, flags = 0): Promise<StoragePool> {
    this.checkWritable(D.STORAGE, "virStoragePoolDefineXML");
    return new StoragePool(
      this,
      await this.storage("storagePoolDefineXML", "virStoragePoolDefineXML")(xml, flags),
    );
  }
  async storageVolLookupByKey(key: string): Promise<StorageVol> {
    return new StorageVol(this, await this.storage("storageVolLookupByKey", "virStorageVolLookupByKey")(key));
  }
  async storageVolLookupByPath(path: string): Promise<StorageVol> {
    return new StorageVol(
      this,
      await this.storage("storageVolLookupByPath", "virStorageVolLookupByPath")(path),
    );
  }

  // ---- secrets ----
  async numOfSecrets(): Promise<number> {
    return this.secretDrv("connectNumOfSecrets", "virConnectNumOfSecrets")();
  }
  async listSecrets(maxuuids = 65536): Promise<string[]> {
    return this.secretDrv("connectListSecrets", "virConnectListSecrets")(maxuuids);
  }
  async listAllSecrets(flags = 0): Promise<Secret[]> {
    const refs = await this.secretDrv("connectListAllSecrets", "virConnectListAllSecrets")(flags);
    return refs.map((r) => new Secret(this, r));
  }
  async secretLookupByUUID(uuid: string): Promise<Secret> {
    return new Secret(
      this,
      await this.secretDrv("secretLookupByUUID", "virSecretLookupByUUID")(uuid.toLowerCase()),
    );
  }
  async secretLookupByUsage(usageType: number, usageID: string): Promise<Secret> {
    return new Secret(
      this,
      await this.secretDrv("secretLookupByUsage", "virSecretLookupByUsage")(usageType, usageID),
    );
  }
  async secretDefineXML(xml: string, flags = 0): Promise<Secret> {
    this.checkWritable(D.SECRET, "virSecretDefineXML");
    return new Secret(this, await this.secretDrv("secretDefineXML", "virSecretDefineXML")(xml, flags));
  }

  // ---- host interfaces ----
  async numOfInterfaces(): Promise<number> {
    return this.ifaceDrv("connectNumOfInterfaces", "virConnectNumOfInterfaces")();
  }
  async listInterfaces(maxnames = 65536): Promise<string[]> {
    return this.ifaceDrv("connectListInterfaces", "virConnectListInterfaces")(maxnames);
  }
  async numOfDefinedInterfaces(): Promise<number> {
    return this.ifaceDrv("connectNumOfDefinedInterfaces", "virConnectNumOfDefinedInterfaces")();
  }
  async listDefinedInterfaces(maxnames = 65536): Promise<string[]> {
    return this.ifaceDrv("connectListDefinedInterfaces", "virConnectListDefinedInterfaces")(maxnames);
  }
  async listAllInterfaces(flags = 0): Promise<Interface[]> {
    const refs = await this.ifaceDrv("connectListAllInterfaces", "virConnectListAllInterfaces")(flags);
    return refs.map((r) => new Interface(this, r));
  }
  async interfaceLookupByName(name: string): Promise<Interface> {
    return new Interface(
      this,
      await this.ifaceDrv("interfaceLookupByName", "virInterfaceLookupByName")(name),
    );
  }
  async interfaceLookupByMACString(mac: string): Promise<Interface> {
    const f = this.ifaceDrv("interfaceLookupByMACString", "virInterfaceLookupByMACString");
    return new Interface(this, await f(mac));
  }
  async interfaceDefineXML(xml: string, flags = 0): Promise<Interface> {
    this.checkWritable(D.INTERFACE, "virInterfaceDefineXML");
    return new Interface(
      this,
      await this.ifaceDrv("interfaceDefineXML", "virInterfaceDefineXML")(xml, flags),
    );
  }
  async interfaceChangeBegin(flags = 0): Promise<void> {
    this.checkWritable(D.INTERFACE, "virInterfaceChangeBegin");
    return this.ifaceDrv("interfaceChangeBegin", "virInterfaceChangeBegin")(flags);
  }
  async interfaceChangeCommit(flags = 0): Promise<void> {
    this.checkWritable(D.INTERFACE, "virInterfaceChangeCommit");
    return this.ifaceDrv("interfaceChangeCommit", "virInterfaceChangeCommit")(flags);
  }
  async interfaceChangeRollback(flags = 0): Promise<void> {
    this.checkWritable(D.INTERFACE, "virInterfaceChangeRollback");
    return this.ifaceDrv("interfaceChangeRollback", "virInterfaceChangeRollback")(flags);
  }

  // ---- node devices ----
  async nodeNumOfDevices(cap: string | null = null, flags = 0): Promise<number> {
    return this.nodedevDrv("nodeNumOfDevices", "virNodeNumOfDevices")(cap, flags);
  }
  async nodeListDevices(cap: string | null = null, maxnames = 65536, flags = 0): Promise<string[]> {
    return this.nodedevDrv("nodeListDevices", "virNodeListDevices")(cap, maxnames, flags);
  }
  async listAllNodeDevices(flags = 0): Promise<NodeDevice[]> {
    const refs = await this.nodedevDrv("connectListAllNodeDevices", "virConnectListAllNodeDevices")(flags);
    return refs.map((r) => new NodeDevice(this, r));
  }
  async nodeDeviceLookupByName(name: string): Promise<NodeDevice> {
    return new NodeDevice(
      this,
      await this.nodedevDrv("nodeDeviceLookupByName", "virNodeDeviceLookupByName")(name),
    );
  }
  async nodeDeviceLookupSCSIHostByWWN(wwnn: string, wwpn: string, flags = 0): Promise<NodeDevice> {
    const f = this.nodedevDrv("nodeDeviceLookupSCSIHostByWWN", "virNodeDeviceLookupSCSIHostByWWN");
    return new NodeDevice(this, await f(wwnn, wwpn, flags));
  }
  async nodeDeviceCreateXML(xml: string, flags = 0): Promise<NodeDevice> {
    this.checkWritable(D.NODEDEV, "virNodeDeviceCreateXML");
    return new NodeDevice(
      this,
      await this.nodedevDrv("nodeDeviceCreateXML", "virNodeDeviceCreateXML")(xml, flags),
    );
  }
  async nodeDeviceDefineXML(xml: string, flags = 0): Promise<NodeDevice> {
    this.checkWritable(D.NODEDEV, "virNodeDeviceDefineXML");
    return new NodeDevice(
      this,
      await this.nodedevDrv("nodeDeviceDefineXML", "virNodeDeviceDefineXML")(xml, flags),
    );
  }

  // ---- events: callbacks receive typed handles; the returned id deregisters ----
  async domainEventRegisterAny(
    eventId: number,
    cb: (dom: Domain, ev: DomainEvent) => void,
    dom: Domain | null = null,
  ): Promise<number> {
    const f = this.hv("connectDomainEventRegisterAny", "virConnectDomainEventRegisterAny");
    return f(dom?.ref ?? null, eventId, (ev) => cb(new Domain(this, ev.dom), ev));
  }
  async domainEventDeregisterAny(callbackId: number): Promise<void> {
    return this.hv("connectDomainEventDeregisterAny", "virConnectDomainEventDeregisterAny")(callbackId);
  }
  async networkEventRegisterAny(
    eventId: number,
    cb: (net: Network, ev: NetworkEvent) => void,
    net: Network | null = null,
  ): Promise<number> {
    const f = this.net("connectNetworkEventRegisterAny", "virConnectNetworkEventRegisterAny");
    return f(net?.ref ?? null, eventId, (ev) => cb(new Network(this, ev.net), ev));
  }
  async networkEventDeregisterAny(callbackId: number): Promise<void> {
    return this.net("connectNetworkEventDeregisterAny", "virConnectNetworkEventDeregisterAny")(callbackId);
  }
  async storagePoolEventRegisterAny(
    eventId: number,
    cb: (pool: StoragePool, ev: StoragePoolEvent) => void,
    pool: StoragePool | null = null,
  ): Promise<number> {
    const f = this.storage("connectStoragePoolEventRegisterAny", "virConnectStoragePoolEventRegisterAny");
    return f(pool?.ref ?? null, eventId, (ev) => cb(new StoragePool(this, ev.pool), ev));
  }
  async storagePoolEventDeregisterAny(callbackId: number): Promise<void> {
    const f = this.storage("connectStoragePoolEventDeregisterAny", "virConnectStoragePoolEventDeregisterAny");
    return f(callbackId);
  }
  async nodeDeviceEventRegisterAny(
    eventId: number,
    cb: (dev: NodeDevice, ev: NodeDeviceEvent) => void,
    dev: NodeDevice | null = null,
  ): Promise<number> {
    const f = this.nodedevDrv("connectNodeDeviceEventRegisterAny", "virConnectNodeDeviceEventRegisterAny");
    return f(dev?.ref ?? null, eventId, (ev) => cb(new NodeDevice(this, ev.dev), ev));
  }
  async nodeDeviceEventDeregisterAny(callbackId: number): Promise<void> {
    const f = this.nodedevDrv(
      "connectNodeDeviceEventDeregisterAny",
      "virConnectNodeDeviceEventDeregisterAny",
    );
    return f(callbackId);
  }
  async secretEventRegisterAny(
    eventId: number,
    cb: (secret: Secret, ev: SecretEvent) => void,
    secret: Secret | null = null,
  ): Promise<number> {
    const f = this.secretDrv("connectSecretEventRegisterAny", "virConnectSecretEventRegisterAny");
    return f(secret?.ref ?? null, eventId, (ev) => cb(new Secret(this, ev.secret), ev));
  }
  async secretEventDeregisterAny(callbackId: number): Promise<void> {
    return this.secretDrv(
      "connectSecretEventDeregisterAny",
      "virConnectSecretEventDeregisterAny",
    )(callbackId);
  }
}
