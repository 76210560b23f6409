// Unit tests for src/state: object list indexes, job lock ordering, event delivery, atomic store.

import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  activeListSlots,
  EventQueue,
  JobLock,
  JobLocks,
  type HostObject,
  loadHostObjects,
  matchesStateFilter,
  ObjectList,
  writeFileAtomic,
  XmlStore,
} from "./index.js";

test("ObjectList finds by name, uuid and id, and renames", () => {
  const l = new ObjectList<{ name: string; uuid: string; id: number }>();
  const a = l.add({ name: "a", uuid: "00000000-0000-0000-0000-00000000000a", id: 3 });
  l.add({ name: "b", uuid: "00000000-0000-0000-0000-00000000000b", id: -1 });
  assert.equal(l.byName("a"), a);
  assert.equal(l.byUuid("00000000-0000-0000-0000-00000000000A"), a);
  assert.equal(l.byId(3), a);
  assert.equal(l.byId(-1), undefined);
  l.rename(a, "c");
  assert.equal(l.byName("a"), undefined);
  assert.equal(l.byName("c"), a);
  l.remove(a);
  assert.equal(l.size, 1);
  assert.deepEqual(
    l.values().map((x) => x.name),
    ["b"],
  );
  l.add({ name: "d", uuid: "00000000-0000-0000-0000-00000000000d", id: 7 });
  assert.deepEqual(
    l.filter((x) => x.id >= 0).map((x) => x.name),
    ["d"],
  );
  assert.deepEqual(
    l.filterMap(
      () => true,
      (x) => x.name,
    ),
    ["b", "d"],
  );
});

test("JobLock runs jobs one at a time in order, even when one throws", async () => {
  const lock = new JobLock();
  const log: string[] = [];
  const job = (n: string, ms: number, fail = false) =>
    lock.run(async () => {
      log.push(`start ${n}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${n}`);
      if (fail) throw new Error(n);
      return n;
    });
  const results = await Promise.allSettled([job("1", 20), job("2", 1, true), job("3", 1)]);
  assert.deepEqual(log, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
  assert.equal(results[1]!.status, "rejected");
  assert.equal(lock.pending, 0);
  const locks = new JobLocks();
  const order: number[] = [];
  await Promise.all([
    locks.run("x", async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push(1);
    }),
    locks.run("y", () => {
      order.push(2);
    }),
  ]);
  assert.deepEqual(order, [2, 1], "different keys do not wait for each other");
});

test("EventQueue delivers after the emitting call, filtered by id and key", async () => {
  const q = new EventQueue<{ eventId: number; key: string; n: number }>((e) => e.key);
  const got: string[] = [];
  const all = q.register(0, null, (e) => got.push(`all:${e.n}`));
  q.register(0, "k1", (e) => got.push(`k1:${e.n}`));
  q.register(1, null, (e) => got.push(`other:${e.n}`));
  q.register(0, null, () => {
    throw new Error("a broken subscriber");
  });
  q.emit({ eventId: 0, key: "k1", n: 1 });
  q.emit({ eventId: 0, key: "k2", n: 2 });
  assert.deepEqual(got, [], "nothing is delivered synchronously");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, ["all:1", "k1:1", "all:2"]);
  assert.equal(q.deregister(all), true);
  assert.equal(q.deregister(all), false);
  q.emit({ eventId: 1, key: "k2", n: 3 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.slice(3), ["other:3"]);
});

test("XmlStore writes atomically, lists, removes and tracks autostart", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-store-"));
  try {
    const s = new XmlStore(join(dir, "qemu"));
    await s.init();
    await s.save("vm1", "<domain/>\n");
    await s.save("vm2", "<domain>2</domain>\n");
    await s.save("vm1", "<domain>1</domain>\n");
    assert.deepEqual(await s.list(), ["vm1", "vm2"]);
    assert.equal(await s.load("vm1"), "<domain>1</domain>\n");
    assert.equal(await s.load("nope"), undefined);
    await s.setAutostart("vm2", true);
    assert.equal(await s.isAutostart("vm2"), true);
    assert.equal(await s.isAutostart("vm1"), false);
    await s.remove("vm2");
    await s.flush();
    assert.equal(await s.isAutostart("vm2"), false);
    assert.deepEqual(await s.list(), ["vm1"]);
    const left = (await readdir(join(dir, "qemu"))).filter((f) => f.includes(".new-"));
    assert.deepEqual(left, [], "no temporary files are left behind");
    await assert.rejects(s.save("../evil", "x"), /invalid object name/);
    await writeFileAtomic(join(dir, "plain"), "data");
    assert.equal(await readFile(join(dir, "plain"), "utf8"), "data");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("activeListSlots counts and names active and inactive objects, honouring max and list swaps", async () => {
  let objs = [
    { name: "a", active: true },
    { name: "b", active: false },
    { name: "c", active: true },
  ];
  const s = activeListSlots("Things", () => objs);
  assert.equal(await s.connectNumOfThings(), 2);
  assert.deepEqual(await s.connectListThings(1), ["a"]);
  assert.deepEqual(await s.connectListThings(10), ["a", "c"]);
  assert.equal(await s.connectNumOfDefinedThings(), 1);
  assert.deepEqual(await s.connectListDefinedThings(10), ["b"]);
  objs = [{ name: "d", active: false }];
  assert.equal(await s.connectNumOfThings(), 0);
  assert.deepEqual(await s.connectListDefinedThings(0), []);
});

test("loadHostObjects loads configs, re-attaches live records and drops the ones that fail", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsvirt-hostobj-"));
  try {
    type Def = { name: string; uuid: string; v: string };
    const parse = (x: string): Def => {
      const [name, uuid, v] = x.trim().split(" ");
      return { name: name!, uuid: uuid!, v: v! };
    };
    const store = new XmlStore(join(dir, "etc"));
    const runStore = new XmlStore(join(dir, "run"));
    await store.init();
    await runStore.init();
    await store.save("a", "a u1 cfg\n");
    await store.setAutostart("a", true);
    await store.save("bad", "other u9 cfg\n");
    await runStore.save("a", "a u1 live\n");
    await runStore.save("t", "t u2 live\n");
    await runStore.save("gone", "gone u3 live\n");
    const list = new ObjectList<HostObject<Def>>();
    const warnings: string[] = [];
    const cleaned: string[] = [];
    await loadHostObjects({
      list,
      store,
      runStore,
      parse,
      add: (def, persistent) =>
        list.add({ name: def.name, uuid: def.uuid, def, active: false, persistent, autostart: false }),
      reattach: async (o) => {
        if (o.name === "gone") throw new Error("is gone");
        o.active = true;
      },
      cleanup: async (o) => {
        cleaned.push(o.name);
      },
      noun: "thing",
      label: "big thing",
      warn: (m) => warnings.push(m),
    });
    const a = list.byName("a")!;
    assert.equal(a.active, true);
    assert.equal(a.autostart, true);
    assert.equal(a.def.v, "live");
    assert.equal(a.newDef?.v, "cfg");
    assert.equal(list.byName("t")?.persistent, false);
    assert.equal(list.byName("gone"), undefined);
    assert.deepEqual(cleaned, ["gone"]);
    assert.deepEqual(await runStore.list(), ["a", "t"]);
    assert.deepEqual(warnings, [
      "cannot load big thing config 'bad': config file name does not match thing name 'other'",
      "big thing 'gone' is no longer active: is gone",
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("matchesStateFilter keeps objects on an asked-for side of each pair", () => {
  const L = { INACTIVE: 1, ACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8, AUTOSTART: 16, NO_AUTOSTART: 32 };
  const o = { active: true, persistent: false, autostart: true };
  assert.equal(matchesStateFilter(o, 0, L), true);
  assert.equal(matchesStateFilter(o, L.ACTIVE | L.INACTIVE, L), true);
  assert.equal(matchesStateFilter(o, L.INACTIVE, L), false);
  assert.equal(matchesStateFilter(o, L.TRANSIENT | L.AUTOSTART, L), true);
  assert.equal(matchesStateFilter(o, L.PERSISTENT, L), false);
  assert.equal(matchesStateFilter(o, L.NO_AUTOSTART, L), false);
});
