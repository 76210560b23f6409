// Journal intents (src/state/xml-journal-store.ts) and the QEMU define that uses them
// (src/drivers/qemu/domain-define.ts): an operation records what it was asked and starts that
// record's flush before it computes; its save is the intent's commit. A crash that leaves an
// intent without commit or resolve hands it back to the owner at the next start, and the QEMU
// driver replays such a define with its recorded seed, giving the same UUID, MACs and XML.
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

test("QEMU define: intent then commit; a define cut off after its intent is replayed with the same UUID, MAC and XML", async (t) => {
  if (!existsSync(QEMU)) return t.skip("qemu-system-x86_64 not installed");
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-intent-qemu-"));
  const opts = {
    uri: "qemu:///system",
    configDir: join(dir, "etc"),
    libDir: join(dir, "lib"),
    runDir: join(dir, "run"),
    emulators: [QEMU],
    autostart: false,
  };
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
      [
        { op: "intent", name: "#1" },
        { op: "commit", name: "live" },
      ],
      "a define writes its intent first and commits it with the config",
    );
    await assert.rejects(drv.domainDefineXMLFlags!("<domain type='qemu'><name>bad</name></domain>", 0));
    assert.deepEqual(
      journalOps(opts.configDir)
        .slice(2)
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
    assert.equal(readFileSync(join(opts.configDir, "cut.xml"), "utf8"), expected);
    assert.equal(await drv2.domainGetXMLDesc!({ name: "cut", uuid: cut.uuid }, 2), expected);
    // and is ended: a third start replays nothing.
    await st2.store.flush();
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
