// Runs inside a private network namespace (unshare -n, started by tests/qemu-bridge.test.ts):
// a bridge exists only there; a guest NIC of type='bridge' gets a tap plugged into it.
// Prints one JSON line with what it observed.
import { execFileSync } from "node:child_process";

import { join } from "node:path";
import { createQemuDriverState, qemuHypervisorDriver } from "../../src/drivers/qemu/driver.js";
import { buildGuest } from "./build-guest.js";

const root = process.argv[2]!;
const linkExists = (n: string) =>
  execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).includes(` ${n}:`);
const out: Record<string, unknown> = {};
execFileSync("ip", ["link", "add", "br0", "type", "bridge"]);
execFileSync("ip", ["link", "set", "br0", "up"]);
const st = await createQemuDriverState({
  uri: "qemu:///system",
  configDir: join(root, "etc"),
  libDir: join(root, "lib"),
  runDir: join(root, "run"),
  emulators: ["/usr/bin/qemu-system-x86_64"],
});
const drv = qemuHypervisorDriver(st);
const g = buildGuest();
const xml = (
  name: string,
  bridge: string,
) => `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory>
<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel></os>
<devices><interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='${bridge}'/><model type='virtio'/></interface>
<interface type='user'><mac address='52:54:00:00:00:02'/></interface></devices></domain>`;
try {
  const ref = await drv.domainCreateXML!(xml("b1", "br0"), 1);
  const link = execFileSync("ip", ["-o", "link", "show", "vnet0"], { encoding: "utf8" });
  out.master = / master (\S+) /.exec(link)?.[1];
  out.operstateUp = /[<,]UP[,>]/.test(link);
  out.dumpxml = await drv.domainGetXMLDesc!(ref, 0);
  const d = st.domains.byName("b1")!;
  out.rxFilter = await d.proc!.monitor.execute("query-rx-filter", { name: "net0" });
  await drv.domainDestroyFlags!(ref, 0);
  out.tapGoneAfterDestroy = !linkExists("vnet0");
  try {
    await drv.domainCreateXML!(xml("b2", "nobr"), 1);
    out.badBridge = "started";
  } catch (e) {
    out.badBridge = (e as Error).message;
  }
  out.leftover = st.domains.values().map((x) => x.name);
  out.tapGoneAfterFailure = !linkExists("vnet0");
} catch (e) {
  out.error = (e as Error).message;
  for (const d of st.domains.values()) await d.proc?.destroy(500);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
