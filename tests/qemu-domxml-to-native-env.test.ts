// Differential: `virsh domxml-to-native qemu-argv` of documents with a <qemu:commandline> (extra
// arguments and environment variables, with and without a value, needing quotes or not, beside a
// timezone clock's TZ) from tsvirtd against a private libvirtd 9.0 (bench/peers/libvirtd.ts).
// libvirt prints the <qemu:env> variables after its own environment, before the binary. Only the
// daemon's PATH is normalised.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type LibvirtdPeer, libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { haveVirsh, RootDaemon, virsh } from "./guest/root-daemon.js";

const QEMU = "/usr/bin/qemu-system-x86_64";

const skipWhy = !haveVirsh()
  ? "virsh not installed"
  : !existsSync(QEMU)
    ? "qemu-system-x86_64 not installed"
    : libvirtdUnavailable();

const doc = (
  name: string,
  extra: string,
  clock = "",
) => `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${name}</name>
  <uuid>6f1c9a52-3d0e-4b7a-9c55-0e2b9d7a41${name.length.toString().padStart(2, "0")}</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  ${clock}
  <devices><emulator>${QEMU}</emulator></devices>
  <qemu:commandline>
${extra}
  </qemu:commandline>
</domain>`;

const CASES: Record<string, string> = {
  "env-args-and-vars": doc(
    "env-args-and-vars",
    `    <qemu:arg value='-global'/>
    <qemu:arg value='isa-debugcon.iobase=0x402'/>
    <qemu:env name='TSVIRT_LIVE' value='a b'/>
    <qemu:env name='TSVIRT_EMPTY'/>`,
  ),
  "env-only": doc(
    "env-only",
    `    <qemu:env name='PLAIN' value='value'/>
    <qemu:env name='EMPTY_VALUE' value=''/>
    <qemu:env name='_QUOTE' value="it's \${HOME} \`x\`"/>`,
  ),
  "env-with-tz": doc(
    "env-with-tz",
    `    <qemu:env name='TZ_AFTER' value='x'/>
    <qemu:arg value='-no-hpet'/>`,
    "<clock offset='timezone' timezone='Europe/Paris'/>",
  ),
  "args-only": doc(
    "args-only",
    `    <qemu:arg value='-set'/>
    <qemu:arg value='device.balloon0.deflate-on-oom=on'/>
    <qemu:arg value='a value with spaces'/>`,
  ),
};

const normalise = (s: string) => s.trim().replace(/PATH=\S+/, "PATH=X");

let ts: RootDaemon | undefined;
let lv: LibvirtdPeer | undefined;
let base: string | undefined;
after(async () => {
  if (ts) {
    ts.killAll();
    rmSync(ts.root, { recursive: true, force: true });
  }
  await lv?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

test("domxml-to-native qemu-argv prints <qemu:env> variables as libvirtd 9.0 does", {
  skip: skipWhy ?? false,
  timeout: 120_000,
}, async (t) => {
  base = mkdtempSync(join(tmpdir(), "tsvirt-native-env-"));
  const cache =
    process.env.TSVIRT_LIBVIRTD_CACHE ?? join(import.meta.dirname, "..", ".cache", "libvirt-qemu-peer");
  mkdirSync(cache, { recursive: true });
  ts = new RootDaemon(mkdtempSync(join(tmpdir(), "tsvirtd-native-env-")));
  [lv] = await Promise.all([startLibvirtd({ root: join(base, "lv"), cacheDir: cache }), ts.start()]);
  const diffs: string[] = [];
  for (const [name, xml] of Object.entries(CASES)) {
    const file = join(base, `${name}.xml`);
    writeFileSync(file, xml);
    const [a, b] = await Promise.all(
      [lv.uri("qemu"), ts.uri].map(async (uri) => {
        const r = await virsh(uri, ["domxml-to-native", "qemu-argv", file]);
        return r.code === 0 ? normalise(r.out) : `error ${r.err.trim()}`;
      }),
    );
    assert.ok(!a!.startsWith("error"), `libvirtd converts ${name}: ${a}`);
    if (a === b) continue;
    const x = a!.split(" ");
    const y = b!.split(" ");
    const i = x.findIndex((w, k) => w !== y[k]);
    diffs.push(`${name}: word ${i}: libvirtd ${x[i]} tsvirtd ${y[i]}`);
  }
  t.diagnostic(
    `${Object.keys(CASES).length - diffs.length}/${Object.keys(CASES).length} identical to libvirtd 9.0`,
  );
  for (const d of diffs) t.diagnostic(d);
  assert.deepEqual(diffs, []);
});
