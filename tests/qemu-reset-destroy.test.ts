// <on_reboot>destroy: a reset of the guest ends it as a shutdown, as libvirtd 9.0 does (QEMU runs
// without -no-reboot; the RESET event is turned into a shutdown). `virsh reset` of such a running
// guest on tsvirtd and on a private libvirtd 9.0 (bench/peers/libvirtd.ts): the same lifecycle
// events and the same final state and reason. (Before, tsvirtd's -no-reboot QEMU stopped and the
// domain stayed paused.)
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

let ts: RootDaemon | undefined;
let lv: LibvirtdPeer | undefined;
let base: string | undefined;
after(async () => {
  if (ts) {
    ts.killAll(["rb"]);
    rmSync(ts.root, { recursive: true, force: true });
  }
  await lv?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

const XML = `<domain type='qemu'>
  <name>rb</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_reboot>destroy</on_reboot>
  <devices><emulator>${QEMU}</emulator></devices>
</domain>`;

/** `virsh event --all --loop` on `uri` until stopped: its lifecycle lines. */
function watch(uri: string): { stop: () => Promise<string[]> } {
  const p: ChildProcess = spawn("virsh", ["-c", uri, "event", "--all", "--loop"], {
    env: { ...process.env, LC_ALL: "C" },
  });
  let out = "";
  p.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  return {
    stop: async () => {
      p.kill("SIGTERM");
      await new Promise((r) => p.once("exit", r));
      return out.split("\n").filter((l) => l.startsWith("event 'lifecycle'"));
    },
  };
}

async function resetRun(uri: string, file: string): Promise<{ events: string[]; state: string }> {
  assert.equal((await virsh(uri, ["define", file])).code, 0);
  assert.equal((await virsh(uri, ["start", "rb"])).code, 0);
  const w = watch(uri);
  // (virsh event prints nothing once registered: give it time, on a loaded machine too)
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await virsh(uri, ["reset", "rb"])).code, 0);
  let state = "";
  for (let i = 0; i < 50; i++) {
    state = (await virsh(uri, ["domstate", "--reason", "rb"])).out.trim();
    if (state.startsWith("shut off")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 300));
  const events = await w.stop();
  await virsh(uri, ["destroy", "rb"]);
  await virsh(uri, ["undefine", "rb"]);
  return { events, state };
}

test("virsh reset of an <on_reboot>destroy guest: events and state as libvirtd 9.0", {
  skip: skipWhy ?? false,
  timeout: 120_000,
}, async () => {
  base = mkdtempSync(join(tmpdir(), "tsvirt-reset-"));
  const file = join(base, "rb.xml");
  writeFileSync(file, XML);
  ts = new RootDaemon(mkdtempSync(join(tmpdir(), "tsvirtd-reset-")));
  [lv] = await Promise.all([
    startLibvirtd({
      root: join(base, "lv"),
      cacheDir: join(import.meta.dirname, "..", ".cache", "libvirt-qemu-peer"),
    }),
    ts.start(),
  ]);
  const theirs = await resetRun(lv.uri("qemu"), file);
  const ours = await resetRun(ts.uri, file);
  assert.equal(theirs.state, "shut off (shutdown)");
  assert.deepEqual(ours, theirs);
});
