// The test driver's capabilities XML (testBuildCapabilities): the fixed test host from
// conf/capabilities with the NUMA cells of this node (none for nodes read from a file).

import {
  type CapsNumaCell,
  formatCapabilitiesXML,
  testDefaultCapabilities,
} from "../../conf/capabilities/index.js";
import type { TestNode } from "./node.js";

const PAGE_SIZES = [4, 8, 2048, 1048576];

export function formatTestCapabilities(node: TestNode): string {
  const caps = testDefaultCapabilities();
  caps.host.cells = node.cells.map((c, i): CapsNumaCell => {
    // Cell 1 uses the second page size as its base pages, the others the first.
    const base = i === 1 ? PAGE_SIZES[1]! : PAGE_SIZES[0]!;
    return {
      id: i,
      memoryKiB: c.mem,
      pages: [
        { sizeKiB: base, count: Math.floor(c.mem / base) },
        ...PAGE_SIZES.slice(2).map((sizeKiB) => ({ sizeKiB, count: 0 })),
      ],
      cpus: c.cpus.map((cpu) => ({ ...cpu })),
    };
  });
  const xml = formatCapabilitiesXML(caps);
  if (node.cells.length > 0) return xml;
  // The test driver always allocates a NUMA block, so a node file without cells still prints
  // an empty <topology> (conf/capabilities leaves it out for hosts without NUMA data).
  return xml.replace(
    "    <secmodel>",
    "    <topology>\n      <cells num='0'>\n      </cells>\n    </topology>\n    <secmodel>",
  );
}
