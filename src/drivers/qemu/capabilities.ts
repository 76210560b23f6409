// Probes what an installed QEMU system binary offers (version, machines, CPU models, devices,
// KVM) over QMP, and caches the answer as JSON keyed by the binary's identity.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { killPid } from "../../host/kill.js";
import { spawnProcess, waitForSocket } from "../../host/spawn.js";
import type { HostCpuData } from "./host-model.js";
import { rootCollationCompare } from "./collate.js";
import { type KvmProbeOptions, type KvmState, probeKvm } from "./kvm-probe.js";
import { QmpClient } from "./monitor/qmp-client.js";

export interface QemuMachine {
  name: string;
  alias?: string;
  isDefault: boolean;
  cpuMax: number;
  deprecated: boolean;
}

export interface QemuCpuModel {
  name: string;
  typename?: string;
  deprecated: boolean;
}

export interface QemuCaps {
  binary: string;
  /** Guest architecture from the binary name (qemu-system-ARCH). */
  arch: string;
  version: { major: number; minor: number; micro: number };
  /** libvirt's encoding: major * 1_000_000 + minor * 1_000 + micro. */
  versionNumber: number;
  package: string;
  machines: QemuMachine[];
  cpuModels: QemuCpuModel[];
  /** Non-abstract QOM types implementing "device", sorted. */
  devices: string[];
  /** QMP command names, sorted. */
  commands: string[];
  /** `-sandbox` is compiled in (seccomp). */
  sandbox: boolean;
  /** x86: QEMU's TCG 'max' CPU, for the host-model CPU (absent in caches from before it). */
  hostCpu?: HostCpuData | null;
  kvm: KvmState;
}

export interface ProbeOptions {
  timeoutMs?: number;
  /** Skip the (slower) functional KVM test; kvm is then reported unusable with a reason. */
  skipKvm?: boolean;
  kvm?: KvmProbeOptions;
}

/** Lists qemu-system-* binaries in the given directories (default /usr/bin, /usr/local/bin). */
export function findQemuBinaries(dirs = ["/usr/bin", "/usr/local/bin"]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      for (const n of readdirSync(d).sort()) if (/^qemu-system-[a-z0-9_]+$/.test(n)) out.push(join(d, n));
    } catch {}
  }
  return out;
}

export function archOfBinary(binary: string): string {
  const m = /^qemu-system-(.+)$/.exec(basename(binary));
  return m ? m[1]! : "unknown";
}

/** Runs the binary under `-machine none` and asks it everything we need. */
export async function probeQemu(binary: string, o: ProbeOptions = {}): Promise<QemuCaps> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-caps-"));
  const sock = join(dir, "qmp.sock");
  const log = join(dir, "qemu.log");
  try {
    const p = await spawnProcess(
      [
        binary,
        "-machine",
        "none,accel=tcg",
        "-nodefaults",
        "-no-user-config",
        "-nographic",
        "-S",
        "-qmp",
        `unix:${sock},server=on,wait=off`,
      ],
      { logPath: log },
    ).catch((e: Error) => {
      throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `failed to run ${binary}: ${e.message}`);
    });
    let c: QmpClient | undefined;
    try {
      await waitForSocket(sock, { timeoutMs, alive: p.running });
      c = await QmpClient.connect(sock, { timeoutMs, connectTimeoutMs: timeoutMs });
      const caps = await queryAll(c, binary);
      const kvm: KvmState = o.skipKvm
        ? { present: false, usable: false, reason: "KVM was not probed" }
        : await probeKvm(binary, { timeoutMs: 2500, ...o.kvm });
      return { ...caps, kvm };
    } catch (e) {
      let text = "";
      try {
        text = readFileSync(log, "utf8").trim();
      } catch {}
      const msg = e instanceof Error ? e.message : String(e);
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.QEMU,
        `Failed to probe capabilities for ${binary}: ${text || msg}`,
      );
    } finally {
      c?.close();
      await killPid(p.pid, { graceMs: 1000, exited: p.exited });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function queryAll(c: QmpClient, binary: string): Promise<Omit<QemuCaps, "kvm">> {
  const version = await c.execute<{ qemu: QemuCaps["version"]; package: string }>("query-version");
  const machines = await c.execute<Record<string, unknown>[]>("query-machines");
  const cpus = await c.execute<Record<string, unknown>[]>("query-cpu-definitions").catch(() => []);
  const commands = await c.execute<{ name: string }[]>("query-commands");
  const types = await c.execute<{ name: string }[]>("qom-list-types", {
    implements: "device",
    abstract: false,
  });
  const hostCpu = await probeHostCpu(c, binary, cpus);
  const sandbox = await c
    .execute<unknown[]>("query-command-line-options", { option: "sandbox" })
    .then((r) => r.length > 0)
    .catch(() => false);
  const v = version.qemu;
  return {
    binary,
    arch: archOfBinary(binary),
    version: { major: v.major, minor: v.minor, micro: v.micro },
    versionNumber: v.major * 1_000_000 + v.minor * 1_000 + v.micro,
    package: version.package,
    machines: machines
      .map((m) => ({
        name: String(m.name),
        ...(typeof m.alias === "string" ? { alias: m.alias } : {}),
        isDefault: m["is-default"] === true,
        cpuMax: Number(m["cpu-max"] ?? 1),
        deprecated: m.deprecated === true,
      }))
      .sort((a, b) => rootCollationCompare(a.name, b.name)),
    cpuModels: cpus
      .map((m) => ({
        name: String(m.name),
        ...(typeof m.typename === "string" ? { typename: m.typename } : {}),
        deprecated: m.deprecated === true,
      }))
      .sort((a, b) => rootCollationCompare(a.name, b.name)),
    devices: types.map((t) => t.name).sort(),
    commands: commands.map((x) => x.name).sort(),
    sandbox,
    hostCpu,
  };
}

/**
 * An x86 binary's TCG 'max' CPU as libvirt probes it for host-model: its migratable properties
 * that are set (plus vendor, family, model) and what each CPU model cannot have under TCG.
 */
async function probeHostCpu(
  c: QmpClient,
  binary: string,
  cpus: Record<string, unknown>[],
): Promise<HostCpuData | null> {
  const arch = archOfBinary(binary);
  if (arch !== "x86_64" && arch !== "i686") return null;
  try {
    const r = await c.execute<{ model: { props: Record<string, unknown> } }>("query-cpu-model-expansion", {
      type: "full",
      model: { name: "max", props: { migratable: true } },
    });
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.model.props)) {
      if (v === true || k === "vendor" || k === "family" || k === "model") props[k] = v;
    }
    const blockers: Record<string, string[]> = {};
    for (const m of cpus) {
      const u = m["unavailable-features"];
      if (Array.isArray(u) && u.length > 0) blockers[String(m.name)] = u.map(String);
    }
    return { props, blockers };
  } catch {
    return null;
  }
}

/**
 * Identity of a binary: path, size, mtime and inode (changes when it is upgraded or replaced),
 * plus /dev/kvm presence. Pure stat calls: nothing is spawned, so a define costs no process.
 */
export function binaryIdentity(binary: string): string {
  const st = statSync(binary);
  let kvm = "none";
  try {
    const k = statSync("/dev/kvm");
    kvm = `${k.rdev}:${k.mtimeMs}`;
  } catch {}
  return JSON.stringify([binary, st.size, st.mtimeMs, st.ino, kvm]);
}

/**
 * How long a binary's identity, once checked, stands before the next lookup stats it again (ms).
 * Every define looks its emulator up; two stat calls and the identity string each time were ~5%
 * of a define's daemon CPU. A binary replaced on disk is noticed within this time.
 */
const IDENTITY_RECHECK_MS = 1000;

/** Caches probe results under `cacheDir` (one JSON file per binary path). */
/**
 * The cache file's name for a binary path: 16 hex digits of two 32-bit FNV-1a hashes of it (the
 * file also records the binary's identity, which a lookup checks). Not node:crypto: the daemon
 * does not load it for this (see src/util/random-bytes.ts).
 */
export function capsCacheName(binary: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < binary.length; i++) {
    const c = binary.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

export class QemuCapsCache {
  private readonly mem = new Map<string, QemuCaps>();
  /** binary → caps and when its identity was last checked. */
  private readonly checked = new Map<string, { at: number; caps: QemuCaps }>();

  constructor(
    private readonly cacheDir: string,
    private readonly opts: ProbeOptions = {},
  ) {}

  async get(binary: string): Promise<QemuCaps> {
    const now = performance.now();
    const recent = this.checked.get(binary);
    if (recent && now - recent.at < IDENTITY_RECHECK_MS) return recent.caps;
    const caps = await this.lookup(binary);
    this.checked.set(binary, { at: now, caps });
    return caps;
  }

  private async lookup(binary: string): Promise<QemuCaps> {
    const identity = binaryIdentity(binary);
    const memo = this.mem.get(identity);
    if (memo) return memo;
    const file = join(this.cacheDir, `${capsCacheName(binary)}.json`);
    try {
      const saved = JSON.parse(readFileSync(file, "utf8")) as { identity: string; caps: QemuCaps };
      if (saved.identity === identity) {
        this.mem.set(identity, saved.caps);
        return saved.caps;
      }
    } catch {}
    const caps = await probeQemu(binary, this.opts);
    mkdirSync(this.cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ identity, caps })}\n`);
    renameSync(tmp, file);
    this.mem.set(identity, caps);
    return caps;
  }
}

/** Picks the machine type a name or alias refers to ("q35" → "pc-q35-7.2"). */
export function resolveMachine(caps: QemuCaps, name: string): QemuMachine | undefined {
  return caps.machines.find((m) => m.name === name) ?? caps.machines.find((m) => m.alias === name);
}

export function defaultMachine(caps: QemuCaps): QemuMachine | undefined {
  return caps.machines.find((m) => m.isDefault);
}
