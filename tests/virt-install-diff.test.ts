// Differential: Debian's virt-install / virt-xml (virtinst 4.1) run unchanged against tsvirtd and
// against a private libvirtd 9.0 (qemu:///system over each daemon's unix socket). The printed
// domain XML, the messages and exit codes must be the same once UUIDs, MACs and each daemon's own
// directories are normalised; a real define (--import with a new volume in the default pool and
// one in a directory virt-install turns into a pool) must leave the same domain and volume XML
// behind, and virt-xml edits of that domain must come out the same.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { type LibvirtdPeer, libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { startTsvirtd, type TsvirtdProcess, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";

const run = promisify(execFile);

const skipWhy = !existsSync("/usr/bin/virt-install")
  ? "virt-install not installed (Debian package virtinst)"
  : !existsSync("/usr/bin/virsh")
    ? "virsh not installed"
    : !existsSync("/usr/bin/qemu-system-x86_64")
      ? "qemu-system-x86_64 not installed"
      : (tsvirtdUnavailable() ?? libvirtdUnavailable());

interface Side {
  uri: string;
  /** Directory of this side's own files (per-daemon disk paths), replaced by @D@; both sides'
   * have the same base name, which virt-install gives the pool it makes of it. */
  dir: string;
  /** The daemon's default pool directory, shown as libvirtd's /var/lib/libvirt/images. */
  images: string;
}

interface Out {
  code: number;
  out: string;
  err: string;
}

async function tool(bin: string, args: string[]): Promise<Out> {
  try {
    const r = await run(bin, args, { timeout: 60_000, maxBuffer: 1 << 24 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, out: x.stdout ?? "", err: x.stderr ?? "" };
  }
}

function norm(s: Side, text: string): string {
  return (
    text
      .split(s.dir)
      .join("@D@")
      .split(s.images)
      .join("/var/lib/libvirt/images")
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "UUID")
      .replace(/52:54:00(:[0-9a-f]{2}){3}/g, "MAC")
      .replace(/socket=\S+/g, "socket=SOCK")
      .replace(/<([amc]time)>[0-9.]+<\/\1>/g, "<$1>T</$1>")
      // display ports: the two daemons' guests share the host's port range with other guests
      .replace(/port='59\d\d'/g, "port='P'")
      .replace(/(spice|vnc):\/\/127\.0\.0\.1:\d+/g, "$1://127.0.0.1:P")
      // progress meters redraw as often as the copy is polled: keep one line per message
      .split(/\r?\n|\r/)
      .map((l) => /Allocating '[^']+'/.exec(l)?.[0] ?? l)
      .filter((l) => l.trim() !== "")
      .filter((l, i, all) => l !== all[i - 1])
      .join("\n")
  );
}

async function both(
  sides: [Side, Side],
  bin: string,
  args: string[],
  uriFlag = true,
): Promise<[string, string]> {
  const r = await Promise.all(
    sides.map(async (s) => {
      const a = args.map((x) => x.replaceAll("@D@", s.dir));
      const o = await tool(bin, uriFlag ? ["--connect", s.uri, ...a] : ["-c", s.uri, ...a]);
      return norm(s, `rc=${o.code}\n${o.out}\n--- stderr\n${o.err}`);
    }),
  );
  return [r[0]!, r[1]!];
}

const BASE = ["--memory", "256", "--vcpus", "1", "--virt-type", "qemu"];
const QUIET = ["--osinfo", "generic", "--graphics", "none", "--network", "none"];

/** virt-install command lines that only print (no define). */
const PRINT_CASES: Record<string, string[]> = {
  "detect, all defaults (machine, SPICE devices)": [
    "--name",
    "p1",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    "--osinfo",
    "detect=on,require=off",
    "--print-xml",
  ],
  "generic, vnc": [
    "--name",
    "p2",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    "--osinfo",
    "generic",
    "--graphics",
    "vnc",
    "--print-xml",
  ],
  "no graphics, no network": [
    "--name",
    "p3",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    ...QUIET,
    "--print-xml",
  ],
  "user network": [
    "--name",
    "p4",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    "--osinfo",
    "generic",
    "--graphics",
    "none",
    "--network",
    "user",
    "--print-xml",
  ],
  "network=default (absent on both)": [
    "--name",
    "p5",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    "--osinfo",
    "generic",
    "--network",
    "network=default",
    "--print-xml",
  ],
  q35: [
    "--name",
    "p6",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    "--osinfo",
    "generic",
    "--machine",
    "q35",
    "--print-xml",
  ],
  "linux2022 on q35, no graphics": [
    "--name",
    "p7",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    "--osinfo",
    "linux2022",
    "--machine",
    "q35",
    "--graphics",
    "none",
    "--print-xml",
  ],
  "host-passthrough cpu": [
    "--name",
    "p8",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "hd",
    ...QUIET,
    "--cpu",
    "host-passthrough",
    "--print-xml",
  ],
  "dry run": ["--name", "p9", ...BASE, "--disk", "none", "--boot", "hd", ...QUIET, "--dry-run"],
  "uefi (no firmware: refused)": [
    "--name",
    "p10",
    ...BASE,
    "--disk",
    "none",
    "--boot",
    "uefi",
    "--osinfo",
    "generic",
    "--print-xml",
  ],
  "import of an existing image": [
    "--name",
    "p11",
    ...BASE,
    ...QUIET,
    "--import",
    "--disk",
    "path=@D@/imp.qcow2",
    "--print-xml",
  ],
  "new volume in a directory": [
    "--name",
    "p12",
    ...BASE,
    ...QUIET,
    "--import",
    "--disk",
    "path=@D@/new.qcow2,size=1",
    "--print-xml",
  ],
  "new volume in the default pool": [
    "--name",
    "p13",
    ...BASE,
    ...QUIET,
    "--boot",
    "hd",
    "--disk",
    "size=1",
    "--print-xml",
  ],
  "name already taken": ["--name", "d1", ...BASE, "--disk", "none", "--boot", "hd", ...QUIET, "--print-xml"],
};

/** virt-xml edits applied in turn to the defined domain d1 (each defines the result). */
const EDITS: string[][] = [
  ["--edit", "--memory", "512"],
  ["--edit", "--vcpus", "2", "--print-diff"],
  ["--add-device", "--disk", "size=1"],
  ["--add-device", "--network", "user"],
  ["--add-device", "--graphics", "vnc"],
  ["--edit", "--boot", "hd,cdrom"],
  ["--add-device", "--channel", "unix,target.type=virtio,name=org.qemu.guest_agent.0"],
  ["--edit", "--cpu", "host-passthrough"],
  ["--add-device", "--rng", "/dev/urandom"],
  ["--add-device", "--video", "virtio"],
  ["--remove-device", "--disk", "2"],
];

test("virt-install and virt-xml give the same results against tsvirtd and libvirtd 9.0", {
  skip: skipWhy ?? false,
  timeout: 180_000,
}, async () => {
  const base = mkdtempSync(join(tmpdir(), "tsvirt-virtinst-"));
  let ts: TsvirtdProcess | undefined;
  let lv: LibvirtdPeer | undefined;
  try {
    mkdirSync(join(base, "ts"));
    [ts, lv] = await Promise.all([
      startTsvirtd({ root: join(base, "ts") }),
      startLibvirtd({ root: join(base, "lv"), cacheDir: process.env.TSVIRT_LIBVIRTD_CACHE }),
    ]);
    const sides: [Side, Side] = [
      { uri: lv.uri("qemu"), dir: join(base, "lv-side", "disks"), images: "/var/lib/libvirt/images" },
      { uri: ts.uri("qemu"), dir: join(base, "ts-side", "disks"), images: join(ts.root, "lib", "images") },
    ];
    for (const s of sides) {
      mkdirSync(s.dir, { recursive: true });
      const img = await tool("qemu-img", ["create", "-q", "-f", "qcow2", join(s.dir, "imp.qcow2"), "64M"]);
      assert.equal(img.code, 0, img.err);
    }
    const diffs: Record<string, { libvirtd: string; tsvirtd: string }> = {};
    const compare = (name: string, [theirs, ours]: [string, string]) => {
      if (theirs !== ours) diffs[name] = { libvirtd: theirs, tsvirtd: ours };
    };

    // A real define: new qcow2 volume in the default pool (virt-install creates the pool on
    // libvirtd, tsvirtd has one), not started (--noreboot with --import only defines and boots;
    // --print-xml is off so define goes through the daemon).
    const define = await both(sides, "virt-install", [
      "--name",
      "d1",
      ...BASE,
      ...QUIET,
      "--import",
      "--disk",
      "size=1",
      "--noautoconsole",
      "--noreboot",
    ]);
    compare("define d1 (import, size=1 in the default pool)", define);
    assert.match(define[1], /^rc=0\n/, `tsvirtd define failed:\n${define[1]}`);
    for (const s of sides) await tool("virsh", ["-c", s.uri, "destroy", "d1"]);
    const raw = await both(sides, "virt-install", [
      "--name",
      "d2",
      ...BASE,
      ...QUIET,
      "--import",
      "--disk",
      "path=@D@/d2.raw,size=1,format=raw",
      "--noautoconsole",
      "--noreboot",
    ]);
    compare("define d2 (raw volume in a directory pool)", raw);
    for (const s of sides) await tool("virsh", ["-c", s.uri, "destroy", "d2"]);

    for (const [name, args] of Object.entries(PRINT_CASES))
      compare(name, await both(sides, "virt-install", args));

    // virt-clone copies the volume through the storage API (vol-create-from) and defines a copy.
    compare(
      "virt-clone --original d2 --auto-clone",
      await both(sides, "virt-clone", ["--original", "d2", "--auto-clone"]),
    );

    for (const args of [
      ["dumpxml", "d1"],
      ["dumpxml", "--inactive", "d2"],
      ["dumpxml", "d2-clone"],
      ["list", "--all"],
      ["pool-list", "--all", "--name"],
      ["vol-dumpxml", "--pool", "default", "d1.qcow2"],
      ["vol-dumpxml", "--pool", "disks", "d2-clone.raw"],
      ["vol-list", "default"],
      ["vol-list", "disks"],
    ]) {
      // tables are as wide as their longest path: compare them with runs of blanks/dashes shortened
      const out = (await both(sides, "virsh", args, false)).map((o) =>
        args[0] === "vol-list" ? o.replace(/ {2,}/g, "  ").replace(/-{4,}/g, "----") : o,
      ) as [string, string];
      assert.match(out[0], /^rc=0\n/, `libvirtd: virsh ${args.join(" ")}:\n${out[0]}`);
      compare(`virsh ${args.join(" ")}`, out);
    }

    // A guest virt-install starts (its default SPICE display): same display URI and the same
    // graphics, USB controllers and character devices (ptys, channel state) in the live XML (the
    // rest of the live XML still differs).
    compare(
      "start s1 (default devices, SPICE)",
      await both(sides, "virt-install", [
        "--name",
        "s1",
        ...BASE,
        "--osinfo",
        "generic",
        "--network",
        "none",
        "--import",
        "--disk",
        "none",
        "--boot",
        "hd",
        "--noautoconsole",
      ]),
    );
    compare("virsh domdisplay s1", await both(sides, "virsh", ["domdisplay", "s1"], false));
    const live = (await both(sides, "virsh", ["dumpxml", "s1"], false)).map((x) =>
      [
        ...x
          .replace(/\/dev\/pts\/\d+/g, "/dev/pts/N")
          .matchAll(
            / *<(graphics|controller type='usb'|serial|console|channel)[\s\S]*?<\/(graphics|controller|serial|console|channel)>\n/g,
          ),
      ]
        .map((m) => m[0])
        .join(""),
    ) as [string, string];
    assert.match(live[1], /<graphics type='spice' port='P' autoport='yes' listen='127\.0\.0\.1'>/);
    assert.match(live[1], /<console type='pty' tty='\/dev\/pts\/N'>/);
    compare("live <graphics>, USB controllers, serial, console and channel of s1", live);
    // Hotplug through virt-xml --update (live and config): a virtio disk, then a SCSI disk on a
    // guest without a SCSI controller (the controller is hot-added first).
    for (const bus of ["virtio", "scsi"])
      compare(
        `virt-xml s1 --add-device --disk size=1,bus=${bus} --update`,
        await both(sides, "virt-xml", ["s1", "--add-device", "--disk", `size=1,bus=${bus}`, "--update"]),
      );
    compare(
      "virsh dumpxml --inactive s1 after hotplug",
      await both(sides, "virsh", ["dumpxml", "--inactive", "s1"], false),
    );
    const plugged = (await both(sides, "virsh", ["dumpxml", "s1"], false)).map((x) =>
      [...x.matchAll(/ *<(disk|controller type='scsi')[\s\S]*?<\/(disk|controller)>\n/g)]
        .map((m) => m[0].replace(/ index='\d+'\/>/, "/>").replace(/ *<backingStore\/>\n/, ""))
        .join(""),
    ) as [string, string];
    assert.match(plugged[1], /<target dev='sda' bus='scsi'\/>/);
    compare("live disks and SCSI controller of s1 after hotplug", plugged);
    for (const s of sides) await tool("virsh", ["-c", s.uri, "destroy", "s1"]);

    for (const args of EDITS)
      compare(`virt-xml d1 ${args.join(" ")}`, await both(sides, "virt-xml", ["d1", ...args]));
    compare(
      "virsh dumpxml d1 after the edits",
      await both(sides, "virsh", ["dumpxml", "--inactive", "d1"], false),
    );

    // The define path end to end on tsvirtd: the domain exists, virsh reads its XML back.
    const dump = await tool("virsh", ["-c", sides[1].uri, "dumpxml", "d1"]);
    assert.equal(dump.code, 0, dump.err);
    assert.match(dump.out, /<name>d1<\/name>/);
    assert.match(dump.out, /<source file='[^']*\/d1\.qcow2'\/>/);
    assert.match(dump.out, /<memory unit='KiB'>524288<\/memory>/, "virt-xml --edit --memory 512 was defined");

    assert.deepEqual(diffs, {});
  } finally {
    // tsvirtd leaves running guests behind when it stops (libvirtd's die with its PID namespace)
    if (ts) await tool("virsh", ["-c", ts.uri("qemu"), "destroy", "s1"]);
    await Promise.allSettled([ts?.stop(), lv?.stop()]);
    rmSync(base, { recursive: true, force: true });
  }
});
