// Writes the capability fixture used by the qemu-xml2argv golden suite from the real binary
// (KVM state pinned to "present, unusable" so goldens do not depend on the host).
// Run: node --import tsx scripts/oracle/qemu-caps-dump.ts [binary]
import { writeFileSync } from "node:fs";
import { probeQemu } from "../../src/drivers/qemu/capabilities.js";

const binary = process.argv[2] ?? "/usr/bin/qemu-system-x86_64";
const caps = await probeQemu(binary, { skipKvm: true });
caps.kvm = {
  present: true,
  usable: false,
  reason: "KVM is present but a test guest made no progress within 2500 ms",
};
writeFileSync("tests/data/qemu-xml2argv/caps-x86_64.json", `${JSON.stringify(caps, null, 1)}\n`);
console.log(`caps for QEMU ${caps.version.major}.${caps.version.minor}.${caps.version.micro}`);
