// Records what real libvirt 9.0 (a private libvirtd peer, bench/peers/libvirtd.ts) makes of each
// qemu-xml2argv case: `virsh domxml-to-native qemu-argv` output into <case>.libvirt-args, or its
// error into <case>.libvirt-err. The differential test compares these with our goldens.
// Run as root: node --import tsx scripts/oracle/qemu-libvirt-argv.ts   (first run probes ~90 s)
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLibvirtd } from "../../bench/peers/libvirtd.js";

const dir = "tests/data/qemu-xml2argv";
const cache = ".cache/libvirt-qemu-peer";
mkdirSync(cache, { recursive: true });
const peer = await startLibvirtd({ cacheDir: cache });
const uri = `qemu+unix:///system?socket=${peer.socketPath}`;
const run = (file: string) =>
  new Promise<{ ok: boolean; text: string }>((resolve) => {
    execFile("virsh", ["-q", "-c", uri, "domxml-to-native", "qemu-argv", file], (err, stdout, stderr) => {
      resolve({ ok: !err, text: err ? stderr.trim() : stdout.trim() });
    });
  });
try {
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith(".xml"))
    .sort()) {
    const name = f.slice(0, -4);
    const r = await run(join(dir, f));
    rmSync(join(dir, `${name}.libvirt-args`), { force: true });
    rmSync(join(dir, `${name}.libvirt-err`), { force: true });
    writeFileSync(join(dir, `${name}.${r.ok ? "libvirt-args" : "libvirt-err"}`), `${r.text}\n`);
    console.log(`${name}: ${r.ok ? "argv" : r.text}`);
  }
} finally {
  await peer.stop();
}
