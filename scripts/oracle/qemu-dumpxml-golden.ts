// Records what real libvirtd 9.0's QEMU driver (a private peer, bench/peers/libvirtd.ts) shows
// after `virsh define` of each case in tests/data/qemu-dumpxml: `virsh dumpxml` into
// <case>.libvirt.xml (and `dumpxml --inactive` into <case>.libvirt-inactive.xml only when it
// differs), or define's error into <case>.libvirt-err; that XML defined again (what a daemon
// restart shows) into <case>.libvirt-reload.xml when it differs; `dumpxml --migratable` into
// <case>.libvirt-migratable.xml and `dumpxml --security-info` into <case>.libvirt-secure.xml, each
// only when it differs from dumpxml --inactive / dumpxml. Generated UUIDs/MACs are normalised.
// tests/qemu-dumpxml.test.ts compares tsvirtd's output with these files.
// Run as root: node --import tsx scripts/oracle/qemu-dumpxml-golden.ts [case...]
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLibvirtd } from "../../bench/peers/libvirtd.js";
import { DUMPXML_DIR, dumpxmlCases, normaliseDumpxml } from "./qemu-dumpxml-normalise.js";

const cache = ".cache/libvirt-qemu-peer";
mkdirSync(cache, { recursive: true });
const peer = await startLibvirtd({ cacheDir: cache });
const uri = peer.uri("qemu");
const virsh = (args: string[]) =>
  new Promise<{ ok: boolean; out: string; err: string }>((resolve) => {
    execFile("virsh", ["-c", uri, ...args], { env: { ...process.env, LC_ALL: "C" } }, (e, stdout, stderr) => {
      resolve({ ok: !e, out: stdout, err: stderr.trim() });
    });
  });
const wanted = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), "qemu-dumpxml-"));
try {
  for (const name of dumpxmlCases().filter((n) => wanted.length === 0 || wanted.includes(n))) {
    const file = join(DUMPXML_DIR, `${name}.xml`);
    const input = readFileSync(file, "utf8");
    for (const ext of [
      ".libvirt.xml",
      ".libvirt-inactive.xml",
      ".libvirt-reload.xml",
      ".libvirt-migratable.xml",
      ".libvirt-secure.xml",
      ".libvirt-err",
    ]) {
      rmSync(join(DUMPXML_DIR, `${name}${ext}`), { force: true });
    }
    const def = await virsh(["define", file]);
    if (!def.ok) {
      writeFileSync(join(DUMPXML_DIR, `${name}.libvirt-err`), `${def.err}\n`);
      console.log(`${name}: ${def.err}`);
      continue;
    }
    const live = await virsh(["dumpxml", name]);
    const inactive = await virsh(["dumpxml", "--inactive", name]);
    const migratable = await virsh(["dumpxml", "--migratable", name]);
    const secure = await virsh(["dumpxml", "--security-info", name]);
    await virsh(["undefine", name]);
    // what a daemon restart shows: the saved XML parsed again (not always the same in libvirt)
    const again = join(tmp, `${name}.xml`);
    writeFileSync(again, inactive.out);
    await virsh(["define", again]);
    const reload = await virsh(["dumpxml", "--inactive", name]);
    await virsh(["undefine", name]);
    const a = normaliseDumpxml(input, live.out);
    const b = normaliseDumpxml(input, inactive.out);
    const c = normaliseDumpxml(input, reload.out);
    writeFileSync(join(DUMPXML_DIR, `${name}.libvirt.xml`), a);
    if (b !== a) writeFileSync(join(DUMPXML_DIR, `${name}.libvirt-inactive.xml`), b);
    if (c !== b) writeFileSync(join(DUMPXML_DIR, `${name}.libvirt-reload.xml`), c);
    const m = normaliseDumpxml(input, migratable.out);
    const s = normaliseDumpxml(input, secure.out);
    if (m !== b) writeFileSync(join(DUMPXML_DIR, `${name}.libvirt-migratable.xml`), m);
    if (s !== a) writeFileSync(join(DUMPXML_DIR, `${name}.libvirt-secure.xml`), s);
    const notes = [
      b !== a && "inactive differs",
      c !== b && "reload differs",
      m !== b && "migratable differs",
      s !== a && "secure differs",
    ].filter(Boolean);
    console.log(`${name}: ok${notes.length ? ` (${notes.join(", ")})` : ""}`);
  }
} finally {
  await peer.stop();
  rmSync(tmp, { recursive: true, force: true });
}
