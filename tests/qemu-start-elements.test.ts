// Domains with elements whose start needs more than the argv (the argv itself is compared with
// libvirtd 9.0 in qemu-xml2argv-libvirt): started through tsvirtd with real virsh, then checked in
// the running QEMU. A VNC password set over QMP (set_password) is proven by a real RFB
// VNC-authentication handshake (DES by the openssl CLI's legacy provider); an expired one
// (passwdValidTo in the past: expire_password now) refuses the right password; shared
// file-backed RAM is a file in the domain's memory directory, gone after destroy; a variable
// clock starts the RTC at start + adjustment; a SPICE password keeps ticketing on; clock
// offset='timezone' puts TZ in QEMU's environment; the memfd RAM and its numatune binding are
// seen in /proc/<pid>/numa_maps; vsock is refused with libvirt's error on a host without
// /dev/vhost-vsock. (tsvirtd has no qemu-monitor-command, so nothing here asks QMP.)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { haveVirsh, RootDaemon, virsh } from "./guest/root-daemon.js";

const QEMU = "/usr/bin/qemu-system-x86_64";
const root = mkdtempSync(join(tmpdir(), "tsvirtd-elements-"));
const daemons = new RootDaemon(root);
const NAMES = ["elem-main", "elem-expired", "elem-spice", "elem-vsock"];
after(() => {
  daemons.killAll(NAMES);
  rmSync(root, { recursive: true, force: true });
});

function domainXml(name: string, inner: { top?: string; clock?: string; devices?: string }): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>131072</memory>
  ${inner.top ?? ""}
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  ${inner.clock ?? "<clock offset='utc'/>"}
  <devices>
    <emulator>${QEMU}</emulator>
    ${inner.devices ?? ""}
  </devices>
</domain>
`;
}

/** The RFB key: the password's first 8 bytes, zero-padded, each byte's bits reversed. */
function vncKey(password: string): Buffer {
  const k = Buffer.alloc(8);
  Buffer.from(password, "latin1").copy(k, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = k[i]!;
    let r = 0;
    for (let j = 0; j < 8; j++) {
      r = (r << 1) | (b & 1);
      b >>= 1;
    }
    k[i] = r;
  }
  return k;
}

function desEcb(key: Buffer, data: Buffer): Buffer {
  return execFileSync(
    "openssl",
    ["enc", "-des-ecb", "-provider", "legacy", "-provider", "default", "-nopad", "-K", key.toString("hex")],
    { input: data },
  );
}

/** RFB 3.8 with VNC authentication: the server's security result (0 accepted, 1 refused). */
function vncAuth(port: number, password: string): Promise<{ types: number[]; result: number }> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    let stage = 0;
    let types: number[] = [];
    s.on("error", reject);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 12) {
        s.write("RFB 003.008\n");
        buf = buf.subarray(12);
        stage = 1;
      }
      if (stage === 1 && buf.length >= 1 && buf.length >= 1 + buf[0]!) {
        types = [...buf.subarray(1, 1 + buf[0]!)];
        buf = buf.subarray(1 + buf[0]!);
        if (!types.includes(2)) {
          s.destroy();
          resolve({ types, result: -1 });
          return;
        }
        s.write(Buffer.from([2]));
        stage = 2;
      }
      if (stage === 2 && buf.length >= 16) {
        s.write(desEcb(vncKey(password), buf.subarray(0, 16)));
        buf = buf.subarray(16);
        stage = 3;
      }
      if (stage === 3 && buf.length >= 4) {
        s.destroy();
        resolve({ types, result: buf.readUInt32BE(0) });
      }
    });
  });
}

test("tsvirtd starts domains with VNC/SPICE passwords, clock offsets, watchdog, memory backing, numatune", async (t) => {
  const why = !haveVirsh() ? "virsh not installed" : !existsSync(QEMU) ? "qemu not installed" : undefined;
  if (why) return t.skip(why);
  const uri = daemons.uri;
  const ok = async (args: string[]) => {
    const r = await virsh(uri, args);
    assert.equal(r.code, 0, `virsh ${args.join(" ")}: ${r.out}${r.err}`);
    return r.out;
  };
  writeFileSync(
    join(root, "main.xml"),
    domainXml("elem-main", {
      top: `<memoryBacking><nosharepages/><source type='memfd'/><access mode='shared'/></memoryBacking>
  <numatune><memory mode='strict' nodeset='0'/></numatune>`,
      clock: "<clock offset='timezone' timezone='Europe/Paris'/>",
      devices: `<graphics type='vnc' autoport='yes' passwd='s3cret!xy' passwdValidTo='2099-01-01T00:00:00'/>
    <watchdog model='i6300esb' action='poweroff'/>`,
    }),
  );
  writeFileSync(
    join(root, "expired.xml"),
    domainXml("elem-expired", {
      top: "<memoryBacking><access mode='shared'/></memoryBacking>",
      clock: "<clock offset='variable' adjustment='86400' basis='utc'/>",
      devices: "<graphics type='vnc' autoport='yes' passwd='s3cret' passwdValidTo='2001-01-01T00:00:00'/>",
    }),
  );
  writeFileSync(
    join(root, "spice.xml"),
    domainXml("elem-spice", {
      devices: "<graphics type='spice' autoport='yes' passwd='s3cret' connected='keep'/>",
    }),
  );
  writeFileSync(
    join(root, "vsock.xml"),
    domainXml("elem-vsock", { devices: "<vsock model='virtio'><cid auto='no' address='5'/></vsock>" }),
  );
  const daemon = await daemons.start();
  for (const f of ["main", "expired", "spice", "vsock"]) await ok(["define", join(root, `${f}.xml`)]);

  await ok(["start", "elem-main"]);
  const pid = Number(readFileSync(join(root, "run", "qemu", "elem-main.pid"), "utf8").trim());
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const display = (await ok(["domdisplay", "elem-main"])).trim();
  const m = /^vnc:\/\/(?:localhost|127\.0\.0\.1):(\d+)$/.exec(display);
  assert.ok(m, display);
  const port = 5900 + Number(m[1]);
  assert.ok(
    cmdline.some((a) => a.startsWith(`127.0.0.1:${m[1]},password=on`)),
    cmdline.join(" "),
  );
  // the password reached QEMU: only VNC authentication is offered, and only the password passes
  assert.deepEqual(await vncAuth(port, "s3cret!xy"), { types: [2], result: 0 });
  assert.equal((await vncAuth(port, "wrong")).result, 1);
  const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  assert.ok(env.includes("TZ=Europe/Paris"), env.join(" "));
  // the guest RAM is the shared memfd, bound to host node 0 (numatune strict)
  const numaMaps = readFileSync(`/proc/${pid}/numa_maps`, "utf8").split("\n");
  const ram = numaMaps.filter((l) => l.includes("file=/memfd:memory-backend-memfd"));
  assert.equal(ram.length, 1, numaMaps.join("\n"));
  assert.match(ram[0]!, /^[0-9a-f]+ bind:0 file=/);
  assert.ok(cmdline.some((a) => a.startsWith('{"driver":"i6300esb","id":"watchdog0",')));
  assert.equal(cmdline[cmdline.indexOf("-watchdog-action") + 1], "poweroff");
  await ok(["destroy", "elem-main"]);

  // expire_password now: even the right password is refused
  await ok(["start", "elem-expired"]);
  const p2 = 5900 + Number(/:(\d+)$/.exec((await ok(["domdisplay", "elem-expired"])).trim())![1]);
  assert.equal((await vncAuth(p2, "s3cret")).result, 1);
  const pid2 = Number(readFileSync(join(root, "run", "qemu", "elem-expired.pid"), "utf8").trim());
  // offset='variable': the RTC starts a day ahead of the host
  const cmd2 = readFileSync(`/proc/${pid2}/cmdline`, "utf8").split("\0");
  const base = cmd2[cmd2.indexOf("-rtc") + 1]!;
  const ahead = (Date.parse(`${base.slice(5)}Z`) - Date.now()) / 1000;
  assert.ok(Math.abs(ahead - 86400) < 120, `${base}: ${ahead} s ahead`);
  // <access mode='shared'/> without memfd: RAM in a file of the domain's memory directory
  const ramFile = readFileSync(`/proc/${pid2}/maps`, "utf8")
    .split("\n")
    .map((l) => l.split(/\s+/).slice(5).join(" "))
    .find((f) => f.endsWith("/qemu/ram/elem-expired/pc.ram"));
  assert.ok(ramFile?.startsWith(root), "no file-backed RAM mapping");
  assert.ok(existsSync(ramFile));
  await ok(["destroy", "elem-expired"]);
  assert.ok(!existsSync(dirname(ramFile)), "the memory directory outlived QEMU");

  // SPICE: ticketing stays on (no disable-ticketing) and set_password for spice succeeds
  await ok(["start", "elem-spice"]);
  const pid3 = Number(readFileSync(join(root, "run", "qemu", "elem-spice.pid"), "utf8").trim());
  const spice = readFileSync(`/proc/${pid3}/cmdline`, "utf8").split("\0");
  const sv = spice[spice.indexOf("-spice") + 1]!;
  assert.ok(!sv.includes("disable-ticketing"), sv);
  await ok(["destroy", "elem-spice"]);

  const v = await virsh(uri, ["start", "elem-vsock"]);
  assert.notEqual(v.code, 0);
  if (!existsSync("/dev/vhost-vsock"))
    assert.match(v.err, /unsupported configuration: unable to open vhost-vsock device/);
  // the saved definition keeps the password: after a daemon restart the display still asks for it
  daemon.kill("SIGTERM");
  await new Promise((r) => daemon.once("exit", r));
  const daemon2 = await daemons.start();
  await ok(["start", "elem-main"]);
  const p3 = 5900 + Number(/:(\d+)$/.exec((await ok(["domdisplay", "elem-main"])).trim())![1]);
  assert.deepEqual(await vncAuth(p3, "s3cret!xy"), { types: [2], result: 0 });
  await ok(["destroy", "elem-main"]);
  for (const n of NAMES) await ok(["undefine", n]);
  daemon2.kill("SIGTERM");
  await new Promise((r) => daemon2.once("exit", r));
});
