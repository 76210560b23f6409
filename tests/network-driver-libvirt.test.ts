// libvirt 9.0 as the oracle for the dnsmasq files: each tests/data/network-dnsmasq network is
// started on a private libvirtd (its own mount and network namespaces, bench/peers/libvirtd.ts)
// and the conf, hosts and addn-hosts files it writes are compared with our generators' output.
// Also the defined XML (net-dumpxml) against ours. Known difference: our conf names dhcp-leasefile= (libvirt 9.0 uses its lease helper script).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { parseNetworkXML } from "../src/conf/network/index.js";
import { createNetworkDriverState, dnsmasqFiles, hostNetworkDriver } from "../src/drivers/network/index.js";

const DIR = join(import.meta.dirname, "data", "network-dnsmasq");
const why =
  libvirtdUnavailable() ??
  ["/usr/bin/virsh", "/usr/sbin/dnsmasq", "/usr/sbin/iptables"].find((p) => !existsSync(p)) ??
  null;

/** Our files with libvirt's paths, without the one line libvirt 9.0 does not write. */
function ours(xml: string) {
  const def = parseNetworkXML(xml);
  const n = def.name;
  const f = dnsmasqFiles(def, def.bridge.name!, {
    pidFile: `/run/libvirt/network/${n}.pid`,
    leaseFile: "",
    hostsFile: `/var/lib/libvirt/dnsmasq/${n}.hostsfile`,
    addnHostsFile: `/var/lib/libvirt/dnsmasq/${n}.addnhosts`,
  });
  return { name: n, ...f, conf: f.conf.replace(/^dhcp-leasefile=.*\n/m, "") };
}

test("dnsmasq files identical to libvirt 9.0's for every network-dnsmasq case", {
  skip: why ?? false,
  timeout: 60_000,
}, async (t) => {
  const peer = await startLibvirtd();
  const uri = peer.uri("qemu");
  const virsh = (...a: string[]) => spawnSync("virsh", ["-c", uri, ...a], { encoding: "utf8" });
  let same = 0;
  let xmlSame = 0;
  const root = mkdtempSync(join(tmpdir(), "tsvirt-netx-"));
  // Every case names its bridge, so defining never looks at the host's links.
  const drv = hostNetworkDriver(
    await createNetworkDriverState({
      configDir: join(root, "etc"),
      runDir: join(root, "run"),
      defaultNetwork: false,
      autostart: false,
    }),
  );
  const differ: string[] = [];
  const cases = readdirSync(DIR).filter((f) => f.endsWith(".xml"));
  try {
    for (const c of cases) {
      const xml = readFileSync(join(DIR, c), "utf8");
      const o = ours(xml);
      const d = virsh("net-define", join(DIR, c));
      assert.equal(d.status, 0, `${c}: ${d.stderr}`);
      // Defined XML (bridge driver defaults: stp/delay, a generated MAC) as libvirt prints it.
      const ref = await drv.networkDefineXMLFlags!(xml, 0);
      const mine = `${await drv.networkGetXMLDesc!(ref, 0)}\n`;
      await drv.networkUndefine!(ref);
      const noMac = (x: string) => x.replace(/<mac address='52:54:00:[0-9a-f:]{8}'\/>/, "<mac/>");
      if (noMac(mine) === noMac(virsh("net-dumpxml", o.name).stdout)) xmlSame++;
      else differ.push(`${c}: net-dumpxml differs`);
      const r = virsh("net-start", o.name);
      try {
        assert.equal(r.status, 0, r.stderr);
        const lib = join(peer.layout.lib, "dnsmasq");
        const read = (ext: string) => {
          const p = join(lib, `${o.name}.${ext}`);
          return existsSync(p) ? readFileSync(p, "utf8") : "";
        };
        const diff = (
          [
            ["conf", o.conf],
            ["hostsfile", o.hosts],
            ["addnhosts", o.addnHosts],
          ] as const
        ).filter(([ext, text]) => text !== read(ext));
        if (diff.length === 0) same++;
        else
          differ.push(
            `${c}: ${diff.map(([ext, text]) => `${ext}\n--- ours\n${text}--- libvirt\n${read(ext)}`).join("\n")}`,
          );
      } finally {
        virsh("net-destroy", o.name);
        virsh("net-undefine", o.name);
      }
    }
  } finally {
    await peer.stop();
    rmSync(root, { recursive: true, force: true });
  }
  t.diagnostic(`${xmlSame}/${cases.length} networks: defined XML identical to libvirt 9.0 (MAC aside)`);
  t.diagnostic(`${same}/${cases.length} networks: conf, hostsfile and addnhosts identical to libvirt 9.0`);
  assert.deepEqual(differ, []);
});
