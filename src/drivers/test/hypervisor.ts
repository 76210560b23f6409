// The test driver's hypervisor table: connection-level slots (type, version, hostname, node
// info, capabilities, events) composed with the domain, save and snapshot slot groups.

import { hostname } from "node:os";
import type { HypervisorDriver } from "../../driver/index.js";
import { formatTestCapabilities } from "./capabilities.js";
import { cpuSlots } from "./cpu.js";
import { deregisterCallback, dropCallbacks, registerCallback, type TestCtx } from "./ctx.js";
import { domainCheckpointSlots } from "./domain-checkpoints.js";
import { domainConfigSlots, TEST_MAX_VCPUS } from "./domain-config.js";
import { domainExtraSlots } from "./domain-extras.js";
import { domainTunableSlots } from "./domain-tunables.js";
import { domainLifecycleSlots } from "./domain-lifecycle.js";
import { domainSaveSlots } from "./domain-save.js";
import { domainSnapshotSlots } from "./domain-snapshots.js";
import { checkFlags, invalidArg } from "./errors.js";

/** libvirt 9.0.0 as virConnectGetLibVersion encodes it (major*1e6 + minor*1e3 + micro). */
export const LIB_VERSION = 9_000_000;

const SYSINFO = `<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
`;

export function testHypervisorDriver(ctx: TestCtx): HypervisorDriver {
  const node = ctx.node;
  const base: HypervisorDriver = {
    name: "TEST",
    async connectClose() {
      dropCallbacks(ctx);
    },
    async connectGetType() {
      return "TEST";
    },
    async connectGetVersion() {
      return 2;
    },
    async connectGetLibVersion() {
      return LIB_VERSION;
    },
    async connectGetHostname() {
      return hostname();
    },
    async connectGetURI() {
      return ctx.uri;
    },
    async connectGetSysinfo(flags) {
      checkFlags(flags, 0, "testConnectGetSysinfo");
      return SYSINFO;
    },
    async connectGetMaxVcpus() {
      return TEST_MAX_VCPUS;
    },
    async connectGetCapabilities() {
      return formatTestCapabilities(node);
    },
    async connectIsAlive() {
      return true;
    },
    async connectIsSecure() {
      return true;
    },
    async connectIsEncrypted() {
      return false;
    },
    async nodeGetInfo() {
      return { ...node.nodeInfo };
    },
    async nodeGetFreeMemory() {
      return node.cells.reduce((a, c) => a + c.freeMem, 0);
    },
    async nodeGetCellsFreeMemory(startCell, maxCells) {
      if (startCell < 0 || startCell >= node.cells.length) throw invalidArg("Range exceeds available cells");
      // libvirt's test driver answers with each cell's total memory here.
      return node.cells.slice(startCell, startCell + maxCells).map((c) => c.mem);
    },
    async nodeGetFreePages(pages, _startCell, cellCount, flags) {
      checkFlags(flags, 0, "testNodeGetFreePages");
      // libvirt 9.0's test driver fills made-up counts (x = 2x + 7 from 6, a C int, per cell and
      // page size) into the caller's buffer but returns 0: in-process virsh prints the buffer,
      // python sees {} (it reads `returned` counts), and libvirtd turns the 0 into an error (see
      // NODE_GET_FREE_PAGES).
      const counts: number[] = [];
      let x = 6;
      for (let i = 0; i < cellCount * pages.length; i++) {
        x = (x * 2 + 7) | 0;
        counts.push(x < 0 ? 2 ** 64 + x : x);
      }
      return Object.assign(counts, { returned: 0 });
    },
    async connectDomainEventRegisterAny(dom, eventId, cb) {
      return registerCallback(ctx, node.domainEvents, eventId, dom ? dom.uuid : null, cb);
    },
    async connectDomainEventDeregisterAny(id) {
      deregisterCallback(ctx, node.domainEvents, id);
    },
  };
  return Object.assign(
    base,
    domainLifecycleSlots(ctx),
    domainConfigSlots(ctx),
    domainExtraSlots(ctx),
    domainTunableSlots(ctx),
    domainSaveSlots(ctx),
    domainSnapshotSlots(ctx),
    domainCheckpointSlots(ctx),
    cpuSlots(),
  );
}
