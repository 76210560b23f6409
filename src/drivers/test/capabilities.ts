// The test driver's capabilities XML (testBuildCapabilities): an i686 host with pae/nonpae,
// four page sizes, the node's NUMA cells, the testSecurity model, and hvm and xen guests.

import type { TestNode } from "./node.js";

const PAGE_SIZES = [4, 8, 2048, 1048576];

export function formatTestCapabilities(node: TestNode): string {
  let s = "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n";
  s += "      <features>\n        <pae/>\n        <nonpae/>\n      </features>\n";
  for (const p of PAGE_SIZES) s += `      <pages unit='KiB' size='${p}'/>\n`;
  s += "    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n";
  s += `    <topology>\n      <cells num='${node.cells.length}'>\n`;
  node.cells.forEach((c, i) => {
    s += `        <cell id='${i}'>\n          <memory unit='KiB'>${c.mem}</memory>\n`;
    // Cell 1 uses the second page size as its base pages, the others the first.
    const base = i === 1 ? PAGE_SIZES[1]! : PAGE_SIZES[0]!;
    s += `          <pages unit='KiB' size='${base}'>${Math.floor(c.mem / base)}</pages>\n`;
    for (const p of PAGE_SIZES.slice(2)) s += `          <pages unit='KiB' size='${p}'>0</pages>\n`;
    s += `          <cpus num='${c.cpus.length}'>\n`;
    for (const cpu of c.cpus) {
      s += `            <cpu id='${cpu.id}' socket_id='${cpu.socketId}' die_id='${cpu.dieId}' core_id='${cpu.coreId}' siblings='${cpu.siblings}'/>\n`;
    }
    s += "          </cpus>\n        </cell>\n";
  });
  s += "      </cells>\n    </topology>\n";
  s += "    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n    </secmodel>\n  </host>\n\n";
  for (const os of ["hvm", "xen"]) {
    s += `  <guest>\n    <os_type>${os}</os_type>\n    <arch name='i686'>\n      <wordsize>32</wordsize>\n`;
    s += "      <emulator>/usr/bin/test-hv</emulator>\n      <domain type='test'/>\n    </arch>\n";
    s += "    <features>\n      <pae/>\n      <nonpae/>\n    </features>\n  </guest>\n\n";
  }
  s += "</capabilities>\n";
  return s;
}
