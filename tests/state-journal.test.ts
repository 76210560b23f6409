// The XmlStore's write-ahead journal (src/state/xml-journal*.ts): record codec round trip, a
// bounded fuzz of the reader, the journaled store's behaviour, and replay after a real crash (a
// child process that saves and then kill -9s itself; the files it leaves are then made missing,
// torn or stale, as a power loss could leave them, and a new store must restore them).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import {
  crc32,
  decodeHeader,
  encodeHeader,
  encodeRecord,
  JOURNAL_HEADER_SIZE,
  type JournalOp,
  type JournalRecord,
  MAX_DATA_BYTES,
  RECORD_HEADER_SIZE,
  readRecords,
} from "../src/state/xml-journal.js";
import { JOURNAL_FILE_NAME } from "../src/state/xml-journal-store.js";
import { XmlStore } from "../src/state/xml-store.js";

const REPO = resolve(import.meta.dirname, "..");

/** A whole journal image: header of `gen`, then the records. */
function image(gen: number, recs: JournalRecord[], recGen = gen): Buffer {
  const parts: Buffer[] = [encodeHeader(gen)];
  for (const r of recs) parts.push(...encodeRecord(recGen, r.op, r.name, Buffer.from(r.xml, "utf8")));
  return Buffer.concat(parts);
}

/** Small deterministic PRNG (xorshift32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const SAMPLE: JournalRecord[] = [
  { op: "save", name: "vm1", xml: "<domain type='qemu'>\n  <name>vm1</name>\n</domain>\n" },
  { op: "save", name: "été-ü", xml: "<domain><description>ünïcode ✓</description></domain>\n" },
  { op: "remove", name: "vm1", xml: "" },
  { op: "save", name: "big", xml: `<domain>${"x".repeat(70_000)}</domain>\n` },
  { op: "save", name: "vm1", xml: "" },
];

test("journal codec: header and records round-trip; the reader stops at zeros, stale and torn records", () => {
  for (const gen of [1, 0x7fffffff, 0xffffffff]) {
    assert.equal(decodeHeader(encodeHeader(gen)), gen);
    const img = image(gen, SAMPLE);
    const r = readRecords(img, gen);
    assert.deepEqual(r.records, SAMPLE);
    assert.equal(r.end, img.length);
    assert.equal(r.why, "end");
    // Zeros after the records (the preallocated rest of the file): a clean end.
    const padded = Buffer.concat([img, Buffer.alloc(4096)]);
    assert.deepEqual(readRecords(padded, gen), { records: SAMPLE, end: img.length, why: "end" });
  }
  // Records of an older generation left behind a reset are not the journal's.
  const stale = Buffer.concat([
    image(7, SAMPLE.slice(0, 1)),
    ...encodeRecord(6, "save", "old", Buffer.from("<old/>")),
  ]);
  const rs = readRecords(stale, 7);
  assert.deepEqual(rs.records, SAMPLE.slice(0, 1));
  assert.equal(rs.why, "stale");
  assert.deepEqual(readRecords(image(6, SAMPLE), 7).records, [], "a whole older generation is ignored");
  // A record cut anywhere leaves the records before it and reports a torn tail.
  const img = image(3, SAMPLE.slice(0, 2));
  const first = JOURNAL_HEADER_SIZE + RECORD_HEADER_SIZE + 3 + Buffer.byteLength(SAMPLE[0]!.xml);
  for (let cut = first + 1; cut < img.length; cut++) {
    const r = readRecords(img.subarray(0, cut), 3);
    assert.deepEqual(r.records, SAMPLE.slice(0, 1), `cut at ${cut}`);
    assert.equal(r.end, first);
    assert.equal(r.why, "torn");
  }
  // Bad headers.
  const h = encodeHeader(5);
  h[9] = h[9]! ^ 1;
  assert.equal(decodeHeader(h), undefined, "checksum");
  assert.equal(decodeHeader(Buffer.alloc(JOURNAL_HEADER_SIZE)), undefined, "zeros");
  assert.equal(decodeHeader(Buffer.alloc(3)), undefined, "short");
  // What the encoder refuses.
  assert.throws(() => encodeRecord(1, "save", "", Buffer.alloc(0)), /name/);
  assert.throws(() => encodeRecord(1, "remove", "x", Buffer.from("y")), /no data/);
});

test("journal reader fuzz: random and mutated images give a prefix of the records or nothing, never a throw", () => {
  const rnd = prng(0x5eed);
  const good = image(42, SAMPLE.slice(0, 3));
  const t0 = performance.now();
  for (let i = 0; i < 3000; i++) {
    let buf: Buffer;
    const kind = i % 4;
    if (kind === 0) {
      // Random bytes after a valid header (so record parsing is reached).
      buf = Buffer.concat([
        encodeHeader(42),
        Buffer.from(Array.from({ length: rnd() % 200 }, () => rnd() & 255)),
      ]);
    } else if (kind === 1) {
      // Flip 1-4 random bytes of a valid image.
      buf = Buffer.from(good);
      for (let k = 0; k <= (rnd() & 3); k++) {
        const at = JOURNAL_HEADER_SIZE + (rnd() % (good.length - JOURNAL_HEADER_SIZE));
        buf[at] = buf[at]! ^ (1 + (rnd() % 255));
      }
    } else if (kind === 2) {
      // Hostile length fields in the first record: 0, 3, 0x7fffffff, 0xffffffff, just too big.
      buf = Buffer.from(good);
      const field = JOURNAL_HEADER_SIZE + (rnd() & 1 ? 12 : 16);
      const v = [0, 3, 0x7fffffff, 0xffffffff, MAX_DATA_BYTES + 1, buf.length][rnd() % 6]!;
      buf.writeUInt32LE(v >>> 0, field);
    } else {
      // Truncated anywhere, plus garbage.
      buf = Buffer.concat([good.subarray(0, rnd() % good.length), Buffer.from([rnd() & 255, rnd() & 255])]);
    }
    const r = readRecords(buf, 42);
    assert.ok(
      r.end >= JOURNAL_HEADER_SIZE && r.end <= Math.max(buf.length, JOURNAL_HEADER_SIZE),
      `case ${i}`,
    );
    assert.ok(r.records.length <= 3, `case ${i}`);
    // Whatever survives is the original records, in order (a mutation is caught by the checksum).
    assert.deepEqual(r.records, SAMPLE.slice(0, r.records.length), `case ${i}`);
    let bytes = 0;
    for (const x of r.records) bytes += x.xml.length + x.name.length;
    assert.ok(bytes <= buf.length, "nothing is read beyond the buffer");
  }
  // 3000 small images: a length field taken at its word would have allocated gigabytes.
  assert.ok(performance.now() - t0 < 20_000);
});

test("journaled XmlStore: save, list, load, remove, autostart; the journal is not listed and is reset by flush", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-journal-"));
  try {
    const cfg = join(dir, "qemu");
    const s = new XmlStore(cfg, { journal: { capacity: 64 << 10, idleMs: 10_000 } });
    await s.init();
    await s.save("vm1", "<domain/>\n");
    await s.save("vm2", "<domain>2</domain>\n");
    await s.save("vm1", "<domain>1</domain>\n");
    // Readers see the files at once, before any checkpoint.
    assert.equal(readFileSync(join(cfg, "vm1.xml"), "utf8"), "<domain>1</domain>\n");
    assert.deepEqual(await s.list(), ["vm1", "vm2"]);
    assert.ok(existsSync(join(cfg, JOURNAL_FILE_NAME)));
    assert.equal(await s.load("vm2"), "<domain>2</domain>\n");
    await s.setAutostart("vm2", true);
    assert.equal(await s.isAutostart("vm2"), true);
    await s.remove("vm2");
    assert.equal(await s.isAutostart("vm2"), false);
    assert.deepEqual(await s.list(), ["vm1"]);
    await assert.rejects(s.save("../evil", "x"), /invalid object name/);
    // More than the journal holds (64 KiB, so several checkpoints run on the way) and one save
    // larger than the whole journal (written directly after a drain).
    for (let i = 0; i < 120; i++) await s.save(`n${i}`, `<domain>${"y".repeat(1000)}${i}</domain>\n`);
    await s.save("huge", `<domain>${"z".repeat(100_000)}</domain>\n`);
    await s.flush();
    const journal = readFileSync(join(cfg, JOURNAL_FILE_NAME));
    assert.equal(journal.length, 64 << 10, "preallocated");
    const gen = decodeHeader(journal);
    assert.ok(gen !== undefined);
    assert.deepEqual(readRecords(journal, gen).records, [], "flush leaves an empty generation");
    assert.deepEqual(
      readdirSync(cfg).filter((f) => f.includes(".new-")),
      [],
      "no temporary files are left behind",
    );
    // Removed files are kept as hidden spares for later saves: never listed, reused, bounded.
    for (let i = 0; i < 60; i++) await s.remove(`n${i}`);
    const spares = () => readdirSync(cfg).filter((f) => f.startsWith(".spare-")).length;
    assert.ok(spares() >= 60, "removed files became spares");
    for (let i = 0; i < 60; i++) await s.save(`n${i}`, `<domain>${"y".repeat(1000)}${i}</domain>\n`);
    assert.ok(spares() <= 16, "saves took the spares");
    assert.equal(
      await s.load("n7"),
      `<domain>${"y".repeat(1000)}7</domain>\n`,
      "a reused spare holds exactly the new data",
    );
    await s.save("long", `<domain>${"L".repeat(5000)}</domain>\n`);
    await s.remove("long");
    await s.save("short", "<d/>\n"); // into the spare that held the longer file
    assert.equal(readFileSync(join(cfg, "short.xml"), "utf8"), "<d/>\n");
    await s.remove("short");
    // A second store on the directory (a restart) finds everything.
    const again = new XmlStore(cfg, { journal: true });
    await again.init();
    assert.equal((await again.list()).length, 122);
    assert.equal(await again.load("n119"), `<domain>${"y".repeat(1000)}119</domain>\n`);
    assert.equal((await again.load("huge"))?.length, 100_000 + 18);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs a child that saves through a journaled store and kill -9s itself before any checkpoint. */
function crashingChild(cfg: string, steps: [JournalOp, string, string][]): Promise<string> {
  const stepsFile = join(cfg, "..", "steps.json");
  writeFileSync(stepsFile, JSON.stringify(steps));
  const code = `
    import { XmlStore } from ${JSON.stringify(join(REPO, "src/state/xml-store.ts"))};
    import { readFileSync } from "node:fs";
    const s = new XmlStore(${JSON.stringify(cfg)}, { journal: { idleMs: 600000 } });
    await s.init();
    for (const [op, name, xml] of JSON.parse(readFileSync(${JSON.stringify(stepsFile)}, "utf8"))) {
      if (op === "save") await s.save(name, xml); else await s.remove(name);
    }
    process.stdout.write("done\\n");
    process.kill(process.pid, "SIGKILL");
  `;
  return new Promise((res, rej) =>
    execFile(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", code],
      { cwd: REPO, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (!stdout.includes("done")) return rej(new Error(`child: ${err?.message}\n${stderr}`));
        if ((err as { signal?: string } | null)?.signal !== "SIGKILL")
          return rej(new Error("child was not killed"));
        res(stdout);
      },
    ),
  );
}

test("replay after kill -9: records restore missing, torn and stale files; removes stay removed", {
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-journal-crash-"));
  try {
    const cfg = join(dir, "qemu");
    const xml = (n: string, v: number) =>
      `<domain type='qemu'>\n  <name>${n}</name>\n  <v>${v}</v>\n</domain>\n`;
    // First life: a durable baseline (flushed: the journal is empty afterwards).
    const base = new XmlStore(cfg, { journal: true });
    await base.init();
    await base.save("keep", xml("keep", 0));
    await base.save("gone", xml("gone", 0));
    await base.setAutostart("gone", true);
    await base.flush();
    // Second life, killed -9 right after its calls resolved.
    await crashingChild(cfg, [
      ["save", "a", xml("a", 1)],
      ["save", "b", xml("b", 1)],
      ["save", "c", xml("c", 1)],
      ["save", "a", xml("a", 2)],
      ["remove", "gone", ""],
      ["save", "d", xml("d", 1)],
      // Past the reader's first 64 KiB: replay must read on.
      ["save", "large", `<domain>${"w".repeat(150_000)}</domain>\n`],
      ["save", "last", xml("last", 1)],
    ]);
    assert.equal(readFileSync(join(cfg, "a.xml"), "utf8"), xml("a", 2), "the child's files are in place");
    // What a power loss could leave of files that were renamed but not yet fsynced:
    rmSync(join(cfg, "a.xml")); // missing
    writeFileSync(join(cfg, "b.xml"), xml("b", 1).slice(0, 17)); // torn
    writeFileSync(join(cfg, "c.xml"), ""); // empty
    writeFileSync(join(cfg, "d.xml"), xml("d", 0)); // stale (an older version)
    writeFileSync(join(cfg, "gone.xml"), xml("gone", 0)); // the unlink lost
    symlinkSync(join(cfg, "gone.xml"), join(cfg, "autostart", "gone.xml"));
    rmSync(join(cfg, "large.xml"));
    rmSync(join(cfg, "last.xml"));
    writeFileSync(join(cfg, "c.xml.new-999-1"), "<dom"); // a temp file of the crash
    // Third life: replay before anything is listed.
    const s = new XmlStore(cfg, { journal: true });
    assert.deepEqual(await s.list(), ["a", "b", "c", "d", "keep", "large", "last"]);
    assert.equal((await s.load("large"))?.length, 150_018);
    assert.equal(await s.load("last"), xml("last", 1));
    for (const [n, v] of [
      ["a", 2],
      ["b", 1],
      ["c", 1],
      ["d", 1],
      ["keep", 0],
    ] as const)
      assert.equal(await s.load(n), xml(n, v), n);
    assert.equal(await s.isAutostart("gone"), false, "the remove record also drops the autostart link");
    assert.deepEqual(
      readdirSync(cfg).filter((f) => f.includes(".new-")),
      [],
      "temp files of the crash are removed",
    );
    // Replay reset the journal: a file changed now is not overwritten by the next start.
    const journal = readFileSync(join(cfg, JOURNAL_FILE_NAME));
    assert.deepEqual(readRecords(journal, decodeHeader(journal)!).records, []);
    writeFileSync(join(cfg, "a.xml"), xml("a", 9));
    const s2 = new XmlStore(cfg, { journal: true });
    assert.equal(await s2.load("a"), xml("a", 9));
    // A torn record at the end (a crash mid-append) is ignored; the records before it count.
    const img = image(decodeHeader(journal)!, [{ op: "save", name: "e", xml: xml("e", 1) }]);
    const torn = Buffer.concat([
      img,
      encodeRecord(decodeHeader(journal)!, "save", "f", Buffer.from(xml("f", 1)))[0]!,
    ]);
    writeFileSync(join(cfg, JOURNAL_FILE_NAME), Buffer.concat([torn, journal.subarray(torn.length)]));
    const s3 = new XmlStore(cfg, { journal: true });
    await s3.init();
    assert.equal(await s3.load("e"), xml("e", 1));
    assert.equal(await s3.load("f"), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("journal crc32 is IEEE CRC-32 (the known check value, and continuation over pieces)", () => {
  const check = Buffer.from("123456789");
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
  const rnd = prng(7);
  const data = Buffer.from(Array.from({ length: 3000 }, () => rnd() & 255));
  for (const cut of [0, 1, 1234, 2999, 3000])
    assert.equal(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), crc32(data));
});

test("journaled XmlStore under concurrent saves: a small journal drains while saves are in flight, the last save of a name wins", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsvirt-journal-conc-"));
  try {
    const cfg = join(dir, "qemu");
    // 16 KiB: a few records fill it, so saves wait for checkpoints while others are in flight.
    const s = new XmlStore(cfg, { journal: { capacity: 16 << 10, idleMs: 1 } });
    await s.init();
    const body = (n: number, v: number) =>
      `<domain><name>c${n}</name><v>${v}</v>${"p".repeat(700)}</domain>\n`;
    const calls: Promise<void>[] = [];
    for (let v = 0; v < 3; v++) for (let n = 0; n < 60; n++) calls.push(s.save(`c${n}`, body(n, v)));
    for (let n = 0; n < 60; n += 7) calls.push(s.remove(`c${n}`));
    await Promise.all(calls);
    const expect = (n: number) => (n % 7 === 0 ? undefined : body(n, 2));
    for (let n = 0; n < 60; n++) assert.equal(await s.load(`c${n}`), expect(n), `c${n}`);
    // What a restart finds after a kill (no flush): the same, from the files and the journal.
    const again = new XmlStore(cfg, { journal: true });
    for (let n = 0; n < 60; n++) assert.equal(await again.load(`c${n}`), expect(n), `c${n} after reopen`);
    await again.flush();
    await s.flush();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
