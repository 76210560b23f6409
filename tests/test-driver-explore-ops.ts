// The "x." operations of the test-driver differential vocabulary: calls the random exploration
// (test-driver-explore.test.ts) makes with valid and invalid arguments. Each mirrors one branch of
// scripts/oracle/testdrv-oracle.py's run(), returning the JSON python-libvirt's answer has.

import type { Connection, Domain, StoragePool, StorageVol } from "../src/index.js";
import { VIR_TYPED_PARAM } from "../src/index.js";
import { NOT_EXTRA, runExtraOp } from "./test-driver-explore-extra.js";

export interface ExploreCtx {
  c: Connection;
  dom(name: string): Promise<Domain>;
  pool(name: string): Promise<StoragePool>;
  vol(pool: string, name: string): Promise<StorageVol>;
}

const n = (x: unknown) => x as number;
const s = (x: unknown) => x as string;
/** python-libvirt returns 0 for calls that return nothing. */
const done = async (p: Promise<unknown>) => {
  await p;
  return 0;
};
const cpumap = (bits: boolean[]) => {
  const m = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) m[i >> 3]! |= 1 << (i & 7);
  });
  return m;
};
/** A bitmap as python-libvirt's list of `cpus` booleans. */
const bits = (m: Uint8Array, cpus: number) =>
  Array.from({ length: cpus }, (_, i) => (m[i >> 3]! & (1 << (i & 7))) !== 0);
/** Clock-based counters as their ratios to the first (the clock itself differs run to run). */
const ratios = (v: number[]) => v.map((x) => (x === 0 ? 0 : Math.round(v[0]! / x)));
const params = (ps: { field: string; value: unknown }[]) =>
  Object.fromEntries(ps.map((p) => [p.field, p.value]));
/**
 * A python dict of typed parameters: strings as STRING, booleans as BOOLEAN, numbers as `type`
 * unless `types` names the field's type (as python-libvirt's own table does).
 */
const tp = (o: unknown, type: number, types: Record<string, number> = {}) =>
  Object.entries(o as Record<string, unknown>).map(([field, value]) => ({
    field,
    type:
      typeof value === "string"
        ? VIR_TYPED_PARAM.STRING
        : typeof value === "boolean"
          ? VIR_TYPED_PARAM.BOOLEAN
          : (types[field] ?? type),
    value: value as number | boolean | string,
  }));
/** python-libvirt's types for virDomainSetIOThreadParams. */
const POLL_TYPES = { poll_max_ns: VIR_TYPED_PARAM.ULLONG, thread_pool_min: VIR_TYPED_PARAM.INT };

/** What runExploreOp answers for an operation that is not one of its own. */
export const NOT_EXPLORE = Symbol("not an x. operation");

/** Runs one "x." operation; NOT_EXPLORE when `op` is not one of them. */
export async function runExploreOp(x: ExploreCtx, op: string, a: unknown[]): Promise<unknown> {
  const c = x.c;
  const d = () => x.dom(s(a[0]));
  const hostCpus = async () => (await c.nodeGetCPUMap()).cpus;
  switch (op) {
    case "x.pinVcpu":
      return done((await d()).pinVcpu(n(a[1]), cpumap(a[2] as boolean[]), n(a[3])));
    case "x.vcpuPinInfo": {
      const dom = await d();
      const cpus = await hostCpus();
      const nv = (await dom.getInfo()).nrVirtCpu;
      const maps = await dom.getVcpuPinInfo(nv, Math.ceil(cpus / 8), n(a[1]));
      // python-libvirt converts all nrVirtCpu maps of its zeroed buffer, filled or not
      while (maps.length < nv) maps.push(new Uint8Array(Math.ceil(cpus / 8)));
      return maps.map((m) => bits(m, cpus));
    }
    case "x.emulatorPinInfo": {
      const cpus = await hostCpus();
      return bits(await (await d()).getEmulatorPinInfo(Math.ceil(cpus / 8), n(a[1])), cpus);
    }
    case "x.iothreadInfo": {
      const cpus = await hostCpus();
      return (await (await d()).getIOThreadInfo(n(a[1]))).map((t) => [t.iothreadId, bits(t.cpumap, cpus)]);
    }
    case "x.setIoTune": {
      // python's setBlockIoTune reads the parameters (their types) with the getter first
      const dom = await d();
      await dom.getBlockIoTune(s(a[1]), n(a[3]));
      return done(dom.setBlockIoTune(s(a[1]), tp(a[2], VIR_TYPED_PARAM.ULLONG), n(a[3])));
    }
    case "x.ioTune":
      return params(await (await d()).getBlockIoTune(s(a[1]), n(a[2])));
    case "x.blockStats": {
      const b = await (await d()).blockStats(s(a[1]));
      return ratios([b.rdReq, b.rdBytes, b.wrReq, b.wrBytes, b.errs]);
    }
    case "x.ifStats": {
      const i = await (await d()).interfaceStats(s(a[1]));
      return ratios([i.rxBytes, i.rxPackets, i.rxErrs, i.rxDrop, i.txBytes, i.txPackets, i.txErrs, i.txDrop]);
    }
    case "x.attach":
      return done((await d()).attachDevice(s(a[1]), n(a[2])));
    case "x.detach":
      return done((await d()).detachDevice(s(a[1]), n(a[2])));
    case "x.update":
      return done((await d()).updateDevice(s(a[1]), n(a[2])));
    case "x.schedType": {
      const t = await (await d()).getSchedulerType();
      return [t.type, t.nparams];
    }
    case "x.schedParams":
      return params(await (await d()).getSchedulerParameters(n(a[1])));
    case "x.msXml":
      return (await d()).managedSaveGetXMLDesc(n(a[1]));
    case "x.setTime":
      return done((await d()).setTime(n(a[1]), n(a[2]), n(a[3])));
    case "x.controlInfo": {
      const i = await (await d()).getControlInfo(n(a[1]));
      return [i.state, i.details];
    }
    case "x.abortJob":
      return done((await d()).abortJob());
    case "x.setNuma":
      return done((await d()).setNumaParameters(tp(a[1], VIR_TYPED_PARAM.INT), n(a[2])));
    case "x.pmSuspend":
      return done((await d()).pmSuspendForDuration(n(a[1]), n(a[2]), n(a[3])));
    case "x.pmWakeup":
      return done((await d()).pmWakeup(n(a[1])));
    case "x.coreDump":
      return done((await d()).coreDump(s(a[1]), n(a[2])));
    case "x.launchSec":
      return params(await (await d()).getLaunchSecurityInfo(n(a[1])));
    case "x.isUpdated":
      return (await d()).isUpdated();
    case "x.hostname":
      return (await d()).getHostname(n(a[1]));
    case "x.stateFlags": {
      const st = await (await d()).getState(n(a[1]));
      return [st.state, st.reason];
    }
    case "x.blockInfo": {
      const b = await (await d()).getBlockInfo(s(a[1]), n(a[2]));
      return [b.capacity, b.allocation, b.physical];
    }
    case "x.sendKey":
      return done((await d()).sendKey(n(a[1]), n(a[2]), a[3] as number[], n(a[4])));
    case "x.saveFlags":
      return done((await d()).save(s(a[1]), a[2] as string | null, n(a[3])));
    case "x.restoreFlags":
      return done(c.domainRestore(s(a[0]), a[1] as string | null, n(a[2])));
    case "x.messages":
      return c.hv("domainGetMessages", "virDomainGetMessages")((await d()).ref, n(a[1]));
    case "x.sysinfo":
      return c.getSysinfo(n(a[0]));
    case "x.cpuMap": {
      const m = await c.nodeGetCPUMap(n(a[0]));
      return [m.cpus, bits(m.cpumap, m.cpus), m.online];
    }
    case "x.saveImageDefine":
      return done(c.hv("domainSaveImageDefineXML", "virDomainSaveImageDefineXML")(s(a[0]), s(a[1]), n(a[2])));
    case "x.volCreateFrom": {
      const p = await x.pool(s(a[0]));
      return (await p.storageVolCreateXMLFrom(s(a[1]), await x.vol(s(a[0]), s(a[2])), n(a[3]))).name;
    }
    case "x.ioParams":
      return done(
        (await d()).setIOThreadParams(n(a[1]), tp(a[2], VIR_TYPED_PARAM.UINT, POLL_TYPES), n(a[3])),
      );
    case "x.signal":
      return done((await d()).sendProcessSignal(n(a[1]), n(a[2]), n(a[3])));
    case "x.fsTrim":
      return done((await d()).fsTrim(a[1] as string | null, n(a[2]), n(a[3])));
    case "x.cpuModels":
      return c.hv("connectGetCPUModelNames", "virConnectGetCPUModelNames")(s(a[0]), n(a[1]));
    case "x.baselineCPU":
      return c.hv("connectBaselineCPU", "virConnectBaselineCPU")(a[0] as string[], n(a[1]));
    case "x.compareCPU":
      return c.hv("connectCompareCPU", "virConnectCompareCPU")(s(a[0]), n(a[1]));
    case "x.freePages": {
      const pages = a[0] as number[];
      const counts = await c.nodeGetFreePages(pages, n(a[1]), n(a[2]), n(a[3]));
      // python reads as many counts as the call returned (libvirt's test driver fills the
      // buffer yet returns 0), not the buffer
      const len = (counts as number[] & { returned?: number }).returned ?? counts.length;
      const out: Record<string, Record<string, number>> = {};
      for (let i = 0; i * pages.length < len; i++) {
        const cell: Record<string, number> = {};
        pages.forEach((p, j) => {
          cell[p] = counts[i * pages.length + j]!;
        });
        out[n(a[1]) + i] = cell;
      }
      return out;
    }
    case "x.domCaps":
      return c.getDomainCapabilities(
        a[0] as string | null,
        a[1] as string | null,
        a[2] as string | null,
        a[3] as string | null,
        n(a[4]),
      );
    case "x.saveImageXml":
      return c.domainSaveImageGetXMLDesc(s(a[0]), n(a[1]));
    case "x.secretDefine":
      return (await c.secretDefineXML(s(a[0]), n(a[1]))).uuid;
    case "x.secretLookup":
      return (await c.secretLookupByUUID(s(a[0]))).uuid;
    case "x.secretUsage":
      return (await c.secretLookupByUsage(n(a[0]), s(a[1]))).uuid;
    case "x.numSecrets":
      return c.numOfSecrets();
    case "x.netLeases":
      return (await (await c.networkLookupByName(s(a[0]))).getDHCPLeases(a[1] as string | null, n(a[2]))).map(
        (l) => [l.iface, l.mac, l.ipaddr, l.prefix],
      );
    case "x.netXml":
      return (await c.networkLookupByName(s(a[0]))).getXMLDesc(n(a[1]));
    case "x.netCreateXML":
      return (await c.networkCreateXML(s(a[0]), n(a[1]))).name;
    case "x.netDefineXML":
      return (await c.networkDefineXML(s(a[0]), n(a[1]))).name;
    case "x.poolLookupUuid":
      return (await c.storagePoolLookupByUUID(s(a[0]))).name;
    case "x.poolLookupPath":
      return (await c.storagePoolLookupByTargetPath(s(a[0]))).name;
    case "x.poolBuild":
      return done((await x.pool(s(a[0]))).build(n(a[1])));
    case "x.poolDelete":
      return done((await x.pool(s(a[0]))).delete(n(a[1])));
    case "x.poolRefresh":
      return done((await x.pool(s(a[0]))).refresh(n(a[1])));
    case "x.poolCreate":
      return done((await x.pool(s(a[0]))).create(n(a[1])));
    case "x.poolDefine":
      return (await c.storagePoolDefineXML(s(a[0]), n(a[1]))).name;
    case "x.poolCreateXML":
      return (await c.storagePoolCreateXML(s(a[0]), n(a[1]))).name;
    case "x.poolListVols":
      // libvirt lists from a hash table with a random seed: compare sorted
      return (await (await x.pool(s(a[0]))).listVolumes()).sort();
    case "x.volCreate":
      return (await (await x.pool(s(a[0]))).storageVolCreateXML(s(a[1]), n(a[2]))).name;
    case "x.volResize":
      return done((await x.vol(s(a[0]), s(a[1]))).resize(n(a[2]), n(a[3])));
    case "x.volWipe":
      return done((await x.vol(s(a[0]), s(a[1]))).wipePattern(n(a[2]), n(a[3])));
    case "x.volXml":
      return (await x.vol(s(a[0]), s(a[1]))).getXMLDesc(n(a[2]));
    case "x.volDelete":
      return done((await x.vol(s(a[0]), s(a[1]))).delete(n(a[2])));
    case "x.volInfo": {
      const i = await (await x.vol(s(a[0]), s(a[1]))).getInfo(n(a[2]));
      return [i.type, i.capacity, i.allocation];
    }
    case "x.ifaceXml":
      return (await c.interfaceLookupByName(s(a[0]))).getXMLDesc(n(a[1]));
    case "x.ifaceDefine":
      return (await c.interfaceDefineXML(s(a[0]), n(a[1]))).name;
    case "x.ifaceCreate":
      return done((await c.interfaceLookupByName(s(a[0]))).create(n(a[1])));
    case "x.ifaceDestroy":
      return done((await c.interfaceLookupByName(s(a[0]))).destroy(n(a[1])));
    case "x.ifaceUndefine":
      return done((await c.interfaceLookupByName(s(a[0]))).undefine());
    case "x.numIfaces":
      return [await c.numOfInterfaces(), await c.numOfDefinedInterfaces()];
    case "x.ndWWN":
      return (await c.nodeDeviceLookupSCSIHostByWWN(s(a[0]), s(a[1]), n(a[2]))).name;
    case "x.ndCreateXML":
      return (await c.nodeDeviceCreateXML(s(a[0]), n(a[1]))).name;
    case "x.ndDefine":
      return (await c.nodeDeviceDefineXML(s(a[0]), n(a[1]))).name;
    case "x.ndUndefine":
      return done((await c.nodeDeviceLookupByName(s(a[0]))).undefine(n(a[1])));
    case "x.ndCreate":
      return done((await c.nodeDeviceLookupByName(s(a[0]))).create(n(a[1])));
    case "x.ndDestroy":
      return done((await c.nodeDeviceLookupByName(s(a[0]))).destroy());
    case "x.ndState": {
      const nd = await c.nodeDeviceLookupByName(s(a[0]));
      return [await nd.isActive(), await nd.isPersistent(), await nd.getAutostart()];
    }
    case "x.ndSetAutostart":
      return done((await c.nodeDeviceLookupByName(s(a[0]))).setAutostart(Boolean(a[1])));
    case "x.ndXml":
      return (await c.nodeDeviceLookupByName(s(a[0]))).getXMLDesc(n(a[1]));
    case "x.ndNumCaps":
      return (await c.nodeDeviceLookupByName(s(a[0]))).numOfCaps();
    case "x.ndList":
      return (await c.listAllNodeDevices(n(a[0]))).map((v) => v.name).sort();
    default: {
      // the "y." operations of test-driver-explore-extra.ts
      const y = await runExtraOp(x, op, a);
      return y === NOT_EXTRA ? NOT_EXPLORE : y;
    }
  }
}
