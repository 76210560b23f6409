// The temp and spare files of one config store directory (xml-journal-store.ts): where a save's
// data is written before it is renamed over `<name>.xml`.
//
// Spare files: a removed object's file is renamed to a hidden spare (`.spare-…`) instead of being
// unlinked, and a save writes its temp data into a spare (overwritten, cut to length) when one is
// there. Creating an inode is the most expensive step of a define on this ext4 (no journal): the
// allocator skips every recently deleted inode of the block group, one buffer-cache lookup each
// (`perf`: 36% of the daemon's main thread in __ext4_new_inode → recently_deleted during
// bench/rpc-define.ts). A few spares are kept made in the background (libuv's threadpool) and
// open, so a save rarely makes an inode (or opens a file) on the event loop. Spares are neither
// listed (XmlStore.list() takes `*.xml`) nor replayed.
import {
  closeSync,
  constants,
  ftruncateSync,
  open,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

/** Temp files of a store end in `.new-<pid>-<n>` (XmlStore.list() skips `.new-`). */
export const TEMP_MARK = ".new-";
/** Spare files (see the top): kept at least LOW, made up to TARGET, at most MAX. */
export const SPARE_MARK = ".spare-";
const SPARES_LOW = 4;
const SPARES_TARGET = 16;
const SPARES_MAX = 256;

export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

export function writeAllSync(path: string, data: Uint8Array, mode: number): void {
  const fd = openSync(path, "w", mode);
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
  } finally {
    closeSync(fd);
  }
}

export class TempFiles {
  private tmpSeq = 0;
  /** Spare files ready to take a save's temp data. */
  private spares: string[] = [];
  /**
   * Open descriptors of spares made by makeSpares (empty files, kept open): a save writes into
   * one without opening it or cutting it to length, and the spare costs one threadpool job.
   */
  private readonly spareFds = new Map<string, number>();
  private sparesMaking = false;
  /** Settles when the spares being made in the background are all there. */
  private sparesIdle: Promise<void> | undefined;
  private readonly spareTag = Math.random().toString(36).slice(2, 8);

  constructor(readonly dir: string) {}

  /** Settles when no spare is being made (none appears in the directory after it). */
  idle(): Promise<void> {
    return this.sparesIdle ?? Promise.resolve();
  }

  /** A new temp file's path for `file`. */
  tempOf(file: string): string {
    return `${file}${TEMP_MARK}${process.pid}-${++this.tmpSeq}`;
  }

  private spareName(): string {
    return join(this.dir, `${SPARE_MARK}${this.spareTag}-${++this.tmpSeq}`);
  }

  /** A spare found in the directory at start (`name` starts with SPARE_MARK): kept, or removed past MAX. */
  adopt(name: string): void {
    if (this.spares.length < SPARES_MAX) this.spares.push(join(this.dir, name));
    else unlinkQuiet(join(this.dir, name));
  }

  /**
   * Writes a save's data to a temp file: a spare (no inode to make) when there is one, else a new
   * file. Returns its path.
   */
  write(file: string, data: Uint8Array): string {
    const spare = this.writeSpare(data);
    if (spare !== undefined) return spare;
    const tmp = this.tempOf(file);
    writeAllSync(tmp, data, 0o600);
    return tmp;
  }

  /**
   * write() for a file written in the background: a new file (no spare left: a batch of deferred
   * files uses them up) is made in the threadpool, where its inode's allocation does not hold up
   * calls.
   */
  async writeAsync(file: string, data: Uint8Array): Promise<string> {
    const spare = this.writeSpare(data);
    if (spare !== undefined) return spare;
    const tmp = this.tempOf(file);
    const fd = await new Promise<number>((resolve, reject) =>
      open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600, (e, f) =>
        e ? reject(e) : resolve(f),
      ),
    );
    try {
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      closeSync(fd);
      unlinkQuiet(tmp);
      throw e;
    }
    closeSync(fd);
    return tmp;
  }

  /** Writes `data` into a spare and returns its path; undefined: none left. */
  private writeSpare(data: Uint8Array): string | undefined {
    const spare = this.spares.pop();
    if (this.spares.length < SPARES_LOW) this.makeSpares();
    if (spare !== undefined) {
      const made = this.spareFds.get(spare);
      this.spareFds.delete(spare);
      try {
        // Overwritten and then cut to length, not O_TRUNC: ext4 starts writeback at close() of a
        // file truncated to zero (auto_da_alloc), on the event loop. A spare made empty and kept
        // open needs neither the open nor the cut.
        const fd = made ?? openSync(spare, constants.O_WRONLY);
        try {
          for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, off);
          if (made === undefined) ftruncateSync(fd, data.length);
        } finally {
          closeSync(fd);
        }
        return spare;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
          unlinkQuiet(spare);
          throw e;
        }
        // gone (removed by hand): make a new one
      }
    }
    return undefined;
  }

  /**
   * Renames a temp file over `file`; on failure it is removed. A spare written through a
   * descriptor kept open cannot tell it was removed meanwhile (by hand): then the data goes
   * through a new temp file.
   */
  renameInto(tmp: string, file: string, data: Uint8Array): void {
    try {
      renameSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        unlinkQuiet(tmp);
        throw e;
      }
      const again = this.tempOf(file);
      writeAllSync(again, data, 0o600);
      try {
        renameSync(again, file);
      } catch (e2) {
        unlinkQuiet(again);
        throw e2;
      }
    }
  }

  /** A removed object's file: kept as a spare for a later save (see the top), or unlinked past MAX. */
  retire(file: string): void {
    if (this.spares.length >= SPARES_MAX) {
      unlinkQuiet(file);
      return;
    }
    const spare = this.spareName();
    try {
      renameSync(file, spare);
      this.spares.push(spare);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }

  /** Makes spares up to the target in the threadpool (inode allocation off the event loop). */
  private makeSpares(): void {
    if (this.sparesMaking) return;
    this.sparesMaking = true;
    let done!: () => void;
    this.sparesIdle = new Promise((r) => {
      done = r;
    });
    const stop = () => {
      this.sparesMaking = false;
      this.sparesIdle = undefined;
      done();
    };
    const more = () => {
      if (this.spares.length >= SPARES_TARGET) {
        stop();
        return;
      }
      const path = this.spareName();
      open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600, (e, fd) => {
        if (e) {
          stop(); // directory gone or full: the next save tries again
          return;
        }
        // Kept open (at most SPARES_TARGET of them): write() writes through it.
        this.spareFds.set(path, fd);
        this.spares.push(path);
        more();
      });
    };
    more();
  }
}
