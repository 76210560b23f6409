// Real virsh against tsvirtd's qemu:///system storage driver, compared line by line with the
// same session against a private real libvirtd 9.0 (when it can run here), qemu-img as the
// oracle for the files both made, and a tsvirtd restart that must bring pools and volumes back.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { libvirtdUnavailable, startLibvirtd } from "../bench/peers/libvirtd.js";
import { startTsvirtd, tsvirtdUnavailable } from "../bench/peers/tsvirtd.js";
import { nativeIO } from "../src/image/io/native.js";

/** The session: `$D` is the peer's own directory (both peers see /tmp). */
const SESSION = [
  "pool-capabilities",
  "pool-define-as p1 dir --target $D/p1",
  "pool-info p1",
  "pool-dumpxml p1",
  "pool-start p1",
  "pool-build p1",
  "pool-start p1",
  "pool-start p1",
  "pool-build p1",
  "pool-undefine p1",
  "pool-dumpxml p1",
  "vol-create-as p1 a.img 10M",
  "vol-create-as p1 a.img 10M",
  "vol-create-as p1 b.qcow2 20M --format qcow2",
  "vol-create-as p1 c.qcow2 0 --format qcow2 --backing-vol b.qcow2 --backing-vol-format qcow2",
  "vol-create-as p1 d.vmdk 5M --format vmdk",
  "vol-create-as p1 e.vdi 5M --format vdi",
  "vol-create-as p1 f.img 5M --allocation 1M",
  "vol-create-as p1 i.iso 1M --format iso",
  "vol-create-as p1 dd 0 --format dir",
  "vol-dumpxml dd --pool p1",
  "vol-info i.iso --pool p1",
  "vol-delete dd --pool p1 --delete-snapshots",
  "vol-delete dd --pool p1",
  "vol-create-as p1 sub/x.img 1M",
  "vol-create-as p1 g.img 1M --format bogus",
  "vol-create-as p1 r.img 8M --format raw --backing-vol b.qcow2",
  "vol-list p1 --details",
  "vol-info a.img --pool p1",
  "vol-dumpxml a.img --pool p1",
  "vol-dumpxml f.img --pool p1",
  "vol-dumpxml c.qcow2 --pool p1",
  "vol-info nope --pool p1",
  "vol-info $D/p1/nope",
  "vol-info $D/p1/a.img",
  "vol-key $D/p1/a.img",
  "vol-path a.img --pool p1",
  "vol-pool $D/p1/a.img",
  "vol-clone a.img a2.img --pool p1",
  "vol-clone b.qcow2 b2.qcow2 --pool p1",
  "vol-clone a.img a2.img --pool p1",
  "vol-info a2.img --pool p1",
  "vol-resize a.img 20M --pool p1",
  "vol-resize a.img 5M --pool p1",
  "vol-resize f.img 2M --pool p1",
  "vol-resize a.img --delta 1M --pool p1",
  "vol-resize b.qcow2 10M --pool p1 --shrink",
  "vol-resize b.qcow2 30M --pool p1",
  "vol-resize b.qcow2 31M --pool p1 --allocate",
  "vol-info a.img --pool p1",
  "vol-wipe f.img --pool p1",
  "vol-wipe a.img --pool p1 --algorithm nnsa",
  "vol-info f.img --pool p1",
  "pool-refresh p1",
  "vol-dumpxml c.qcow2 --pool p1",
  "pool-autostart p1",
  "pool-info p1",
  "vol-delete a2.img --pool p1",
  "vol-delete a2.img --pool p1",
  "pool-destroy p1",
  "pool-destroy p1",
  "vol-list p1",
  "pool-refresh p1",
  "pool-autostart p1 --disable",
  "pool-delete p1",
  "pool-undefine p1",
  "pool-create-as t1 dir --target $D/t1",
  "pool-create-as t1 dir --target $D/t1 --build",
  "pool-autostart t1",
  "pool-define-as p2 dir --target $D/t1",
  "pool-info nopool",
  "pool-destroy t1",
  "pool-delete t1",
  "pool-define-as f1 fs --source-dev /dev/nonexistent --target $D/f1",
  "pool-build f1",
  "pool-start f1",
  "pool-dumpxml f1",
  "pool-undefine f1",
  // A directory of files made by qemu-img and others, scanned at pool start.
  "pool-create-as s dir --target $D/s",
  "vol-list s --details",
  "vol-dumpxml base.qcow2 --pool s",
  "vol-dumpxml old.qcow2 --pool s",
  "vol-dumpxml lazy.qcow2 --pool s",
  "vol-dumpxml over.qcow2 --pool s",
  "vol-dumpxml x.vmdk --pool s",
  "vol-dumpxml x.qcow --pool s",
  "vol-dumpxml subdir --pool s",
  "vol-dumpxml link --pool s",
  "vol-info subdir --pool s",
  "vol-clone over.qcow2 over2.qcow2 --pool s",
  "vol-dumpxml over2.qcow2 --pool s",
  "vol-resize base.qcow2 --delta 1M --pool s --shrink",
  "vol-info base.qcow2 --pool s",
  "vol-wipe subdir --pool s",
  "vol-delete subdir --pool s",
  "vol-create-as s new.qcow2 8M --format qcow2",
  "pool-refresh s",
  "vol-dumpxml new.qcow2 --pool s",
  "pool-list --all --transient",
  "pool-list --all --persistent",
  "pool-list --type dir",
  "pool-dumpxml s",
  "vol-create-as s up.img 1M",
  "vol-upload up.img $D/up.bin --pool s",
  "vol-download up.img $D/down.bin --pool s",
  "vol-upload up.img $D/up.bin --pool s --offset 4096",
  "vol-download up.img $D/part.bin --pool s --offset 4000 --length 300",
  // --length -1 is 2^64-1 on the wire (past 2^53): the rest of the volume
  "vol-download up.img $D/tail.bin --pool s --offset 1048000 --length -1",
  // Sparse streams (hole packets both ways): a 1 MiB source with two data runs.
  "vol-create-as s sp.img 1M",
  "vol-upload sp.img $D/sp.bin --pool s --sparse",
  "vol-download sp.img $D/spdown.bin --pool s --sparse",
  "vol-download sp.img $D/sptail.bin --pool s --sparse --offset 600000",
  "vol-info up.img --pool s",
  "vol-upload nope $D/up.bin --pool s",
  "vol-download nope $D/x.bin --pool s",
  "pool-destroy s",
  // Redefinition of a running pool, duplicate checks, volumes from XML files.
  "pool-define $D/p3.xml",
  "pool-build p3",
  "pool-start p3",
  "pool-define $D/p3b.xml",
  "pool-dumpxml p3",
  "pool-dumpxml --inactive p3",
  "pool-define $D/p3c.xml",
  "pool-define $D/p3d.xml",
  "vol-create p3 $D/vol.xml",
  "vol-dumpxml v.qcow2 --pool p3",
  "vol-create p3 $D/vol.xml",
  "vol-create-from p3 $D/vol2.xml v.qcow2",
  "vol-info v2.img --pool p3",
  "vol-name $D/p3/v.qcow2",
  "vol-create p3 $D/vol3.xml",
  "vol-dumpxml v3.img --pool p3",
  "vol-delete v3.img --pool p3",
  "vol-delete v2.img --pool p3",
  "vol-delete v.qcow2 --pool p3",
  "pool-destroy p3",
  "pool-dumpxml p3",
  "pool-undefine p3",
  // A defined pool started from other XML: that XML is live, the config returns at the stop.
  "pool-define $D/e1.xml",
  "pool-create $D/e2.xml --build",
  "pool-dumpxml e",
  "pool-dumpxml --inactive e",
  "pool-destroy e",
  "pool-dumpxml e",
  "pool-undefine e",
];

/** The bytes virsh uploads: 64 KiB of a counter pattern. */
/** 1 MiB: data at [0, 64 KiB) and [512 KiB, 576 KiB), holes elsewhere (also at the end). */
function writeSparseSource(path: string): void {
  const fd = openSync(path, "w");
  writeSync(fd, upBytes(), 0, 65536, 0);
  writeSync(fd, upBytes(), 0, 65536, 512 * 1024);
  ftruncateSync(fd, 1024 * 1024);
  closeSync(fd);
}

function upBytes(): Buffer {
  const b = Buffer.alloc(65536);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Files both peers find in `$D/s` when the session starts that pool. */
function prepareScanDir(dir: string): void {
  const s = join(dir, "s");
  mkdirSync(join(s, "subdir"), { recursive: true });
  const img = (...a: string[]) => execFileSync("qemu-img", ["create", "-q", ...a]);
  img("-f", "qcow2", join(s, "base.qcow2"), "16M");
  img("-f", "qcow2", "-o", "compat=0.10", join(s, "old.qcow2"), "16M");
  img("-f", "qcow2", "-o", "lazy_refcounts=on,cluster_size=4096", join(s, "lazy.qcow2"), "16M");
  img("-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", join(s, "over.qcow2"));
  img("-f", "vmdk", join(s, "x.vmdk"), "4M");
  img("-f", "qcow", join(s, "x.qcow"), "4M");
  writeFileSync(join(s, "text.txt"), "hello\n");
  symlinkSync("/nonexistent", join(s, "dangling"));
  symlinkSync("text.txt", join(s, "link"));
  writeFileSync(join(dir, "up.bin"), upBytes());
  writeSparseSource(join(dir, "sp.bin"));
  const pool = (name: string, uuid: string, target: string) =>
    `<pool type='dir'><name>${name}</name><uuid>${uuid}</uuid><target><path>${join(dir, target)}</path>` +
    "<permissions><mode>0750</mode></permissions></target></pool>";
  const U1 = "11111111-2222-3333-4444-555555555555";
  writeFileSync(join(dir, "p3.xml"), pool("p3", U1, "p3"));
  writeFileSync(join(dir, "p3b.xml"), pool("p3", U1, "p3b"));
  writeFileSync(join(dir, "p3c.xml"), pool("p3x", U1, "p3c"));
  const U2 = "11111111-2222-3333-4444-777777777777";
  writeFileSync(join(dir, "e1.xml"), pool("e", U2, "e1"));
  writeFileSync(join(dir, "e2.xml"), pool("e", U2, "e2"));
  writeFileSync(join(dir, "p3d.xml"), pool("p3", "11111111-2222-3333-4444-666666666666", "p3d"));
  writeFileSync(
    join(dir, "vol.xml"),
    "<volume><name>v.qcow2</name><capacity unit='M'>4</capacity><target><format type='qcow2'/>" +
      "<permissions><mode>0640</mode></permissions><compat>1.1</compat><clusterSize unit='K'>4</clusterSize>" +
      "<features><lazy_refcounts/></features></target></volume>",
  );
  writeFileSync(
    join(dir, "vol3.xml"),
    "<volume><name>v3.img</name><capacity>65536</capacity><allocation>0</allocation><target>" +
      "<permissions><mode>0604</mode><owner>65534</owner><group>65534</group></permissions></target></volume>",
  );
  writeFileSync(
    join(dir, "vol2.xml"),
    "<volume><name>v2.img</name><capacity unit='M'>2</capacity><target><format type='raw'/></target></volume>",
  );
}

interface Step {
  cmd: string;
  out: string;
}

function runSession(uri: string, dir: string, cmds: string[]): Step[] {
  return cmds.map((c) => {
    const argv = c.replaceAll("$D", dir).split(" ");
    const r = spawnSync("virsh", ["-c", uri, ...argv], { encoding: "utf8", timeout: 30000 });
    return { cmd: c, out: `[rc=${r.status}]\n${r.stdout}${r.stderr}` };
  });
}

/**
 * What legitimately differs between two hosts' runs: paths, UUIDs, times, the filesystem's
 * sizes (they move while the session runs), the pool list of each daemon's own `default`
 * pool (and so the column widths of virsh's tables), which pool types beyond dir and fs have
 * a backend, and the on-disk size of qcow2 volumes (our image layer lays a fresh compat=0.10 qcow2
 * out in 256 KiB where qemu-img uses 192 KiB + 8 bytes).
 */
function normalize(text: string, dir: string): string {
  return (
    text
      .replaceAll(dir, "<D>")
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<UUID>")
      .replace(/\n *<timestamps>(.|\n)*?<\/timestamps>/g, "")
      .replace(/^(Capacity|Allocation|Available):( +)[0-9.]+ \w+$/gm, "$1:$2<SIZE>")
      .replace(/<pool type=(.|\n)*<\/pool>/, (x) =>
        x.replace(/<(capacity|allocation|available) unit='bytes'>[1-9][0-9]*</g, "<$1 unit='bytes'><FS><"),
      )
      .replace(/^ default .*\n/gm, "")
      // pool-capabilities: libvirtd has backends for more pool types than dir and fs
      .replace(/(<pool type='(?!dir'|fs')[^']+' supported=')(yes|no)'/g, "$1?'")
      .replace(/^-{5,}$/gm, "-----")
      .replace(/(\S) {2,}/g, "$1  ")
  );
}

function qcow2Sizes(text: string): string {
  return text
    .replace(
      /(<name>[^<]*qcow2<\/name>(?:.|\n)*?<allocation unit='bytes'>)\d+(<\/allocation>\n *<physical unit='bytes'>)\d+/g,
      "$1<Q>$2<Q>",
    )
    .replace(/^( \S+\.qcow2 .* file +[0-9.]+ \w+ +)[0-9.]+ \w+$/gm, "$1<Q>");
}

const PY_EVENTS = join(import.meta.dirname, "data", "storage-driver", "pool-events.py");

/** The python-libvirt event script's output, or null when python-libvirt is missing. */
function pythonEvents(uri: string, dir: string): string | null {
  const r = spawnSync("/usr/bin/python3", ["-c", "import libvirt"], { stdio: "ignore" });
  if (r.status !== 0) return null;
  return execFileSync("/usr/bin/python3", [PY_EVENTS, uri, dir], { encoding: "utf8", timeout: 20000 });
}

function virshUnavailable(): string | null {
  try {
    execFileSync("virsh", ["--version"], { stdio: "ignore" });
    execFileSync("qemu-img", ["--version"], { stdio: "ignore" });
    return null;
  } catch {
    return "virsh or qemu-img is not installed";
  }
}

test("virsh storage session: tsvirtd matches real libvirtd; files checked with qemu-img; restart keeps pools", {
  timeout: 120000,
}, async (t) => {
  const why = virshUnavailable() ?? tsvirtdUnavailable();
  if (why) return t.skip(why);
  const base = mkdtempSync("/tmp/tsvirt-storage-virsh-");
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const tsDir = join(base, "ts");
  mkdirSync(tsDir);
  prepareScanDir(tsDir);
  mkdirSync(join(base, "root"));
  const ts = await startTsvirtd({ root: join(base, "root") });
  t.after(() => ts.stop());
  const ours = runSession(ts.uri("qemu"), tsDir, SESSION);
  const ourEvents = pythonEvents(ts.uri("qemu"), tsDir);
  if (ourEvents !== null) {
    assert.equal(
      ourEvents,
      "info [0, 1048576, 1048576] a evp\n" +
        ["0 0", "4 0", "2 0"].map((e) => `evp lifecycle ${e}\n`).join("") +
        "evp refresh\n" +
        ["3 0", "5 0", "1 0"].map((e) => `evp lifecycle ${e}\n`).join(""),
    );
  }

  // What tsvirtd made, checked with qemu-img.
  const info = (p: string) =>
    JSON.parse(execFileSync("qemu-img", ["info", "--output=json", "-U", p], { encoding: "utf8" }));

  const lvWhy = libvirtdUnavailable();
  if (lvWhy) t.diagnostic(`no libvirtd comparison: ${lvWhy}`);
  else {
    const lvDir = join(base, "lv");
    mkdirSync(lvDir);
    prepareScanDir(lvDir);
    const lv = await startLibvirtd();
    let theirs: Step[];
    try {
      theirs = runSession(lv.uri("qemu"), lvDir, SESSION);
      if (ourEvents !== null) assert.equal(pythonEvents(lv.uri("qemu"), lvDir), ourEvents);
    } finally {
      await lv.stop();
    }
    let same = 0;
    const diffs: string[] = [];
    for (let i = 0; i < SESSION.length; i++) {
      const a = qcow2Sizes(normalize(ours[i]!.out, tsDir));
      const b = qcow2Sizes(normalize(theirs[i]!.out, lvDir));
      if (a === b) same++;
      else diffs.push(`$ virsh ${SESSION[i]}\n--- tsvirtd\n${a}\n--- libvirtd\n${b}`);
    }
    t.diagnostic(`${same}/${SESSION.length} virsh outputs identical to libvirtd's`);
    if (process.env.STORAGE_DIFF_DUMP) {
      const dump = ours.map((s, i) => `$ ${s.cmd}\n${s.out}--- libvirtd\n${theirs[i]!.out}`).join("\n");
      writeFileSync(process.env.STORAGE_DIFF_DUMP, dump);
    }
    assert.deepEqual(diffs, [], "every step prints what libvirtd prints");
  }

  // The volume holds what was uploaded, and the downloads what it held.
  const up = upBytes();
  const vol = readFileSync(join(tsDir, "s", "up.img"));
  assert.equal(vol.length, 1024 * 1024);
  assert.deepEqual(vol.subarray(0, 4096 + up.length), Buffer.concat([up.subarray(0, 4096), up]));
  assert.ok(vol.subarray(4096 + up.length).every((b) => b === 0));
  const down = readFileSync(join(tsDir, "down.bin"));
  assert.equal(down.length, 1024 * 1024);
  assert.deepEqual(down.subarray(0, up.length), up);
  const twice = Buffer.concat([up.subarray(0, 4096), up]);
  assert.deepEqual(readFileSync(join(tsDir, "part.bin")), twice.subarray(4000, 4300));
  assert.deepEqual(readFileSync(join(tsDir, "tail.bin")), vol.subarray(1048000));
  const sp = readFileSync(join(tsDir, "sp.bin"));
  assert.deepEqual(readFileSync(join(tsDir, "s", "sp.img")), sp, "sparse upload");
  assert.deepEqual(readFileSync(join(tsDir, "spdown.bin")), sp, "sparse download");
  assert.deepEqual(readFileSync(join(tsDir, "sptail.bin")), sp.subarray(600000), "sparse download from an offset");
  // the holes came as hole packets (found by SEEK_HOLE through the native addon): virsh left
  // them unallocated in what it wrote
  if (nativeIO()) assert.ok(statSync(join(tsDir, "spdown.bin")).blocks * 512 < 512 * 1024, "download kept holes");

  // Re-create files for the oracle and the restart check: a pool with one of each kind.
  const setup = runSession(ts.uri("qemu"), tsDir, [
    "pool-create-as q dir --target $D/q --build",
    "pool-define-as k dir --target $D/k",
    "pool-build k",
    "pool-start k",
    "pool-autostart k",
    "vol-create-as k base.qcow2 16M --format qcow2",
    "vol-create-as k top.qcow2 0 --format qcow2 --backing-vol base.qcow2 --backing-vol-format qcow2",
    "vol-create-as k disk.vmdk 4M --format vmdk",
    "vol-create-as k raw.img 3M",
  ]);
  for (const s of setup) assert.match(s.out, /^\[rc=0\]/, `${s.cmd}: ${s.out}`);
  // A --length shorter than the data: what fits is written, then ENOSPC as libvirt's fdstream
  // (checked here alone: libvirtd itself sometimes also drops the connection at that point).
  const [short] = runSession(ts.uri("qemu"), tsDir, [
    "vol-upload raw.img $D/up.bin --pool k --offset 8192 --length 100",
  ]);
  assert.equal(
    short!.out,
    "[rc=1]\n\nerror: cannot close volume raw.img\nerror: cannot write to stream: No space left on device\n",
  );
  const raw = readFileSync(join(tsDir, "k", "raw.img"));
  assert.deepEqual(raw.subarray(8192, 8292), upBytes().subarray(0, 100));
  assert.ok(raw.subarray(0, 8192).every((b) => b === 0) && raw.subarray(8292).every((b) => b === 0));
  const k = join(tsDir, "k");
  assert.equal(info(join(k, "base.qcow2"))["virtual-size"], 16 * 1024 * 1024);
  assert.equal(info(join(k, "top.qcow2"))["backing-filename"], join(k, "base.qcow2"));
  assert.equal(info(join(k, "top.qcow2"))["virtual-size"], 16 * 1024 * 1024);
  assert.equal(info(join(k, "disk.vmdk")).format, "vmdk");
  assert.equal(info(join(k, "raw.img"))["virtual-size"], 3 * 1024 * 1024);
  const before = runSession(ts.uri("qemu"), tsDir, ["pool-list --all", "vol-list k --details"]);

  // Restart on the same root: the persistent autostarted pool and the transient running one return.
  await ts.stop();
  const ts2 = await startTsvirtd({ root: join(base, "root") });
  t.after(() => ts2.stop());
  const after = runSession(ts2.uri("qemu"), tsDir, ["pool-list --all", "vol-list k --details"]);
  assert.deepEqual(after, before);
  assert.match(after[0]!.out, /^ k +active +yes\n/m);
  assert.match(after[0]!.out, /^ q +active +no\n/m);
  assert.match(after[1]!.out, / top\.qcow2 /);
});
