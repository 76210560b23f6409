// FileIO: BlockIO over a host file: positional reads/writes on its descriptor, through libuv's
// pool (a fs.promises FileHandle owns the descriptor) or, in direct mode, as synchronous calls.
// Node 20 has neither fallocate(PUNCH_HOLE) nor SEEK_DATA: the native addon (./native.ts) adds
// them. Without it, discard zeroes only non-zero bytes (and really deallocates a range reaching
// EOF by truncating), and dataRanges is derived soundly from st_blocks only in the two cases it
// decides: fully allocated or fully sparse.

import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  read as fsRead,
  write as fsWrite,
  openSync,
  readSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { BlockIO } from "../block-io.js";
import { ImageError } from "../errors.js";
import { nativeIO } from "./native.js";

/** Largest single read/write chunk; larger requests are split so Node's 2 GiB limit never bites. */
const MAX_IO = 1 << 30;
/** Buffer used when scanning a range for non-zero bytes in discard. */
const SCAN_CHUNK = 1 << 20;

const ZERO_BLOCK = Buffer.alloc(4096);
/** Smaller views are not worth a mapping: a read copies less than mmap+munmap cost. */
const VIEW_MIN = 256 << 10;

/** Pool reads/writes through the callback API: a third of FileHandle's per-call cost. */
function poolRead(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fsRead(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))),
  );
}

function poolWrite(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fsWrite(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))),
  );
}

function ioError(path: string, op: string, offset: number | undefined, cause: unknown): ImageError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new ImageError("io", `${op} failed on '${path}': ${msg}`, { path, offset, cause });
}

export interface FileIOOptions {
  readOnly?: boolean;
  /** Create the file (exclusive unless `truncate`). */
  create?: boolean;
  /** With create: replace an existing file. */
  truncate?: boolean;
}

/** strerror() of the open(2) failures qemu's file protocol reports in its own words. */
const OPEN_ERRORS: Record<string, string> = {
  EISDIR: "Is a directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  ENOTDIR: "Not a directory",
  EROFS: "Read-only file system",
  ENAMETOOLONG: "File name too long",
  ELOOP: "Too many levels of symbolic links",
};

export class FileIO implements BlockIO {
  /**
   * Reads and writes as direct syscalls on the main thread instead of libuv's pool. A one-shot
   * tool (tsvirt-img) sets this: each pool round trip costs a thread hand-off, which dominates
   * metadata-heavy copies on a busy host. Files opened then are also opened, stat'ed, truncated
   * and closed synchronously (no FileHandle): a command that never needs the pool never starts
   * its threads. Long-running daemons leave it off (never block).
   */
  static directIO = false;
  /** Requests of this many bytes or more still go through the pool (all, by default). */
  static directMax = 1 << 30;
  /**
   * cache=unsafe (qemu-img convert's default for its target): flush() does nothing, so closing
   * an image does not wait for the disk. Set only around such a command.
   */
  static unsafeCache = false;
  readonly readOnly: boolean;
  readonly path: string;
  /** The descriptor; -1 once closed. */
  private fd: number;
  /** Pool mode only: the handle that owns fd (direct mode owns the bare descriptor). */
  private fh: FileHandle | undefined;
  /** Opened while FileIO.directIO was set: metadata calls are synchronous. */
  private readonly sync: boolean;

  private constructor(path: string, fd: number, fh: FileHandle | undefined, readOnly: boolean) {
    this.path = path;
    this.fd = fd;
    this.fh = fh;
    this.sync = fh === undefined;
    this.readOnly = readOnly;
  }

  static async open(path: string, opts: FileIOOptions = {}): Promise<FileIO> {
    const readOnly = opts.readOnly ?? false;
    let flags: number;
    if (opts.create) {
      flags = constants.O_RDWR | constants.O_CREAT | (opts.truncate ? constants.O_TRUNC : constants.O_EXCL);
    } else flags = readOnly ? constants.O_RDONLY : constants.O_RDWR;
    try {
      if (FileIO.directIO)
        return new FileIO(path, openSync(path, flags, 0o644), undefined, readOnly && !opts.create);
      const fh = await open(path, flags, 0o644);
      return new FileIO(path, fh.fd, fh, readOnly && !opts.create);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // (qemu's file protocol says "Could not create" for an open that creates the file.)
      const verb = opts.create ? "create" : "open";
      if (code === "ENOENT") {
        throw new ImageError("not-found", `Could not ${verb} '${path}': No such file or directory`, {
          path,
          cause: e,
        });
      }
      if (code === "EEXIST") {
        throw new ImageError("invalid-argument", `Could not create '${path}': File exists`, {
          path,
          cause: e,
        });
      }
      // (qemu's file protocol words the open's errno with strerror.)
      const why = code !== undefined ? OPEN_ERRORS[code] : undefined;
      if (why) throw new ImageError("io", `Could not ${verb} '${path}': ${why}`, { path, cause: e });
      throw ioError(path, "open", undefined, e);
    }
  }

  private handle(): number {
    if (this.fd < 0) throw new ImageError("io", `'${this.path}' is closed`, { path: this.path });
    return this.fd;
  }

  private async stat(): Promise<{ size: number; blocks: number }> {
    const fd = this.handle();
    return this.sync ? fstatSync(fd) : this.fh!.stat();
  }

  private checkWritable(): void {
    if (this.readOnly)
      throw new ImageError("read-only", `'${this.path}' is opened read-only`, { path: this.path });
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    // (An offset no file can reach, from a corrupt table: past EOF, so zeros.)
    if (offset + buf.length > Number.MAX_SAFE_INTEGER) {
      buf.fill(0);
      return;
    }
    const fd = this.handle();
    let done = 0;
    try {
      while (done < buf.length) {
        const n = Math.min(buf.length - done, MAX_IO);
        const bytesRead =
          FileIO.directIO && n < FileIO.directMax
            ? readSync(fd, buf, done, n, offset + done)
            : await poolRead(fd, buf, done, n, offset + done);
        if (bytesRead === 0) {
          buf.fill(0, done); // past EOF reads as zeros
          return;
        }
        done += bytesRead;
      }
    } catch (e) {
      throw ioError(this.path, "read", offset + done, e);
    }
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    this.checkWritable();
    const fd = this.handle();
    let done = 0;
    try {
      while (done < buf.length) {
        const n = Math.min(buf.length - done, MAX_IO);
        const bytesWritten =
          FileIO.directIO && n < FileIO.directMax
            ? writeSync(fd, buf, done, n, offset + done)
            : await poolWrite(fd, buf, done, n, offset + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw ioError(this.path, "write", offset + done, e);
    }
  }

  async size(): Promise<number> {
    try {
      return (await this.stat()).size;
    } catch (e) {
      throw ioError(this.path, "stat", undefined, e);
    }
  }

  async truncate(length: number): Promise<void> {
    this.checkWritable();
    try {
      const fd = this.handle();
      if (this.sync) ftruncateSync(fd, length);
      else await this.fh!.truncate(length);
    } catch (e) {
      throw ioError(this.path, "truncate", length, e);
    }
  }

  async flush(): Promise<void> {
    if (this.readOnly || FileIO.unsafeCache) return;
    try {
      // Direct mode: fdatasync as qemu-img does on close (the size is in the data's metadata).
      const fd = this.handle();
      if (this.sync || FileIO.directIO) fdatasyncSync(fd);
      else await this.fh!.sync();
    } catch (e) {
      throw ioError(this.path, "fsync", undefined, e);
    }
  }

  async discard(offset: number, length: number): Promise<void> {
    this.checkWritable();
    const size = await this.size();
    if (offset >= size || length <= 0) return;
    // The whole range goes to the kernel, past the end too (the size stays): a range reaching
    // the end frees the file's partial last block, as qemu's discard of a whole cluster does.
    if (nativeIO()?.punchHole(this.handle(), offset, length)) return;
    if (offset + length >= size) {
      // A tail range can really be deallocated: shrink then grow back leaves a hole.
      await this.truncate(offset);
      await this.truncate(size);
      return;
    }
    const buf = new Uint8Array(Math.min(SCAN_CHUNK, length));
    const end = offset + length;
    for (let pos = offset; pos < end; pos += buf.length) {
      const n = Math.min(buf.length, end - pos);
      const view = buf.subarray(0, n);
      await this.read(pos, view);
      let first = -1;
      let last = -1;
      // Whole zero 4 KiB blocks are skipped with one memcmp each; bytes are looked at only in
      // the first and last blocks that hold data.
      const b = Buffer.from(view.buffer, view.byteOffset, n);
      for (let blk = 0; blk < n; blk += ZERO_BLOCK.length) {
        const e = Math.min(n, blk + ZERO_BLOCK.length);
        if (b.compare(ZERO_BLOCK, 0, e - blk, blk, e) === 0) continue;
        if (first < 0) for (first = blk; view[first] === 0; first++);
        for (last = e - 1; view[last] === 0; last--);
      }
      if (first >= 0) await this.write(pos + first, new Uint8Array(last - first + 1));
    }
  }

  async zeroRange(offset: number, length: number): Promise<boolean> {
    this.checkWritable();
    if (length <= 0) return true;
    const n = nativeIO();
    if (!n) return false;
    const fd = this.handle();
    // KEEP_SIZE: the part past EOF grows the file by truncate (it reads as zeros anyway).
    const size = await this.size();
    if (offset < size && !n.zeroRange(fd, offset, Math.min(length, size - offset))) return false;
    if (offset + length > size) await this.truncate(offset + length);
    return true;
  }

  async preallocate(offset: number, length: number): Promise<boolean> {
    this.checkWritable();
    return length <= 0 || (nativeIO()?.allocate(this.handle(), offset, length) ?? false);
  }

  /**
   * With the addon: SEEK_DATA/SEEK_HOLE. Without: sound only when st_blocks decides it: a file
   * with no blocks has no data; a file whose blocks cover its size has no holes. Otherwise the
   * whole range counts as data.
   */
  async dataRanges(offset: number, length: number): Promise<{ offset: number; length: number }[]> {
    const ext = nativeIO()?.extents(this.handle(), offset, length);
    if (ext) return ext;
    const st = await this.stat();
    const end = Math.min(offset + length, st.size);
    if (end <= offset || st.blocks === 0) return [];
    return [{ offset, length: end - offset }];
  }

  async view(offset: number, length: number): Promise<{ data: Uint8Array; release(): void } | undefined> {
    const n = nativeIO();
    if (!n || length < VIEW_MIN) return undefined;
    const data = n.map(this.handle(), offset, length);
    if (!data) return undefined;
    return {
      data,
      release: () => {
        if (!n.unmap(data))
          throw new ImageError("io", `read failed on '${this.path}': the file shrank while being read`, {
            path: this.path,
            offset,
          });
      },
    };
  }

  async allocatedBytes(): Promise<number> {
    const st = await this.stat();
    return st.blocks * 512;
  }

  async close(): Promise<void> {
    const { fd, fh } = this;
    this.fd = -1;
    this.fh = undefined;
    if (fh) await fh.close();
    else if (fd >= 0) closeSync(fd);
  }
}
