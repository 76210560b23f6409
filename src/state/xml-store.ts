// Atomic XML config store: one `<name>.xml` per object in a directory, written as libvirt's
// virFileRewrite does (temp file, fsync, rename over, fsync the directory) so a crash leaves
// either the old or the new file, never a torn one. Autostart is a marker in `autostart/`.

import { closeSync, fsync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, symlink, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type JournalOptions, JournaledDir, type StoreIntent } from "./xml-journal-store.js";

export type { StoreIntent } from "./xml-journal-store.js";

// The steps that only touch the page cache (open, write, close, rename, unlink) are synchronous
// calls: usually microseconds each, while every libuv threadpool round trip costs a wake-up of a
// worker and then of the main thread, which on a busy 2-core machine cost more than the work (a
// qemu define made ten of them: ~7 ms wall for ~1 ms of disk). Only the two fsyncs, which wait for
// the disk, go to the threadpool, so the event loop never waits on a disk flush.

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, "r");
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}

/** Writes `data` to `path` atomically (temp + fsync + rename + fsync dir). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.new-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeAll(fd, data);
    await fsyncFd(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkQuiet(tmp);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** unlink that ignores a missing file (ENOENT); other errors are thrown. */
function unlinkQuiet(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

function checkName(name: string): void {
  if (name === "" || name.includes("/") || name === "." || name === ".." || name.includes("\0")) {
    throw new Error(`invalid object name for a config file: ${JSON.stringify(name)}`);
  }
}

export interface XmlStoreOptions {
  /**
   * Write-ahead journal (xml-journal-store.ts): a save waits for one fdatasync of a preallocated
   * journal instead of the atomic file sequence's two fsyncs; the files are fsynced in batches
   * afterwards. Off by default: each save is writeFileAtomic.
   */
  journal?: boolean | JournalOptions;
}

export class XmlStore {
  private dirSync: Promise<void> | undefined;
  private dirSyncAgain = false;
  private readonly journaled: JournaledDir | undefined;

  constructor(
    readonly dir: string,
    opts: XmlStoreOptions = {},
  ) {
    if (opts.journal) {
      this.journaled = new JournaledDir(
        dir,
        (n) => this.file(n),
        (n) => this.autostartLink(n),
        opts.journal === true ? {} : opts.journal,
      );
    }
  }

  private file(name: string): string {
    checkName(name);
    return join(this.dir, `${name}.xml`);
  }

  private autostartLink(name: string): string {
    checkName(name);
    return join(this.dir, "autostart", `${name}.xml`);
  }

  /** Makes the directory; a journaled store also replays its journal (before anything is read). */
  async init(): Promise<void> {
    await mkdir(join(this.dir, "autostart"), { recursive: true, mode: 0o700 });
    await this.journaled?.ready();
  }

  /**
   * Records an operation in flight whose save may then ride on this record's flush (a journaled
   * store only; see xml-journal-store.ts). undefined: save the usual way.
   */
  async beginIntent(payload: string): Promise<StoreIntent | undefined> {
    return this.journaled?.beginIntent(payload);
  }

  /** Ends an intent whose operation failed (resolves once no replay can redo it). */
  async endIntent(intent: StoreIntent): Promise<void> {
    await this.journaled?.endIntent(intent);
  }

  /** Intents a crash left unended, for the owner to replay and end (after init(); given once). */
  takeIntents(): { intent: StoreIntent; payload: string }[] {
    return this.journaled?.takeIntents() ?? [];
  }

  /**
   * Saves `xml` as `<name>.xml`; with an intent, as that intent's commit (journaled store). `xml`
   * may be a function giving the text: with an intent, a journaled store may then write the file
   * later (a deferred save, see xml-journal-store.ts); otherwise it is called at once.
   */
  async save(name: string, xml: string | (() => string), intent?: StoreIntent): Promise<void> {
    if (this.journaled) {
      checkName(name);
      return this.journaled.save(name, xml, intent);
    }
    if (typeof xml !== "string") xml = xml();
    const file = this.file(name);
    try {
      await writeFileAtomic(file, xml);
    } catch (e) {
      // The directory is made on first use (and again if something removed it).
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, xml);
    }
  }

  async load(name: string): Promise<string | undefined> {
    await this.journaled?.ready();
    const deferred = this.journaled?.deferredText(name);
    if (deferred !== undefined) return deferred;
    try {
      return await readFile(this.file(name), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async remove(name: string): Promise<void> {
    if (this.journaled) return this.journaled.remove(name);
    const file = this.file(name);
    const link = this.autostartLink(name);
    unlinkQuiet(file);
    try {
      unlinkSync(link);
    } catch {
      // no autostart link (or no autostart directory)
    }
    this.syncDirSoon();
  }

  /**
   * A removal is made durable by a directory fsync that runs after the caller has its answer
   * (coalesced: at most one in flight and one queued). libvirt's virDomainDeleteConfig does not
   * fsync at all. What this trades: the unlink is done before the reply, so a kill -9 of the
   * daemon cannot bring the object back; only a power loss or kernel crash within the window of
   * one fsync can, and then it is the complete earlier definition that comes back, never a torn
   * one. Definitions (save) still wait for both fsyncs before they resolve.
   */
  private syncDirSoon(): void {
    if (this.dirSync) {
      this.dirSyncAgain = true;
      return;
    }
    this.dirSync = fsyncDir(this.dir)
      .catch(() => {})
      .then(() => {
        this.dirSync = undefined;
        if (this.dirSyncAgain) {
          this.dirSyncAgain = false;
          this.syncDirSoon();
        }
      });
  }

  /**
   * Resolves once the directory fsyncs queued by remove() are done and, for a journaled store,
   * every file is fsynced and the journal reset. The daemon's shutdown calls it.
   */
  async flush(): Promise<void> {
    while (this.dirSync) await this.dirSync;
    await this.journaled?.flush();
  }

  /** Writes the files of deferred saves now (see xml-journal-store.ts); nothing to do otherwise. */
  async writeDeferred(): Promise<void> {
    await this.journaled?.writeDeferredNow();
  }

  /** Names of stored objects, sorted. */
  async list(): Promise<string[]> {
    await this.journaled?.ready();
    let ents: string[];
    try {
      ents = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      ents = [];
    }
    const names = new Set(
      ents.filter((f) => f.endsWith(".xml") && !f.includes(".new-")).map((f) => f.slice(0, -4)),
    );
    for (const n of this.journaled?.deferredNames() ?? []) names.add(n);
    return [...names].sort();
  }

  async setAutostart(name: string, on: boolean): Promise<void> {
    const link = this.autostartLink(name);
    if (on) {
      await mkdir(join(this.dir, "autostart"), { recursive: true, mode: 0o700 });
      await unlink(link).catch(() => {});
      await symlink(this.file(name), link);
    } else {
      await unlink(link).catch(() => {});
    }
  }

  async isAutostart(name: string): Promise<boolean> {
    try {
      // The link itself: its target may not be written yet (a deferred save, xml-journal-store.ts).
      await lstat(this.autostartLink(name));
      return true;
    } catch {
      return false;
    }
  }
}
