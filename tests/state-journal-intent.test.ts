// Journal intents (src/state/xml-journal-store.ts) and the QEMU define that uses them
// (src/drivers/qemu/domain-define.ts): an operation records what it was asked and starts that
// record's flush before it computes; its save is the intent's commit. A crash that leaves an
// intent without commit or resolve hands it back to the owner at the next start, and the QEMU
// driver replays such a define with its recorded seed, giving the same UUID, MACs and XML. A
// define's save is deferred: its file is written by the next checkpoint, without a commit record.
// "Crashes" here are a second store opened on the same directory while the first one, which
// never checkpoints (idleMs far away), is simply dropped: what the second one reads is what a
// kill -9 would leave. What a power loss may drop on top of that (a commit record not yet
// flushed, a file renamed but not fsynced) is cut out of the files by hand.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { seededRandom } from "../src/conf/common/random.js";
import { formatDomainXML } from "../src/conf/domain/index.js";
import { createQemuDriverState, qemuHypervisorDriver } from "../src/drivers/qemu/driver.js";
import { decodeHeader, readRecords } from "../src/state/xml-journal.js";
import { JOURNAL_FILE_NAME } from "../src/state/xml-journal-store.js";
import { XmlStore } from "../src/state/xml-store.js";

const QEMU = "/usr/bin/qemu-system-x86_64";

/** A QEMU driver state's options under `dir` (no autostart). */
function qemuOptions(dir: string) {
  return {
    uri: "qemu:///system",
    configDir: join(dir, "etc"),
    libDir: join(dir, "lib"),
    runDir: join(dir, "run"),
    emulators: [QEMU],
    autostart: false,
  };
}

function journalOps(dir: string): { op: string; name: string }[] {
  const j = readFileSync(join(dir, JOURNAL_FILE_NAME));
  return readRecords(j, decodeHeader(j)!).records.map((r) => ({ op: r.op, name: r.name }));
}

test("store intents: unended ones come back in order after a crash, commits and resolves end them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-intent-"));
  try {
    const keep = { journal: { idleMs: 600_000 } };
    const a = new XmlStore(dir, keep);
    await a.init();
    const i1 = (await a.beginIntent("first"))!;
    const i2 = (await a.beginIntent("second"))!;
    const i3 = (await a.beginIntent("third"))!;
    const i4 = (await a.beginIntent("fourth"))!;
    assert.ok(i1 && i2 && i3 && i4, "a journaled store takes intents");
    await a.save("x", "<x>2</x>\n", i2); // resolves once i2's record is durable
    await a.endIntent(i3);
    await i1.durable;
    await i4.durable;
    assert.deepEqual(
      journalOps(dir).map((r) => r.op),
      ["intent", "intent", "intent", "intent", "commit", "resolve"],
    );
    assert.equal(
      readFileSync(join(dir, "x.xml"), "utf8"),
      "<x>2</x>\n",
      "a commit renames the file into place",
    );

    // Crash: a second life reads the journal.
    const b = new XmlStore(dir, keep);
    assert.deepEqual(await b.list(), ["x"]);
    const found = b.takeIntents();
    assert.deepEqual(
      found.map((f) => f.payload),
      ["first", "fourth"],
      "intents nothing ended, in their order",
    );
    assert.deepEqual(b.takeIntents(), [], "given once");
    // Carried into the new generation: another crash before they are ended gives them again.
    const c = new XmlStore(dir, keep);
    await c.init();
    const again = c.takeIntents();
    assert.deepEqual(
      again.map((f) => f.payload),
      ["first", "fourth"],
    );
    // Ended (one replayed as a save, one failed): the next life has none.
    await c.save("y", "<y/>\n", again[0]!.intent);
    await c.endIntent(again[1]!.intent);
    const d = new XmlStore(dir, keep);
    await d.init();
    assert.deepEqual(d.takeIntents(), []);
    assert.deepEqual(await d.list(), ["x", "y"]);

    // A checkpoint between an intent and its save resets the journal: the save then waits for
    // its own record, and nothing is left to replay.
    const i5 = (await d.beginIntent("fifth"))!;
    await d.flush();
    await d.save("z", "<z/>\n", i5);
    assert.deepEqual(journalOps(dir), [{ op: "save", name: "z" }], "a plain save in the new generation");
    const e = new XmlStore(dir, keep);
    await e.init();
    assert.deepEqual(e.takeIntents(), []);
    assert.equal(await e.load("z"), "<z/>\n");

    // A plain (unjournaled) store takes no intent.
    assert.equal(await new XmlStore(join(dir, "plain")).beginIntent("p"), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deferred saves: the file waits for a checkpoint; a later record of the name ends the intent first; a crash replays only unended ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-deferred-"));
  try {
    // Neither checkpoints nor deferred writes on their own, but for the last part below.
    const keep = { journal: { idleMs: 600_000, deferMs: 600_000 } };
    const a = new XmlStore(dir, keep);
    await a.init();
    // What was formatted (each deferred save's text is made when its file is written; a load
    // makes it too).
    let formatted: string[] = [];
    const text = (t: string) => () => {
      formatted.push(t);
      return t;
    };
    const i1 = (await a.beginIntent("p1"))!;
    await a.save("x", text("<x>1</x>\n"), i1); // resolves once i1 is durable
    assert.equal(existsSync(join(dir, "x.xml")), false, "no file yet");
    assert.deepEqual(formatted, [], "nothing formatted yet");
    assert.equal(await a.load("x"), "<x>1</x>\n", "readers of the store see a deferred save");
    assert.deepEqual(await a.list(), ["x"]);
    formatted = [];
    // A redefine replaces the deferred save and ends the first intent.
    const i2 = (await a.beginIntent("p2"))!;
    await a.save("x", text("<x>2</x>\n"), i2);
    // A define removed before any checkpoint: its intent is ended before the remove record.
    const i3 = (await a.beginIntent("p3"))!;
    await a.save("y", text("<y/>\n"), i3);
    await a.remove("y");
    // A plain save after a deferred one: the intent ends first, the plain save is the file.
    const i4 = (await a.beginIntent("p4"))!;
    await a.save("z", text("<z>old</z>\n"), i4);
    await a.save("z", "<z>new</z>\n");
    assert.deepEqual(journalOps(dir), [
      { op: "intent", name: "#1" },
      { op: "intent", name: "#2" },
      { op: "resolve", name: "#1" },
      { op: "intent", name: "#3" },
      { op: "resolve", name: "#3" },
      { op: "remove", name: "y" },
      { op: "intent", name: "#4" },
      { op: "resolve", name: "#4" },
      { op: "save", name: "z" },
    ]);
    assert.deepEqual(formatted, [], "superseded saves are never formatted");

    // Crash: only the define nothing ended comes back, to be replayed; no file was written for it.
    const b = new XmlStore(dir, keep);
    await b.init();
    assert.deepEqual(
      b.takeIntents().map((f) => f.payload),
      ["p2"],
    );
    // x's file is there if it was written before the crash, with the last define's text.
    assert.deepEqual(
      (await b.list()).filter((n) => n !== "x"),
      ["z"],
    );
    if (existsSync(join(dir, "x.xml"))) assert.equal(readFileSync(join(dir, "x.xml"), "utf8"), "<x>2</x>\n");
    assert.equal(await b.load("z"), "<z>new</z>\n");

    // A checkpoint (here flush) writes the deferred file, then resets the journal.
    const c = new XmlStore(dir, keep);
    await c.init();
    const i5 = (await c.beginIntent("p5"))!;
    await c.save("w", text("<w/>\n"), i5);
    await c.flush();
    assert.equal(readFileSync(join(dir, "w.xml"), "utf8"), "<w/>\n");
    assert.equal(formatted.filter((t) => t === "<w/>\n").length, 1, "formatted once, when written");
    assert.deepEqual(journalOps(dir), [], "the journal is reset once the file is durable");
    const d = new XmlStore(dir, { journal: { idleMs: 600_000 } }); // deferred writes after 5 ms
    await d.init();
    assert.deepEqual(d.takeIntents(), [], "nothing to replay after the checkpoint");

    // Without a checkpoint: the file is written shortly after the last save, the intent stays
    // until a checkpoint; a remove then ends it before its own record.
    const i6 = (await d.beginIntent("p6"))!;
    await d.save("v", text("<v/>\n"), i6);
    const i7 = (await d.beginIntent("p7"))!;
    await d.save("u", text("<u/>\n"), i7);
    for (let i = 0; i < 200 && !existsSync(join(dir, "u.xml")); i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(readFileSync(join(dir, "v.xml"), "utf8"), "<v/>\n");
    assert.equal(readFileSync(join(dir, "u.xml"), "utf8"), "<u/>\n");
    await d.remove("v");
    assert.deepEqual(journalOps(dir), [
      { op: "intent", name: "#1" },
      { op: "intent", name: "#2" },
      { op: "resolve", name: "#1" },
      { op: "remove", name: "v" },
    ]);
    const e = new XmlStore(dir, keep);
    await e.init();
    assert.deepEqual(
      e.takeIntents().map((f) => f.payload),
      ["p7"],
      "the written file's intent stays until a checkpoint; the removed one's does not",
    );
    assert.deepEqual(await e.list(), ["u", "w", "z"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("QEMU define: intent then a deferred file; a define cut off after its intent is replayed with the same UUID, MAC and XML", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-intent-qemu-"));
  const opts = qemuOptions(dir);
  // No UUID, a NIC without MAC: both generated.
  const xml = (name: string) => `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><interface type='user'/></devices>
</domain>`;
  try {
    const st = await createQemuDriverState(opts);
    const drv = qemuHypervisorDriver(st);
    // The first parse probes QEMU's capabilities (seconds): an idle checkpoint meanwhile would
    // reset the journal and the define would fall back to a plain save (correct, but not what
    // this test looks at).
    await st.parse(xml("warm-up"));
    const ref = await drv.domainDefineXMLFlags!(xml("live"), 0);
    assert.deepEqual(
      journalOps(opts.configDir),
      [{ op: "intent", name: "#1" }],
      "a define writes its intent; its file waits for the next checkpoint",
    );
    assert.equal(existsSync(join(opts.configDir, "live.xml")), false);
    await assert.rejects(drv.domainDefineXMLFlags!("<domain type='qemu'><name>bad</name></domain>", 0));
    assert.deepEqual(
      journalOps(opts.configDir)
        .slice(1)
        .map((r) => r.op),
      ["intent", "resolve"],
      "a failed define resolves its intent",
    );

    // Two clients define one name with different UUIDs at once: one wins, the other is refused.
    const twin = (u: string) => xml("twin").replace("<name>", `<uuid>${u}</uuid><name>`);
    const both = await Promise.allSettled([
      drv.domainDefineXMLFlags!(twin("11111111-2222-3333-4444-555555555555"), 0),
      drv.domainDefineXMLFlags!(twin("11111111-2222-3333-4444-666666666666"), 0),
    ]);
    assert.deepEqual(
      both.map((r) => r.status),
      ["fulfilled", "rejected"],
    );
    assert.match(
      String((both[1] as PromiseRejectedResult).reason),
      /domain 'twin' is already defined with uuid/,
    );
    assert.equal(st.domains.values().filter((d) => d.name === "twin").length, 1);
    await drv.domainUndefineFlags!(await drv.domainLookupByName!("twin"), 0);

    await st.store.flush(); // this life ends here: nothing of it writes to the journal from now on
    assert.equal(
      readFileSync(join(opts.configDir, "live.xml"), "utf8"),
      formatDomainXML(st.byName("live").def, { inactive: true, securityInfo: true }),
      "the checkpoint wrote the deferred file",
    );

    // What a power loss right after the reply could leave: the intent of a second define, not its
    // commit (cut off the journal) nor its file. Written here as the driver writes it, with a
    // known seed.
    const seed = "0123456789abcdef0123456789abcdef";
    const payload = JSON.stringify({ op: "domain-define", flags: 0, seed, xml: xml("cut") });
    const raw = new XmlStore(opts.configDir, { journal: { capacity: 4 << 20, idleMs: 600_000 } });
    await raw.init();
    await (await raw.beginIntent(payload))!.durable;
    // A broken intent (not a define) and an XML the parser refuses: reported, not replayed.
    await (await raw.beginIntent("{"))!.durable;
    const badXml = JSON.stringify({ op: "domain-define", flags: 0, seed, xml: "<domain/>" });
    await (await raw.beginIntent(badXml))!.durable;
    assert.equal(existsSync(join(opts.configDir, "cut.xml")), false);

    const st2 = await createQemuDriverState(opts);
    const drv2 = qemuHypervisorDriver(st2);
    const names = (await drv2.connectListAllDomains!(0)).map((r) => r.name).sort();
    assert.deepEqual(names, ["cut", "live"]);
    assert.equal(
      (await drv2.domainLookupByName!("live")).uuid,
      ref.uuid,
      "the committed define is kept as it was",
    );
    assert.equal(st2.replayErrors.length, 2, st2.replayErrors.join("\n"));

    // The replayed define is what the seed gives: parse the same XML with the same seed.
    const { def } = await st2.parse(xml("cut"), seededRandom(Buffer.from(seed, "hex")));
    const expected = formatDomainXML(def, { inactive: true, securityInfo: true });
    const cut = st2.byName("cut");
    assert.equal(cut.uuid, def.uuid);
    assert.match(expected, /<mac address='52:54:00:[0-9a-f:]{8}'\/>/);
    assert.equal(await drv2.domainGetXMLDesc!({ name: "cut", uuid: cut.uuid }, 2), expected);
    // and is ended: a third start replays nothing.
    await st2.store.flush();
    assert.equal(readFileSync(join(opts.configDir, "cut.xml"), "utf8"), expected);
    const st3 = await createQemuDriverState(opts);
    assert.deepEqual(st3.replayErrors, []);
    assert.equal(st3.byName("cut").uuid, def.uuid);

    // The seeded stream is xoshiro128** (the reference sequence for the state 1, 2, 3, 4), bytes
    // little-endian; deterministic, and different seeds differ.
    const vec = seededRandom(Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]))(24);
    const words = Array.from({ length: 6 }, (_, i) => Buffer.from(vec).readUInt32LE(i * 4));
    assert.deepEqual(words, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    // The seeded stream is deterministic and differs between seeds.
    const s1 = seededRandom(Buffer.from(seed, "hex"));
    const s2 = seededRandom(Buffer.from(seed, "hex"));
    assert.deepEqual(Buffer.from(s1(40)), Buffer.from(s2(40)));
    assert.notDeepEqual(Buffer.from(seededRandom(Buffer.alloc(16))(16)), Buffer.from(s1(16)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deferred saves under random interleavings (small journal, files written 1 ms after the last save): after a crash, replaying the unended intents leaves each name as its last operation did", async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const dir = mkdtempSync(join(tmpdir(), `tsvirt-deferred-mix-${seed}-`));
    try {
      let x = seed * 2654435761;
      const rnd = (n: number) => {
        x = (x * 1103515245 + 12345) >>> 0;
        return (x >>> 8) % n;
      };
      const crash = seed % 2 === 0; // else flush, then compare the files
      const a = new XmlStore(dir, { journal: { capacity: 8 << 10, idleMs: 600_000, deferMs: 1 } });
      await a.init();
      const last = new Map<string, string | undefined>();
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 80; i++) {
        const name = `n${rnd(5)}`;
        const text = `<domain>${name} ${i} ${"p".repeat(rnd(600))}</domain>\n`;
        const op = rnd(10);
        if (op < 5) {
          const intent = await a.beginIntent(JSON.stringify({ name, text }));
          assert.ok(intent);
          pending.push(a.save(name, () => text, intent));
          last.set(name, text);
        } else if (op < 7) {
          pending.push(a.save(name, text));
          last.set(name, text);
        } else if (op < 9) {
          pending.push(a.remove(name));
          last.set(name, undefined);
        } else await new Promise((r) => setTimeout(r, 1 + rnd(3)));
      }
      await Promise.all(pending);
      let state: XmlStore;
      if (crash) {
        await new Promise((r) => setTimeout(r, 100)); // the deferred files written or not: both fine
        state = new XmlStore(dir, { journal: { capacity: 8 << 10, idleMs: 600_000 } });
        await state.init();
        // The owner replays what nothing ended, in order (here: saves the recorded text).
        for (const { intent, payload } of state.takeIntents()) {
          const r = JSON.parse(payload) as { name: string; text: string };
          await state.save(r.name, r.text, intent);
        }
      } else {
        await a.flush();
        assert.deepEqual(journalOps(dir), [], `seed ${seed}: flushed`);
        state = a;
      }
      const want = [...last].filter(([, t]) => t !== undefined).map(([n]) => n);
      assert.deepEqual(await state.list(), want.sort(), `seed ${seed}: names`);
      for (const n of want) assert.equal(await state.load(n), last.get(n), `seed ${seed}: ${n}`);
      if (!crash)
        for (const n of want) assert.equal(readFileSync(join(dir, `${n}.xml`), "utf8"), last.get(n));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("QEMU define: a client that closes its connection finds its defines' config files written", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-intent-close-"));
  const opts = qemuOptions(dir);
  try {
    const st = await createQemuDriverState(opts);
    const client = qemuHypervisorDriver(st, true); // a daemon client's own table
    for (const name of ["c1", "c2", "c3"]) {
      await client.domainDefineXMLFlags!(
        `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`,
        0,
      );
    }
    await client.connectClose!();
    for (const name of ["c1", "c2", "c3"]) {
      assert.equal(
        readFileSync(join(opts.configDir, `${name}.xml`), "utf8"),
        formatDomainXML(st.byName(name).def, { inactive: true, securityInfo: true }),
      );
    }
    await st.store.flush();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
