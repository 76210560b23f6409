// Capability probe against the real qemu-system-x86_64, including the KVM functional check and the cache.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  binaryIdentity,
  capsCacheName,
  findQemuBinaries,
  QemuCapsCache,
  resolveMachine,
} from "../src/drivers/qemu/capabilities.js";
import { formatDomainCapabilities } from "../src/drivers/qemu/domain-capabilities.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const have = existsSync(QEMU);
const dir = mkdtempSync(join(tmpdir(), "caps-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("probe qemu-system-x86_64: version, machines, cpus, devices, kvm; cache hit", async (t) => {
  if (!have) return t.skip("qemu-system-x86_64 not installed");
  assert.ok(findQemuBinaries().includes(QEMU));
  const cache = new QemuCapsCache(dir);
  const t0 = Date.now();
  const caps = await cache.get(QEMU);
  const probeMs = Date.now() - t0;
  const verLine = execFileSync(QEMU, ["--version"], { encoding: "utf8" }).split("\n")[0]!;
  assert.ok(
    verLine.includes(`version ${caps.version.major}.${caps.version.minor}.${caps.version.micro}`),
    verLine,
  );
  assert.equal(caps.arch, "x86_64");
  assert.equal(caps.versionNumber, caps.version.major * 1e6 + caps.version.minor * 1e3 + caps.version.micro);
  const q35 = resolveMachine(caps, "q35");
  assert.ok(q35?.name.startsWith("pc-q35-"), "q35 alias resolves");
  assert.ok(resolveMachine(caps, "pc")?.name.startsWith("pc-i440fx-"));
  assert.ok(caps.cpuModels.some((m) => m.name === "qemu64"));
  for (const d of ["virtio-blk-pci", "virtio-net-pci", "isa-serial", "pcie-root-port"])
    assert.ok(caps.devices.includes(d), d);
  assert.ok(caps.commands.includes("query-kvm"));
  // KVM: either usable, or not with a reason (this CI host has a /dev/kvm whose guests hang).
  if (!caps.kvm.usable) assert.ok(caps.kvm.reason && caps.kvm.reason.length > 0);
  if (existsSync("/dev/kvm") && !caps.kvm.usable)
    assert.ok(probeMs < 15_000, `probe bounded (${probeMs} ms)`);
  assert.equal(readdirSync(dir).length, 1, "one cache file");
  const t1 = Date.now();
  const again = await new QemuCapsCache(dir).get(QEMU);
  assert.deepEqual(again, caps);
  assert.ok(Date.now() - t1 < 2000, "cache hit is fast");
});

test("cache hit spawns nothing: identity is path+size+mtime+inode; a changed binary is probed again", async () => {
  const d = mkdtempSync(join(tmpdir(), "caps-id-"));
  try {
    // A stand-in "QEMU" that records every run; a cache hit must never execute it.
    const bin = join(d, "qemu-system-x86_64");
    const ran = join(d, "ran");
    writeFileSync(bin, `#!/bin/sh\necho run >> ${ran}\nexit 1\n`, { mode: 0o755 });
    const cacheDir = join(d, "cache");
    mkdirSync(cacheDir);
    const file = join(cacheDir, `${capsCacheName(bin)}.json`);
    const caps = { binary: bin, arch: "x86_64", machines: [], marker: "seeded" };
    writeFileSync(file, JSON.stringify({ identity: binaryIdentity(bin), caps }));
    for (let i = 0; i < 50; i++) assert.equal((await new QemuCapsCache(cacheDir).get(bin)).binary, bin);
    assert.equal(existsSync(ran), false, "no process spawned on cache hits");
    // Upgrading the binary (size changes) invalidates the entry: the probe runs (and fails here).
    writeFileSync(bin, `#!/bin/sh\necho run >> ${ran}\nexit 1\n# v2\n`, { mode: 0o755 });
    await assert.rejects(new QemuCapsCache(cacheDir).get(bin), /Failed to probe|failed to run/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("domcapabilities <cpu> for TCG (host-model decoded from QEMU's 'max', usable models) equals libvirtd 9.0's", () => {
  const data = join(import.meta.dirname, "data", "qemu-xml2argv");
  // the recorded probe of this QEMU and what a private libvirtd 9.0 printed for it (pc machine)
  const caps = JSON.parse(readFileSync(join(data, "caps-x86_64.json"), "utf8"));
  const machine = resolveMachine(caps, "pc")!;
  const xml = formatDomainCapabilities(caps, machine, "qemu");
  const cpu = xml.slice(xml.indexOf("  <cpu>"), xml.indexOf("</cpu>") + "</cpu>\n".length);
  assert.equal(cpu, readFileSync(join(data, "domcaps-cpu-tcg.libvirt-txt"), "utf8"));
  assert.match(cpu, /<mode name='host-model' supported='yes'>/);
});
