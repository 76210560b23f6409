// Runs inside a private network namespace (unshare -n, started by tests/qemu-hotplug.test.ts): a
// bridge exists only there; a running guest gets a type='bridge' NIC hotplugged (QEMU creates the
// tap, the driver plugs it into the bridge) and unplugged again. Prints one JSON line.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { createQemuDriverState, qemuHypervisorDriver } from "../../src/drivers/qemu/driver.js";
import { buildGuest, GUEST_READY } from "./build-guest.js";
import { SerialConsole } from "./serial-console.js";

const root = process.argv[2]!;
const linkShow = (n: string) => {
  try {
    return execFileSync("ip", ["-o", "link", "show", n], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return undefined;
  }
};
const out: Record<string, unknown> = {};
execFileSync("ip", ["link", "add", "br0", "type", "bridge"]);
execFileSync("ip", ["link", "set", "br0", "up"]);
const st = await createQemuDriverState({
  uri: "qemu:///system",
  configDir: join(root, "etc"),
  libDir: join(root, "lib"),
  runDir: join(root, "run"),
  emulators: ["/usr/bin/qemu-system-x86_64"],
  autostart: false,
});
const drv = qemuHypervisorDriver(st);
const g = buildGuest();
const serial = join(root, "serial.sock");
const nic =
  "<interface type='bridge'><mac address='52:54:00:00:00:09'/><source bridge='br0'/><model type='virtio'/></interface>";
try {
  const ref = await drv.domainCreateXML!(
    `<domain type='qemu'><name>hb</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices><serial type='unix'><source mode='bind' path='${serial}'/><target port='0'/></serial></devices></domain>`,
    0,
  );
  const con = await SerialConsole.connect(serial);
  await con.waitFor(new RegExp(GUEST_READY), 90_000);
  await drv.domainAttachDeviceFlags!(ref, nic, 1);
  const link = linkShow("vnet0") ?? "";
  out.master = / master (\S+) /.exec(link)?.[1];
  out.operstateUp = /[<,]UP[,>]/.test(link);
  out.dumpxml = await drv.domainGetXMLDesc!(ref, 0);
  const d = st.domains.byName("hb")!;
  out.rxFilter = await d.proc!.monitor.execute("query-rx-filter", { name: "net0" });
  await drv.domainDetachDeviceFlags!(ref, nic, 1);
  for (let i = 0; i < 300; i++) {
    if (!(await drv.domainGetXMLDesc!(ref, 0)).includes("52:54:00:00:00:09")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  out.afterDetach = await drv.domainGetXMLDesc!(ref, 0);
  for (let i = 0; i < 150 && linkShow("vnet0"); i++) await new Promise((r) => setTimeout(r, 100));
  out.tapGone = linkShow("vnet0") === undefined;
  await drv.domainDestroyFlags!(ref, 0);
  con.close();
} catch (e) {
  out.error = (e as Error).message;
  for (const d of st.domains.values()) await d.proc?.destroy(500);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
