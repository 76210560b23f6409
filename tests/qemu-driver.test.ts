// The QEMU hypervisor driver on real TCG guests: define, start, console, suspend/resume,
// ACPI shutdown, paused start + destroy, transient domains, KVM refusal, undefine, reload.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import type { DomainEvent, HypervisorDriver } from "../src/driver/index.js";
import {
  VIR_CONNECT_LIST_DOMAINS,
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_START,
  VIR_DOMAIN_STATE,
} from "../src/driver/index.js";
import {
  createQemuDriverState,
  type QemuDriverState,
  qemuHypervisorDriver,
} from "../src/drivers/qemu/driver.js";
import { ErrorCode } from "../src/errors/index.js";
import { isZombie, pidAlive } from "../src/host/spawn.js";
import { buildGuest, GUEST_READY, guestUnavailable } from "./guest/build-guest.js";
import { SerialConsole } from "./guest/serial-console.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const root = mkdtempSync(join(tmpdir(), "qdrv-"));
const states: QemuDriverState[] = [];
after(async () => {
  // A failed assertion must not leave a guest running (it would also keep this process alive).
  for (const st of states) for (const d of st.domains.values()) await d.proc?.destroy(500);
  // the config stores' background work (spare files) ends before their directories go
  for (const st of states) await st.store.flush();
  rmSync(root, { recursive: true, force: true });
});
const opts = {
  uri: "qemu:///system",
  configDir: join(root, "etc", "qemu"),
  libDir: join(root, "lib"),
  runDir: join(root, "run"),
  emulators: [QEMU],
};

function guestXml(name: string, type = "qemu", serialSock?: string): string {
  const g = buildGuest();
  const serial = serialSock
    ? `<serial type='unix'><source mode='bind' path='${serialSock}'/><target port='0'/></serial>`
    : `<serial type='pty'><target port='0'/></serial>`;
  return `<domain type='${type}'>
  <name>${name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>${g.cmdline}</cmdline></os>
  <features><acpi/></features>
  <devices>${serial}<console type='pty'><target type='serial' port='0'/></console></devices>
</domain>`;
}

async function waitState(
  drv: HypervisorDriver,
  ref: { name: string; uuid: string; id: number },
  state: number,
  ms = 60_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await drv.domainGetState!(ref, 0);
    if (s.state === state) return s;
    if (Date.now() > deadline) throw new Error(`state ${s.state}, wanted ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("qemu driver: lifecycle of a real TCG guest", async (t) => {
  const why = !existsSync(QEMU) ? "qemu-system-x86_64 not installed" : guestUnavailable();
  if (why) return t.skip(why);
  const st = await createQemuDriverState(opts);
  states.push(st);
  const drv = qemuHypervisorDriver(st);
  const events: DomainEvent[] = [];
  await drv.connectDomainEventRegisterAny!(null, 0, (e) => events.push(e));
  await drv.connectDomainEventRegisterAny!(null, 1, (e) => events.push(e));
  assert.equal(await drv.connectGetType!(), "QEMU");
  assert.ok((await drv.connectGetVersion!()) >= 6_002_000);

  const ser = join(root, "vm1-serial.sock");
  const ref = await drv.domainDefineXMLFlags!(guestXml("vm1", "qemu", ser), 0);
  assert.equal(ref.id, -1);
  // The config file is written just after the define (a deferred save: state/xml-journal-store.ts).
  for (let i = 0; i < 200 && !existsSync(join(opts.configDir, "vm1.xml")); i++) await delay(5);
  assert.ok(existsSync(join(opts.configDir, "vm1.xml")), "the config file is written within a second");
  assert.deepEqual(await drv.connectListDefinedDomains!(10), ["vm1"]);
  const inactiveXml = await drv.domainGetXMLDesc!(ref, 0);
  assert.match(inactiveXml, /machine='pc-q35-\d+\.\d+'/, "machine alias resolved");
  assert.match(inactiveXml, /<emulator>\/usr\/bin\/qemu-system-x86_64<\/emulator>/);

  const t0 = Date.now();
  const running = await drv.domainCreateWithFlags!(ref, 0);
  const con = await SerialConsole.connect(ser);
  assert.ok(running.id > 0, "running id");
  assert.deepEqual(await drv.connectListDomains!(10), [running.id]);
  assert.equal((await drv.domainLookupByID!(running.id)).name, "vm1");
  const info = await drv.domainGetInfo!(ref);
  assert.equal(info.state, VIR_DOMAIN_STATE.RUNNING);
  assert.equal(info.maxMem, 262144);
  assert.equal(info.nrVirtCpu, 1);
  assert.ok(info.cpuTime > 0, "CPU time read from /proc");
  assert.match(await drv.domainGetXMLDesc!(ref, 0), new RegExp(`<domain type='qemu' id='${running.id}'>`));
  const active = await drv.connectListAllDomains!(VIR_CONNECT_LIST_DOMAINS.ACTIVE);
  assert.deepEqual(
    active.map((d) => d.name),
    ["vm1"],
  );
  await con.waitFor(new RegExp(GUEST_READY), 90_000);
  t.diagnostic(`guest ready ${Date.now() - t0} ms after start`);

  await drv.domainSuspend!(ref);
  assert.equal((await drv.domainGetState!(ref, 0)).state, VIR_DOMAIN_STATE.PAUSED);
  await drv.domainResume!(ref);
  assert.equal((await drv.domainGetState!(ref, 0)).state, VIR_DOMAIN_STATE.RUNNING);

  // virsh reboot: ACPI power button, the guest powers off, QEMU is reset and runs again.
  await con.waitFor(/TSVIRT-TICK 1/, 30_000);
  await drv.domainRebootFlags!(ref, 0);
  await con.waitFor(/TSVIRT-GUEST-POWERBUTTON[\s\S]*TSVIRT-GUEST-READY/, 90_000);
  assert.equal((await drv.domainGetState!(ref, 0)).state, VIR_DOMAIN_STATE.RUNNING);
  assert.equal((await drv.domainLookupByName!("vm1")).id, running.id, "same QEMU, same id");
  assert.ok(
    events.some((e) => e.eventId === 1 && e.dom.name === "vm1"),
    "reboot event",
  );

  await drv.domainShutdownFlags!(ref, 0);
  const off = await waitState(drv, ref, VIR_DOMAIN_STATE.SHUTOFF);
  assert.equal(off.reason, VIR_DOMAIN_SHUTOFF.SHUTDOWN);
  con.close();
  assert.ok(!existsSync(join(opts.runDir, "qemu", "vm1.pid")));
  assert.ok(existsSync(join(opts.libDir, "qemu", "log", "vm1.log")));

  // Paused start, then destroy.
  const p = await drv.domainCreateWithFlags!(ref, VIR_DOMAIN_START.PAUSED);
  assert.equal((await drv.domainGetState!(p, 0)).state, VIR_DOMAIN_STATE.PAUSED);
  const pid = st.domains.byName("vm1")!.proc!.pid;
  await drv.domainDestroyFlags!(p, 0);
  const s2 = await drv.domainGetState!(p, 0);
  assert.deepEqual(s2, { state: VIR_DOMAIN_STATE.SHUTOFF, reason: VIR_DOMAIN_SHUTOFF.DESTROYED });
  assert.ok(!pidAlive(pid), "QEMU gone after destroy");
  await assert.rejects(drv.domainDestroyFlags!(p, 0), {
    message: "Requested operation is not valid: domain is not running",
  });

  await new Promise((r) => setImmediate(r));
  const lifecycle = events
    .filter((e) => e.dom.name === "vm1" && e.eventId === 0)
    .map((e) => `${e.event}:${e.detail}`);
  const E = VIR_DOMAIN_EVENT;
  assert.deepEqual(lifecycle, [
    `${E.DEFINED}:0`,
    `${E.STARTED}:0`,
    `${E.SUSPENDED}:0`,
    `${E.RESUMED}:0`,
    `${E.SHUTDOWN}:1`,
    `${E.STOPPED}:0`,
    `${E.STARTED}:0`,
    `${E.SUSPENDED}:0`,
    `${E.STOPPED}:1`,
  ]);

  // A transient domain disappears when it stops.
  const tr = await drv.domainCreateXML!(guestXml("tr1"), VIR_DOMAIN_START.PAUSED);
  assert.equal(await drv.domainIsPersistent!(tr), false);
  await drv.domainDestroyFlags!(tr, 0);
  await assert.rejects(drv.domainLookupByName!("tr1"), {
    code: ErrorCode.NO_DOMAIN,
    message: "Domain not found: no domain with matching name 'tr1'",
  });

  // type='kvm' is refused with a clear error where KVM does not work, instead of hanging.
  const caps = await st.caps.get(QEMU);
  const kref = await drv.domainDefineXMLFlags!(guestXml("kvm1", "kvm"), 0);
  if (!caps.kvm.usable) {
    await assert.rejects(drv.domainCreateWithFlags!(kref, 0), (e: Error & { code: number }) => {
      assert.equal(e.code, ErrorCode.CONFIG_UNSUPPORTED);
      assert.match(e.message, /^unsupported configuration: Domain requires KVM, but it is not available/);
      return true;
    });
  }
  await drv.domainUndefineFlags!(kref, 0);
  assert.ok(!existsSync(join(opts.configDir, "kvm1.xml")));

  // A new driver instance over the same directories finds the persistent domain again.
  const st2 = await createQemuDriverState(opts);
  states.push(st2);
  const drv2 = qemuHypervisorDriver(st2);
  assert.deepEqual(await drv2.connectListDefinedDomains!(10), ["vm1"]);
  await drv2.domainUndefineFlags!(await drv2.domainLookupByName!("vm1"), 0);
});

test("qemu driver: start failure leaves the domain shut off with QEMU's error", async (t) => {
  const why = !existsSync(QEMU) ? "qemu-system-x86_64 not installed" : guestUnavailable();
  if (why) return t.skip(why);
  const st = await createQemuDriverState(opts);
  states.push(st);
  const drv = qemuHypervisorDriver(st);
  const xml = guestXml("bad1").replace(
    /<kernel>[^<]*<\/kernel>/,
    `<kernel>${join(root, "missing-kernel")}</kernel>`,
  );
  const ref = await drv.domainDefineXMLFlags!(xml, 0);
  await assert.rejects(
    drv.domainCreateWithFlags!(ref, 0),
    /internal error: process exited while connecting to monitor: .*could not open kernel file '[^']*missing-kernel'/s,
  );
  assert.deepEqual(await drv.domainGetState!(ref, 0), { state: VIR_DOMAIN_STATE.SHUTOFF, reason: 0 });
  assert.equal(await drv.domainIsActive!(ref), false);
  await drv.domainUndefineFlags!(ref, 0);
});

test("qemu driver: capabilities XML is valid and lists the probed machines", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const st = await createQemuDriverState(opts);
  states.push(st);
  const drv = qemuHypervisorDriver(st);
  const xml = await drv.connectGetCapabilities!();
  const caps = await st.caps.get(QEMU);
  assert.match(xml, /<emulator>\/usr\/bin\/qemu-system-x86_64<\/emulator>/);
  assert.match(xml, /<machine maxCpus='\d+'>pc-q35-\d+\.\d+<\/machine>/);
  assert.match(xml, /<machine canonical='pc-q35-\d+\.\d+' maxCpus='\d+'>q35<\/machine>/);
  assert.match(xml, /<domain type='qemu'\/>/);
  assert.equal(/<domain type='kvm'/.test(xml), caps.kvm.usable);
  const rng = "/usr/share/libvirt/schemas/capability.rng";
  if (existsSync(rng) && existsSync("/usr/bin/xmllint")) {
    const f = join(root, "caps.xml");
    writeFileSync(f, xml);
    execFileSync("xmllint", ["--noout", "--relaxng", rng, f], { stdio: "pipe" });
  }
  assert.deepEqual(await drv.nodeGetSecurityModel!(), { model: "none", doi: "0" });

  // Domain capabilities: valid per domaincaps.rng, and KVM refused where it does not work.
  const dc = await drv.connectGetDomainCapabilities!(null, "x86_64", "q35", "qemu", 0);
  assert.match(dc, /<machine>pc-q35-\d+\.\d+<\/machine>/);
  assert.match(dc, /<domain>qemu<\/domain>/);
  assert.match(dc, /<value>sata<\/value>/);
  // TCG: models usable unless QEMU names blockers, the vendor from libvirt's CPU map (none for qemu64)
  assert.match(dc, /<model usable='yes' vendor='unknown'>qemu64<\/model>/);
  assert.match(dc, /<mode name='host-model' supported='yes'>/);
  const drng = "/usr/share/libvirt/schemas/domaincaps.rng";
  if (existsSync(drng) && existsSync("/usr/bin/xmllint")) {
    const f = join(root, "domcaps.xml");
    writeFileSync(f, dc);
    execFileSync("xmllint", ["--noout", "--relaxng", drng, f], { stdio: "pipe" });
  }
  if (!caps.kvm.usable) {
    await assert.rejects(
      drv.connectGetDomainCapabilities!(null, "x86_64", null, "kvm", 0),
      /KVM is not supported/,
    );
  }
});

test("qemu driver: a restarted daemon finds running guests again; stale status is dropped", async (t) => {
  const why = !existsSync(QEMU) ? "qemu-system-x86_64 not installed" : guestUnavailable();
  if (why) return t.skip(why);
  const o = {
    ...opts,
    configDir: join(root, "r", "etc"),
    libDir: join(root, "r", "lib"),
    runDir: join(root, "r", "run"),
  };
  const st1 = await createQemuDriverState(o);
  states.push(st1);
  const drv1 = qemuHypervisorDriver(st1);
  const ref = await drv1.domainDefineXMLFlags!(guestXml("keep1"), 0);
  const running = await drv1.domainCreateWithFlags!(ref, VIR_DOMAIN_START.PAUSED);
  const pid = st1.domains.byName("keep1")!.proc!.pid;
  const autoRef = await drv1.domainDefineXMLFlags!(guestXml("auto1"), 0);
  await drv1.domainSetAutostart!(autoRef, true);
  // The old daemon goes away: its monitor connection closes (QEMU serves one QMP client).
  st1.domains.byName("keep1")!.proc!.monitor.close();
  writeFileSync(
    join(o.runDir, "qemu", "gone1.status.json"),
    JSON.stringify({
      version: 1,
      name: "gone1",
      uuid: "x",
      id: 9,
      pid: 2 ** 22 + 1,
      persistent: false,
      state: 1,
      reason: 1,
      xml: "",
    }),
  );

  const st2 = await createQemuDriverState(o);
  states.push(st2);
  const drv2 = qemuHypervisorDriver(st2);
  assert.ok(!existsSync(join(o.runDir, "qemu", "gone1.status.json")), "stale status removed");
  const again = await drv2.domainLookupByName!("keep1");
  assert.equal(again.id, running.id);
  assert.equal(await drv2.domainIsPersistent!(again), true);
  assert.equal((await drv2.domainGetState!(again, 0)).state, VIR_DOMAIN_STATE.PAUSED);
  await drv2.domainResume!(again);
  assert.equal((await drv2.domainGetState!(again, 0)).state, VIR_DOMAIN_STATE.RUNNING);
  const auto = await drv2.domainLookupByName!("auto1");
  assert.ok(auto.id > 0, "autostart domain started with the new daemon");
  assert.equal(await drv2.domainGetAutostart!(auto), true);
  await drv2.domainDestroyFlags!(auto, 0);
  await drv2.domainUndefineFlags!(auto, 0);
  const other = await drv2.domainCreateXML!(guestXml("new1"), VIR_DOMAIN_START.PAUSED);
  assert.ok(other.id > running.id, "ids are not reused");
  await drv2.domainDestroyFlags!(other, 0);
  await drv2.domainDestroyFlags!(again, 0);
  assert.deepEqual(await drv2.domainGetState!(again, 0), {
    state: VIR_DOMAIN_STATE.SHUTOFF,
    reason: VIR_DOMAIN_SHUTOFF.DESTROYED,
  });
  // The first state is still its parent: it may not have reaped the zombie yet.
  assert.ok(!pidAlive(pid) || isZombie(pid), "QEMU gone after destroy");
  assert.ok(!existsSync(join(o.runDir, "qemu", "keep1.status.json")));
  await drv2.domainUndefineFlags!(again, 0);
});

test("qemu driver: block stats and info, memory stats, screenshot of a paused guest", async (t) => {
  const why = !existsSync(QEMU)
    ? "qemu-system-x86_64 not installed"
    : !existsSync("/usr/bin/qemu-img")
      ? "qemu-img not installed"
      : guestUnavailable();
  if (why) return t.skip(why);
  const st = await createQemuDriverState(opts);
  states.push(st);
  const drv = qemuHypervisorDriver(st);
  const img = join(root, "stats.qcow2");
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", img, "16M"]);
  const xml = guestXml("stats1").replace(
    "<devices>",
    `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${img}'/><target dev='vda' bus='virtio'/></disk><video><model type='vga'/></video>`,
  );
  const ref = await drv.domainCreateXML!(xml, VIR_DOMAIN_START.PAUSED);
  try {
    const bs = await drv.domainBlockStats!(ref, "vda");
    assert.ok(bs.rdReq >= 0 && bs.wrBytes >= 0);
    assert.deepEqual(await drv.domainBlockStats!(ref, img), bs, "by source path too");
    const bi = await drv.domainGetBlockInfo!(ref, "vda", 0);
    assert.equal(bi.capacity, 16 * 1024 * 1024);
    assert.ok(bi.allocation > 0 && bi.physical > 0);
    await assert.rejects(drv.domainBlockStats!(ref, "vdz"), /invalid path: vdz/);
    const ms = await drv.domainMemoryStats!(ref, 10, 0);
    // actual, last_update (the balloon's guest stats, 0 without a polling period), rss: as libvirt
    assert.deepEqual(
      ms.map((m) => m.tag),
      [6, 9, 7],
    );
    assert.equal(ms[0]!.val, 262144);
    assert.ok(ms[2]!.val > 0);
    const shot = await drv.domainScreenshot!(ref, 0, 0);
    // QEMU 7.2 writes PNG, as libvirt 9.0 asks it to
    assert.equal(shot.mime, "image/png");
    assert.deepEqual([...shot.data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    await assert.rejects(drv.domainInterfaceStats!(ref, "vnet9"), /'vnet9' is not a known interface/);
    // Live memory goes through the balloon; a transient domain has no config to change.
    await drv.domainSetMemoryFlags!(ref, 200_000, 1);
    assert.equal((await drv.domainGetInfo!(ref)).memory, 200_000);
    await assert.rejects(
      drv.domainSetMemoryFlags!(ref, 200_000, 2),
      /transient domains do not have any persistent config/,
    );
    await assert.rejects(
      drv.domainSetMaxMemory!(ref, 100_000),
      /cannot resize the maximum memory on an active domain/,
    );
  } finally {
    await drv.domainDestroyFlags!(ref, 0);
  }
});

test("qemu driver: setmaxmem, setmem --config and setvcpus --config persist", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const o = {
    ...opts,
    configDir: join(root, "cfg", "etc"),
    libDir: join(root, "cfg", "lib"),
    runDir: join(root, "cfg", "run"),
  };
  const st = await createQemuDriverState(o);
  states.push(st);
  const drv = qemuHypervisorDriver(st);
  const ref = await drv.domainDefineXMLFlags!(
    "<domain type='qemu'><name>cfg1</name><memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>",
    0,
  );
  await drv.domainSetMaxMemory!(ref, 524288);
  await drv.domainSetMemoryFlags!(ref, 300000, 2);
  await assert.rejects(drv.domainSetMemoryFlags!(ref, 600000, 0), /cannot set memory higher than max memory/);
  await drv.domainSetVcpusFlags!(ref, 4, 2 | 4);
  await drv.domainSetVcpusFlags!(ref, 2, 2);
  await assert.rejects(
    drv.domainSetVcpusFlags!(ref, 5, 2),
    /greater than max allowable vcpus for the persistent domain: 5 > 4/,
  );
  await assert.rejects(drv.domainSetVcpusFlags!(ref, 2, 1), /domain is not running/);
  assert.equal(await drv.domainGetVcpusFlags!(ref, 0), 2);
  assert.equal(await drv.domainGetVcpusFlags!(ref, 4), 4);
  const st2 = await createQemuDriverState(o);
  states.push(st2);
  const xml = await qemuHypervisorDriver(st2).domainGetXMLDesc!(ref, 0);
  assert.match(xml, /<memory unit='KiB'>524288<\/memory>/);
  assert.match(xml, /<currentMemory unit='KiB'>300000<\/currentMemory>/);
  assert.match(xml, /<vcpu placement='static' current='2'>4<\/vcpu>/);
  assert.match(xml, /machine='pc-i440fx-/, "no machine given: libvirt's default 'pc'");
});
