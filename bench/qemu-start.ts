// Guest start benchmark: the same virsh client creates a TCG test guest through tsvirtd and
// through a private libvirtd 9.0 (bench/peers/), paused (create → QEMU ready) and booting (create →
// the guest's ready marker on its serial file), then destroys it; raw qemu-system-x86_64 with the
// same argv is the floor. Also 4 guests created at once → all four ready. Prints median
// milliseconds per step, the ratios, and issue 4's targets as MET / MISS.
// Run as root: npx tsc -p . && node --import tsx bench/qemu-start.ts   (BENCH_ROUNDS, BENCH_SMOKE=1)
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { buildGuest, GUEST_READY, guestUnavailable } from "../tests/guest/build-guest.js";
import { libvirtdUnavailable, startLibvirtd } from "./peers/libvirtd.js";
import { startTsvirtd, tsvirtdUnavailable } from "./peers/tsvirtd.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (process.env.BENCH_SMOKE === "1" ? 1 : 5));
const QEMU = "/usr/bin/qemu-system-x86_64";

export interface StartFigures {
  createPausedMs: number;
  destroyMs: number;
  bootToReadyMs: number;
  /** Four guests created at once until all four print the ready marker. */
  fourReadyMs: number;
}

const FOUR = 4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function virsh(uri: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("virsh", ["-q", "-c", uri, ...args], (err, _o, stderr) =>
      err ? reject(new Error(stderr)) : resolve(),
    );
  });
}

async function waitForText(file: string, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (readFileSync(file, "latin1").includes(text)) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no '${text}' in ${file} within ${timeoutMs} ms`);
}

function guestXml(name: string, serialFile: string): string {
  const g = buildGuest();
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
<features><acpi/></features><devices><serial type='file'><source path='${serialFile}'/><target port='0'/></serial>
<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;
}

/** One daemon: create --paused / destroy, then create / ready marker / destroy, ROUNDS times. */
async function measureDaemon(uri: string, dir: string, tag: string): Promise<StartFigures> {
  const paused: number[] = [];
  const destroy: number[] = [];
  const boot: number[] = [];
  // Warm-up, not measured: the first qemu:// use probes QEMU's capabilities in both daemons.
  const warm = join(dir, `${tag}-warm.xml`);
  writeFileSync(warm, guestXml(`bench-${tag}-warm`, join(dir, `${tag}-warm.serial`)));
  await virsh(uri, ["create", warm, "--paused"]);
  await virsh(uri, ["destroy", `bench-${tag}-warm`]);
  for (let i = 0; i < ROUNDS; i++) {
    const serial = join(dir, `${tag}-${i}.serial`);
    const xml = join(dir, `${tag}-${i}.xml`);
    writeFileSync(xml, guestXml(`bench-${tag}-${i}`, serial));
    let t = performance.now();
    await virsh(uri, ["create", xml, "--paused"]);
    paused.push(performance.now() - t);
    t = performance.now();
    await virsh(uri, ["destroy", `bench-${tag}-${i}`]);
    destroy.push(performance.now() - t);
    rmSync(serial, { force: true });
    t = performance.now();
    await virsh(uri, ["create", xml]);
    await waitForText(serial, GUEST_READY, 60_000);
    boot.push(performance.now() - t);
    await virsh(uri, ["destroy", `bench-${tag}-${i}`]);
  }
  const four: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const names = Array.from({ length: FOUR }, (_, k) => `bench-${tag}-four-${i}-${k}`);
    const serials = names.map((n) => join(dir, `${n}.serial`));
    for (const [k, n] of names.entries()) writeFileSync(join(dir, `${n}.xml`), guestXml(n, serials[k]!));
    const t = performance.now();
    await Promise.all(
      names.map(async (n, k) => {
        await virsh(uri, ["create", join(dir, `${n}.xml`)]);
        await waitForText(serials[k]!, GUEST_READY, 120_000);
      }),
    );
    four.push(performance.now() - t);
    await Promise.all(names.map((n) => virsh(uri, ["destroy", n])));
  }
  return {
    createPausedMs: median(paused),
    destroyMs: median(destroy),
    bootToReadyMs: median(boot),
    fourReadyMs: median(four),
  };
}

/** Starts the guest's argv directly (the floor); `paused` adds -S. */
function spawnRaw(dir: string, tag: string, paused: boolean) {
  const g = buildGuest();
  const sock = join(dir, `${tag}.qmp`);
  const serial = join(dir, `${tag}.serial`);
  rmSync(serial, { force: true });
  const p = spawn(
    QEMU,
    [
      ...(paused ? ["-S"] : []),
      ...["-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-m", "256"],
      ...["-kernel", g.kernel, "-initrd", g.initrd, "-append", g.cmdline],
      ...["-serial", `file:${serial}`, "-qmp", `unix:${sock},server=on,wait=off`],
    ],
    { stdio: "ignore" },
  );
  const stop = async () => {
    p.kill("SIGKILL");
    if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once("exit", r));
  };
  return { sock, serial, stop };
}

/** The floor: QEMU started directly (QMP socket answering, and the ready marker). */
async function measureRaw(dir: string): Promise<StartFigures> {
  const paused: number[] = [];
  const boot: number[] = [];
  const four: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of ["paused", "boot"] as const) {
      const t = performance.now();
      const q = spawnRaw(dir, `raw-${i}`, mode === "paused");
      if (mode === "paused") {
        for (;;) {
          const ok = await new Promise<boolean>((resolve) => {
            const s = net.createConnection({ path: q.sock });
            s.once("data", () => {
              s.destroy();
              resolve(true);
            });
            s.once("error", () => resolve(false));
          });
          if (ok) break;
          await new Promise((r) => setTimeout(r, 5));
        }
        paused.push(performance.now() - t);
      } else {
        await waitForText(q.serial, GUEST_READY, 60_000);
        boot.push(performance.now() - t);
      }
      await q.stop();
    }
    const t = performance.now();
    const qs = Array.from({ length: FOUR }, (_, k) => spawnRaw(dir, `raw-four-${i}-${k}`, false));
    await Promise.all(qs.map((q) => waitForText(q.serial, GUEST_READY, 120_000)));
    four.push(performance.now() - t);
    await Promise.all(qs.map((q) => q.stop()));
  }
  return {
    createPausedMs: median(paused),
    destroyMs: Number.NaN,
    bootToReadyMs: median(boot),
    fourReadyMs: median(four),
  };
}

async function main(): Promise<void> {
  const why = guestUnavailable() ?? tsvirtdUnavailable() ?? (existsSync(QEMU) ? null : "no QEMU");
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), "bench-qemu-start-"));
  mkdirSync(dir, { recursive: true });
  const rows: [string, StartFigures][] = [];
  try {
    rows.push(["raw qemu", await measureRaw(dir)]);
    const ts = await startTsvirtd({ args: ["--http", "off"] });
    try {
      rows.push(["tsvirtd", await measureDaemon(ts.uri("qemu"), dir, "ts")]);
    } finally {
      await ts.dispose();
    }
    if (!libvirtdUnavailable()) {
      const cache =
        process.env.BENCH_LIBVIRTD_CACHE ?? join(import.meta.dirname, "..", ".cache", "libvirt-qemu-peer");
      mkdirSync(cache, { recursive: true });
      const lv = await startLibvirtd({ cacheDir: cache });
      try {
        rows.push(["libvirtd 9.0", await measureDaemon(lv.uri("qemu"), dir, "lv")]);
      } finally {
        await lv.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (n: number) => (Number.isNaN(n) ? "-" : n.toFixed(0));
  console.log(`qemu-start: ${ROUNDS} round(s), load ${loadavg()[0]!.toFixed(2)}; median ms`);
  console.log(
    `${"peer".padEnd(14)}${"create --paused".padStart(17)}${"destroy".padStart(10)}${"boot to ready".padStart(15)}${"4 at once ready".padStart(17)}`,
  );
  for (const [name, r] of rows) {
    console.log(
      `${name.padEnd(14)}${f(r.createPausedMs).padStart(17)}${f(r.destroyMs).padStart(10)}${f(r.bootToReadyMs).padStart(15)}${f(r.fourReadyMs).padStart(17)}`,
    );
  }
  const raw = rows.find((r) => r[0] === "raw qemu")?.[1];
  const mine = rows.find((r) => r[0] === "tsvirtd")?.[1];
  if (raw && mine) {
    const verdict = (ok: boolean) => (ok ? "MET " : "MISS");
    const paused = mine.createPausedMs - raw.createPausedMs;
    const boot = mine.bootToReadyMs - raw.bootToReadyMs;
    const four = mine.fourReadyMs / raw.fourReadyMs;
    console.log(
      `target ${verdict(paused <= 250)} start overhead (create --paused) <= 250 ms: ${f(paused)} ms`,
    );
    console.log(`target ${verdict(boot <= 250)} start overhead (boot to ready) <= 250 ms: ${f(boot)} ms`);
    console.log(`target ${verdict(mine.destroyMs <= 100)} destroy <= 100 ms: ${f(mine.destroyMs)} ms`);
    console.log(`target ${verdict(four <= 1.15)} 4 at once <= 1.15x raw QEMU: ${four.toFixed(2)}x`);
  }
  const ts = rows.find((r) => r[0] === "tsvirtd")?.[1];
  const lv = rows.find((r) => r[0] === "libvirtd 9.0")?.[1];
  if (ts && lv) {
    console.log(
      `tsvirtd/libvirtd time ratio: create --paused ${(ts.createPausedMs / lv.createPausedMs).toFixed(3)}, destroy ${(ts.destroyMs / lv.destroyMs).toFixed(3)}, boot ${(ts.bootToReadyMs / lv.bootToReadyMs).toFixed(3)}, 4 at once ${(ts.fourReadyMs / lv.fourReadyMs).toFixed(3)}`,
    );
  }
  if (process.env.BENCH_JSON === "1") console.log(JSON.stringify(Object.fromEntries(rows)));
}

await main();
