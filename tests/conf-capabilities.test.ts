// The capabilities XML, nodeinfo text and sysinfo we report for test:///default must be exactly
// what real libvirt 9.0 gives (compared live through virsh and python-libvirt when installed).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import {
  formatCapabilitiesXML,
  formatNodeInfo,
  TEST_SYSINFO_XML,
  testDefaultCapabilities,
  testDefaultNodeInfo,
} from "../src/conf/capabilities/index.js";
import { xmllintBatch } from "./conf-corpus-helpers.js";

function py(code: string): string | undefined {
  try {
    return execFileSync(
      "/usr/bin/python3",
      ["-c", `import libvirt,sys\nc=libvirt.open('test:///default')\n${code}`],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
  } catch {
    return undefined;
  }
}

test("capabilities XML equals libvirt's test driver", (t) => {
  const want = py("sys.stdout.write(c.getCapabilities())");
  if (want === undefined) return t.skip("python-libvirt not available");
  assert.equal(formatCapabilitiesXML(testDefaultCapabilities()), want);
});

test("node info equals libvirt's test driver (getInfo and virsh nodeinfo)", (t) => {
  const want = py("print(c.getInfo())");
  if (want === undefined) return t.skip("python-libvirt not available");
  const n = testDefaultNodeInfo();
  // python-libvirt reports memory in MiB.
  assert.equal(
    `['${n.model}', ${n.memoryKiB / 1024}, ${n.cpus}, ${n.mhz}, ${n.nodes}, ${n.sockets}, ${n.cores}, ${n.threads}]\n`,
    want,
  );
  let virsh: string;
  try {
    virsh = execFileSync("virsh", ["-c", "test:///default", "nodeinfo"], { encoding: "utf8" });
  } catch {
    return t.skip("virsh not available");
  }
  assert.equal(`${formatNodeInfo(n)}\n`, virsh);
});

test("sysinfo equals libvirt's test driver", (t) => {
  const want = py("sys.stdout.write(c.getSysinfo())");
  if (want === undefined) return t.skip("python-libvirt not available");
  assert.equal(TEST_SYSINFO_XML, want);
});

test("capabilities validate against capability.rng", (t) => {
  const res = xmllintBatch("capability", [formatCapabilitiesXML(testDefaultCapabilities())]);
  if (res === null) return t.skip("xmllint or schema missing");
  assert.equal(res, undefined, res ?? "");
});
