// Device hotplug through tsvirtd with real virsh 9.0 on one TCG guest (i440fx, so PCI devices are
// unplugged through ACPI like on a real pc guest): --config on the inactive domain, then live
// attach/detach of virtio, SCSI and USB disks and a virtio NIC, CD-ROM media change, libvirt's
// error texts, and a daemon restart in the middle (the hot-added disk is still there and detachable).
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createQemuDriverState, qemuHypervisorDriver } from "../src/drivers/qemu/driver.js";
import { buildGuest, GUEST_READY, guestUnavailable } from "./guest/build-guest.js";
import { haveVirsh, RootDaemon, virsh } from "./guest/root-daemon.js";
import { SerialConsole } from "./guest/serial-console.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const root = mkdtempSync(join(tmpdir(), "tsvirtd-hotplug-"));
const daemons = new RootDaemon(root);
const children = daemons.children;

after(() => {
  daemons.killAll(["hp1"]);
  rmSync(root, { recursive: true, force: true });
});

test("virsh attach/detach/update of disks and NICs on a TCG guest through tsvirtd", async (t) => {
  const why = !haveVirsh()
    ? "virsh not installed"
    : !existsSync(QEMU)
      ? "qemu-system-x86_64 not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  const uri = daemons.uri;
  const g = buildGuest();
  const img = (name: string, mib: number) => {
    const p = join(root, name);
    writeFileSync(p, Buffer.alloc(mib << 20));
    return p;
  };
  const d1 = img("d1.raw", 3);
  const d2 = img("d2.raw", 2);
  const d3 = img("d3.raw", 1);
  const cd1 = img("cd1.iso", 1);
  const cd2 = img("cd2.iso", 1);
  const serial = join(root, "serial.sock");
  const xml = join(root, "hp1.xml");
  writeFileSync(
    xml,
    `<domain type='qemu'><name>hp1</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices>
<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${cd1}'/><target dev='sda' bus='scsi'/><readonly/></disk>
<controller type='scsi' index='0' model='virtio-scsi'/>
<serial type='unix'><source mode='bind' path='${serial}'/><target port='0'/></serial>
<console type='unix'><source mode='bind' path='${serial}'/><target type='serial' port='0'/></console>
</devices></domain>`,
  );
  const ok = async (args: string[], want?: RegExp) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}${r.err}`);
    if (want) assert.match(r.out, want, `virsh ${args.join(" ")}`);
    return r.out;
  };
  const fails = async (args: string[], err: string) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 1, `virsh ${args.join(" ")} should fail: ${r.out}`);
    assert.equal(r.err, err, `virsh ${args.join(" ")}`);
  };
  const dev = (name: string, text: string) => {
    const p = join(root, name);
    writeFileSync(p, text);
    return p;
  };

  // tsvirsh from this checkout, against the same daemon.
  const tsvirsh = (args: string[]) =>
    new Promise<{ out: string; err: string; code: number }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "src/bin/tsvirsh.ts", "-c", uri, ...args],
        { env: { ...process.env, LC_ALL: "C" } },
        (e, stdout, stderr) =>
          resolve({ out: stdout, err: stderr, code: e ? ((e as { code?: number }).code ?? 1) : 0 }),
      );
    });
  let daemon = await daemons.start();
  await ok(["define", xml], /Domain 'hp1' defined/);

  // --- persistent definition of the inactive domain ---
  await fails(
    ["attach-disk", "hp1", d3, "vdc", "--live"],
    "error: Failed to attach disk\nerror: Requested operation is not valid: domain is not running\n",
  );
  // No flags: virsh's flag-less virDomainAttachDevice, i.e. LIVE; tsvirsh says the same.
  const noFlags = ["attach-disk", "hp1", d3, "vdc"];
  const r0 = await virsh(uri, noFlags);
  assert.deepEqual(await tsvirsh(noFlags), { out: r0.out, err: r0.err, code: r0.code });
  assert.equal(
    r0.err,
    "error: Failed to attach disk\nerror: Requested operation is not valid: domain is not running\n",
  );
  await ok(["attach-disk", "hp1", d3, "vdc", "--config", "--subdriver", "raw"], /Disk attached successfully/);
  let inactive = await ok(["dumpxml", "hp1", "--inactive"]);
  assert.match(inactive, new RegExp(`<source file='${d3}'/>\\s*<target dev='vdc' bus='virtio'/>`));
  assert.match(
    readFileSync(join(root, "etc", "qemu", "hp1.xml"), "utf8"),
    /<target dev='vdc' bus='virtio'\/>/,
  );
  await fails(
    ["attach-disk", "hp1", d3, "vdc", "--config"],
    "error: Failed to attach disk\nerror: Requested operation is not valid: target vdc already exists\n",
  );
  await fails(
    [
      "detach-device",
      "hp1",
      dev("vdz.xml", "<disk type='file'><source file='/x'/><target dev='vdz'/></disk>"),
      "--config",
    ],
    `error: Failed to detach device from ${join(root, "vdz.xml")}\nerror: device not found: no target device vdz\n`,
  );
  await fails(
    ["attach-device", "hp1", dev("gfx.xml", "<graphics type='vnc'/>"), "--config"],
    `error: Failed to attach device from ${join(root, "gfx.xml")}\nerror: Operation not supported: persistent attach of device 'graphics' is not supported\n`,
  );
  await fails(
    ["attach-device", "hp1", dev("bogus.xml", "<bogus/>"), "--config"],
    `error: Failed to attach device from ${join(root, "bogus.xml")}\nerror: unsupported configuration: unknown device type 'bogus'\n`,
  );
  await ok(["attach-interface", "hp1", "bridge", "br-nowhere", "--config", "--mac", "52:54:00:00:00:07"]);
  inactive = await ok(["dumpxml", "hp1", "--inactive"]);
  assert.match(
    inactive,
    /<interface type='bridge'>\s*<mac address='52:54:00:00:00:07'\/>\s*<source bridge='br-nowhere'\/>/,
  );
  await fails(
    [
      "detach-device",
      "hp1",
      dev("nic-none.xml", "<interface type='bridge'><mac address='52:54:00:00:00:08'/></interface>"),
      "--config",
    ],
    `error: Failed to detach device from ${join(root, "nic-none.xml")}\nerror: device not found: no device found at address '(<null>)' matching MAC address '52:54:00:00:00:08' and alias '(<null>)'\n`,
  );
  await ok(
    ["detach-interface", "hp1", "bridge", "--mac", "52:54:00:00:00:07", "--config"],
    /Interface detached successfully/,
  );
  await ok(["detach-disk", "hp1", "vdc", "--config"], /Disk detached successfully/);
  const ctrl = dev("ctrl.xml", "<controller type='scsi' index='3' model='virtio-scsi'/>");
  await fails(
    ["detach-device", "hp1", ctrl, "--config"],
    `error: Failed to detach device from ${ctrl}\nerror: device not found: device not present in domain configuration\n`,
  );
  inactive = await ok(["dumpxml", "hp1", "--inactive"]);
  assert.doesNotMatch(inactive, /vdc|br-nowhere/);

  // python-libvirt (virt-manager's way in) sees libvirt 9.0's error codes and domains; the expected
  // lines are what a libvirtd 9.0 peer answered to the same calls.
  if (existsSync("/usr/bin/python3")) {
    const py = `
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
d = libvirt.open(sys.argv[1]).lookupByName("hp1")
L, C = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
disk = "<disk type='file'><driver name='qemu' type='raw'/><source file='%s'/><target dev='vdc'/></disk>" % sys.argv[2]
for name, f in [
  ("attach-live-inactive", lambda: d.attachDeviceFlags(disk, L)),
  ("attach-config", lambda: d.attachDeviceFlags(disk, C)),
  ("attach-config-dup", lambda: d.attachDeviceFlags(disk, C)),
  ("detach-config-missing", lambda: d.detachDeviceFlags("<disk type='file'><target dev='vdz'/></disk>", C)),
  ("detach-nic-missing", lambda: d.detachDeviceFlags("<interface type='user'><mac address='52:54:00:00:00:77'/></interface>", C)),
  ("attach-unknown", lambda: d.attachDeviceFlags("<bogus/>", C)),
  ("attach-graphics", lambda: d.attachDeviceFlags("<graphics type='vnc'/>", C)),
  ("update-missing", lambda: d.updateDeviceFlags("<disk type='file'><target dev='vdy'/></disk>", C)),
  ("detach-config", lambda: d.detachDeviceFlags(disk, C)),
  ("bad-flags", lambda: d.attachDeviceFlags(disk, 8)),
]:
  try:
    f(); print(name, "ok")
  except libvirt.libvirtError as e:
    print(name, e.get_error_code(), e.get_error_domain(), e.get_error_message())
`;
    const r = execFileSync("/usr/bin/python3", ["-c", py, uri, d3], { encoding: "utf8" });
    assert.equal(
      r,
      [
        "attach-live-inactive 55 20 Requested operation is not valid: domain is not running",
        "attach-config ok",
        "attach-config-dup 55 10 Requested operation is not valid: target vdc already exists",
        "detach-config-missing 99 10 device not found: no target device vdz",
        "detach-nic-missing 99 20 device not found: no device found at address '(<null>)' matching MAC address '52:54:00:00:00:77' and alias '(<null>)'",
        "attach-unknown 67 20 unsupported configuration: unknown device type 'bogus'",
        "attach-graphics 84 10 Operation not supported: persistent attach of device 'graphics' is not supported",
        "update-missing 19 20 missing source information for device vdy",
        "detach-config ok",
        "bad-flags 8 10 unsupported flags (0x8) in function qemuDomainAttachDeviceLiveAndConfig",
        "",
      ].join("\n"),
    );
  }

  // --- live ---
  await ok(["start", "hp1"], /Domain 'hp1' started/);
  const con = await SerialConsole.connect(serial);
  await con.waitFor(new RegExp(GUEST_READY), 90_000);

  // Live refusals through python-libvirt: codes, domains and texts as a libvirtd 9.0 peer gave them
  // for the same calls on a running i440fx guest (targets and paths differ, the wording does not).
  if (existsSync("/usr/bin/python3")) {
    const pyA = img("py-a.raw", 1);
    const pyB = img("py-b.raw", 1);
    const py = `
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
d = libvirt.open(sys.argv[1]).lookupByName("hp1")
img, img2 = sys.argv[2], sys.argv[3]
L = libvirt.VIR_DOMAIN_AFFECT_LIVE
disk = lambda dev, src: "<disk type='file'><driver name='qemu' type='raw'/><source file='%s'/><target dev='%s' bus='virtio'/></disk>" % (src, dev)
ctrl = lambda i: "<controller type='scsi' index='%d' model='virtio-scsi'/>" % i
for name, f in [
  ("attach", lambda: d.attachDeviceFlags(disk("vdp", img), L)),
  ("attach-dup", lambda: d.attachDeviceFlags(disk("vdp", img2), L)),
  ("attach-missing-src", lambda: d.attachDeviceFlags(disk("vdq", "/nonexistent/x.raw"), L)),
  ("detach-missing", lambda: d.detachDeviceFlags(disk("vdz", img), L)),
  ("update-nonremovable", lambda: d.updateDeviceFlags(disk("vdp", img2), L)),
  ("update-missing-target", lambda: d.updateDeviceFlags(disk("vdy", img2), L)),
  ("attach-graphics", lambda: d.attachDeviceFlags("<graphics type='vnc'/>", L)),
  ("detach-graphics", lambda: d.detachDeviceFlags("<graphics type='vnc'/>", L)),
  ("attach-floppy", lambda: d.attachDeviceFlags("<disk type='file' device='floppy'><source file='%s'/><target dev='fdb' bus='fdc'/></disk>" % img2, L)),
  ("detach-nic-missing", lambda: d.detachDeviceFlags("<interface type='user'><mac address='52:54:00:00:00:77'/></interface>", L)),
  ("attach-mcast", lambda: d.attachDeviceFlags("<interface type='mcast'><mac address='52:54:00:aa:bb:ef'/><source address='230.0.0.1' port='5558'/><model type='virtio'/></interface>", L)),
  ("attach-pci-used", lambda: d.attachDeviceFlags("<disk type='file'><driver name='qemu' type='raw'/><source file='%s'/><target dev='vdd' bus='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></disk>" % img2, L)),
  ("attach-ctrl", lambda: d.attachDeviceFlags(ctrl(4), L)),
  ("attach-ctrl-dup", lambda: d.attachDeviceFlags(ctrl(4), L)),
  ("detach-ctrl-missing", lambda: d.detachDeviceFlags(ctrl(5), L)),
  ("bad-flags-detach", lambda: d.detachDeviceFlags(disk("vdp", img), 8)),
  ("bad-flags-update", lambda: d.updateDeviceFlags(disk("vdp", img), 16)),
  ("detach", lambda: d.detachDeviceFlags(disk("vdp", img), L)),
  ("detach-ctrl", lambda: d.detachDeviceFlags(ctrl(4), L)),
]:
  try:
    f(); print(name, "ok")
  except libvirt.libvirtError as e:
    print(name, e.get_error_code(), e.get_error_domain(), e.get_error_message())
`;
    assert.equal(
      execFileSync("/usr/bin/python3", ["-c", py, uri, pyA, pyB], { encoding: "utf8" }),
      [
        "attach ok",
        `attach-dup 27 20 XML error: target 'vdp' duplicated for disk sources '${pyA}' and '${pyB}'`,
        "attach-missing-src 38 18 Cannot access storage file '/nonexistent/x.raw': No such file or directory",
        "detach-missing 99 10 device not found: disk vdz not found",
        "update-nonremovable 67 10 unsupported configuration: disk source can be changed only in removable drives",
        "update-missing-target 1 10 internal error: disk 'vdy' not found",
        "attach-graphics 84 10 Operation not supported: live attach of device 'graphics' is not supported",
        "detach-graphics 84 10 Operation not supported: live detach of device 'graphics' is not supported",
        "attach-floppy 84 10 Operation not supported: floppy device hotplug isn't supported",
        "detach-nic-missing 99 20 device not found: no device found at address '(<null>)' matching MAC address '52:54:00:00:00:77' and alias '(<null>)'",
        "attach-mcast 84 10 Operation not supported: hotplug of interface type of mcast is not implemented yet",
        "attach-pci-used 27 20 XML error: Attempted double use of PCI Address 0000:00:01.0",
        "attach-ctrl ok",
        "attach-ctrl-dup 9 10 operation failed: target scsi:4 already exists",
        "detach-ctrl-missing 99 10 device not found: controller scsi:5 not found",
        "bad-flags-detach 8 10 unsupported flags (0x8) in function qemuDomainDetachDeviceLiveAndConfig",
        "bad-flags-update 8 10 unsupported flags (0x10) in function qemuDomainUpdateDeviceFlags",
        "detach ok",
        "detach-ctrl ok",
        "",
      ].join("\n"),
    );
    for (let i = 0; /vdp|<controller type='scsi' index='4'/.test(await ok(["dumpxml", "hp1"])); i++) {
      assert.ok(i < 300, "vdp and controller 4 leave the live XML");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  await ok(["attach-disk", "hp1", d1, "vdb", "--live", "--subdriver", "raw"], /Disk attached successfully/);
  let live = await ok(["dumpxml", "hp1"]);
  assert.match(
    live,
    new RegExp(
      `<source file='${d1}' index='\\d+'/>\\s*<backingStore/>\\s*<target dev='vdb' bus='virtio'/>\\s*<alias name='virtio-disk1'/>\\s*<address type='pci'`,
    ),
  );
  assert.doesNotMatch(await ok(["dumpxml", "hp1", "--inactive"]), /vdb/);
  // QEMU itself answers for the new device's node (query-block by the front-end's id).
  await ok(["domblkinfo", "hp1", "vdb"], /Capacity:\s+3145728/);
  await fails(
    ["attach-disk", "hp1", d2, "vdb", "--live"],
    `error: Failed to attach disk\nerror: XML error: target 'vdb' duplicated for disk sources '${d1}' and '${d2}'\n`,
  );
  await ok(["attach-disk", "hp1", d2, "sdc", "--live", "--targetbus", "scsi", "--subdriver", "raw"]);
  await ok(["domblkinfo", "hp1", "sdc"], /Capacity:\s+2097152/);
  await ok(["attach-disk", "hp1", d3, "sdd", "--live", "--targetbus", "usb", "--subdriver", "raw"]);
  await ok(["domblkinfo", "hp1", "sdd"], /Capacity:\s+1048576/);
  const nic = dev(
    "nic.xml",
    "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>",
  );
  await ok(["attach-device", "hp1", nic, "--live"], /Device attached successfully/);
  live = await ok(["dumpxml", "hp1"]);
  assert.match(
    live,
    /<interface type='user'>\s*<mac address='52:54:00:12:34:56'\/>\s*<model type='virtio'\/>/,
  );
  // virsh domif-setlink edits the interface element and sends update-device: QEMU's set_link.
  await ok(["domif-setlink", "hp1", "52:54:00:12:34:56", "down"], /Device updated successfully/);
  await ok(["domif-getlink", "hp1", "52:54:00:12:34:56"], /52:54:00:12:34:56 down/);
  assert.deepEqual(await tsvirsh(["domif-setlink", "hp1", "52:54:00:12:34:56", "up"]), {
    out: "Device updated successfully\n\n",
    err: "",
    code: 0,
  });
  await ok(["domif-getlink", "hp1", "52:54:00:12:34:56"], /52:54:00:12:34:56 up/);

  // --live --config: one device in both definitions (the MAC generated once), then out of both.
  const d5 = img("d5.raw", 1);
  await ok(["attach-disk", "hp1", d5, "vdf", "--live", "--config", "--subdriver", "raw"], /Disk attached/);
  const macless = dev("nic-nomac.xml", "<interface type='user'><model type='virtio'/></interface>");
  await ok(["attach-device", "hp1", macless, "--live", "--config"], /Device attached/);
  const userMac = (x: string) => /<interface type='user'>\s*<mac address='([0-9a-f:]+)'\/>/.exec(x)?.[1];
  live = await ok(["dumpxml", "hp1"]);
  inactive = await ok(["dumpxml", "hp1", "--inactive"]);
  assert.match(live, /<target dev='vdf' bus='virtio'\/>/);
  assert.match(inactive, /<target dev='vdf' bus='virtio'\/>/);
  const both = userMac(inactive);
  assert.ok(
    both && live.includes(`<mac address='${both}'/>`),
    "the same generated MAC live and in the config",
  );
  await ok(["detach-disk", "hp1", "vdf", "--live", "--config"], /Disk detached/);
  await ok(["detach-interface", "hp1", "user", "--mac", both!, "--live", "--config"], /Interface detached/);
  assert.doesNotMatch(await ok(["dumpxml", "hp1", "--inactive"]), new RegExp(`vdf|${both}`));
  for (let i = 0; new RegExp(`vdf|${both}`).test(await ok(["dumpxml", "hp1"])); i++) {
    assert.ok(i < 300, "vdf and the NIC leave the live XML");
    await new Promise((r) => setTimeout(r, 100));
  }

  // Libvirt's refusals for what cannot change live.
  await fails(
    ["attach-disk", "hp1", d3, "fdb", "--type", "floppy", "--targetbus", "fdc", "--live"],
    "error: Failed to attach disk\nerror: Operation not supported: floppy device hotplug isn't supported\n",
  );
  const vdbOther = dev(
    "vdb-other.xml",
    `<disk type='file'><driver name='qemu' type='raw'/><source file='${d2}'/><target dev='vdb' bus='virtio'/></disk>`,
  );
  await fails(
    ["update-device", "hp1", vdbOther, "--live"],
    `error: Failed to update device from ${vdbOther}\nerror: unsupported configuration: disk source can be changed only in removable drives\n`,
  );
  const nicOther = dev(
    "nic-other.xml",
    "<interface type='user'><mac address='52:54:00:aa:bb:dd'/></interface>",
  );
  await fails(
    ["update-device", "hp1", nicOther, "--live"],
    `error: Failed to update device from ${nicOther}\nerror: device not found: no device found at address '(<null>)' matching MAC address '52:54:00:aa:bb:dd' and alias '(<null>)'\n`,
  );
  const missing = join(root, "missing.raw");
  await fails(
    ["attach-disk", "hp1", missing, "vdg", "--live"],
    `error: Failed to attach disk\nerror: Cannot access storage file '${missing}': No such file or directory\n`,
  );
  await fails(
    ["attach-interface", "hp1", "network", "nosuch", "--live"],
    "error: Failed to attach interface\nerror: Network not found: no network with matching name 'nosuch'\n",
  );
  await fails(
    ["attach-interface", "hp1", "bridge", "nobr", "--live"],
    "error: Failed to attach interface\nerror: Cannot get interface MTU on 'nobr': No such device\n",
  );
  // Slot 1 of an i440fx machine is the PIIX3 ISA bridge.
  await fails(
    ["attach-disk", "hp1", d5, "vdg", "--live", "--address", "pci:0000.00.01.0"],
    "error: Failed to attach disk\nerror: XML error: Attempted double use of PCI Address 0000:00:01.0\n",
  );
  // A SCSI controller in and out (the guest acknowledges the PCI unplug); busy while a disk is on it.
  await ok(["attach-device", "hp1", ctrl, "--live"], /Device attached successfully/);
  assert.match(
    await ok(["dumpxml", "hp1"]),
    /<controller type='scsi' index='3' model='virtio-scsi'>\s*<alias name='scsi3'\/>\s*<address type='pci'/,
  );
  await fails(
    ["attach-device", "hp1", ctrl, "--live"],
    `error: Failed to attach device from ${ctrl}\nerror: operation failed: target scsi:3 already exists\n`,
  );
  await ok([
    "attach-disk",
    "hp1",
    d5,
    "sdh",
    "--live",
    "--targetbus",
    "scsi",
    "--subdriver",
    "raw",
    "--address",
    "scsi:3.0.0",
  ]);
  await ok(["domblkinfo", "hp1", "sdh"], /Capacity:\s+1048576/);
  await fails(
    ["detach-device", "hp1", ctrl, "--live"],
    `error: Failed to detach device from ${ctrl}\nerror: operation failed: device cannot be detached: device is busy\n`,
  );
  await ok(["detach-disk", "hp1", "sdh", "--live"]);
  await ok(["detach-device", "hp1", ctrl, "--live"], /Device detached successfully/);
  for (let i = 0; /<controller type='scsi' index='3'/.test(await ok(["dumpxml", "hp1"])); i++) {
    assert.ok(i < 300, "the controller leaves the live XML");
    await new Promise((r) => setTimeout(r, 100));
  }
  await fails(
    ["detach-device", "hp1", ctrl, "--live"],
    `error: Failed to detach device from ${ctrl}\nerror: device not found: controller scsi:3 not found\n`,
  );

  // CD-ROM media change and eject (update-device), seen by domblklist.
  const cdXml = (src: string) =>
    `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>${src}<target dev='sda' bus='scsi'/><readonly/></disk>`;
  await ok(
    ["update-device", "hp1", dev("cd2.xml", cdXml(`<source file='${cd2}'/>`)), "--live"],
    /Device updated successfully/,
  );
  await ok(["domblklist", "hp1"], new RegExp(`sda\\s+${cd2}`));
  await ok(["domblkinfo", "hp1", "sda"], /Capacity:\s+1048576/);
  await ok(["update-device", "hp1", dev("eject.xml", cdXml("")), "--live"]);
  await ok(["domblklist", "hp1"], /sda\s+-/);
  // change-media (virsh's own XML edit of the CD-ROM element, then update-device).
  await ok(["change-media", "hp1", "sda", cd1, "--insert", "--live"], /Successfully inserted media\./);
  await ok(["domblklist", "hp1"], new RegExp(`sda\\s+${cd1}`));

  // tsvirsh's attach-disk/detach-disk through the same daemon print what virsh prints.
  const d4 = img("d4.raw", 4);
  assert.deepEqual(
    await tsvirsh(["attach-disk", "hp1", d4, "sde", "--targetbus", "scsi", "--subdriver", "raw", "--live"]),
    {
      out: "Disk attached successfully\n\n",
      err: "",
      code: 0,
    },
  );
  await ok(["domblkinfo", "hp1", "sde"], /Capacity:\s+4194304/);
  assert.deepEqual(await tsvirsh(["detach-disk", "hp1", "sde", "--live"]), {
    out: "Disk detached successfully\n\n",
    err: "",
    code: 0,
  });
  assert.deepEqual(await tsvirsh(["change-media", "hp1", "sda", "--eject"]), {
    out: "Successfully ejected media.\n\n",
    err: "",
    code: 0,
  });
  await ok(["domblklist", "hp1"], /sda\s+-/);
  assert.deepEqual(await tsvirsh(["detach-disk", "hp1", "sde", "--live"]), {
    out: "\n",
    err: "error: No disk found whose source path or target is sde\n",
    code: 1,
  });

  // The daemon goes away and comes back: the hot-added devices are still in the live XML.
  daemon.kill("SIGKILL");
  await new Promise((r) => daemon.once("exit", r));
  daemon = await daemons.start();
  live = await ok(["dumpxml", "hp1"]);
  for (const target of ["vdb", "sdc", "sdd"]) assert.match(live, new RegExp(`<target dev='${target}'`));

  await fails(
    ["detach-device", "hp1", join(root, "vdz.xml"), "--live"],
    `error: Failed to detach device from ${join(root, "vdz.xml")}\nerror: device not found: disk vdz not found\n`,
  );
  // virsh event sees the device-removed events (what virt-manager refreshes its view on).
  const watcher = spawn(
    "virsh",
    ["-c", uri, "event", "hp1", "--event", "device-removed", "--loop", "--timeout", "120"],
    {
      env: { ...process.env, LC_ALL: "C" },
    },
  );
  children.push(watcher); // killed in after() if an assertion stops the test first
  let eventsOut = "";
  watcher.stdout.on("data", (b: Buffer) => {
    eventsOut += b.toString();
  });
  await new Promise((r) => setTimeout(r, 1000)); // registered before the first unplug
  await ok(["detach-disk", "hp1", "sdc", "--live"], /Disk detached successfully/);
  await ok(["detach-disk", "hp1", "sdd", "--live"], /Disk detached successfully/);
  await ok(["detach-disk", "hp1", "vdb", "--live"], /Disk detached successfully/);
  await ok(
    ["detach-interface", "hp1", "user", "--mac", "52:54:00:12:34:56", "--live"],
    /Interface detached successfully/,
  );
  // A PCI unplug needs the guest's ACPI handling: libvirt (and we) may report success after 5 s and
  // drop the device when QEMU says DEVICE_DELETED.
  for (let i = 0; ; i++) {
    live = await ok(["dumpxml", "hp1"]);
    if (!/vdb|52:54:00:12:34:56/.test(live)) break;
    assert.ok(i < 300, "vdb and the NIC leave the live XML once the guest lets go");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.doesNotMatch(live, /sdc|sdd/);
  for (let i = 0; i < 300 && !eventsOut.includes("virtio-disk1"); i++)
    await new Promise((r) => setTimeout(r, 100));
  watcher.kill("SIGINT");
  for (const alias of ["scsi0-0-0-2", "usb-disk3", "virtio-disk1", "net0"]) {
    assert.match(eventsOut, new RegExp(`event 'device-removed' for domain 'hp1': ${alias}\n`));
  }
  // The same target and MAC can be used again: QEMU let go of the nodes and the netdev.
  await ok(["attach-disk", "hp1", d1, "vdb", "--live", "--subdriver", "raw"]);
  await ok(["domblkinfo", "hp1", "vdb"], /Capacity:\s+3145728/);
  await ok(["attach-device", "hp1", nic, "--live"]);
  await ok(["destroy", "hp1"], /destroyed/);
  con.close();
  assert.doesNotMatch(await ok(["dumpxml", "hp1"]), /vdb|52:54:00:12:34:56/);
  await ok(["undefine", "hp1"]);
});

function canUnshare(): boolean {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/unshare") || !existsSync("/usr/sbin/ip"))
    return false;
  return spawnSync("unshare", ["-n", "true"]).status === 0;
}

test("a type='bridge' NIC hotplugged into a running guest: tap on the bridge, gone after unplug", (t) => {
  const why = !existsSync(QEMU)
    ? "qemu-system-x86_64 not installed"
    : (guestUnavailable() ?? (canUnshare() ? undefined : "needs root and unshare -n"));
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(root, "bridge-"));
  const r = spawnSync(
    "unshare",
    ["-n", process.execPath, "--import", "tsx", join("tests", "guest", "hotplug-bridge-scenario.ts"), dir],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.error, undefined);
  assert.equal(out.master, "br0");
  assert.equal(out.operstateUp, true);
  assert.match(
    out.dumpxml,
    /<interface type='bridge'>\s*<mac address='52:54:00:00:00:09'\/>\s*<source bridge='br0'\/>\s*<target dev='vnet0'\/>\s*<model type='virtio'\/>/,
  );
  assert.equal(out.rxFilter[0]["main-mac"], "52:54:00:00:00:09");
  assert.doesNotMatch(out.afterDetach, /52:54:00:00:00:09/);
  assert.equal(out.tapGone, true);
});

test("q35: PCI devices go to free pcie-root-ports (libvirt's bus numbering), none left is refused", async (t) => {
  const why = !existsSync(QEMU) ? "qemu-system-x86_64 not installed" : guestUnavailable();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(root, "q35-"));
  const st = await createQemuDriverState({
    uri: "qemu:///system",
    configDir: join(dir, "etc"),
    libDir: join(dir, "lib"),
    runDir: join(dir, "run"),
    emulators: [QEMU],
    autostart: false,
  });
  const drv = qemuHypervisorDriver(st);
  const g = buildGuest();
  const serial = join(dir, "serial.sock");
  const disk = join(dir, "q.raw");
  writeFileSync(disk, Buffer.alloc(2 << 20));
  const ref = await drv.domainCreateXML!(
    `<domain type='qemu'><name>hq</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices>
<controller type='pci' index='1' model='pcie-root-port'/><controller type='pci' index='2' model='pcie-root-port'/>
<controller type='usb' model='none'/><memballoon model='none'/>
<serial type='unix'><source mode='bind' path='${serial}'/><target port='0'/></serial></devices></domain>`,
    0,
  );
  try {
    const con = await SerialConsole.connect(serial);
    await con.waitFor(new RegExp(GUEST_READY), 90_000);
    const vdb = `<disk type='file'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vdb' bus='virtio'/></disk>`;
    await drv.domainAttachDeviceFlags!(ref, vdb, 1);
    const nic = "<interface type='user'><mac address='52:54:00:00:00:35'/><model type='virtio'/></interface>";
    await drv.domainAttachDeviceFlags!(ref, nic, 1);
    const xml = await drv.domainGetXMLDesc!(ref, 0);
    assert.match(
      xml,
      /<target dev='vdb' bus='virtio'\/>\s*<alias name='virtio-disk1'\/>\s*<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'\/>/,
    );
    assert.match(
      xml,
      /<mac address='52:54:00:00:00:35'\/>\s*<model type='virtio'\/>\s*<alias name='net0'\/>\s*<address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'\/>/,
    );
    assert.equal((await drv.domainGetBlockInfo!(ref, "vdb", 0)).capacity, 2 << 20);
    await assert.rejects(
      drv.domainAttachDeviceFlags!(
        ref,
        "<interface type='user'><mac address='52:54:00:00:00:36'/><model type='virtio'/></interface>",
        1,
      ),
      (e: Error) => e.message === "internal error: No more available PCI slots",
    );
    // Out again: the port is free for the next device.
    await drv.domainDetachDeviceFlags!(ref, vdb, 1);
    for (let i = 0; (await drv.domainGetXMLDesc!(ref, 0)).includes("vdb"); i++) {
      assert.ok(i < 300, "vdb leaves the live XML");
      await new Promise((r) => setTimeout(r, 100));
    }
    await drv.domainAttachDeviceFlags!(
      ref,
      "<interface type='user'><mac address='52:54:00:00:00:36'/><model type='virtio'/></interface>",
      1,
    );
    assert.match(
      await drv.domainGetXMLDesc!(ref, 0),
      /<mac address='52:54:00:00:00:36'\/>\s*<model type='virtio'\/>\s*<alias name='net1'\/>\s*<address type='pci' domain='0x0000' bus='0x01'/,
    );
    con.close();
  } finally {
    await drv.domainDestroyFlags!(ref, 0).catch(() => {});
  }
});
