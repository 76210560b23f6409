// Device aliases in the live XML (libvirt 9.0's qemuAssignDeviceAliases) and <link state='down'/>
// applied at start. The oracle is real libvirt: tests/data/qemu-live-xml/<case>.libvirt-live.xml
// (and -attached, -inactive) recorded by scripts/oracle/qemu-live-xml.ts from a private libvirtd
// that ran the same domain. Pure checks first, then one TCG guest through tsvirtd with real virsh.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type DomainDef, formatDomainXML, parseDomainXML } from "../src/conf/domain/index.js";
import {
  aliasIndex,
  applyAliases,
  assignDeviceAliases,
  collectAliases,
  controllerAlias,
  nextNetAlias,
} from "../src/drivers/qemu/domain-aliases.js";
import { qemuPostParse, xmlNamesArch } from "../src/drivers/qemu/domain-post-parse.js";
import { attr, elements, parseXml, type XmlElement } from "../src/xml/index.js";
import { buildGuest, guestUnavailable } from "./guest/build-guest.js";
import { listCases, loadCaps, runCase } from "./guest/xml2argv-cases.js";
import { CASE_DIR } from "./guest/xml2argv-cases.js";
import { haveVirsh, RootDaemon, virsh } from "./guest/root-daemon.js";

const DATA = join(import.meta.dirname, "data", "qemu-live-xml");
const QEMU = "/usr/bin/qemu-system-x86_64";
const HOTPLUG_NIC =
  "<interface type='user'><mac address='52:54:00:aa:00:09'/><model type='virtio'/></interface>\n";

/** Devices libvirt adds in post-parse that tsvirt's QEMU post-parse does not add yet, per case. */
const NOT_MODELLED: Record<string, string[]> = {
  "pc-devices": [],
  "q35-devices": [],
  "pc-generic": [],
};

/** device key → alias, for every device under <devices> (keys: kind and what identifies it). */
function aliasesOf(xml: string): Map<string, string | undefined> {
  const root = parseXml(xml);
  const devices = elements(root).find((e) => e.name === "devices");
  assert.ok(devices, "no <devices>");
  const out = new Map<string, string | undefined>();
  const count = new Map<string, number>();
  for (const e of elements(devices)) {
    if (e.name === "emulator" || e.name === "audio" || e.name === "graphics") continue;
    const sub = (name: string) => elements(e).find((c) => c.name === name);
    let key: string;
    const target = sub("target");
    if (e.name === "disk") key = `disk ${target && attr(target, "dev")}`;
    else if (e.name === "interface") key = `interface ${attr(sub("mac") as XmlElement, "address")}`;
    else if (e.name === "controller") key = `controller ${attr(e, "type")}/${attr(e, "index")}`;
    else if (e.name === "input") key = `input ${attr(e, "type")}/${attr(e, "bus")}`;
    else {
      const n = count.get(e.name) ?? 0;
      count.set(e.name, n + 1);
      key = `${e.name} #${n}`;
    }
    const a = sub("alias");
    out.set(key, a ? attr(a, "name") : undefined);
  }
  return out;
}

function readCase(name: string): string {
  return readFileSync(join(DATA, `${name}.xml`), "utf8");
}

/** The case as the QEMU driver parses it (the caps of the xml2argv suite). */
function parseCase(xml: string): DomainDef {
  const def = parseDomainXML(xml, { noIfnames: true });
  qemuPostParse(def, loadCaps("live"), xmlNamesArch(xml));
  return def;
}

/** Compares our aliases with libvirt's: same alias per device, libvirt's extra devices only the known ones. */
function compareWithLibvirt(
  name: string,
  ours: Map<string, string | undefined>,
  libvirt: Map<string, string | undefined>,
) {
  const diffs: string[] = [];
  for (const [k, a] of ours) {
    if (!libvirt.has(k)) diffs.push(`${k}: not in libvirt's live XML`);
    else if (libvirt.get(k) !== a) diffs.push(`${k}: ours ${a}, libvirt ${libvirt.get(k)}`);
  }
  const missing = [...libvirt.keys()].filter((k) => !ours.has(k));
  assert.deepEqual(diffs, []);
  assert.deepEqual(missing, NOT_MODELLED[name]);
}

test("aliases of a pc domain with many device kinds are libvirt 9.0's", () => {
  const def = parseCase(readCase("pc-devices"));
  assignDeviceAliases(def);
  const ours = aliasesOf(formatDomainXML(def, { id: 1 }));
  const libvirt = aliasesOf(readFileSync(join(DATA, "pc-devices.libvirt-live.xml"), "utf8"));
  compareWithLibvirt("pc-devices", ours, libvirt);
  // Spot checks of the rules, so a wrong golden cannot pass silently.
  assert.equal(ours.get("disk hdc"), "ide0-1-0");
  assert.equal(ours.get("disk sdb"), "usb-disk1");
  assert.equal(ours.get("interface 52:54:00:aa:00:02"), "ua-nic2");
  assert.equal(ours.get("interface 52:54:00:aa:00:03"), "net1");
  assert.equal(ours.get("console #0"), "serial0");
  assert.equal(ours.get("console #1"), "console1");
});

test("aliases of a q35 domain (SATA, pcie-root-ports, virtio input and video) are libvirt 9.0's", () => {
  const def = parseCase(readCase("q35-devices"));
  assignDeviceAliases(def);
  const ours = aliasesOf(formatDomainXML(def, { id: 1 }));
  compareWithLibvirt(
    "q35-devices",
    ours,
    aliasesOf(readFileSync(join(DATA, "q35-devices.libvirt-live.xml"), "utf8")),
  );
  assert.equal(ours.get("disk sdc"), "sata0-0-2");
  assert.equal(ours.get("controller sata/0"), "ide");
  assert.equal(ours.get("controller pci/0"), "pcie.0");
  const attached = aliasesOf(readFileSync(join(DATA, "q35-devices.libvirt-attached.xml"), "utf8"));
  assert.equal(attached.get("interface 52:54:00:aa:00:09"), nextNetAlias(def));
});

test("aliases of devices kept as verbatim XML (sound, watchdog, hub, rng) and parallel ports are libvirt's", () => {
  // tsvirt does not start these device kinds yet; their aliases follow libvirt's rules all the same.
  const def = parseCase(readCase("pc-generic"));
  assignDeviceAliases(def);
  const ours = aliasesOf(formatDomainXML(def, { id: 1 }));
  compareWithLibvirt(
    "pc-generic",
    ours,
    aliasesOf(readFileSync(join(DATA, "pc-generic.libvirt-live.xml"), "utf8")),
  );
  assert.equal(ours.get("rng #1"), "rng0");
  assert.equal(ours.get("sound #1"), "sound1");
  // <alias> sits where libvirt writes it: after the device's own children, before <address>.
  const live = formatDomainXML(def, { id: 1 });
  assert.match(live, /<backend model='random'>\/dev\/urandom<\/backend>\s*<alias name='rng0'\/>/);
  const attached = aliasesOf(readFileSync(join(DATA, "pc-generic.libvirt-attached.xml"), "utf8"));
  assert.equal(attached.get("interface 52:54:00:aa:00:09"), nextNetAlias(def));
  assert.equal(nextNetAlias(def), "net0");
});

test("no runtime alias in the persistent definition: define/--inactive drop them, ua-* stay", () => {
  const def = parseCase(readCase("pc-devices"));
  assignDeviceAliases(def);
  const again = parseCase(formatDomainXML(def, { inactive: true }));
  const kept = [...aliasesOf(formatDomainXML(again, { inactive: true })).values()].filter((a) => a);
  assert.deepEqual(kept, ["ua-nic2"]);
});

test("status round trip: collect → re-parse → apply gives the same live XML", () => {
  for (const name of ["pc-devices", "q35-devices", "pc-generic"]) {
    const def = parseCase(readCase(name));
    assignDeviceAliases(def);
    const live = formatDomainXML(def, { id: 3 });
    const saved = JSON.parse(JSON.stringify(collectAliases(def))) as [string, string][];
    const back = parseCase(formatDomainXML(def, { inactive: true }));
    assert.notEqual(formatDomainXML(back, { id: 3 }), live, `${name}: the parser drops runtime aliases`);
    applyAliases(back, saved);
    assert.equal(formatDomainXML(back, { id: 3 }), live, name);
    // Assigning again changes nothing (aliases are given once, at start).
    assignDeviceAliases(back);
    assert.equal(formatDomainXML(back, { id: 3 }), live, name);
  }
});

test("a NIC hot-plugged into libvirt's running domain got the alias nextNetAlias gives", () => {
  const attached = aliasesOf(readFileSync(join(DATA, "pc-devices.libvirt-attached.xml"), "utf8"));
  const def = parseCase(readCase("pc-devices"));
  assignDeviceAliases(def);
  assert.equal(attached.get("interface 52:54:00:aa:00:09"), nextNetAlias(def));
  assert.equal(nextNetAlias(def), "net2");
});

test("alias rules: indexes, controllers on pc and q35", () => {
  assert.equal(aliasIndex("net12", "net"), 12);
  assert.equal(aliasIndex("net1x", "net"), -1);
  assert.equal(aliasIndex("ua-net1", "net"), -1);
  assert.equal(aliasIndex(undefined, "net"), -1);
  const q35 = parseCase(
    "<domain type='qemu'><name>q</name><memory>65536</memory><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>",
  );
  const c = (type: string, index: number, model?: string) => ({
    type,
    index,
    model,
    attrs: [],
    children: [],
  });
  assert.equal(controllerAlias(q35, c("pci", 0, "pcie-root")), "pcie.0");
  assert.equal(controllerAlias(q35, c("pci", 3, "pcie-root-port")), "pci.3");
  assert.equal(controllerAlias(q35, c("sata", 0)), "ide");
  assert.equal(controllerAlias(q35, c("sata", 1)), "sata1");
  assert.equal(controllerAlias(q35, c("ide", 0)), "ide0");
  assert.equal(controllerAlias(q35, c("usb", 0, "qemu-xhci")), "usb");
  assert.equal(controllerAlias(q35, c("usb", 1, "qemu-xhci")), "usb1");
  assert.equal(controllerAlias(q35, c("scsi", 0, "ncr53c90")), "scsi");
  assert.equal(controllerAlias(q35, c("scsi", 1, "virtio-scsi")), "scsi1");
});

test("every alias of an xml2argv case names the QEMU device the argv builder made", () => {
  const problems: string[] = [];
  let checked = 0;
  for (const name of listCases()) {
    const r = runCase(name);
    if (r.kind !== "args") continue;
    const xml = readFileSync(join(CASE_DIR, `${name}.xml`), "utf8");
    const def = parseCase(xml);
    assignDeviceAliases(def);
    const ids = new Set<string>();
    const buses = new Set<string>();
    for (let i = 0; i + 1 < r.argv.length; i++) {
      if (r.argv[i] !== "-device") continue;
      const p = JSON.parse(r.argv[i + 1]!) as { id?: string; bus?: string };
      if (p.id) ids.add(p.id);
      if (p.bus) buses.add(p.bus.replace(/\.\d+$/, ""));
    }
    const want = (what: string, alias: string | undefined, needDevice = true) => {
      if (alias === undefined || alias.startsWith("ua-")) return;
      checked++;
      if (needDevice ? !ids.has(alias) : !ids.has(alias) && !buses.has(alias) && !buses.has(`${alias}.0`))
        problems.push(`${name}: ${what} alias ${alias} is no QEMU device id`);
    };
    const d = def.devices;
    for (const x of d.disks) want(`disk ${x.target.dev}`, x.alias);
    for (const x of d.interfaces) want(`interface ${x.mac}`, x.alias);
    // Built-in controllers (pci.0, pcie.0, ide, the PC's floppy controller) are QEMU's own buses,
    // named in bus= only when used (floppies name no bus at all).
    for (const x of d.controllers) {
      if (x.index === 0 && ["pci", "ide", "sata", "fdc"].includes(x.type)) continue;
      if (x.type === "usb" && x.model === "none") continue;
      want(`controller ${x.type}${x.index}`, x.alias);
    }
    for (const x of d.serials) want("serial", x.alias);
    for (const x of d.channels) want("channel", x.alias);
    d.consoles.forEach((x, i) => {
      const t = x.target?.attrs.find(([k]) => k === "type")?.[1] ?? "serial";
      if (t !== "serial" || i > 0) want("console", x.alias);
    });
    for (const x of d.inputs) if (x.bus !== "ps2" && x.bus !== undefined) want("input", x.alias);
    for (const x of d.videos) if (x.model.type !== "none") want("video", x.alias);
    if (d.memballoon && d.memballoon.model !== "none") want("memballoon", d.memballoon.alias);
  }
  assert.ok(checked > 50, `only ${checked} aliases checked`);
  assert.deepEqual(problems, []);
});

// --- one TCG guest through tsvirtd and real virsh ---

const root = mkdtempSync(join(tmpdir(), "tsvirtd-livexml-"));
const daemons = new RootDaemon(root);
after(() => {
  daemons.killAll(["live-aliases"]);
  rmSync(root, { recursive: true, force: true });
});

test("tsvirtd: live XML aliases as libvirt's, kept over kill -9, link down applied, hotplug alias", async (t) => {
  const why = !haveVirsh()
    ? "virsh not installed"
    : !existsSync(QEMU)
      ? "qemu not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  const uri = daemons.uri;
  const g = buildGuest();
  for (const f of ["vda.raw", "sda.raw", "sdb.raw"]) writeFileSync(join(root, f), Buffer.alloc(1 << 20));
  let xml = readCase("pc-devices");
  for (const [k, v] of [
    ["@DIR@", root],
    ["@KERNEL@", g.kernel],
    ["@INITRD@", g.initrd],
    ["@CMDLINE@", g.cmdline],
  ] as const)
    xml = xml.split(k).join(v);
  writeFileSync(join(root, "dom.xml"), xml);
  writeFileSync(join(root, "nic.xml"), HOTPLUG_NIC);
  const ok = async (args: string[]) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}${r.err}`);
    return r.out;
  };
  const libvirt = aliasesOf(readFileSync(join(DATA, "pc-devices.libvirt-live.xml"), "utf8"));
  let daemon = await daemons.start();
  await ok(["define", join(root, "dom.xml")]);
  const before = await ok(["dumpxml", "live-aliases"]);
  assert.deepEqual(
    [...aliasesOf(before).values()].filter((a) => a),
    ["ua-nic2"],
    "an inactive domain has only user aliases",
  );
  await ok(["start", "live-aliases"]);
  const live = await ok(["dumpxml", "live-aliases"]);
  compareWithLibvirt("pc-devices", aliasesOf(live), libvirt);
  // The persistent definition of the running domain has none of them.
  const inactive = await ok(["dumpxml", "--inactive", "live-aliases"]);
  assert.deepEqual(
    [...aliasesOf(inactive).values()].filter((a) => a),
    ["ua-nic2"],
  );
  // <link state='down'/> reached QEMU at start and is reported as libvirt does.
  assert.match(await ok(["domif-getlink", "live-aliases", "52:54:00:aa:00:01"]), /52:54:00:aa:00:01 down/);
  assert.match(await ok(["domif-getlink", "live-aliases", "52:54:00:aa:00:03"]), /52:54:00:aa:00:03 up/);

  // A live NIC gets libvirt's next alias (net2, as the recorded libvirt run gave).
  await ok(["attach-device", "live-aliases", join(root, "nic.xml"), "--live"]);
  const attached = aliasesOf(await ok(["dumpxml", "live-aliases"]));
  const want = aliasesOf(readFileSync(join(DATA, "pc-devices.libvirt-attached.xml"), "utf8"));
  assert.equal(attached.get("interface 52:54:00:aa:00:09"), want.get("interface 52:54:00:aa:00:09"));

  // kill -9 and a new daemon: the aliases come back from the status file unchanged.
  daemon.kill("SIGKILL");
  await new Promise((r) => daemon.once("exit", r));
  daemon = await daemons.start();
  const after9 = await ok(["dumpxml", "live-aliases"]);
  assert.deepEqual(aliasesOf(after9), attached);
  assert.match(await ok(["domif-getlink", "live-aliases", "52:54:00:aa:00:01"]), /down/);
  await ok(["destroy", "live-aliases"]);
  const off = await ok(["dumpxml", "live-aliases"]);
  assert.deepEqual(
    [...aliasesOf(off).values()].filter((a) => a),
    ["ua-nic2"],
  );
  await ok(["undefine", "live-aliases"]);
  daemon.kill("SIGTERM");
  await new Promise((r) => daemon.once("exit", r));
});
