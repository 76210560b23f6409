// The fixed host libvirt's test driver (test:///default) reports: two NUMA cells of 8 CPUs,
// i686 guests of os types hvm and xen, 'testSecurity' secmodel (libvirt src/test/test_driver.c
// defaultNodeInfo / testBuildCapabilities; observed with libvirt 9.0 `virsh -c test:///default`).

import type { Capabilities, CapsCpu, NodeInfo } from "./types.js";

export function testDefaultNodeInfo(): NodeInfo {
  return {
    model: "i686",
    memoryKiB: 3145728,
    cpus: 16,
    mhz: 1400,
    nodes: 2,
    sockets: 2,
    cores: 2,
    threads: 2,
  };
}

function cellCpus(cell: number): CapsCpu[] {
  const out: CapsCpu[] = [];
  for (let i = 0; i < 8; i++) {
    const id = cell * 8 + i;
    out.push({ id, socketId: cell, dieId: 0, coreId: i, siblings: String(id) });
  }
  return out;
}

export function testDefaultCapabilities(): Capabilities {
  const guest = (osType: string) => ({
    osType,
    arch: "i686",
    wordsize: 32,
    emulator: "/usr/bin/test-hv",
    machines: [],
    domains: [{ type: "test" }],
    features: ["pae", "nonpae"],
  });
  return {
    host: {
      arch: "i686",
      cpuFeatures: ["pae", "nonpae"],
      pagesSizes: [{ sizeKiB: 4 }, { sizeKiB: 8 }, { sizeKiB: 2048 }, { sizeKiB: 1048576 }],
      powerManagement: [],
      iommu: false,
      cells: [
        {
          id: 0,
          memoryKiB: 2097152,
          pages: [
            { sizeKiB: 4, count: 524288 },
            { sizeKiB: 2048, count: 0 },
            { sizeKiB: 1048576, count: 0 },
          ],
          cpus: cellCpus(0),
        },
        {
          id: 1,
          memoryKiB: 4194304,
          pages: [
            { sizeKiB: 8, count: 524288 },
            { sizeKiB: 2048, count: 0 },
            { sizeKiB: 1048576, count: 0 },
          ],
          cpus: cellCpus(1),
        },
      ],
      secmodels: [{ model: "testSecurity", doi: "" }],
    },
    guests: [guest("hvm"), guest("xen")],
  };
}

/** virConnectGetSysinfo on test:///default. */
export const TEST_SYSINFO_XML = `<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
`;
