// Decides whether KVM really works. /dev/kvm can exist and answer query-kvm "enabled" while
// guests hang (broken nested virtualisation), so we run a kernel to its first printk with a deadline.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killPid } from "../../host/kill.js";
import { spawnProcess, waitForSocket } from "../../host/spawn.js";
import { QmpClient } from "./monitor/qmp-client.js";

export interface KvmState {
  /** /dev/kvm exists and QEMU reports KVM present and enabled with `-machine none,accel=kvm`. */
  present: boolean;
  /** A guest actually ran under KVM (or we could not test and trusted query-kvm). */
  usable: boolean;
  /** Why KVM is not usable, in words for an error message. */
  reason?: string;
}

export interface KvmProbeOptions {
  devicePath?: string;
  /** Kernel used for the functional check; default: newest /boot/vmlinuz-*. */
  kernel?: string;
  timeoutMs?: number;
}

/** Finds a bootable host kernel for the functional KVM check, if one is readable. */
export function findHostKernel(): string | undefined {
  try {
    const names = readdirSync("/boot")
      .filter((n) => n.startsWith("vmlinuz-"))
      .sort();
    for (const n of names.reverse()) {
      const p = join("/boot", n);
      try {
        readFileSync(p).subarray(0, 1);
        return p;
      } catch {}
    }
  } catch {}
  return undefined;
}

export async function probeKvm(binary: string, o: KvmProbeOptions = {}): Promise<KvmState> {
  const dev = o.devicePath ?? "/dev/kvm";
  try {
    statSync(dev);
  } catch {
    return { present: false, usable: false, reason: `${dev} does not exist` };
  }
  const timeoutMs = o.timeoutMs ?? 2500;
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-kvm-"));
  try {
    const q = await queryKvm(binary, dir, timeoutMs);
    if (!q.present || !q.enabled) {
      return { present: false, usable: false, reason: q.error ?? "QEMU reports KVM as not available" };
    }
    // KVM working is a property of the host: the x86_64 host kernel is booted with the x86_64
    // emulator (for qemu-system-i386 its sibling); other architectures trust query-kvm.
    const runner = /qemu-system-x86_64$/.test(binary)
      ? binary
      : /qemu-system-i386$/.test(binary) && existsSync(binary.replace(/i386$/, "x86_64"))
        ? binary.replace(/i386$/, "x86_64")
        : undefined;
    const kernel = o.kernel ?? (runner ? findHostKernel() : undefined);
    if (!kernel || !runner) return { present: true, usable: true };
    const ran = await runKernel(runner, kernel, dir, timeoutMs);
    if (ran) return { present: true, usable: true };
    return {
      present: true,
      usable: false,
      reason: `KVM is present but a test guest made no progress within ${timeoutMs} ms`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function queryKvm(
  binary: string,
  dir: string,
  timeoutMs: number,
): Promise<{ present: boolean; enabled: boolean; error?: string }> {
  const sock = join(dir, "kvm.sock");
  const log = join(dir, "kvm.log");
  const p = await spawnProcess(
    [
      binary,
      "-machine",
      "none,accel=kvm",
      "-nodefaults",
      "-nographic",
      "-S",
      "-qmp",
      `unix:${sock},server=on,wait=off`,
    ],
    { logPath: log },
  );
  try {
    await waitForSocket(sock, { timeoutMs, alive: p.running });
    const c = await QmpClient.connect(sock, { timeoutMs, connectTimeoutMs: timeoutMs });
    try {
      return await c.execute<{ present: boolean; enabled: boolean }>("query-kvm");
    } finally {
      c.close();
    }
  } catch {
    let text = "";
    try {
      text = readFileSync(log, "utf8").trim();
    } catch {}
    return { present: false, enabled: false, error: text || "KVM probe did not answer" };
  } finally {
    await killPid(p.pid, { graceMs: 500, exited: p.exited });
  }
}

/** Boots the kernel under KVM with earlyprintk on a serial file and waits for "Linux version". */
async function runKernel(binary: string, kernel: string, dir: string, timeoutMs: number): Promise<boolean> {
  const serial = join(dir, "serial.log");
  const p = await spawnProcess(
    [
      binary,
      "-machine",
      "pc,accel=kvm",
      "-nodefaults",
      "-display",
      "none",
      "-m",
      "128",
      "-kernel",
      kernel,
      "-append",
      "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1",
      "-serial",
      `file:${serial}`,
      "-no-reboot",
    ],
    { logPath: join(dir, "run.log") },
  );
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline && p.running()) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        if (readFileSync(serial, "latin1").includes("Linux version")) return true;
      } catch {}
    }
    return false;
  } finally {
    await killPid(p.pid, { graceMs: 200, exited: p.exited });
  }
}
