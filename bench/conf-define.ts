// Micro-benchmark of what a define costs the daemon in CPU: parse + post-parse + validate + format
// of a virt-install-like domain XML, N times (5000; BENCH_SMOKE=1: 200), ops/s and µs/op of
// CPU time per phase. Then the QEMU driver's define path for bench/rpc-define.py's domain XML
// (type='qemu', one virtio disk, one user NIC), as driver-state.ts's parse() + saveConfig() do it:
// parse (noIfnames) + qemuPostParse against the installed qemu-system-x86_64's capabilities
// (probed once into a cache dir under the OS temp dir) + compactDomainDef + format
// (inactive, securityInfo). Skipped without /usr/bin/qemu-system-x86_64.
//
//   node --import tsx bench/conf-define.ts            (full)
//   BENCH_SMOKE=1 node --import tsx bench/conf-define.ts
//   BENCH_FROM=dist node --import tsx bench/conf-define.ts   (the compiled dist/ tree)
//
// BENCH_COLD=1: the regime of bench/rpc-define.ts's rounds, a fresh process with tsvirtd's V8 flags
// (its shebang's node options, if any: the bench re-runs itself with them if missing; and
// src/daemon/v8-tuning.ts's, set before anything else is loaded), no warm-up, only the QEMU define
// path, BENCH_ROUNDS (3) rounds of BENCH_N (500) defines, CPU µs/define of each round. Round 1 is
// mostly Ignition/Sparkplug plus the main-thread TurboFan compiles; rounds 2-3 are what the median
// round of rpc-define.ts (defines 501-1000 of a fresh daemon) runs. BENCH_PHASES=1 adds each phase's
// wall time per round (generic parse, QEMU post-parse, compact, format).
//   BENCH_COLD=1 BENCH_FROM=dist node --import tsx bench/conf-define.ts

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as DomainConf from "../src/conf/domain/index.js";
import type * as Caps from "../src/drivers/qemu/capabilities.js";
import type * as PostParse from "../src/drivers/qemu/domain-post-parse.js";
import type * as Xml from "../src/xml/index.js";
import { REPO, shebangNodeOptions } from "./peers/tsvirtd.js";

// BENCH_FROM=dist measures the compiled tree the daemon runs (after `npx tsc -p .`); the default,
// the sources through tsx, which adds some overhead of its own (esbuild's keep-names helpers).
const FROM = process.env.BENCH_FROM === "dist" ? "dist" : "src";
const base = new URL(`../${FROM}/`, import.meta.url);
if (!existsSync(base)) throw new Error(`no ${FROM}/ tree: run npx tsc -p . first`);
const ext = FROM === "dist" ? "js" : "ts";
const COLD = process.env.BENCH_COLD === "1";
const DAEMON_NODE_OPTIONS = shebangNodeOptions(join(REPO, "src/bin/tsvirtd.ts"));
if (COLD && !DAEMON_NODE_OPTIONS.every((o) => process.execArgv.includes(o))) {
  const r = spawnSync(
    process.execPath,
    [...DAEMON_NODE_OPTIONS, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: "inherit" },
  );
  process.exit(r.status ?? 1);
}
// before the measured modules, as tsvirtd's composition root does
if (COLD) await import(new URL(`daemon/v8-tuning.${ext}`, base).href);
const { compactDomainDef, formatDomainXML, parseDomainXML, parseDomainXMLWith } = (await import(
  new URL(`conf/domain/index.${ext}`, base).href
)) as typeof DomainConf;
const { attr, child, parseXml } = (await import(new URL(`xml/index.${ext}`, base).href)) as typeof Xml;
const { QemuCapsCache } = (await import(
  new URL(`drivers/qemu/capabilities.${ext}`, base).href
)) as typeof Caps;
const { qemuPostParse } = (await import(
  new URL(`drivers/qemu/domain-post-parse.${ext}`, base).href
)) as typeof PostParse;

const SMOKE = process.env.BENCH_SMOKE === "1";
// BENCH_ONLY=qemu: only the QEMU define (all) phase, for instruction counts (valgrind's
// cachegrind run at two N, the difference divided by the difference of N: see bench/README.md).
const ONLY_QEMU = process.env.BENCH_ONLY === "qemu";
const N = SMOKE ? 200 : Number(process.env.BENCH_N ?? (COLD ? 500 : 5000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function domainXml(i: number): string {
  const m = (i & 255).toString(16).padStart(2, "0");
  return `<domain type='kvm'>
  <name>bench-${i}</name>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/><vmport state='off'/></features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/var/lib/libvirt/images/bench-${i}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <controller type='usb' index='0' model='qemu-xhci' ports='15'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='virtio-serial' index='0'/>
    <interface type='network'>
      <mac address='52:54:00:12:34:${m}'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <input type='tablet' bus='usb'/>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes'><listen type='address'/></graphics>
    <video><model type='virtio' heads='1' primary='yes'/></video>
    <memballoon model='virtio'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
`;
}

function time(label: string, xmls: string[], fn: (x: string) => unknown): number {
  for (let i = 0; i < Math.min(200, xmls.length); i++) fn(xmls[i]!); // warm up
  // CPU time, not wall time: this machine is often shared with test runs.
  const t = process.cpuUsage();
  for (const x of xmls) fn(x);
  const d = process.cpuUsage(t);
  const us = (d.user + d.system) / xmls.length;
  console.log(
    `${label.padEnd(28)} ${(1e6 / us).toFixed(0).padStart(8)} ops/s ${us.toFixed(1).padStart(8)} µs/op`,
  );
  return us;
}

if (!ONLY_QEMU && !COLD) {
  const xmls = Array.from({ length: N }, (_, i) => domainXml(i));
  const defs = xmls.map((x) => parseDomainXML(x));
  console.log(`conf-define (${FROM}): N=${N}, ${xmls[0]!.length} bytes of XML each`);
  time("xml tree parse", xmls, (x) => parseXml(x, { context: "domain", domain: 20 }));
  time("parseDomainXML (all)", xmls, (x) => parseDomainXML(x));
  let j = 0;
  time("formatDomainXML", xmls, () => formatDomainXML(defs[j++ % defs.length]!));
  time("parse + format (define)", xmls, (x) => formatDomainXML(parseDomainXML(x)));
}

// The QEMU driver's define, for rpc-define.py's DOMAIN_XML (same text, same MAC pattern).
const QEMU = "/usr/bin/qemu-system-x86_64";
function rpcXml(i: number): string {
  const h = (n: number) => (n & 255).toString(16).padStart(2, "0");
  const name = `bench-123456-${String(i).padStart(4, "0")}`;
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/bench/${name}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><mac address='52:54:00:${h(i >> 16)}:${h(i >> 8)}:${h(i)}'/></interface>
  </devices>
</domain>
`;
}

if (existsSync(QEMU)) {
  const caps = await new QemuCapsCache(join(tmpdir(), "tsvirt-bench-caps")).get(QEMU);
  // driver-state.ts parse(): the generic parse with the arch look, QEMU post-parse, compaction
  const parseQemu = (x: string) => {
    let archGiven = false;
    const def = parseDomainXMLWith(x, { noIfnames: true }, (root) => {
      const os = child(root, "os");
      const type = os ? child(os, "type") : undefined;
      archGiven = type !== undefined && attr(type, "arch") !== undefined;
    });
    qemuPostParse(def, caps, archGiven);
    compactDomainDef(def);
    return def;
  };
  const saveFormat = { inactive: true, securityInfo: true };
  // flat strings, as the RPC layer decodes them from a Buffer (a template literal is a rope,
  // which the first string operation of the parse would flatten: a cost the daemon does not have)
  const rx = Array.from({ length: N }, (_, i) => Buffer.from(rpcXml(i)).toString());
  if (COLD) {
    // distinct names in every round, as the bench's defines are
    const all = Array.from({ length: N * ROUNDS }, (_, i) => Buffer.from(rpcXml(i)).toString());
    console.log(
      `qemu define, cold (${FROM}, tsvirtd's V8 flags): ${ROUNDS} rounds of ${N}, ${all[0]!.length} bytes each`,
    );
    const rounds: number[] = [];
    // BENCH_PHASES=1: also each phase's wall time per round (parse, QEMU post-parse, compact, format)
    const PHASES = process.env.BENCH_PHASES === "1";
    const phases: number[][] = [];
    let sink = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // BENCH_MARKS=1: each round's start on the monotonic clock (µs), a --cpu-prof's time base
      if (process.env.BENCH_MARKS === "1")
        console.log(`mark round ${r + 1} ${process.hrtime.bigint() / 1000n}`);
      const t = process.cpuUsage();
      if (PHASES) {
        // the same calls as parseQemu + format, each phase's wall time summed (performance.now())
        const ph = [0, 0, 0, 0];
        for (let i = r * N; i < (r + 1) * N; i++) {
          const t0 = performance.now();
          let archGiven = false;
          const def = parseDomainXMLWith(all[i]!, { noIfnames: true }, (root) => {
            const os = child(root, "os");
            const type = os ? child(os, "type") : undefined;
            archGiven = type !== undefined && attr(type, "arch") !== undefined;
          });
          const t1 = performance.now();
          qemuPostParse(def, caps, archGiven);
          const t2 = performance.now();
          compactDomainDef(def);
          const t3 = performance.now();
          sink += formatDomainXML(def, saveFormat).length;
          const t4 = performance.now();
          ph[0]! += t1 - t0;
          ph[1]! += t2 - t1;
          ph[2]! += t3 - t2;
          ph[3]! += t4 - t3;
        }
        phases.push(ph.map((ms) => (ms * 1000) / N));
      } else
        for (let i = r * N; i < (r + 1) * N; i++)
          sink += formatDomainXML(parseQemu(all[i]!), saveFormat).length;
      const d = process.cpuUsage(t);
      rounds.push((d.user + d.system) / N);
    }
    console.log(`per-round CPU µs/define: ${rounds.map((u) => u.toFixed(1)).join(" / ")} (${sink} chars)`);
    if (PHASES) {
      const names = ["parse (generic)", "qemuPostParse", "compact", "format"];
      for (let p = 0; p < names.length; p++)
        console.log(
          `  ${names[p]!.padEnd(16)} wall µs/define: ${phases.map((x) => x[p]!.toFixed(1)).join(" / ")}`,
        );
      const mine = phases.map((x) => (x[0]! + x[2]! + x[3]!).toFixed(1));
      console.log(`  ${"parse+compact+format".padEnd(16)} wall µs/define: ${mine.join(" / ")}`);
    }
    process.exit(0);
  }
  console.log(`qemu define (rpc-define.py's XML): N=${N}, ${rx[0]!.length} bytes each`);
  if (!ONLY_QEMU) {
    const qdefs = rx.map(parseQemu);
    time("qemu parse + post-parse", rx, parseQemu);
    let k = 0;
    time("qemu format (saveConfig)", rx, () => formatDomainXML(qdefs[k++ % qdefs.length]!, saveFormat));
  }
  time("qemu define (all)", rx, (x) => formatDomainXML(parseQemu(x), saveFormat));
}
