// Pure parts of src/drivers/qemu/driver-info.ts: host CPU and memory counters as libvirt reads
// them from /proc (virHostCPUGetStatsLinux, virHostMemGetStats, virHostCPUGetInfoPopulateLinux).
// The slots themselves are compared with libvirtd 9.0 through virsh in qemu-live-info-diff.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostCpuMhz } from "../src/drivers/qemu/driver-connect.js";
import { hostCpuStats, hostMemoryStats } from "../src/drivers/qemu/driver-info.js";

const STAT = `cpu  100 5 40 1000 7 2 3 0 0 0
cpu0 60 5 20 500 4 1 2 0 0 0
cpu1 40 0 20 500 3 1 1 0 0 0
intr 1 2 3
`;

test("node CPU stats: kernel = system+irq+softirq, user = user+nice, in ns (USER_HZ 100)", () => {
  const all = hostCpuStats(STAT, -1);
  assert.deepEqual(
    all.map((p) => [p.field, String(p.value)]),
    [
      ["kernel", String(45n * 10_000_000n)],
      ["user", String(105n * 10_000_000n)],
      ["idle", String(1000n * 10_000_000n)],
      ["iowait", String(7n * 10_000_000n)],
    ],
  );
  assert.equal(String(hostCpuStats(STAT, 1)[1]!.value), String(40n * 10_000_000n));
  assert.throws(() => hostCpuStats(STAT, 2), { message: "Invalid cpuNum in virHostCPUGetStatsLinux" });
});

test("node memory stats: total, free, buffers, cached from meminfo or a node's meminfo", () => {
  const host =
    "MemTotal:  1000 kB\nMemFree:  400 kB\nMemAvailable: 600 kB\nBuffers:  10 kB\nCached:  200 kB\nSwapCached: 5 kB\n";
  assert.deepEqual(
    hostMemoryStats(host).map((p) => [p.field, Number(p.value)]),
    [
      ["total", 1000],
      ["free", 400],
      ["buffers", 10],
      ["cached", 200],
    ],
  );
  const node = "Node 0 MemTotal:  900 kB\nNode 0 MemFree:  300 kB\nNode 0 MemUsed: 600 kB\n";
  assert.deepEqual(
    hostMemoryStats(node).map((p) => [p.field, Number(p.value)]),
    [
      ["total", 900],
      ["free", 300],
    ],
  );
});

test("CPU MHz: the last 'cpu MHz' line, truncated; 0 without one", () => {
  assert.equal(
    hostCpuMhz("processor : 0\ncpu MHz\t\t: 2600.000\nprocessor : 1\ncpu MHz\t\t: 2593.906\n"),
    2593,
  );
  assert.equal(hostCpuMhz("processor : 0\n"), 0);
});
