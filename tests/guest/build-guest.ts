// Builds (once per machine, cached under .cache/guest/) the test guest: the host's Debian cloud
// kernel plus a busybox initramfs whose /init is tests/guest/guest-init.sh.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CpioEntry, writeCpio } from "./cpio.js";

export const GUEST_READY = "TSVIRT-GUEST-READY";
export const GUEST_POWERBUTTON = "TSVIRT-GUEST-POWERBUTTON";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const BUSYBOX_CANDIDATES = ["/usr/bin/busybox", "/bin/busybox"];

export interface TestGuest {
  kernel: string;
  initrd: string;
  /** Kernel command line for a serial console on ttyS0. */
  cmdline: string;
}

/** Why the guest cannot be built here, or undefined if it can. */
export function guestUnavailable(): string | undefined {
  if (!findKernel()) return "no /boot/vmlinuz-*-cloud-amd64 kernel";
  if (!findBusybox()) return "no static busybox";
  return undefined;
}

function findKernel(): string | undefined {
  try {
    const k = readdirSync("/boot")
      .filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n))
      .sort()
      .pop();
    return k ? join("/boot", k) : undefined;
  } catch {
    return undefined;
  }
}

function findBusybox(): string | undefined {
  return BUSYBOX_CANDIDATES.find((p) => existsSync(p));
}

/** Modules the init loads: evdev + button, so the ACPI power button reaches /dev/input. */
function modulePaths(kernel: string): string[] {
  const release = kernel.replace(/^.*vmlinuz-/, "");
  const base = `/lib/modules/${release}/kernel/drivers`;
  return [`${base}/input/evdev.ko`, `${base}/acpi/button.ko`].filter((p) => existsSync(p));
}

export function buildGuest(cacheRoot = join(repo, ".cache", "guest")): TestGuest {
  const kernel = findKernel();
  const busybox = findBusybox();
  if (!kernel || !busybox) throw new Error(`test guest unavailable: ${guestUnavailable()}`);
  const init = readFileSync(join(here, "guest-init.sh"));
  const mods = modulePaths(kernel);
  const h = createHash("sha256");
  h.update(init).update(readFileSync(join(here, "cpio.ts")));
  for (const p of [busybox, kernel, ...mods]) {
    const st = statSync(p);
    h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
  }
  const key = h.digest("hex").slice(0, 16);
  const initrd = join(cacheRoot, `initrd-${key}.cpio`);
  if (!existsSync(initrd)) {
    const entries: CpioEntry[] = [
      ...["bin", "sbin", "dev", "proc", "sys", "tmp", "lib", "lib/modules", "usr", "usr/bin", "usr/sbin"].map(
        (name) => ({ name, mode: 0o040755 }),
      ),
      // The kernel opens /dev/console before /init runs; it must exist in the archive.
      { name: "dev/console", mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
      { name: "bin/busybox", mode: 0o100755, data: readFileSync(busybox) },
      { name: "bin/sh", mode: 0o120777, data: Buffer.from("busybox") },
      { name: "init", mode: 0o100755, data: init },
      ...mods.map((p) => ({
        name: `lib/modules/${p.split("/").pop()}`,
        mode: 0o100644,
        data: readFileSync(p),
      })),
    ];
    mkdirSync(cacheRoot, { recursive: true });
    const tmp = `${initrd}.${process.pid}.tmp`;
    writeFileSync(tmp, writeCpio(entries));
    renameSync(tmp, initrd);
  }
  return { kernel, initrd, cmdline: "console=ttyS0 panic=-1 quiet" };
}
