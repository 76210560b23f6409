// A disk's network backing store is printed as libvirt 9.0 prints the disk's own network source:
// attributes in libvirt's order (protocol first), transport='tcp' left out, and a host without a
// port given its protocol's default one. Compared with real virsh on test:///default.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const TSVIRSH = join(resolve(import.meta.dirname, ".."), "dist/bin/tsvirsh.js");

const domain = (source: string) => `<domain type='test'>
  <name>b1</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory>1024</memory>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/top.qcow2'/>
      <backingStore type='network'><format type='raw'/>${source}</backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>`;

const CASES = {
  "name before protocol, no port": "<source name='y' protocol='http'><host name='h'/></source>",
  "transport tcp, tls": "<source name='y' protocol='nbd' tls='yes'><host name='h' transport='tcp'/></source>",
  "port 0":
    "<source protocol='iscsi' name='iqn.2013-07.com.example:iscsi/1'><host name='h' port='0'/></source>",
};

test("network backing stores print as libvirt's virsh shows them", (t) => {
  if (!existsSync(TSVIRSH)) return t.skip("dist is not built");
  if (spawnSync("sh", ["-c", "command -v virsh"]).status !== 0) return t.skip("virsh is not installed");
  const dir = mkdtempSync(join(tmpdir(), "backing-network-"));
  try {
    for (const [name, source] of Object.entries(CASES)) {
      const file = join(dir, "d.xml");
      writeFileSync(file, domain(source));
      const script = `define ${file}; dumpxml b1`;
      const want = execFileSync("virsh", ["-c", "test:///default", script], { encoding: "utf8" });
      const got = execFileSync(process.execPath, [TSVIRSH, "-c", "test:///default", script], {
        encoding: "utf8",
      });
      assert.equal(got, want, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
