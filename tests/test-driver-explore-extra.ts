// The "y." operations of the test-driver explorer: calls its first generators do not reach
// (secret listings, flag-less legacy calls, core dumps with a format, the name/count
// listings, calls no tsvirt driver offers). test-driver-explore.test.ts appends them after the
// sequence of its first generators, so the seeds chosen on that sequence keep it unchanged. The
// "daemon only" ones run where both sides are python-libvirt clients (tsvirtd against libvirtd):
// their TypeScript side would be tsvirt's own API, which has no method for them.
// scripts/oracle/testdrv-oracle.py's extra() is the python side.

import type { ExploreCtx } from "./test-driver-explore-ops.js";
import type { Op } from "./test-driver-ops.js";

const n = (x: unknown) => x as number;
const s = (x: unknown) => x as string;
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

/** The calls of the "y.nosupport" operation (python-libvirt method names on a domain, conn or network). */
export const NO_SUPPORT_CALLS = [
  "blockResize",
  "blockJobInfo",
  "blockJobAbort",
  "blockPull",
  "blockRebase",
  "blockCommit",
  "blockPeek",
  "migrateGetMaxSpeed",
  "migrateSetMaxSpeed",
  "migrateGetMaxDowntime",
  "migrateSetMaxDowntime",
  "migrateGetCompressionCache",
  "migrateStartPostCopy",
  "guestInfo",
  "authorizedSSHKeysGet",
  "authorizedSSHKeysSet",
  "agentSetResponseTimeout",
  "abortJobFlags",
  "setBlockThreshold",
  "detachDeviceAlias",
  "startDirtyRateCalc",
  "backupGetXMLDesc",
  "saveParams",
  "conn.restoreParams",
  "conn.getSEVInfo",
  "conn.allocPages",
  "conn.suspendForDuration",
  "conn.baselineHypervisorCPU",
  "conn.compareHypervisorCPU",
  "conn.listAllNWFilterBindings",
  "conn.nwfilterBindingLookupByPortDev",
  "net.listAllPorts",
  // FD passing is offered (as libvirtd does): the call reaches the driver
  "openGraphicsFD",
] as const;

/**
 * The generators of the "y." operations; `pick`/`r` are the explorer's seeded choices, `doms` its
 * domain names, `core` the core-dump path it removes afterwards.
 */
export function extraGens(
  r: (n: number) => number,
  doms: readonly string[],
  core: string,
  daemon: boolean,
): (() => Op)[] {
  const pick = <T>(a: readonly T[]) => a[r(a.length)]!;
  const bitsOf = () => Array.from({ length: 8 }, () => r(3) === 0);
  const gens: (() => Op)[] = [
    // libvirt 9.0's test driver has no secret driver: these fail before any argument is read
    () => ["y.secretList", r(16)],
    () => [
      "y.secretByUsage",
      pick([0, 1, 2, 3, 4, 5, 6]),
      pick(["/x/v", "client.admin", "t1", "vt", "tls1", "nosuch"]),
    ],
    () => [
      "y.names",
      pick([
        "listDomainsID",
        "listDefinedDomains",
        "listNetworks",
        "listDefinedNetworks",
        "listStoragePools",
        "listDefinedStoragePools",
        "listInterfaces",
        "listDefinedInterfaces",
        "listSecrets",
        "numOfDomains",
        "numOfDefinedDomains",
        "numOfNetworks",
        "numOfDefinedNetworks",
        "numOfStoragePools",
        "numOfDefinedStoragePools",
        "numOfInterfaces",
        "numOfDefinedInterfaces",
      ]),
    ],
    () => [
      "y.coreDumpFmt",
      pick(doms),
      pick([core, "/nonexistent/dir/core"]),
      pick([0, 0, 1, 4, 5]),
      pick([0, 1, 2, 3, 8, 9, 10, 16]),
    ],
    () => ["y.pinVcpuLegacy", pick(doms), r(4), bitsOf()],
    () => [
      "y.createXMLWithFiles",
      pick([
        "<domain type='test'><name>f</name><uuid>33333333-4444-5555-6666-0000000000f1</uuid><memory>1024</memory><os><type>hvm</type></os></domain>",
        "<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>1024</memory><os><type>hvm</type></os></domain>",
      ]),
      pick([0, 0, 1, 16, 32]),
    ],
    () => ["y.createWithFiles", pick(doms), pick([0, 0, 1, 16])],
  ];
  if (daemon) {
    gens.push(
      () => ["y.setMemoryLegacy", pick(doms), pick([0, 1024, 1 << 20, 8388608, 8388609])],
      () => ["y.setVcpusLegacy", pick(doms), pick([0, 1, 2, 3, 65])],
      () => ["y.nosupport", pick(NO_SUPPORT_CALLS), pick(doms)],
    );
  }
  return gens;
}

/** What runExtraOp answers for an operation that is not one of its own. */
export const NOT_EXTRA = Symbol("not a y. operation");

/** Runs one "y." operation through tsvirt's API (the in-process ones). */
export async function runExtraOp(x: ExploreCtx, op: string, a: unknown[]): Promise<unknown> {
  const c = x.c;
  const sec = () => c.secretLookupByUUID(s(a[0]));
  switch (op) {
    case "y.secretDefine":
      return (await c.secretDefineXML(s(a[0]), n(a[1]))).uuid;
    case "y.secretSetValue":
      return done((await sec()).setValue(new TextEncoder().encode(s(a[1])), n(a[2])));
    case "y.secretValue":
      return [...(await (await sec()).getValue(n(a[1])))];
    case "y.secretUndefine":
      return done((await sec()).undefine());
    case "y.secretXml":
      return (await sec()).getXMLDesc(n(a[1]));
    case "y.secretUsageOf": {
      const x = await sec();
      return [x.usageType, x.usageID];
    }
    case "y.secretList":
      return (await c.listAllSecrets(n(a[0]))).map((x) => x.uuid).sort();
    case "y.secretByUsage":
      return (await c.secretLookupByUsage(n(a[0]), s(a[1]))).uuid;
    case "y.names": {
      // python-libvirt's list* calls ask the matching numOf* first (to size the array)
      const call = (m: string) => (c as unknown as Record<string, () => Promise<unknown>>)[m]!.call(c);
      const py = s(a[0]);
      if (py.startsWith("list")) {
        const what = py === "listDomainsID" ? "Domains" : py.slice(4);
        await call(`numOf${what}`);
        return [...((await call(py === "listDomainsID" ? "listDomains" : py)) as unknown[])].sort();
      }
      return call(py);
    }
    case "y.coreDumpFmt":
      return done((await x.dom(s(a[0]))).coreDumpWithFormat(s(a[1]), n(a[2]), n(a[3])));
    case "y.createXMLWithFiles":
      return (await c.domainCreateXMLWithFiles(s(a[0]), n(a[1]))).name;
    case "y.createWithFiles":
      return done((await x.dom(s(a[0]))).createWithFiles(n(a[1])));
    case "y.pinVcpuLegacy":
      return done((await x.dom(s(a[0]))).pinVcpuLegacy(n(a[1]), cpumap(a[2] as boolean[])));
  }
  return NOT_EXTRA;
}
