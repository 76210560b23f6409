// The journaled write path of an XmlStore that opts in (see xml-journal.ts for why and the format).
//
// save(): append a record to the journal (page cache), start its fdatasync (group-committed),
// write the XML to a temp file meanwhile, wait for the fdatasync, rename the temp file over
// `<name>.xml` (page cache: readers see it at once), resolve. The only save in flight (one client
// defining at a time) writes its temp file and then calls fdatasync on the loop thread: cheaper
// than a threadpool round trip when nothing else could overlap with the flush. The record is on disk before the
// rename, so a crash at any point leaves either a file that was already durable or a record that
// replay turns into one. A save that fails after its record was appended (the temp write or the
// fdatasync fails: a full or failing disk) rejects, but its record may still be applied by the
// next start's replay. Saves and removes of one name run in call order.
// remove(): append a remove record and unlink (rename to a spare, temp-files.ts) at once,
// without waiting for the record's fdatasync. The trade is the one the plain store makes (its directory fsync follows the reply):
// a kill -9 cannot bring the object back (replay reads the record from the page cache), only a
// power loss within one flush can, and then as the complete earlier definition, never a torn one.
// Checkpoint (in the background, once the store has been idle for `idleMs`, at once when the
// journal is half full, and on flush()): fsync every file renamed since its last fsync, fsync the
// directory, and when nothing is left uncovered, reset the journal to a new generation. A save
// that finds the journal full waits for a checkpoint; one too large for it ever drains the
// journal and writes its file with the full atomic sequence.
// Temp files and spare files (reused files of removed objects): temp-files.ts.
// Intents (beginIntent, save with an intent, endIntent): an operation whose result is costly to
// compute (a define parses, fills in defaults, formats) records what it was asked first, as an
// "intent" record, and starts that record's fdatasync at once, so the disk flushes while the
// operation computes, instead of after. Its save is then a "commit" record that also ends the
// intent, written without a flush of its own; the save resolves when the intent is durable. A
// crash can lose the commit but not the intent: open() hands every intent that nothing ended to
// the owner (takeIntents), which replays it the same way (the owner records whatever it needs for
// that, such as a seed for generated identifiers). An operation that fails ends its intent with a
// "resolve" record and waits for that record's flush before it reports the failure, so a failed
// operation is never replayed. A checkpoint may reset the journal between an intent and its save:
// the save then sees a new generation and waits for its own record's flush, as without an intent.
// Deferred saves (save with an intent and a function instead of the text): the save resolves when
// the intent is durable, and the file is written later (50 ms after the last save, so after a
// burst of defines; when a client closes its connection, see the QEMU driver's connectClose; or
// by the next checkpoint), without a record of its own. Formatting and
// placing a config file was about a fifth of a define's CPU (bench/rpc-define.ts), and nothing
// needs the file before then: the intent record
// (what the client asked, and the seed of what the define generated) is what makes the define
// durable, and a crash before the file is written replays it. Each checkpoint writes the
// deferred files before anything else, so the journal is reset only once they are durable; until
// then the intent stays open in the journal, and a later record of the same name (a save, a
// commit, a remove) is preceded by a resolve record of that intent, so that no replay redoes the
// older define on top of it. A later operation on the name drops a deferred save not yet
// written (the later one replaces it).
// open(): before anything is listed or loaded, apply the current generation's records (the last
// one of each name, which leaves the same files as applying all in order) with the full atomic
// sequence, remove temp files left by a crash, fsync the directory, reset the journal, and append
// (durably) the intents nothing ended again, for takeIntents().
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rename,
  renameSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { SPARE_MARK, TEMP_MARK, TempFiles, unlinkQuiet, writeAllSync } from "./temp-files.js";
import { fsyncFd, fsyncPath, type JournalRecord, recordSize, XmlJournal } from "./xml-journal.js";

export const JOURNAL_FILE_NAME = ".xml-journal";

/** An operation in flight whose save may ride on its intent record's flush (see the top). */
export interface StoreIntent {
  readonly id: number;
  /** The journal generation the intent record was written in. */
  readonly gen: number;
  /** Settles when the intent record is on disk. */
  readonly durable: Promise<void>;
}

export interface JournalOptions {
  /** Preallocated journal size in bytes (default 1 MiB). */
  capacity?: number;
  /** Checkpoint after this long without a save or remove (default 200 ms). */
  idleMs?: number;
  /** Write deferred files after this long without a save (default 50 ms; see writeSoon). */
  deferMs?: number;
}

/** A save whose file is written later (see "Deferred saves" at the top). */
interface Deferred {
  readonly produce: () => string;
  readonly intent: StoreIntent;
}

/** Files fsynced at once by a checkpoint (libuv's threadpool has 4 threads). */
const FSYNC_PARALLEL = 4;

/** temp + fsync + rename, without the directory fsync (the caller does one for many files). */
async function writeDurable(path: string, tmp: string, data: Uint8Array): Promise<void> {
  writeAllSync(tmp, data, 0o600);
  try {
    await fsyncPath(tmp);
    renameSync(tmp, path);
  } catch (e) {
    unlinkQuiet(tmp);
    throw e;
  }
}

export class JournaledDir {
  private readonly journal: XmlJournal;
  private readonly idleMs: number;
  private readonly deferMs: number;
  private opening: Promise<void> | undefined;
  /** Names whose file was renamed since its last fsync. */
  private dirty = new Set<string>();
  /** A rename or unlink since the last directory fsync. */
  private dirDirty = false;
  /** Saves between their append and their rename. */
  private inflight = 0;
  private inflightDone: (() => void)[] = [];
  /** Appends wait while a checkpoint closes a generation. */
  private gate: Promise<void> | undefined;
  private checkpointing: Promise<void> | undefined;
  private passing: Promise<void> | undefined;
  /** The last queued operation of each name with one in flight (see inOrder). */
  private readonly perName = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private lastWrite = 0;
  private readonly temps: TempFiles;
  private intentSeq = 0;
  /** Intents neither committed nor ended, by id: when each was recorded (performance.now()). */
  private readonly openIntents = new Map<number, number>();
  /** Intents found unended by open(), appended again, for the owner to replay. */
  private found: { intent: StoreIntent; payload: string }[] = [];
  /** Deferred saves not written yet, by name (see the top). */
  private readonly deferred = new Map<string, Deferred>();
  /** Names whose deferred save a checkpoint wrote while its intent is still in the journal. */
  private readonly unended = new Map<string, StoreIntent>();
  /** Deferred files being written, by name (see writeOneDeferred). */
  private readonly writing = new Map<string, Promise<void>>();
  private deferTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly fileOf: (name: string) => string,
    private readonly autostartOf: (name: string) => string,
    o: JournalOptions = {},
  ) {
    this.journal = new XmlJournal(join(dir, JOURNAL_FILE_NAME), o.capacity ?? 1 << 20);
    this.temps = new TempFiles(dir);
    this.idleMs = o.idleMs ?? 200;
    this.deferMs = o.deferMs ?? 50;
  }

  /** Replays the journal (once); everything else waits for it. */
  ready(): Promise<void> {
    this.opening ??= this.open();
    return this.opening;
  }

  private async open(): Promise<void> {
    const { records } = this.journal.readExisting();
    const last = new Map<string, JournalRecord>();
    /** Intents nothing ended yet, by id, in journal order. */
    const open = new Map<number, string>();
    for (const r of records) {
      if (r.op === "intent" || r.op === "resolve") {
        const id = Number(r.name.slice(1));
        if (r.op === "intent") open.set(id, r.xml);
        else open.delete(id);
        continue;
      }
      if (r.op === "commit") open.delete(r.intent!);
      last.delete(r.name);
      last.set(r.name, r);
    }
    let changed = false;
    for (const r of last.values()) {
      let file: string;
      try {
        file = this.fileOf(r.name);
      } catch {
        continue; // a name no store would write (only a damaged record can hold one)
      }
      if (r.op === "save" || r.op === "commit") {
        await writeDurable(file, this.temps.tempOf(file), Buffer.from(r.xml, "utf8"));
      } else {
        unlinkQuiet(file);
        unlinkQuiet(this.autostartOf(r.name));
      }
      changed = true;
    }
    let ents: string[] = [];
    try {
      ents = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const f of ents) {
      if (f.includes(".xml" + TEMP_MARK)) {
        unlinkQuiet(join(this.dir, f));
        changed = true;
      } else if (f.startsWith(SPARE_MARK)) this.temps.adopt(f);
    }
    if (changed) await fsyncPath(this.dir);
    if (this.journal.open) await this.journal.reset();
    if (open.size > 0) {
      // Carried into the new generation before anything can checkpoint it away.
      for (const payload of open.values()) {
        const intent = this.appendIntent(payload);
        if (intent) this.found.push({ intent, payload });
      }
      await this.journal.durable();
    }
  }

  /**
   * Intents a crash left unended (found by open(), in their order), each carried into the current
   * generation: the owner replays each and ends it (save with it, or endIntent). Given once.
   */
  takeIntents(): { intent: StoreIntent; payload: string }[] {
    return this.found.splice(0);
  }

  /**
   * Records an operation in flight (see the top) and starts the flush of its record. undefined
   * when the journal cannot hold it: the operation then saves the usual way.
   */
  async beginIntent(payload: string): Promise<StoreIntent | undefined> {
    await this.ready();
    const size = recordSize(12, Buffer.byteLength(payload));
    if (!this.journal.fitsEver(size)) return undefined;
    while (!this.canAppend(size)) await this.makeRoom(size);
    const intent = this.appendIntent(payload);
    this.touched();
    return intent;
  }

  private appendIntent(payload: string): StoreIntent | undefined {
    const data = Buffer.from(payload, "utf8");
    const id = ++this.intentSeq >>> 0 || ++this.intentSeq;
    const name = `#${id}`;
    if (!this.journal.hasRoom(recordSize(name.length, data.length))) return undefined;
    this.journal.append("intent", name, data);
    this.openIntents.set(id, performance.now());
    const durable = this.journal.durable();
    durable.catch(() => {}); // awaited by the save or endIntent; unhandled until then
    return { id, gen: this.journal.generation, durable };
  }

  /**
   * Ends an intent whose operation failed, unless a save already committed it: a resolve record,
   * on disk before this resolves, so that no replay redoes the operation.
   */
  async endIntent(intent: StoreIntent): Promise<void> {
    if (!this.openIntents.delete(intent.id)) return;
    const name = `#${intent.id}`;
    const size = recordSize(name.length, 0);
    for (;;) {
      // A new generation no longer holds the intent.
      if (!this.journal.open || this.journal.generation !== intent.gen) return;
      if (this.canAppend(size)) break;
      await this.makeRoom(size);
    }
    this.journal.append("resolve", name, Buffer.alloc(0));
    await this.journal.durable();
  }

  /** Renames a save's temp file into place (removed if that fails) for the next checkpoint to fsync. */
  private place(name: string, tmp: string, file: string, data: Uint8Array): void {
    this.temps.renameInto(tmp, file, data);
    this.dirty.add(name);
    this.dirDirty = true;
  }

  /** Whether a record of `size` bytes may be appended at this moment. */
  private canAppend(size: number): boolean {
    return !this.gate && this.journal.open && this.journal.hasRoom(size);
  }

  /**
   * Waits for one reason canAppend() was false to go away. Callers loop
   * `while (!canAppend) await makeRoom()` and append in the same synchronous run as the check that
   * passed: between an awaited function's return and its caller's next step, other saves run.
   */
  private async makeRoom(size: number): Promise<void> {
    if (this.gate) await this.gate;
    else if (!this.journal.open) {
      // The directory is made on first use (the journal lives in it).
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      await this.journal.create();
    } else if (!this.journal.hasRoom(size)) await this.checkpoint(true);
  }

  /**
   * Saves and removes of one name run one after the other in call order, so the files end as the
   * last call left them, the same as replaying the journal's records (in their order) would.
   */
  private inOrder(name: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.perName.get(name);
    const run = prev ? prev.then(fn) : fn();
    const tail = run.catch(() => {});
    this.perName.set(name, tail);
    void tail.then(() => {
      if (this.perName.get(name) === tail) this.perName.delete(name);
    });
    return run;
  }

  /**
   * Saves; with an intent (see the top), as that intent's commit. With an intent and a function
   * giving the text, deferred when it can be (see the top): resolves when the intent is durable.
   */
  save(name: string, xml: string | (() => string), intent?: StoreIntent): Promise<void> {
    return this.inOrder(name, () => {
      if (typeof xml === "string") return intent ? this.doCommit(name, xml, intent) : this.doSave(name, xml);
      return intent ? this.defer(name, xml, intent) : this.doSave(name, xml());
    });
  }

  /** The text of a deferred save of `name` not written yet (readers of the store see it). */
  deferredText(name: string): string | undefined {
    return this.deferred.get(name)?.produce();
  }

  /** Writes the files of the saves deferred so far (a client closing its connection waits for it). */
  writeDeferredNow(): Promise<void> {
    return this.writeDeferred();
  }

  /** Names with a deferred save not written yet. */
  deferredNames(): string[] {
    return [...this.deferred.keys()];
  }

  /** Whether a save with this intent may be deferred now (its intent record is in the journal). */
  private mayDefer(intent: StoreIntent): boolean {
    return !this.gate && this.journal.open && this.journal.generation === intent.gen;
  }

  private async defer(name: string, produce: () => string, intent: StoreIntent): Promise<void> {
    await this.ready();
    for (;;) {
      const w = this.writing.get(name);
      if (w) {
        await w.catch(() => {});
        continue;
      }
      if (!this.mayDefer(intent)) return this.doCommit(name, produce(), intent);
      const extra = this.supersedeSize(name);
      if (extra === 0 || this.canAppend(extra)) break;
      await this.makeRoom(extra);
    }
    this.supersede(name);
    this.openIntents.delete(intent.id);
    this.deferred.set(name, { produce, intent });
    this.touched();
    this.writeSoon();
    try {
      await intent.durable;
    } catch (e) {
      // The caller ends the intent (endIntent) when it reports the failure.
      if (this.deferred.get(name)?.intent === intent) this.deferred.delete(name);
      this.openIntents.set(intent.id, performance.now());
      throw e;
    }
  }

  /** Bytes of the resolve record supersede(name) appends (0: none). */
  private supersedeSize(name: string): number {
    const i = this.deferred.get(name)?.intent ?? this.unended.get(name);
    return i && i.gen === this.journal.generation ? recordSize(`#${i.id}`.length, 0) : 0;
  }

  /**
   * Before a record of `name`: drops its deferred save (this one replaces it) and ends the
   * intent of that save, or of one a checkpoint wrote, with a resolve record, so that no replay
   * redoes that define after this record. In the same synchronous run as the caller's append, after
   * the caller made room for supersedeSize(name) more bytes.
   */
  private supersede(name: string): void {
    const i = this.deferred.get(name)?.intent ?? this.unended.get(name);
    this.deferred.delete(name);
    this.unended.delete(name);
    if (i && i.gen === this.journal.generation) this.journal.append("resolve", `#${i.id}`, Buffer.alloc(0));
  }

  /**
   * undefined when a record of `size` bytes, and supersede(name)'s, may be appended now and no
   * deferred file of `name` is being written: the caller appends in this synchronous run (see
   * makeRoom). Otherwise what to wait for before asking again.
   */
  private roomFor(name: string, size: number): Promise<void> | undefined {
    const w = this.writing.get(name);
    if (w) return w.catch(() => {});
    const need = size + this.supersedeSize(name);
    return this.canAppend(need) ? undefined : this.makeRoom(need);
  }

  /**
   * Writes the files of the deferred saves (temp file, rename; the checkpoint's pass fsyncs them),
   * yielding now and then so that calls go on meanwhile. No record: each one's intent stays in
   * the journal until the reset that follows their fsync. A failure puts the save back.
   */
  private async writeDeferred(): Promise<void> {
    // The names deferred now: saves deferred meanwhile wait for the next call (a define burst
    // that resumes is not slowed down file by file). One file at a time, each in its name's
    // order (a later operation on the name waits for it), with the inode made and the rename
    // done in the threadpool: a call that comes meanwhile waits for one file's formatting at most.
    for (const name of [...this.deferred.keys()]) await this.writeOneDeferred(name);
  }

  /**
   * Writes the file of `name`'s deferred save, or waits for the pass already writing it. Not in
   * the name's order (inOrder): an operation there may wait for room that only this pass's
   * checkpoint makes. The operations on a name wait for its write instead (room, doCommit).
   */
  private writeOneDeferred(name: string): Promise<void> {
    const w = this.writing.get(name);
    if (w) return w;
    if (!this.deferred.has(name)) return Promise.resolve();
    const p = this.doWriteDeferred(name).finally(() => {
      if (this.writing.get(name) === p) this.writing.delete(name);
    });
    this.writing.set(name, p);
    return p;
  }

  /** The save stays listed as deferred (readers see its text) until its file is in place. */
  private async doWriteDeferred(name: string): Promise<void> {
    const d = this.deferred.get(name);
    if (d === undefined) return; // superseded, or written by another pass meanwhile
    const data = Buffer.from(d.produce(), "utf8");
    const file = this.fileOf(name);
    const tmp = await this.temps.writeAsync(file, data);
    if (this.deferred.get(name) !== d) {
      unlinkQuiet(tmp); // dropped meanwhile: its intent's flush failed (see defer)
      return;
    }
    try {
      await new Promise<void>((resolve, reject) => rename(tmp, file, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        unlinkQuiet(tmp);
        throw e;
      }
      this.place(name, tmp, file, data); // a spare removed by hand: renameInto's way
    }
    this.deferred.delete(name);
    this.dirty.add(name);
    this.dirDirty = true;
    if (d.intent.gen === this.journal.generation) this.unended.set(name, d.intent);
  }

  /**
   * Writes the deferred files once no save came for deferMs: after a burst of defines ends (a
   * shorter wait is cut by the pauses a loaded machine gives a client between two calls), well
   * before the idle checkpoint.
   */
  private writeSoon(ms = this.deferMs): void {
    // One timer that looks at the last save's time when it fires (touched() keeps it), rather
    // than a timer moved at every save: refresh() re-queues it, ~20 us a define in cold code.
    if (this.deferTimer) return;
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      if (this.deferred.size === 0) return;
      const quiet = performance.now() - this.lastWrite;
      if (quiet < this.deferMs) {
        this.writeSoon(Math.max(this.deferMs - quiet, 1));
        return;
      }
      // Also while a checkpoint runs (each save is taken by one writer); a failure leaves the
      // save to the next checkpoint.
      this.writeDeferred().catch(() => {});
    }, ms);
    this.deferTimer.unref();
  }

  /** Resets the journal (a new generation: no intent of the old one is left to end). */
  private async resetJournal(): Promise<void> {
    await this.journal.reset();
    for (const [name, i] of this.unended) if (i.gen !== this.journal.generation) this.unended.delete(name);
  }

  /**
   * A save that ends `intent`: its record is a commit, which needs no flush of its own (the
   * intent's covers the operation: a replay would save the same), and the file is renamed into
   * place at once. When the intent is no longer in the journal (a checkpoint reset it since) or
   * the record does not fit now, a plain save.
   */
  private async doCommit(name: string, xml: string, intent: StoreIntent): Promise<void> {
    await this.ready();
    for (let w = this.writing.get(name); w; w = this.writing.get(name)) await w.catch(() => {});
    this.openIntents.delete(intent.id);
    const file = this.fileOf(name);
    const xmlBytes = Buffer.byteLength(xml);
    const size = recordSize(Buffer.byteLength(name), 4 + xmlBytes) + this.supersedeSize(name);
    if (this.journal.generation !== intent.gen || !this.canAppend(size)) return this.doSave(name, xml);
    const body = Buffer.allocUnsafe(4 + xmlBytes);
    body.writeUInt32LE(intent.id, 0);
    body.write(xml, 4, "utf8");
    const data = body.subarray(4);
    this.supersede(name);
    this.journal.append("commit", name, body);
    this.inflight++;
    try {
      this.place(name, this.temps.write(file, data), file, data);
    } finally {
      this.doneInflight();
      this.touched();
    }
    await intent.durable;
  }

  remove(name: string): Promise<void> {
    return this.inOrder(name, () => this.doRemove(name));
  }

  private async doSave(name: string, xml: string): Promise<void> {
    await this.ready();
    const file = this.fileOf(name);
    const data = Buffer.from(xml, "utf8");
    const size = recordSize(Buffer.byteLength(name), data.length);
    if (!this.journal.fitsEver(size)) {
      // Too large for the journal: no record of this name may outlive the file written directly,
      // so the journal is emptied first and stays closed until the file is durable.
      await this.exclusive(async () => {
        await writeDurable(file, this.temps.tempOf(file), data);
        await fsyncPath(this.dir);
      });
      return;
    }
    for (let w = this.roomFor(name, size); w; w = this.roomFor(name, size)) await w;
    // From here to the first await: no checkpoint can see the record without this save in flight.
    this.supersede(name);
    this.journal.append("save", name, data);
    this.inflight++;
    try {
      // The only save in flight (one client defining at a time): the temp file, then fdatasync
      // on this thread. A threadpool round trip (submit, wake a worker, wake the loop, settle a
      // promise) cost more CPU than it saved, with nothing else to overlap. Concurrent saves are
      // group-committed: the fdatasync starts first and the temp file is written while the disk works.
      const durable = this.inflight === 1 && !this.gate ? undefined : this.journal.durable();
      let tmp: string;
      try {
        tmp = this.temps.write(file, data);
      } catch (e) {
        await durable?.catch(() => {});
        throw e;
      }
      try {
        if (durable) await durable;
        else if (!this.journal.durableNow()) await this.journal.durable();
      } catch (e) {
        unlinkQuiet(tmp);
        throw e;
      }
      this.place(name, tmp, file, data);
    } finally {
      this.doneInflight();
      this.touched();
    }
  }

  private async doRemove(name: string): Promise<void> {
    await this.ready();
    const file = this.fileOf(name);
    const link = this.autostartOf(name);
    // Without a journal file no record exists that could bring the object back.
    if (this.journal.open) {
      const size = recordSize(Buffer.byteLength(name), 0);
      for (let w = this.roomFor(name, size); w; w = this.roomFor(name, size)) await w;
      this.supersede(name);
      this.journal.append("remove", name, Buffer.alloc(0));
    } else this.deferred.delete(name);
    this.temps.retire(file); // kept as a spare for a later save
    // Usually there is no autostart link: a failing lstat costs ~1 us, a failing unlink ~7 (the
    // exception Node builds for it).
    try {
      if (lstatSync(link, { throwIfNoEntry: false }) !== undefined) unlinkSync(link);
    } catch {
      // no autostart directory (or gone meanwhile)
    }
    this.dirty.delete(name);
    this.dirDirty = true;
    this.touched();
  }

  private doneInflight(): void {
    if (--this.inflight === 0) for (const f of this.inflightDone.splice(0)) f();
  }

  private halfFull(): boolean {
    return this.journal.used * 2 >= this.journal.capacity;
  }

  private touched(): void {
    this.lastWrite = performance.now();
    if (this.checkpointing) return; // it re-arms when it ends
    if (this.timer) {
      if (!this.halfFull() || this.timerDue <= this.lastWrite) return;
      clearTimeout(this.timer);
    }
    this.arm(this.halfFull() ? 0 : this.idleMs);
  }

  private arm(ms: number): void {
    this.timerDue = performance.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = performance.now();
      const quiet = now - this.lastWrite;
      if ((quiet < this.idleMs || this.youngIntent(now)) && !this.halfFull()) {
        this.arm(Math.max(this.idleMs - quiet, 10));
        return;
      }
      this.checkpoint(false).catch(() => {
        // Left dirty: the journal keeps covering those files; the next write or flush() retries.
      });
    }, ms);
    this.timer.unref();
  }

  /**
   * Whether an operation recorded an intent less than a second ago and has not saved yet: an idle
   * checkpoint waits for it, since a reset would drop the intent and make its save wait for a
   * flush of its own. (Not a hard rule: a full journal checkpoints anyway, and an intent older
   * than that, such as a redefine waiting for a long job, is not waited for.)
   */
  private youngIntent(now: number): boolean {
    for (const at of this.openIntents.values()) if (now - at < 1000) return true;
    return false;
  }

  /** Nothing the journal covers is left to make durable (a running pass holds names it took). */
  private clean(): boolean {
    return (
      this.dirty.size === 0 &&
      !this.dirDirty &&
      this.inflight === 0 &&
      !this.passing &&
      this.deferred.size === 0
    );
  }

  /**
   * Runs `fn` with the journal empty and closed to appends: waits for saves between append and
   * rename, makes everything durable, resets the journal, runs `fn`, opens again.
   */
  private async exclusive(fn?: () => Promise<void>): Promise<void> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    try {
      while (this.checkpointing) await this.checkpointing.catch(() => {});
      if (this.inflight > 0) await new Promise<void>((r) => this.inflightDone.push(r));
      // (No save is deferred while the gate is closed: mayDefer.)
      while (!this.clean())
        await (this.deferred.size > 0 ? this.writeDeferred() : (this.passing ?? this.pass()));
      if (this.journal.used > 0) await this.resetJournal();
      await fn?.();
    } finally {
      this.gate = undefined;
      open();
    }
  }

  /**
   * Makes every renamed file and the directory durable, then resets the journal. Saves go on
   * meanwhile; after two passes that still leave some file uncovered (or one, when forced), the
   * last short pass runs with appends held back, so a steady stream of saves cannot starve it.
   */
  checkpoint(force: boolean): Promise<void> {
    if (this.checkpointing) {
      return force
        ? this.checkpointing.catch(() => {}).then(() => this.checkpoint(true))
        : this.checkpointing;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    let ok = false;
    const p = (async () => {
      for (let pass = 0; ; pass++) {
        if (this.deferred.size > 0) await this.writeDeferred();
        if (this.clean()) {
          if (this.journal.used > 0) await this.resetJournal();
          break;
        }
        if (pass >= 2 || (force && pass >= 1)) {
          this.checkpointing = undefined; // exclusive() waits for running checkpoints
          await this.exclusive();
          break;
        }
        await this.pass();
      }
      ok = true;
    })().finally(() => {
      if (this.checkpointing === p) this.checkpointing = undefined;
      // Writes that came meanwhile did not arm the timer; a failure waits for the next write.
      if (ok && (!this.clean() || this.journal.used > 0)) this.touched();
    });
    this.checkpointing = p;
    return p;
  }

  /** fsync of the files renamed since their last fsync, then of the directory (one at a time). */
  private pass(): Promise<void> {
    if (this.passing) return this.passing.catch(() => {}).then(() => this.pass());
    const p = this.doPass().finally(() => {
      if (this.passing === p) this.passing = undefined;
    });
    this.passing = p;
    return p;
  }

  private async doPass(): Promise<void> {
    const names = [...this.dirty];
    this.dirty.clear();
    const dirWas = this.dirDirty;
    this.dirDirty = false;
    try {
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++]!;
          let fd: number;
          try {
            fd = openSync(this.fileOf(name), "r");
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // removed since
            throw e;
          }
          try {
            await fsyncFd(fd);
          } finally {
            closeSync(fd);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(FSYNC_PARALLEL, names.length) }, worker));
      if (names.length > 0 || dirWas) await fsyncPath(this.dir);
    } catch (e) {
      for (const n of names) this.dirty.add(n);
      this.dirDirty = true;
      throw e;
    }
  }

  /** Waits for background work and checkpoints until the journal covers nothing. */
  async flush(): Promise<void> {
    if (!this.opening) return;
    await this.opening;
    // no file appears in the directory after this returns (a daemon stopping, a test removing it)
    await this.temps.idle();
    while (this.checkpointing || !this.clean() || this.journal.used > 0) await this.checkpoint(true);
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.deferTimer) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
    }
  }
}
