// A disk's network backing store is printed as libvirt 9.0 prints the disk's own network source:
// attributes in libvirt's order (protocol first), transport='tcp' left out, and a host without a
// port given its protocol's default one; it is refused for what the disk's own source is refused
// for, and a backing store of any type keeps only its type's parts. Compared with real virsh on
// test:///default (output, errors and exit status).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const TSVIRSH = join(resolve(import.meta.dirname, ".."), "dist/bin/tsvirsh.js");

const domain = (source: string, type = "network") => `<domain type='test'>
  <name>b1</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory>1024</memory>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/top.qcow2'/>
      <backingStore type='${type}'><format type='raw'/>${source}</backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>`;

const CASES: Record<string, string> = {
  "name before protocol, no port": "<source name='y' protocol='http'><host name='h'/></source>",
  "transport tcp, tls": "<source name='y' protocol='nbd' tls='yes'><host name='h' transport='tcp'/></source>",
  "port 0":
    "<source protocol='iscsi' name='iqn.2013-07.com.example:iscsi/1'><host name='h' port='0'/></source>",
  // refused as the disk's own network source is
  "bogus protocol": "<source protocol='bogus' name='y'><host name='h'/></source>",
  "bogus tls": "<source protocol='nbd' tls='maybe'><host name='h'/></source>",
  "no name": "<source protocol='https'><host name='h'/></source>",
  "rbd name without a pool": "<source protocol='rbd' name='image'><host name='h'/></source>",
  "credentials nbd cannot take":
    "<source protocol='nbd'><host name='h'/><auth username='u'><secret type='iscsi' usage='x'/></auth></source>",
  // a protocol's own children only: query, ssl, readahead for https; no seclabel on a network source
  "https with everything":
    "<source protocol='https' name='/a' query='q=1' file='/f' tls='no'><host name='h'/><ssl verify='no'/><readahead size='0'/><timeout seconds='9'/><seclabel model='dac' relabel='no'/><cookies><cookie name='c'>v</cookie></cookies><foo/></source>",
};

/** Backing stores of another type holding a network source's parts: only the type's own are kept. */
const TYPE_CASES: Record<string, string> = {
  file: "<source file='/b.raw' protocol='nbd' name='x' dev='/dev/sdb'><host name='h'/><slices><slice size='512' offset='0' type='storage'/></slices></source>",
  block: "<source dev='/dev/sdb' protocol='nbd' file='/b'><host name='h'/></source>",
  dir: "<source protocol='nbd' name='x'><host name='h'/></source>",
  volume:
    "<source pool='p' volume='v' mode='host' protocol='nbd'><host name='h'/><auth username='u'><secret type='iscsi' usage='x'/></auth></source>",
  nvme: "<source type='pci' namespace='1' protocol='nbd'><address type='pci' domain='0' bus='1' slot='0' function='0'/><host name='h'/></source>",
  vhostuser: "<source type='unix' path='/s' file='/f'><reconnect timeout='10' enabled='yes'/></source>",
};

/** `define FILE; dumpxml --security-info b1` through a program: its output, errors and status. */
function run(argv: string[], file: string): string {
  const r = spawnSync(
    argv[0]!,
    [...argv.slice(1), "-c", "test:///default", `define ${file}; dumpxml --security-info b1`],
    {
      encoding: "utf8",
    },
  );
  return `${r.status}\n${r.stdout}${r.stderr}`;
}

test("network backing stores print as libvirt's virsh shows them", (t) => {
  if (!existsSync(TSVIRSH)) return t.skip("dist is not built");
  if (spawnSync("sh", ["-c", "command -v virsh"]).status !== 0) return t.skip("virsh is not installed");
  const dir = mkdtempSync(join(tmpdir(), "backing-network-"));
  try {
    const all = [
      ...Object.entries(CASES).map(([n, s]) => [n, domain(s)] as const),
      ...Object.entries(TYPE_CASES).map(([t, s]) => [`type ${t}`, domain(s, t)] as const),
    ];
    for (const [name, xml] of all) {
      const file = join(dir, "d.xml");
      writeFileSync(file, xml);
      const want = run(["virsh"], file);
      const got = run([process.execPath, TSVIRSH], file);
      assert.equal(got, want, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
