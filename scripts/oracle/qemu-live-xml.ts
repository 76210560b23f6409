// Records the live XML real libvirt 9.0 gives a running QEMU domain (a private libvirtd peer,
// bench/peers/libvirtd.ts): tests/data/qemu-live-xml/<case>.xml is started (virsh create --paused)
// and `virsh dumpxml` is written to <case>.libvirt-live.xml with host paths put back as the
// @DIR@/@KERNEL@/@INITRD@/@CMDLINE@ placeholders; also `dumpxml --inactive` of the running domain
// (.libvirt-inactive.xml) and the live XML after a live attach-interface (.libvirt-attached.xml).
// tests/qemu-live-xml.test.ts compares the device aliases tsvirtd shows with these.
// Run as root: node --import tsx scripts/oracle/qemu-live-xml.ts   (first run probes ~90 s)
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLibvirtd } from "../../bench/peers/libvirtd.js";
import { buildGuest } from "../../tests/guest/build-guest.js";

const dataDir = "tests/data/qemu-live-xml";
/** Attached live to every case; the test attaches the same NIC. */
export const HOTPLUG_NIC =
  "<interface type='user'><mac address='52:54:00:aa:00:09'/><model type='virtio'/></interface>\n";
const work = "/tmp/tsvirt-live-xml-oracle";
const cache = ".cache/libvirt-qemu-peer";
mkdirSync(cache, { recursive: true });
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const f of ["vda.raw", "sda.raw", "sdb.raw"]) {
  execFileSync("qemu-img", ["create", "-q", "-f", "raw", join(work, f), "16M"]);
}
const g = buildGuest();
const subst: [string, string][] = [
  ["@DIR@", work],
  ["@KERNEL@", g.kernel],
  ["@INITRD@", g.initrd],
  ["@CMDLINE@", g.cmdline],
];
const peer = await startLibvirtd({ cacheDir: cache });
const uri = peer.uri("qemu");
const virsh = (...args: string[]) =>
  new Promise<string>((resolve, reject) => {
    execFile("virsh", ["-q", "-c", uri, ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh ${args.join(" ")}: ${stderr.trim()}`));
      else resolve(stdout);
    });
  });
try {
  for (const f of readdirSync(dataDir)
    .filter((x) => x.endsWith(".xml") && !x.includes(".libvirt-"))
    .sort()) {
    const name = f.slice(0, -4);
    let xml = readFileSync(join(dataDir, f), "utf8");
    for (const [k, v] of subst) xml = xml.split(k).join(v);
    const tmp = join(work, f);
    writeFileSync(tmp, xml);
    await virsh("create", tmp, "--paused");
    const dom = /<name>([^<]+)<\/name>/.exec(xml)![1]!;
    const unsubst = (text: string) => {
      let out = text;
      for (const [k, v] of subst) out = out.split(v).join(k);
      return out;
    };
    const live = unsubst(await virsh("dumpxml", dom));
    // The persistent form of a running (transient) domain: which aliases libvirt keeps there.
    const inactive = unsubst(await virsh("dumpxml", "--inactive", dom));
    // A NIC hot-plugged into the running domain: the next free netN.
    const nic = join(work, "nic.xml");
    writeFileSync(nic, HOTPLUG_NIC);
    await virsh("attach-device", dom, nic, "--live");
    const attached = unsubst(await virsh("dumpxml", dom));
    await virsh("destroy", dom);
    writeFileSync(join(dataDir, `${name}.libvirt-live.xml`), live);
    writeFileSync(join(dataDir, `${name}.libvirt-inactive.xml`), inactive);
    writeFileSync(join(dataDir, `${name}.libvirt-attached.xml`), attached);
    console.log(`${name}: ${(live.match(/<alias /g) ?? []).length} aliases`);
  }
} finally {
  await peer.stop();
  rmSync(work, { recursive: true, force: true });
}
