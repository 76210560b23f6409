// The TypeScript side of the test-driver differential test: runs the same operation
// vocabulary as scripts/oracle/testdrv-oracle.py against tsvirt's API and returns results
// in the same JSON shape ({ok: value} or {err: [code, domain, message]}).

import {
  type Connection,
  type Domain,
  isVirError,
  type Network,
  openConnection,
  type StoragePool,
  type StorageVol,
  VIR_TYPED_PARAM,
} from "../src/index.js";
import { NOT_EXPLORE, runExploreOp } from "./test-driver-explore-ops.js";

export type Op = [string, ...unknown[]];
export interface Scenario {
  name: string;
  readonly?: boolean;
  /** Connection URI; test:///default when absent. */
  uri?: string;
  ops: Op[];
}
export type Result = { ok: unknown } | { err: [number, number, string] };

/** A python-style {field: value} dict as typed parameters (numbers as UINT unless told). */
const tp = (o: unknown, type: number = VIR_TYPED_PARAM.UINT) =>
  Object.entries(o as Record<string, unknown>).map(([field, value]) => ({
    field,
    type: typeof value === "boolean" ? VIR_TYPED_PARAM.BOOLEAN : type,
    value: value as number | boolean,
  }));
const cpumap = (bits: boolean[]) => {
  const m = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) m[i >> 3]! |= 1 << (i & 7);
  });
  return m;
};
/** Typed parameters as python-libvirt's dict: field → value. */
const params = (ps: { field: string; value: unknown }[]) =>
  Object.fromEntries(ps.map((p) => [p.field, p.value]));
const normSnapXml = (x: string) =>
  x.replace(/<creationTime>\d+<\/creationTime>/g, "<creationTime>T</creationTime>");
const sorted = (a: string[]) => [...a].sort();
const n = (x: unknown) => x as number;
const s = (x: unknown) => x as string;
const opt = (a: unknown[], i: number) => (a.length > i ? (a[i] as number) : 0);
/** python-libvirt returns 0 for calls that return nothing. */
const done = async (p: Promise<unknown>) => {
  await p;
  return 0;
};

class Runner {
  private doms = new Map<string, Domain>();
  private events: unknown[][] = [];
  private cbs = 0;
  private saved = new Map<string, string>();
  constructor(readonly c: Connection) {}

  async dom(name: string): Promise<Domain> {
    let d = this.doms.get(name);
    if (!d) {
      d = await this.c.domainLookupByName(name);
      this.doms.set(name, d);
    }
    return d;
  }
  async snap(dom: string, name: string) {
    return (await this.dom(dom)).snapshotLookupByName(name);
  }
  net(name: string): Promise<Network> {
    return this.c.networkLookupByName(name);
  }
  pool(name: string): Promise<StoragePool> {
    return this.c.storagePoolLookupByName(name);
  }
  async vol(pool: string, name: string): Promise<StorageVol> {
    return (await this.pool(pool)).storageVolLookupByName(name);
  }

  async run(op: string, a: unknown[]): Promise<unknown> {
    const c = this.c;
    const d = () => this.dom(s(a[0]));
    const ref = (x: Domain) => [x.name, x.uuid, x.id];
    switch (op) {
      case "conn.type":
        return c.getType();
      case "conn.version":
        return c.getVersion();
      case "conn.maxVcpus":
        return c.getMaxVcpus(null);
      case "conn.nodeInfo": {
        const i = await c.nodeGetInfo();
        return [i.model, Math.floor(i.memory / 1024), i.cpus, i.mhz, i.nodes, i.sockets, i.cores, i.threads];
      }
      case "conn.caps":
        return c.getCapabilities();
      case "conn.sysinfo":
        return c.getSysinfo(0);
      case "conn.freeMem":
        return c.nodeGetFreeMemory();
      case "conn.cellsFree":
        return c.nodeGetCellsFreeMemory(n(a[0]), n(a[1]));
      case "conn.uri":
        return c.getURI();
      case "conn.define":
        return (await c.domainDefineXML(s(a[0]), opt(a, 1))).name;
      case "conn.createXML":
        return (await c.domainCreateXML(s(a[0]), opt(a, 1))).name;
      case "conn.lookup":
        return ref(await c.domainLookupByName(s(a[0])));
      case "conn.lookupById":
        return ref(await c.domainLookupByID(n(a[0])));
      case "conn.lookupByUuid":
        return ref(await c.domainLookupByUUID(s(a[0])));
      case "conn.listAll":
        return sorted((await c.listAllDomains(n(a[0]))).map((x) => x.name));
      case "conn.listIds":
        return [...(await c.listDomains())].sort((x, y) => x - y);
      case "conn.listDefined":
        return sorted(await c.listDefinedDomains());
      case "conn.numDomains":
        return c.numOfDomains();
      case "conn.numDefined":
        return c.numOfDefinedDomains();
      case "conn.restore":
        return done(c.domainRestore(s(a[0])));
      case "dom.forget":
        this.doms.delete(s(a[0]));
        return null;
      case "dom.state": {
        const st = await (await d()).getState();
        return [st.state, st.reason];
      }
      case "dom.info": {
        const i = await (await d()).getInfo();
        return [i.state, i.maxMem, i.memory, i.nrVirtCpu];
      }
      case "dom.xml":
        return (await d()).getXMLDesc(opt(a, 1));
      case "dom.create":
        return done((await d()).create(opt(a, 1)));
      case "dom.destroy":
        return done((await d()).destroy(opt(a, 1)));
      case "dom.shutdown":
        return done((await d()).shutdown(opt(a, 1)));
      case "dom.reboot":
        return done((await d()).reboot(opt(a, 1)));
      case "dom.reset":
        return done((await d()).reset(0));
      case "dom.suspend":
        return done((await d()).suspend());
      case "dom.resume":
        return done((await d()).resume());
      case "dom.undefine":
        return done((await d()).undefine(opt(a, 1)));
      case "dom.managedSave":
        return done((await d()).managedSave(opt(a, 1)));
      case "dom.hasManagedSave":
        return (await d()).hasManagedSaveImage(0);
      case "dom.managedSaveRemove":
        return done((await d()).managedSaveRemove(0));
      case "dom.save":
        return done((await d()).save(s(a[1])));
      case "dom.id":
        return (await c.domainLookupByName(s(a[0]))).id;
      case "dom.isActive":
        return (await d()).isActive();
      case "dom.isPersistent":
        return (await d()).isPersistent();
      case "dom.autostart":
        return (await d()).getAutostart();
      case "dom.setAutostart":
        return done((await d()).setAutostart(Boolean(a[1])));
      case "dom.setMemory":
        return done((await d()).setMemory(n(a[1]), opt(a, 2)));
      case "dom.setMaxMemory":
        return done((await d()).setMaxMemory(n(a[1])));
      case "dom.maxMemory":
        return (await d()).getMaxMemory();
      case "dom.setVcpus":
        return done((await d()).setVcpus(n(a[1]), opt(a, 2)));
      case "dom.vcpus":
        return (await d()).getVcpusFlags(opt(a, 1));
      case "dom.maxVcpus":
        return (await d()).getMaxVcpus();
      case "dom.vcpuinfo": {
        const ni = await c.nodeGetInfo();
        const dom = await d();
        const maxinfo = (await dom.getInfo()).nrVirtCpu;
        const maplen = Math.ceil((ni.nodes * ni.sockets * ni.cores * ni.threads) / 8);
        const v = await dom.getVcpus(maxinfo, maplen);
        const bits = (m: Uint8Array) => {
          for (let i = 0; i < ni.cpus; i++) if (!(m[i >> 3]! & (1 << (i & 7)))) return false;
          return true;
        };
        return [...v.info.map((i) => [i.number, i.state, i.cpu]), v.cpumaps.map(bits)];
      }
      case "dom.setMetadata":
        return done(
          (await d()).setMetadata(
            n(a[1]),
            a[2] as string | null,
            a[3] as string | null,
            a[4] as string | null,
            opt(a, 5),
          ),
        );
      case "dom.metadata":
        return (await d()).getMetadata(n(a[1]), a[2] as string | null, opt(a, 3));
      case "dom.blockInfo": {
        const b = await (await d()).getBlockInfo(s(a[1]));
        return [b.capacity, b.allocation, b.physical];
      }
      case "dom.osType":
        return (await d()).getOSType();
      case "dom.hostname":
        return (await d()).getHostname();
      case "dom.rename": {
        await (await d()).rename(s(a[1]), 0);
        this.doms.delete(s(a[0]));
        return 0;
      }
      case "dom.memoryStats": {
        const names: Record<number, string> = {
          0: "swap_in",
          1: "swap_out",
          2: "major_fault",
          3: "minor_fault",
          4: "unused",
          5: "available",
          6: "actual",
          7: "rss",
          8: "usable",
          9: "last_update",
          10: "disk_caches",
          11: "hugetlb_pgalloc",
          12: "hugetlb_pgfail",
        };
        const st = await (await d()).memoryStats();
        return st.map((x) => [names[x.tag], x.val]).sort((p, q) => String(p[0]).localeCompare(String(q[0])));
      }
      case "snap.create":
        return (await (await d()).snapshotCreateXML(s(a[1]), opt(a, 2))).name;
      case "snap.xml":
        return normSnapXml(await (await this.snap(s(a[0]), s(a[1]))).getXMLDesc(0));
      case "snap.list":
        return sorted((await (await d()).listAllSnapshots(n(a[1]))).map((x) => x.name));
      case "snap.names":
        return sorted(await (await d()).snapshotListNames(65536, n(a[1])));
      case "snap.num":
        return (await d()).snapshotNum(n(a[1]));
      case "snap.children":
        return sorted(
          (await (await this.snap(s(a[0]), s(a[1]))).listAllChildren(n(a[2]))).map((x) => x.name),
        );
      case "snap.numChildren":
        return (await this.snap(s(a[0]), s(a[1]))).numChildren(n(a[2]));
      case "snap.parent":
        return (await (await this.snap(s(a[0]), s(a[1]))).getParent()).name;
      case "snap.current":
        return (await (await d()).snapshotCurrent()).name;
      case "snap.hasCurrent":
        return (await d()).hasCurrentSnapshot();
      case "snap.isCurrent":
        return (await this.snap(s(a[0]), s(a[1]))).isCurrent();
      case "snap.hasMetadata":
        return (await this.snap(s(a[0]), s(a[1]))).hasMetadata();
      case "snap.revert":
        return done((await this.snap(s(a[0]), s(a[1]))).revert(opt(a, 2)));
      case "snap.delete":
        return done((await this.snap(s(a[0]), s(a[1]))).delete(opt(a, 2)));
      case "snap.save":
        this.saved.set(s(a[1]), await (await this.snap(s(a[0]), s(a[1]))).getXMLDesc(0));
        return null;
      case "snap.redefine":
        return (await (await d()).snapshotCreateXML(this.saved.get(s(a[1]))!, n(a[2]))).name;
      case "cp.create":
        return (await (await d()).checkpointCreateXML(s(a[1]), opt(a, 2))).name;
      case "cp.xml":
        return normSnapXml(await (await (await d()).checkpointLookupByName(s(a[1]))).getXMLDesc(opt(a, 2)));
      case "cp.list":
        return sorted((await (await d()).listAllCheckpoints(n(a[1]))).map((x) => x.name));
      case "cp.children":
        return sorted(
          (await (await (await d()).checkpointLookupByName(s(a[1]))).listAllChildren(n(a[2]))).map(
            (x) => x.name,
          ),
        );
      case "cp.parent":
        return (await (await (await d()).checkpointLookupByName(s(a[1]))).getParent()).name;
      case "cp.delete":
        return done((await (await d()).checkpointLookupByName(s(a[1]))).delete(opt(a, 2)));
      case "cp.save":
        this.saved.set(
          `cp:${s(a[1])}`,
          await (await (await d()).checkpointLookupByName(s(a[1]))).getXMLDesc(0),
        );
        return null;
      case "cp.redefine":
        return (await (await d()).checkpointCreateXML(this.saved.get(`cp:${s(a[1])}`)!, n(a[2]))).name;
      case "snap.lookup":
        return (await this.snap(s(a[0]), s(a[1]))).name;
      case "net.xml":
        return (await this.net(s(a[0]))).getXMLDesc(opt(a, 1));
      case "net.define":
        return (await c.networkDefineXML(s(a[0]))).name;
      case "net.createXML":
        return (await c.networkCreateXML(s(a[0]))).name;
      case "net.create":
        return done((await this.net(s(a[0]))).create());
      case "net.destroy":
        return done((await this.net(s(a[0]))).destroy());
      case "net.undefine":
        return done((await this.net(s(a[0]))).undefine());
      case "net.active":
        return (await this.net(s(a[0]))).isActive();
      case "net.persistent":
        return (await this.net(s(a[0]))).isPersistent();
      case "net.autostart":
        return (await this.net(s(a[0]))).getAutostart();
      case "net.setAutostart":
        return done((await this.net(s(a[0]))).setAutostart(Boolean(a[1])));
      case "net.bridge":
        return (await this.net(s(a[0]))).getBridgeName();
      case "net.update":
        return done((await this.net(s(a[0]))).update(n(a[1]), n(a[2]), n(a[3]), s(a[4]), opt(a, 5)));
      case "net.leases":
        return (await this.net(s(a[0]))).getDHCPLeases();
      case "net.lookupUuid":
        return (await c.networkLookupByUUID(s(a[0]))).name;
      case "conn.listNets":
        return sorted((await c.listAllNetworks(n(a[0]))).map((x) => x.name));
      case "pool.xml":
        return (await this.pool(s(a[0]))).getXMLDesc(opt(a, 1));
      case "pool.info": {
        const i = await (await this.pool(s(a[0]))).getInfo();
        return [i.state, i.capacity, i.allocation, i.available];
      }
      case "pool.define":
        return (await c.storagePoolDefineXML(s(a[0]), 0)).name;
      case "pool.createXML":
        return (await c.storagePoolCreateXML(s(a[0]), 0)).name;
      case "pool.build":
        return done((await this.pool(s(a[0]))).build(0));
      case "pool.create":
        return done((await this.pool(s(a[0]))).create(0));
      case "pool.destroy":
        return done((await this.pool(s(a[0]))).destroy());
      case "pool.delete":
        return done((await this.pool(s(a[0]))).delete(0));
      case "pool.refresh":
        return done((await this.pool(s(a[0]))).refresh(0));
      case "pool.undefine":
        return done((await this.pool(s(a[0]))).undefine());
      case "pool.autostart":
        return (await this.pool(s(a[0]))).getAutostart();
      case "pool.setAutostart":
        return done((await this.pool(s(a[0]))).setAutostart(Boolean(a[1])));
      case "pool.active":
        return (await this.pool(s(a[0]))).isActive();
      case "pool.persistent":
        return (await this.pool(s(a[0]))).isPersistent();
      case "pool.numVols":
        return (await this.pool(s(a[0]))).numOfVolumes();
      case "pool.listVols":
        return sorted((await (await this.pool(s(a[0]))).listAllVolumes(0)).map((v) => v.name));
      case "conn.listPools":
        return sorted((await c.listAllStoragePools(n(a[0]))).map((p) => p.name));
      case "vol.create":
        return (await (await this.pool(s(a[0]))).storageVolCreateXML(s(a[1]), 0)).name;
      case "vol.clone": {
        const p = await this.pool(s(a[0]));
        return (await p.storageVolCreateXMLFrom(s(a[1]), await this.vol(s(a[0]), s(a[2])), 0)).name;
      }
      case "vol.xml":
        return (await this.vol(s(a[0]), s(a[1]))).getXMLDesc(0);
      case "vol.info": {
        const i = await (await this.vol(s(a[0]), s(a[1]))).getInfo();
        return [i.type, i.capacity, i.allocation];
      }
      case "vol.path":
        return (await this.vol(s(a[0]), s(a[1]))).getPath();
      case "vol.key":
        return (await this.vol(s(a[0]), s(a[1]))).key;
      case "vol.delete":
        return done((await this.vol(s(a[0]), s(a[1]))).delete(0));
      case "vol.resize":
        return done((await this.vol(s(a[0]), s(a[1]))).resize(n(a[2]), 0));
      case "vol.wipe":
        return done((await this.vol(s(a[0]), s(a[1]))).wipe(0));
      case "vol.lookupKey": {
        const v = await c.storageVolLookupByKey(s(a[0]));
        return [(await v.lookupPool()).name, v.name];
      }
      case "vol.lookupPath": {
        const v = await c.storageVolLookupByPath(s(a[0]));
        return [(await v.lookupPool()).name, v.name];
      }
      case "iface.list":
        return sorted((await c.listAllInterfaces(n(a[0]))).map((i) => i.name));
      case "iface.xml":
        return (await c.interfaceLookupByName(s(a[0]))).getXMLDesc(0);
      case "iface.create":
        return done((await c.interfaceLookupByName(s(a[0]))).create(0));
      case "iface.destroy":
        return done((await c.interfaceLookupByName(s(a[0]))).destroy(0));
      case "iface.undefine":
        return done((await c.interfaceLookupByName(s(a[0]))).undefine());
      case "iface.define":
        return (await c.interfaceDefineXML(s(a[0]), 0)).name;
      case "iface.active":
        return (await c.interfaceLookupByName(s(a[0]))).isActive();
      case "iface.lookupMac":
        return (await c.interfaceLookupByMACString(s(a[0]))).name;
      case "iface.begin":
        return done(c.interfaceChangeBegin(0));
      case "iface.commit":
        return done(c.interfaceChangeCommit(0));
      case "iface.rollback":
        return done(c.interfaceChangeRollback(0));
      case "nd.list":
        return sorted((await c.listAllNodeDevices(n(a[0]))).map((x) => x.name));
      case "nd.xml":
        return (await c.nodeDeviceLookupByName(s(a[0]))).getXMLDesc(0);
      case "nd.parent":
        return (await c.nodeDeviceLookupByName(s(a[0]))).getParent();
      case "nd.caps":
        return (await c.nodeDeviceLookupByName(s(a[0]))).listCaps();
      case "nd.listByCap":
        return sorted(await c.nodeListDevices(s(a[0]), 65536, 0));
      case "nd.num":
        return c.nodeNumOfDevices(s(a[0]), 0);
      case "nd.create":
        return (await c.nodeDeviceCreateXML(s(a[0]), 0)).name;
      case "nd.destroy":
        return done((await c.nodeDeviceLookupByName(s(a[0]))).destroy());
      case "ev.register": {
        const ev = this.events;
        await c.domainEventRegisterAny(0, (dom, e) => ev.push([dom.name, e.event, e.detail]));
        await c.networkEventRegisterAny(0, (net, e) => ev.push([`net:${net.name}`, e.event, e.detail]));
        await c.storagePoolEventRegisterAny(0, (p, e) => ev.push([`pool:${p.name}`, e.event, e.detail]));
        await c.nodeDeviceEventRegisterAny(0, (x, e) => ev.push([`dev:${x.name}`, e.event, e.detail]));
        await c.domainEventRegisterAny(23, (x, e) => ev.push([`md:${x.name}`, e.data?.type, e.data?.nsuri]));
        this.cbs += 5;
        return this.cbs;
      }
      case "ev.drain": {
        await new Promise((r) => setImmediate(r));
        return this.events.splice(0);
      }
      case "conn.secmodel": {
        const m = await c.nodeGetSecurityModel();
        return [m.model, m.doi];
      }
      case "conn.cpustats":
        return params(await c.nodeGetCPUStats(n(a[0])));
      case "conn.cpumap": {
        const m = await c.nodeGetCPUMap();
        const bits: boolean[] = [];
        for (let i = 0; i < m.cpus; i++) bits.push((m.cpumap[i >> 3]! & (1 << (i & 7))) !== 0);
        return [m.cpus, bits, m.online];
      }
      case "conn.allstats":
        return (await c.getAllDomainStats(n(a[0]), n(a[1])))
          .map((r) => [r.dom.name, params(r.params)])
          .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      case "dom.setBlkio":
        return done((await d()).setBlkioParameters(tp(a[1]), n(a[2])));
      case "dom.setPerf":
        return done((await d()).setPerfEvents(tp(a[1], VIR_TYPED_PARAM.BOOLEAN), n(a[2])));
      case "dom.pinEmulator":
        return done((await d()).pinEmulator(cpumap(a[1] as boolean[]), n(a[2])));
      case "dom.memPeriod":
        return done((await d()).setMemoryStatsPeriod(n(a[1]), n(a[2])));
      case "dom.cpuStats": {
        const dom = await d();
        if (a[1]) return (await dom.getCPUStats(-1, 1)).map(params);
        // python-libvirt asks for every CPU the driver has (as virsh cpu-stats does)
        return (await dom.getCPUStats(0, 128)).map(params);
      }
      case "dom.ifParams":
        return params(await (await d()).getInterfaceParameters(s(a[1]), n(a[2])));
      case "dom.setIfParams":
        return done((await d()).setInterfaceParameters(s(a[1]), tp(a[2]), n(a[3])));
      case "dom.ioTune":
        return params(await (await d()).getBlockIoTune(s(a[1]), n(a[2])));
      case "dom.addIOThread":
        return done((await d()).addIOThread(n(a[1]), n(a[2])));
      case "dom.delIOThread":
        return done((await d()).delIOThread(n(a[1]), n(a[2])));
      case "dom.pinIOThread":
        return done((await d()).pinIOThread(n(a[1]), cpumap(a[2] as boolean[]), n(a[3])));
      case "dom.ioThreadIds":
        return (await (await d()).getIOThreadInfo(0)).map((t) => t.iothreadId);
      case "dom.nmi":
        return done((await d()).injectNMI(0));
      case "dom.sendKey":
        return done((await d()).sendKey(0, 0, [1], 0));
      case "dom.jobInfo":
        return (await d()).getJobInfo();
      case "dom.freeze":
        return (await d()).fsFreeze(a[1] as string[]);
      case "dom.thaw":
        return (await d()).fsThaw(a[1] as string[]);
      case "dom.passwd":
        return done((await d()).setUserPassword("root", "pw", 0));
      case "dom.diskErrors":
        return (await (await d()).getDiskErrors()).map((e) => [e.disk, e.error]).sort();
      case "dom.peek":
        return [...(await (await d()).memoryPeek(n(a[1]), n(a[2]), n(a[3])))];
      case "dom.setMemParams":
        return done((await d()).setMemoryParameters(tp(a[1], VIR_TYPED_PARAM.ULLONG), n(a[2])));
      case "dom.setSched":
        return done((await d()).setSchedulerParameters(tp(a[1]), n(a[2])));
      case "dom.seclabel": {
        const l = await (await d()).getSecurityLabel();
        return [l.label, l.enforcing];
      }
      case "dom.ifaddr":
        return (await (await d()).interfaceAddresses(n(a[1])))
          .map((i) => [i.name, i.hwaddr, i.addrs.map((x) => [x.type, x.addr, x.prefix])])
          .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      case "dom.time":
        return (await d()).getTime();
      case "dom.memparams":
        return params(await (await d()).getMemoryParameters(opt(a, 1)));
      case "dom.blkio":
        return params(await (await d()).getBlkioParameters(opt(a, 1)));
      case "dom.numa":
        return params(await (await d()).getNumaParameters(opt(a, 1)));
      case "dom.perf":
        return params(await (await d()).getPerfEvents(opt(a, 1)));
      case "dom.iothreads":
        return (await (await d()).getIOThreadInfo(opt(a, 1))).map((x) => x.iothreadId);
      case "dom.fsinfo":
        return (await (await d()).getFSInfo()).map((f) => [f.mountpoint, f.name, f.fstype, f.devAliases]);
      case "dom.emupin": {
        const m = await (await d()).getEmulatorPinInfo(2);
        return m.every((b) => b === 0xff);
      }
      case "dom.setLifecycle":
        return done((await d()).setLifecycleAction(n(a[1]), n(a[2]), opt(a, 3)));
      case "secret.list":
        return (await c.listAllSecrets(0)).map((x) => x.uuid);
      default: {
        const v = await runExploreOp(this, op, a);
        if (v === NOT_EXPLORE) throw new Error(`unknown op ${op}`);
        return v;
      }
    }
  }
}

/** Runs every scenario on a fresh tsvirt connection each, like the oracle does. */
export async function runScenarios(scenarios: Scenario[]): Promise<Result[][]> {
  const out: Result[][] = [];
  for (const sc of scenarios) {
    let c: Connection;
    try {
      c = await openConnection(sc.uri ?? "test:///default", { readOnly: sc.readonly });
    } catch (e) {
      if (!isVirError(e)) throw e;
      out.push([{ err: [e.code, e.domain, e.message] }]);
      continue;
    }
    const r = new Runner(c);
    const res: Result[] = [];
    for (const [op, ...args] of sc.ops) {
      try {
        const v = await r.run(op, args);
        res.push({ ok: v === undefined ? null : v });
      } catch (e) {
        if (!isVirError(e)) throw e;
        res.push({ err: [e.code, e.domain, e.message] });
      }
    }
    out.push(res);
    await c.close();
  }
  return out;
}
