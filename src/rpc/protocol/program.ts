// The remote program (0x20008086 v1) as one table: every procedure entry by number, plus lookup
// helpers. Pure data; the dispatcher in rpc/server is generic over it.
import type { DriverTable, ProcedureDef } from "./procedure.js";
import { connectProcedures } from "./procs-connect.js";
import { domainProcedures } from "./procs-domain.js";
import { domainGuestProcedures } from "./procs-domain-guest.js";
import { domainStatsProcedures } from "./procs-domain-stats.js";
import { eventProcedures } from "./procs-events.js";
import {
  interfaceProcedures,
  nodeDeviceProcedures,
  nwfilterProcedures,
  secretProcedures,
} from "./procs-host-objects.js";
import { networkProcedures, snapshotProcedures } from "./procs-snapshot-network.js";
import { storageProcedures } from "./procs-storage.js";
import { unsupportedProcedures } from "./procs-unsupported.js";

function index(groups: [DriverTable, ProcedureDef[]][]): Map<number, ProcedureDef> {
  const m = new Map<number, ProcedureDef>();
  for (const [table, g] of groups) {
    for (const p of g) {
      p.table = table;
      if (m.has(p.num)) throw new Error(`duplicate procedure number ${p.num} (${p.name})`);
      m.set(p.num, p);
    }
  }
  return m;
}

export const remoteProcedures: ReadonlyMap<number, ProcedureDef> = index([
  ["hypervisor", connectProcedures],
  ["hypervisor", domainProcedures],
  ["hypervisor", domainStatsProcedures],
  ["hypervisor", domainGuestProcedures],
  ["hypervisor", snapshotProcedures],
  ["network", networkProcedures],
  ["storage", storageProcedures],
  ["iface", interfaceProcedures],
  ["nodedev", nodeDeviceProcedures],
  ["secret", secretProcedures],
  ["nwfilter", nwfilterProcedures],
  ["hypervisor", eventProcedures],
  ["hypervisor", unsupportedProcedures],
]);

const byName = new Map([...remoteProcedures.values()].map((p) => [p.name, p]));

export function procedureByName(name: string): ProcedureDef {
  const p = byName.get(name);
  if (!p) throw new Error(`no procedure REMOTE_PROC_${name}`);
  return p;
}
