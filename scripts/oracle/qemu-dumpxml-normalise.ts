// Shared by the qemu-dumpxml oracle script and its test: which corpus cases exist, and the only
// normalisation applied before comparing with libvirtd 9.0's `virsh dumpxml` — what libvirt
// generates at random (a UUID when the XML gives none, a MAC for an interface without one).
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const DUMPXML_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "tests",
  "data",
  "qemu-dumpxml",
);

/** Corpus case names (<name>.xml in tests/data/qemu-dumpxml), sorted. */
export function dumpxmlCases(): string[] {
  return readdirSync(DUMPXML_DIR)
    .filter((f) => f.endsWith(".xml") && !f.includes(".libvirt"))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Replaces a generated UUID, MACs and OVS interfaceids (those not written in the input) with placeholders. */
export function normaliseDumpxml(input: string, out: string): string {
  let s = out;
  if (!/<uuid>/.test(input)) s = s.replace(/<uuid>[0-9a-f-]{36}<\/uuid>/, "<uuid>GENERATED-UUID</uuid>");
  const given = new Set(
    [...input.matchAll(/<mac address=["']([0-9a-fA-F:]{17})["']/g)].map((m) => m[1]!.toLowerCase()),
  );
  s = s.replace(/<mac address='([0-9a-f:]{17})'/g, (all, mac: string) =>
    given.has(mac) ? all : `<mac address='${mac.slice(0, 9)}GENERATED'`,
  );
  // a generation ID asked for with an empty <genid/>
  if (/<genid\s*\/>|<genid>\s*<\/genid>/.test(input))
    s = s.replace(/<genid>[0-9a-f-]{36}<\/genid>/, "<genid>GENERATED</genid>");
  // an Open vSwitch port's generated interfaceid
  s = s.replace(/<parameters interfaceid='([0-9a-f-]{36})'/g, (all, id: string) =>
    input.includes(id) ? all : "<parameters interfaceid='GENERATED'",
  );
  return s;
}
