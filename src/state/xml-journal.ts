// Write-ahead journal of an XmlStore directory: the record codec, the reader, and the journal file.
//
// Why a journal: a persistent define must be on disk before the client is told it succeeded. The
// atomic file sequence (temp file, fsync, rename, fsync of the directory) waits for two device
// flushes and for ext4 to commit the new inode, its blocks and the rename (~0.45 ms a define on
// this machine's ext4; libvirt's virFileRewrite skips the directory fsync and waits for one).
// Appending a record to a journal file whose blocks are already allocated and written (it is
// preallocated with written zeros, not fallocate: fallocate leaves "unwritten" extents whose first
// write is a metadata change) and calling fdatasync flushes the data and the device cache once:
// the file's size and block map do not change, and fdatasync, unlike fsync, need not commit
// metadata that is not needed to read the data back (mtime), so ext4 does not commit its own
// journal (~0.12 ms measured here for ~1.5 KB). The store then writes the XML file itself to the
// page cache at once (readers see it) and makes it durable later, in batches (xml-journal-store).
// The journal is reset (a new generation in its header) once every file it covers and their
// directory are fsynced; at start, every record of the current generation is applied again with
// the full atomic sequence before anything is listed or loaded.
//
// Layout (little-endian): a 512-byte header (magic, version, generation, crc32 of those), then
// records from offset 512: magic, generation, op, name length, data length, crc32 of the first
// 20 bytes + name + data; then the name (UTF-8) and the data (the XML, UTF-8). A record of an
// older generation, zeros, a bad checksum or a length past the end of the file end the journal.
// Ops: 1 save (name, XML), 2 remove (name, no data), 3 intent (name "#<id>", data: the owner's
// description of an operation in flight, replayed by the owner when nothing ended it), 4 resolve
// (name "#<id>", no data: that intent failed and must not be replayed), 5 commit (a save that also
// ends intent <id>: data = the id as 4 bytes, then the XML). See xml-journal-store.ts.
import {
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsync,
  openSync,
  readSync,
  writeSync,
  writevSync,
} from "node:fs";
import { dirname } from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";

/**
 * CRC-32 (IEEE 802.3) of `data`, continuing from `crc` (an earlier result; 0 to start): zlib's.
 * A table-driven loop in JavaScript took ~8 us per 1.7 KB record even when optimized (and a
 * ~18 ms on-stack compile on first use); node:zlib is loaded by tsvirtd anyway (the test
 * driver's screenshots), so the native one costs no memory there.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  return zlibCrc32(data, crc);
}

export const JOURNAL_HEADER_SIZE = 512;
const HEADER_MAGIC = 0x4a565354; // "TSVJ"
const JOURNAL_VERSION = 1;
const RECORD_MAGIC = 0x43455258; // "XREC"
export const RECORD_HEADER_SIZE = 24;
/** Longest name a record may carry (bytes); longer ones are invalid. */
export const MAX_NAME_BYTES = 4096;
/** Largest XML a record may carry; larger ones are invalid (the store writes such files directly). */
export const MAX_DATA_BYTES = 64 << 20;
/** A journal file larger than this is read only this far. */
const MAX_JOURNAL_READ = 256 << 20;

export type JournalOp = "save" | "remove" | "intent" | "resolve" | "commit";
const OP_CODE: Record<JournalOp, number> = { save: 1, remove: 2, intent: 3, resolve: 4, commit: 5 };
const OP_OF_CODE: (JournalOp | undefined)[] = [undefined, "save", "remove", "intent", "resolve", "commit"];

export interface JournalRecord {
  op: JournalOp;
  /** Store-relative object name (the file is `<name>.xml`); "#<id>" for an intent or resolve. */
  name: string;
  /** The XML of a save or commit, the description of an intent; "" for a remove or resolve. */
  xml: string;
  /** The intent a commit ends. */
  intent?: number;
}

/** Why reading stopped: zeros or an older generation (a clean end), or an invalid (torn) record. */
export type JournalEnd = "end" | "stale" | "torn";

export function encodeHeader(gen: number): Buffer {
  const b = Buffer.alloc(JOURNAL_HEADER_SIZE);
  b.writeUInt32LE(HEADER_MAGIC, 0);
  b.writeUInt32LE(JOURNAL_VERSION, 4);
  b.writeUInt32LE(gen >>> 0, 8);
  b.writeUInt32LE(crc32(b.subarray(0, 12)), 12);
  return b;
}

/** The generation of a valid header, or undefined. */
export function decodeHeader(b: Uint8Array): number | undefined {
  if (b.length < 16) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, 16);
  if (v.readUInt32LE(0) !== HEADER_MAGIC || v.readUInt32LE(4) !== JOURNAL_VERSION) return undefined;
  if (v.readUInt32LE(12) !== crc32(v.subarray(0, 12))) return undefined;
  return v.readUInt32LE(8);
}

/**
 * One record as the buffers to write (header, name, data), so the XML is not copied again.
 * `data` is the UTF-8 XML (empty for a remove).
 */
export function encodeRecord(gen: number, op: JournalOp, name: string, data: Uint8Array): Buffer[] {
  const nameBuf = Buffer.from(name, "utf8");
  if (nameBuf.length === 0 || nameBuf.length > MAX_NAME_BYTES) throw new Error("journal: bad name length");
  if (data.length > MAX_DATA_BYTES) throw new Error("journal: record too large");
  if ((op === "remove" || op === "resolve") && data.length !== 0)
    throw new Error(`journal: a ${op} carries no data`);
  if (op === "commit" && data.length < 4) throw new Error("journal: a commit starts with its intent");
  const h = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
  h.writeUInt32LE(RECORD_MAGIC, 0);
  h.writeUInt32LE(gen >>> 0, 4);
  h.writeUInt32LE(OP_CODE[op], 8);
  h.writeUInt32LE(nameBuf.length, 12);
  h.writeUInt32LE(data.length, 16);
  h.writeUInt32LE(crc32(data, crc32(nameBuf, crc32(h.subarray(0, 20)))), 20);
  return [h, nameBuf, Buffer.from(data.buffer, data.byteOffset, data.length)];
}

/** Total bytes of a record with this name and data. */
export function recordSize(nameBytes: number, dataBytes: number): number {
  return RECORD_HEADER_SIZE + nameBytes + dataBytes;
}

/**
 * The valid records of generation `gen` from `start`, in order, and where and why reading stopped.
 * Every length is checked against the buffer before anything is sliced: a hostile or torn file
 * yields fewer records, never an exception or an allocation beyond the buffer itself.
 */
export function readRecords(
  buf: Uint8Array,
  gen: number,
  start = JOURNAL_HEADER_SIZE,
): { records: JournalRecord[]; end: number; why: JournalEnd } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const records: JournalRecord[] = [];
  let off = start;
  for (;;) {
    if (off + RECORD_HEADER_SIZE > b.length) {
      // Only zeros (or nothing) left in a short tail: the end; anything else is a torn record.
      return { records, end: off, why: b.subarray(off).every((x) => x === 0) ? "end" : "torn" };
    }
    const magic = b.readUInt32LE(off);
    if (magic !== RECORD_MAGIC) {
      const zeros = magic === 0 && b.readUInt32LE(off + 4) === 0;
      return { records, end: off, why: zeros ? "end" : "torn" };
    }
    if (b.readUInt32LE(off + 4) !== gen >>> 0) return { records, end: off, why: "stale" };
    const code = b.readUInt32LE(off + 8);
    const nameLen = b.readUInt32LE(off + 12);
    const dataLen = b.readUInt32LE(off + 16);
    const op = code < OP_OF_CODE.length ? OP_OF_CODE[code] : undefined;
    const bodyEnd = off + RECORD_HEADER_SIZE + nameLen + dataLen;
    if (
      op === undefined ||
      nameLen === 0 ||
      nameLen > MAX_NAME_BYTES ||
      dataLen > MAX_DATA_BYTES ||
      ((op === "remove" || op === "resolve") && dataLen !== 0) ||
      (op === "commit" && dataLen < 4) ||
      bodyEnd > b.length
    ) {
      return { records, end: off, why: "torn" };
    }
    const nameBuf = b.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + nameLen);
    const data = b.subarray(off + RECORD_HEADER_SIZE + nameLen, bodyEnd);
    const crc = crc32(data, crc32(nameBuf, crc32(b.subarray(off, off + 20))));
    if (crc !== b.readUInt32LE(off + 20)) return { records, end: off, why: "torn" };
    if (op === "commit") {
      records.push({
        op,
        name: nameBuf.toString("utf8"),
        xml: data.toString("utf8", 4),
        intent: data.readUInt32LE(0),
      });
    } else records.push({ op, name: nameBuf.toString("utf8"), xml: data.toString("utf8") });
    off = bodyEnd;
  }
}

function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

export async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, "r");
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads into `buf` from file offset `from` (= buffer offset) to its end or EOF; returns the end. */
function readFully(fd: number, buf: Buffer, from: number): number {
  let off = from;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, off);
    if (n === 0) break;
    off += n;
  }
  return off;
}

function randomGen(): number {
  return (Math.floor(Math.random() * 0xfffffffe) + 1) >>> 0;
}

/**
 * The journal file: appends at `end` (synchronous writes to the page cache), group-committed
 * fdatasync, reset to a new generation. What the records mean is the store's business.
 */
export class XmlJournal {
  private fd: number | undefined;
  private gen = 0;

  /** The current generation (a reset makes a new one: records of older ones no longer count). */
  get generation(): number {
    return this.gen;
  }
  /** Where the next record goes. */
  private endOff = JOURNAL_HEADER_SIZE;
  private creating: Promise<void> | undefined;
  private syncRunning: Promise<void> | undefined;
  private syncQueued: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly capacity: number,
  ) {
    if (capacity < JOURNAL_HEADER_SIZE * 2) throw new Error("journal: capacity too small");
  }

  get open(): boolean {
    return this.fd !== undefined;
  }

  /** Bytes of records since the last reset. */
  get used(): number {
    return this.endOff - JOURNAL_HEADER_SIZE;
  }

  /** Whether a record of `size` bytes fits in an empty journal. */
  fitsEver(size: number): boolean {
    return size <= this.capacity - JOURNAL_HEADER_SIZE;
  }

  /** Whether a record of `size` bytes fits now. */
  hasRoom(size: number): boolean {
    return this.endOff + size <= this.capacity;
  }

  /**
   * Opens an existing journal and returns the records of its current generation (the caller
   * applies them, then calls reset()). No file: no records, and the journal is created on first
   * use by create().
   */
  readExisting(): { records: JournalRecord[]; why: JournalEnd | "none" | "bad-header" } {
    let fd: number;
    try {
      fd = openSync(this.path, "r+");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { records: [], why: "none" };
      throw e;
    }
    try {
      // Read as far as the records go: an empty journal costs one small read, not its capacity.
      const size = Math.min(fstatSync(fd).size, MAX_JOURNAL_READ);
      let buf = Buffer.alloc(Math.min(size, 64 << 10));
      let have = readFully(fd, buf, 0);
      for (;;) {
        const gen = decodeHeader(buf);
        if (gen === undefined || have === size || readRecords(buf.subarray(0, have), gen).why !== "torn")
          break;
        const bigger = Buffer.alloc(Math.min(size, buf.length * 4));
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
        have = readFully(fd, buf, have);
      }
      buf = buf.subarray(0, have);
      this.fd = fd;
      const gen = decodeHeader(buf);
      if (gen === undefined) {
        // Not even a header made it to disk (or it was damaged): no record was ever acknowledged
        // from this generation. A random generation keeps older records from matching.
        this.gen = randomGen();
        return { records: [], why: "bad-header" };
      }
      this.gen = gen;
      const r = readRecords(buf, gen);
      this.endOff = r.end;
      return { records: r.records, why: r.why };
    } catch (e) {
      if (this.fd === undefined) closeSync(fd);
      throw e;
    }
  }

  /** Creates (or completes) the preallocated file, durable with its directory entry. */
  create(): Promise<void> {
    this.creating ??= this.prepare(this.fd === undefined ? randomGen() : this.gen).finally(() => {
      this.creating = undefined;
    });
    return this.creating;
  }

  /**
   * Makes the file `capacity` bytes of written zeros (so later writes change no block map, see
   * the top of the file) with a header of generation `gen`, durable with its directory entry.
   */
  private async prepare(gen: number): Promise<void> {
    // O_RDWR | O_CREAT, not "a+": O_APPEND would make every positioned write an append.
    const fd = this.fd ?? openSync(this.path, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const size = fstatSync(fd).size;
      const chunk = Buffer.alloc(Math.min(64 << 10, this.capacity));
      for (let off = size; off < this.capacity; ) {
        off += writeSync(fd, chunk, 0, Math.min(chunk.length, this.capacity - off), off);
      }
      writeSync(fd, encodeHeader(gen), 0, JOURNAL_HEADER_SIZE, 0);
      await fsyncFd(fd);
      await fsyncPath(dirname(this.path));
    } catch (e) {
      if (this.fd === undefined) closeSync(fd);
      throw e;
    }
    this.fd = fd;
    this.gen = gen;
    this.endOff = JOURNAL_HEADER_SIZE;
  }

  /**
   * Writes one record at the end (page cache only; call durable() to wait for the disk).
   * The caller has checked open and hasRoom().
   */
  append(op: JournalOp, name: string, data: Uint8Array): void {
    if (this.fd === undefined) throw new Error("journal: not open");
    const bufs = encodeRecord(this.gen, op, name, data);
    const size = bufs[0]!.length + bufs[1]!.length + bufs[2]!.length;
    if (!this.hasRoom(size)) throw new Error("journal: full");
    let off = 0;
    while (off < size) {
      const n = off === 0 ? writevSync(this.fd, bufs, this.endOff) : this.writeRest(bufs, off);
      off += n;
    }
    this.endOff += size;
  }

  /** A short writev (rare) continues byte by byte through the remaining buffers. */
  private writeRest(bufs: Buffer[], done: number): number {
    const all = Buffer.concat(bufs);
    return writeSync(this.fd!, all, done, all.length - done, this.endOff + done);
  }

  /**
   * Resolves once everything appended before the call is on disk (fdatasync). Calls made while
   * one fdatasync runs share the next one (group commit).
   */
  durable(): Promise<void> {
    if (this.fd === undefined) return Promise.reject(new Error("journal: not open"));
    if (!this.syncRunning) return this.startSync();
    // The running one may have started before this caller's write: wait for the next.
    this.syncQueued ??= this.syncRunning.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.syncQueued;
  }

  /**
   * durable() without the threadpool when no fdatasync is running (none can cover this caller's
   * record, and none other is waited for): fdatasync on the calling thread. Returns false, having
   * done nothing, when one is running (the caller then uses durable()). Throws what fdatasync
   * throws.
   */
  durableNow(): boolean {
    if (this.fd === undefined) throw new Error("journal: not open");
    if (this.syncRunning) return false;
    fdatasyncSync(this.fd);
    return true;
  }

  private startQueued(): Promise<void> {
    this.syncQueued = undefined;
    return this.syncRunning ?? this.startSync();
  }

  private startSync(): Promise<void> {
    const p = fdatasyncFd(this.fd!).finally(() => {
      if (this.syncRunning === p) this.syncRunning = undefined;
    });
    this.syncRunning = p;
    return p;
  }

  /**
   * Starts a new generation: the header is rewritten at once (synchronously, so no append can
   * slip in between) and made durable; records of the old generation no longer count. Only once
   * everything they covered is durable elsewhere.
   */
  async reset(): Promise<void> {
    if (this.fd === undefined) return;
    const gen = (this.gen + 1) >>> 0 || 1;
    // A file cut short (a crash while it was made) is completed first, with a full fsync.
    if (fstatSync(this.fd).size < this.capacity) return this.prepare(gen);
    this.gen = gen;
    writeSync(this.fd, encodeHeader(gen), 0, JOURNAL_HEADER_SIZE, 0);
    this.endOff = JOURNAL_HEADER_SIZE;
    await this.durable();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
