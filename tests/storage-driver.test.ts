// The host storage driver through the public API over a temp root: dir pools and file volumes
// end to end, with qemu-img as the oracle for the files made, libvirt's error texts, rollback of
// failed creates, and a restart that brings pools, autostart and live state back.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Connection } from "../src/api/index.js";
import type { StoragePoolEvent } from "../src/driver/index.js";
import {
  createStorageDriverState,
  hostStorageDriver,
  type StorageDriverState,
} from "../src/drivers/storage/index.js";
import { VirError } from "../src/errors/index.js";

const MiB = 1024 * 1024;

function hasQemuImg(): boolean {
  try {
    execFileSync("qemu-img", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function qemuInfo(path: string): Record<string, unknown> {
  return JSON.parse(execFileSync("qemu-img", ["info", "--output=json", "-U", path], { encoding: "utf8" }));
}

async function open(root: string): Promise<{ st: StorageDriverState; conn: Connection }> {
  const st = await createStorageDriverState({
    configDir: join(root, "etc", "storage"),
    runDir: join(root, "run", "storage"),
    defaultPoolPath: join(root, "lib", "images"),
  });
  const conn = new Connection(
    { uri: "qemu:///system", hypervisor: { name: "QEMU" }, storage: hostStorageDriver(st) },
    false,
  );
  return { st, conn };
}

async function rejects(p: Promise<unknown>, message: string, code?: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VirError, `a VirError, got ${e}`);
    assert.equal(e.message, message);
    if (code !== undefined) assert.equal(e.code, code);
    return true;
  });
}

const volXml = (name: string, size: string, fmt = "raw", extra = "") =>
  `<volume><name>${name}</name><capacity unit='bytes'>${size}</capacity>${extra}<target><format type='${fmt}'/></target></volume>`;

test("host storage driver: pools and volumes through the API, qemu-img as oracle", async (t) => {
  if (!hasQemuImg()) return t.skip("qemu-img is not installed");
  const root = mkdtempSync(join(tmpdir(), "tsvirt-storage-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { conn } = await open(root);

  // The default pool: defined, built and autostarted on the first start.
  const def = await conn.storagePoolLookupByName("default");
  assert.equal(await def.isActive(), true);
  assert.equal(await def.getAutostart(), true);
  assert.match(await def.getXMLDesc(), new RegExp(`<path>${join(root, "lib", "images")}</path>`));
  assert.ok(existsSync(join(root, "etc", "storage", "autostart", "default.xml")));

  const events: StoragePoolEvent[] = [];
  await conn.storagePoolEventRegisterAny(0, (_p, e) => events.push(e));

  const target = join(root, "pools", "p1");
  const pool = await conn.storagePoolDefineXML(
    `<pool type='dir'><name>p1</name><target><path>${target}</path></target></pool>`,
  );
  const cfg = readFileSync(join(root, "etc", "storage", "p1.xml"), "utf8");
  assert.match(
    cfg,
    /^<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE\. (.|\n)* {2}virsh pool-edit p1\n(.|\n)*-->\n\n<pool type='dir'>/,
  );
  assert.equal(cfg.slice(cfg.indexOf("<pool")), await pool.getXMLDesc());
  await rejects(pool.create(), `cannot open directory '${target}': No such file or directory`, 38);
  await pool.build();
  assert.equal(statSync(target).mode & 0o777, 0o711);
  await pool.create();
  await rejects(pool.create(), "Requested operation is not valid: storage pool 'p1' is already active", 55);
  await rejects(pool.undefine(), "Requested operation is not valid: storage pool 'p1' is still active");
  assert.match(await pool.getXMLDesc(), /<mode>0711<\/mode>/);

  // raw: fully allocated by default, sparse with a smaller allocation.
  const a = await pool.storageVolCreateXML(volXml("a.img", String(10 * MiB)));
  const f = await pool.storageVolCreateXML(
    volXml("f.img", String(5 * MiB), "raw", `<allocation unit='bytes'>${MiB}</allocation>`),
  );
  assert.deepEqual(await a.getInfo(), { type: 0, capacity: 10 * MiB, allocation: 10 * MiB });
  assert.equal((await f.getInfo()).allocation, MiB);
  assert.equal(statSync(join(target, "a.img")).mode & 0o777, 0o600);
  await rejects(pool.storageVolCreateXML(volXml("a.img", "1")), "storage volume 'a.img' exists already", 90);
  await rejects(
    pool.storageVolCreateXML(volXml("x/y.img", "1")),
    "Requested operation is not valid: volume name 'x/y.img' cannot contain '/'",
  );

  // qcow2 (compat 0.10 unless asked, as libvirt), a backed overlay with capacity from its base, vmdk, vdi.
  const b = await pool.storageVolCreateXML(volXml("b.qcow2", String(20 * MiB), "qcow2"));
  const bi = qemuInfo(join(target, "b.qcow2"));
  assert.equal(bi.format, "qcow2");
  assert.equal(bi["virtual-size"], 20 * MiB);
  assert.equal((bi["format-specific"] as { data: { compat: string } }).data.compat, "0.10");
  const c = await pool.storageVolCreateXML(
    `<volume><name>c.qcow2</name><capacity>0</capacity><target><format type='qcow2'/><compat>1.1</compat></target>` +
      `<backingStore><path>${join(target, "b.qcow2")}</path><format type='qcow2'/></backingStore></volume>`,
  );
  const ci = qemuInfo(join(target, "c.qcow2"));
  assert.equal(ci["backing-filename"], join(target, "b.qcow2"));
  assert.equal(ci["backing-filename-format"], "qcow2");
  assert.equal(ci["virtual-size"], 20 * MiB);
  const cx = await c.getXMLDesc();
  assert.match(cx, /<backingStore>\n {4}<path>[^<]*b\.qcow2<\/path>\n {4}<format type='qcow2'\/>/);
  assert.match(cx, /<physical unit='bytes'>\d+<\/physical>/);
  assert.match(cx, /<timestamps>\n {6}<atime>\d+(\.\d{9})?<\/atime>/);
  for (const [name, fmt] of [
    ["d.vmdk", "vmdk"],
    ["e.vdi", "vdi"],
  ]) {
    await pool.storageVolCreateXML(volXml(name!, String(5 * MiB), fmt));
    const info = qemuInfo(join(target, name!));
    assert.equal(info.format, fmt);
    assert.equal(info["virtual-size"], 5 * MiB);
  }
  await rejects(
    pool.storageVolCreateXML(
      `<volume><name>r.img</name><capacity>1</capacity><backingStore><path>${join(target, "b.qcow2")}</path></backingStore></volume>`,
    ),
    "this function is not supported by the connection driver: backing storage not supported for raw volumes",
  );
  // A failed create leaves no file behind.
  await assert.rejects(
    pool.storageVolCreateXML(
      volXml("bad.qcow2", String(MiB), "qcow2", "").replace(
        "</target>",
        "<clusterSize unit='B'>1000</clusterSize></target>",
      ),
    ),
  );
  assert.equal(existsSync(join(target, "bad.qcow2")), false);

  // Clone: data copied through the image layer; qemu-img compare agrees.
  execFileSync("qemu-io", ["-c", "write -P 0x5a 1M 64k", join(target, "b.qcow2")], { stdio: "ignore" });
  const bx = await b.getXMLDesc();
  const b2 = await pool.storageVolCreateXMLFrom(
    bx.replace("<name>b.qcow2</name>", "<name>b2.qcow2</name>"),
    b,
  );
  execFileSync("qemu-img", ["compare", "-q", join(target, "b.qcow2"), join(target, "b2.qcow2")]);
  assert.equal(qemuInfo(join(target, "b2.qcow2")).format, "qcow2");
  assert.equal((await b2.getInfo()).capacity, 20 * MiB);
  await rejects(
    pool.storageVolCreateXMLFrom(bx.replace("<name>b.qcow2</name>", "<name>b2.qcow2</name>"), b),
    "internal error: storage volume name 'b2.qcow2' already in use.",
  );
  const a2 = await pool.storageVolCreateXMLFrom(volXml("a2.img", "0"), a);
  assert.equal((await a2.getInfo()).capacity, 10 * MiB);

  // Resize: grow, refuse shrinking without the flag, shrink qcow2 with it, delta.
  await a.resize(20 * MiB);
  assert.equal(statSync(join(target, "a.img")).size, 20 * MiB);
  await rejects(a.resize(5 * MiB), "invalid argument: can't shrink capacity below existing allocation", 8);
  await rejects(
    f.resize(2 * MiB),
    "invalid argument: Can't shrink capacity below current capacity unless shrink flag explicitly specified",
  );
  await b.resize(10 * MiB, 4);
  assert.equal(qemuInfo(join(target, "b.qcow2"))["virtual-size"], 10 * MiB);
  await b.resize(MiB, 2);
  assert.equal((await b.getInfo()).capacity, 11 * MiB);
  await rejects(
    b.resize(30 * MiB, 1),
    "Operation not supported: preallocate is only supported for raw type volume",
  );

  // Wipe: zeros (a sparse file is re-grown empty).
  writeFileSync(join(target, "w.img"), Buffer.alloc(MiB, 0x41));
  await pool.refresh();
  const w = await pool.storageVolLookupByName("w.img");
  await w.wipe();
  assert.equal(
    readFileSync(join(target, "w.img")).every((x) => x === 0),
    true,
  );
  await a.wipe();
  assert.equal((await a.getInfo()).allocation, 0);
  await rejects(w.wipePattern(1), "Cannot find 'scrub' in path: No such file or directory");

  // Refresh sees files made behind the driver's back, with their probed format.
  execFileSync("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    "-o",
    "lazy_refcounts=on",
    join(target, "ext.qcow2"),
    "3M",
  ]);
  await pool.refresh();
  const ext = await pool.storageVolLookupByName("ext.qcow2");
  const ex = await ext.getXMLDesc();
  assert.match(ex, /<format type='qcow2'\/>/);
  assert.match(
    ex,
    /<compat>1\.1<\/compat>\n {4}<clusterSize unit='B'>65536<\/clusterSize>\n {4}<features>\n {6}<lazy_refcounts\/>/,
  );
  assert.deepEqual(
    (await pool.listAllVolumes()).map((v) => v.name),
    ["a.img", "a2.img", "b.qcow2", "b2.qcow2", "c.qcow2", "d.vmdk", "e.vdi", "ext.qcow2", "f.img", "w.img"],
  );

  // Lookups by key and path; errors as libvirt words them.
  const byPath = await conn.storageVolLookupByPath(join(target, "a.img"));
  assert.equal(byPath.name, "a.img");
  assert.equal((await conn.storageVolLookupByKey(join(target, "e.vdi"))).name, "e.vdi");
  assert.equal((await byPath.lookupPool()).name, "p1");
  await rejects(
    pool.storageVolLookupByName("nope"),
    "Storage volume not found: no storage vol with matching name 'nope'",
    50,
  );
  await rejects(
    conn.storageVolLookupByKey("nokey"),
    "Storage volume not found: no storage vol with matching key nokey",
  );
  await rejects(
    conn.storagePoolLookupByName("zz"),
    "Storage pool not found: no storage pool with matching name 'zz'",
    49,
  );
  await rejects(
    conn.storagePoolDefineXML(
      `<pool type='dir'><name>p2</name><target><path>${target}</path></target></pool>`,
    ),
    "operation failed: Storage source conflict with pool: 'p1'",
  );

  await a2.delete();
  assert.equal(existsSync(join(target, "a2.img")), false);
  // A file removed behind the driver's back is a missing volume, as libvirt reports it.
  rmSync(join(target, "f.img"));
  await rejects(
    f.getInfo(),
    `Storage volume not found: no storage vol with matching path '${join(target, "f.img")}'`,
    50,
  );
  await f.delete();
  await pool.setAutostart(true);

  // A transient pool stays active across a restart through its live record.
  const tdir = join(root, "pools", "t1");
  const tp = await conn.storagePoolCreateXML(
    `<pool type='dir'><name>t1</name><target><path>${tdir}</path></target></pool>`,
    1,
  );
  await rejects(tp.setAutostart(true), "internal error: pool has no config file");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    events.map((e) => [e.pool.name, e.event]),
    [
      ["p1", 0],
      ["p1", 4],
      ["p1", 2],
      ["t1", 2],
    ],
  );

  // An autostart pool that is not running: the next daemon start of this boot leaves it be.
  const as1 = await conn.storagePoolDefineXML(
    `<pool type='dir'><name>as1</name><target><path>${join(root, "lib", "images")}-as1</path></target></pool>`,
  );
  await as1.build();
  await as1.setAutostart(true);

  // Restart on the same directories: everything comes back.
  const again = await open(root);
  const names = (await again.conn.listAllStoragePools()).map((p) => p.name).sort();
  assert.deepEqual(names, ["as1", "default", "p1", "t1"]);
  assert.equal(await (await again.conn.storagePoolLookupByName("as1")).isActive(), false);
  const p1 = await again.conn.storagePoolLookupByName("p1");
  assert.equal(await p1.isActive(), true);
  assert.equal(await p1.getAutostart(), true);
  assert.equal((await p1.listAllVolumes()).length, 8);
  const cAgain = await p1.storageVolLookupByName("c.qcow2");
  assert.match(await cAgain.getXMLDesc(), /<backingStore>/);
  const t1 = await again.conn.storagePoolLookupByName("t1");
  assert.equal(await t1.isPersistent(), false);
  await t1.destroy();
  await rejects(
    again.conn.storagePoolLookupByName("t1"),
    "Storage pool not found: no storage pool with matching name 't1'",
  );

  await p1.destroy();
  await rejects(p1.listAllVolumes(), "Requested operation is not valid: storage pool 'p1' is not active");
  await rejects(p1.delete(), `failed to remove pool '${target}': Directory not empty`);
  await p1.undefine();
  assert.deepEqual(readdirSync(join(root, "etc", "storage")).sort(), ["as1.xml", "autostart", "default.xml"]);
  // Undefining the default pool is remembered: it is not made again on the next start.
  const d = await again.conn.storagePoolLookupByName("default");
  await d.destroy();
  await d.undefine();
  // A new boot (fresh run directory) autostarts it.
  rmSync(join(root, "run", "storage", "autostarted"));
  const third = await open(root);
  assert.deepEqual(
    (await third.conn.listAllStoragePools()).map((p) => p.name),
    ["as1"],
  );
  assert.equal(await (await third.conn.storagePoolLookupByName("as1")).isActive(), true);

  // A pool whose directory vanished: refresh fails and stops it, as libvirt does.
  const as1b = await third.conn.storagePoolLookupByName("as1");
  const seen: number[] = [];
  await third.conn.storagePoolEventRegisterAny(0, (_p, e) => seen.push(e.event!));
  const gone = `${join(root, "lib", "images")}-as1`;
  rmSync(gone, { recursive: true });
  await rejects(as1b.refresh(), `cannot open directory '${gone}': No such file or directory`, 38);
  assert.equal(await as1b.isActive(), false);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [3]);

  // A transient pool whose directory vanished while the daemon was down is not brought back.
  const t3dir = join(root, "pools", "t3");
  await third.conn.storagePoolCreateXML(
    `<pool type='dir'><name>t3</name><target><path>${t3dir}</path></target></pool>`,
    1,
  );
  rmSync(t3dir, { recursive: true });
  const fourth = await open(root);
  await rejects(
    fourth.conn.storagePoolLookupByName("t3"),
    "Storage pool not found: no storage pool with matching name 't3'",
  );
  assert.equal(existsSync(join(root, "run", "storage", "t3.xml")), false);
});

test("an fs pool is mounted only by a privileged daemon: others get a clear refusal", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to switch to an unprivileged user");
  try {
    execFileSync("setpriv", ["--version"], { stdio: "ignore" });
  } catch {
    return t.skip("setpriv (util-linux) is not installed");
  }
  const mod = (p: string) => JSON.stringify(join(import.meta.dirname, "..", "src", p));
  const code =
    `const { startPool } = await import(${mod("drivers/storage/pool-backend.ts")});` +
    `const { parseStoragePoolXML } = await import(${mod("conf/storage/index.ts")});` +
    "const def = parseStoragePoolXML(\"<pool type='fs'><name>f</name><source><device path='/dev/null'/></source>" +
    '<target><path>/nonexistent/f</path></target></pool>");' +
    "try { await startPool(def); console.log('mounted'); } catch (e) { console.log(e.code, e.message); }";
  const out = execFileSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      process.execPath,
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      code,
    ],
    { encoding: "utf8", cwd: join(import.meta.dirname, "..") },
  );
  assert.equal(
    out.trim(),
    "29 operation forbidden: mounting '/dev/null' on '/nonexistent/f' needs a privileged daemon (running as uid 65534)",
  );
});
