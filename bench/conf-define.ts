// Micro-benchmark of what a define costs the daemon in CPU: parse + post-parse + validate + format
// of a virt-install-like domain XML, N times (5000; BENCH_SMOKE=1: 200), ops/s and µs/op of
// CPU time per phase.
//
//   node --import tsx bench/conf-define.ts            (full)
//   BENCH_SMOKE=1 node --import tsx bench/conf-define.ts
//   BENCH_FROM=dist node --import tsx bench/conf-define.ts   (the compiled dist/ tree)

import { existsSync } from "node:fs";
import type * as DomainConf from "../src/conf/domain/index.js";
import type * as Xml from "../src/xml/index.js";

// BENCH_FROM=dist measures the compiled tree the daemon runs (after `npx tsc -p .`); the default,
// the sources through tsx, which adds some overhead of its own (esbuild's keep-names helpers).
const FROM = process.env.BENCH_FROM === "dist" ? "dist" : "src";
const base = new URL(`../${FROM}/`, import.meta.url);
if (!existsSync(base)) throw new Error(`no ${FROM}/ tree: run npx tsc -p . first`);
const ext = FROM === "dist" ? "js" : "ts";
const { formatDomainXML, parseDomainXML } = (await import(
  new URL(`conf/domain/index.${ext}`, base).href
)) as typeof DomainConf;
const { parseXml } = (await import(new URL(`xml/index.${ext}`, base).href)) as typeof Xml;

const SMOKE = process.env.BENCH_SMOKE === "1";
const N = SMOKE ? 200 : Number(process.env.BENCH_N ?? 5000);

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

const xmls = Array.from({ length: N }, (_, i) => domainXml(i));
const defs = xmls.map((x) => parseDomainXML(x));
console.log(`conf-define (${FROM}): N=${N}, ${xmls[0]!.length} bytes of XML each`);
time("xml tree parse", xmls, (x) => parseXml(x, { context: "domain", domain: 20 }));
time("parseDomainXML (all)", xmls, (x) => parseDomainXML(x));
let j = 0;
time("formatDomainXML", xmls, () => formatDomainXML(defs[j++ % defs.length]!));
time("parse + format (define)", xmls, (x) => formatDomainXML(parseDomainXML(x)));
