// A definition's secrets (here a VNC password) survive every path that re-formats the definition
// inside the QEMU driver: a --config device attach, a snapshot (its <domain> copy, as libvirt's
// virDomainDefCopy keeps secure parts) and a revert to it. Before, each of those formatted the
// definition without its secure parts and re-parsed it: the password was silently dropped, and
// the next start gave an open VNC display. Real virsh against tsvirtd; no guest is started.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTsvirtd, type TsvirtdProcess, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

const have = (bin: string) => spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0;
const why =
  tsvirtdUnavailable() ??
  (!have("virsh") ? "virsh not installed" : null) ??
  (!have("qemu-img") ? "qemu-img not installed" : null);

let dir = "";
let daemon: TsvirtdProcess | undefined;

function virsh(...argv: string[]): string {
  const r = spawnSync("virsh", ["-q", "-c", daemon!.uri("qemu"), ...argv], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 0, `virsh ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (why) return;
  dir = mkdtempSync(join(tmpdir(), "qemu-secure-def-"));
  daemon = await startTsvirtd({ args: ["--http", "off"] });
});
after(async () => {
  await daemon?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a VNC password survives attach --config, snapshot-create and snapshot-revert", (t) => {
  if (why) return t.skip(why);
  const disk = join(dir, "a.qcow2");
  const extra = join(dir, "b.qcow2");
  for (const f of [disk, extra]) execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", f, "16M"]);
  const xml = join(dir, "d.xml");
  const dev = join(dir, "dev.xml");
  execFileSync("sh", [
    "-c",
    `cat > ${xml} <<'EOF'
<domain type='qemu'>
  <name>sec1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'/>
  </devices>
</domain>
EOF
cat > ${dev} <<'EOF'
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${extra}'/><target dev='vdb' bus='virtio'/></disk>
EOF`,
  ]);
  const secure = () => virsh("dumpxml", "sec1", "--inactive", "--security-info");
  virsh("define", xml);
  assert.match(secure(), /passwd='s3cret'/);
  // the plain dumpxml never shows it
  assert.doesNotMatch(virsh("dumpxml", "sec1", "--inactive"), /s3cret/);

  virsh("attach-device", "sec1", dev, "--config");
  const afterAttach = secure();
  assert.match(afterAttach, /dev='vdb'/);
  assert.match(afterAttach, /passwd='s3cret'/, "attach-device --config dropped the password");

  virsh("snapshot-create-as", "sec1", "s1");
  assert.match(virsh("snapshot-dumpxml", "sec1", "s1", "--security-info"), /passwd='s3cret'/);
  assert.doesNotMatch(virsh("snapshot-dumpxml", "sec1", "s1"), /s3cret/);

  virsh("snapshot-revert", "sec1", "s1");
  assert.match(secure(), /passwd='s3cret'/, "snapshot-revert dropped the password");
});
