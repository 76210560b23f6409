// The optional native addon (native/tsvirt_io.c, built by scripts/build-native.sh into
// build/tsvirt_io.node): SEEK_DATA/SEEK_HOLE extent maps, fallocate (punch hole, zero range,
// allocate) and copy_file_range, which Node 20 does not offer. Loaded lazily on first use; when
// it is absent, fails to load, or TSVIRT_NO_NATIVE=1 is set, nativeIO() returns undefined and
// callers keep their pure-JS path (a machine without a compiler still gets a working tool).

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** Raw addon surface: negative numbers are -errno. */
interface Addon {
  extents(fd: number, offset: number, length: number): Float64Array | number;
  punchHole(fd: number, offset: number, length: number): number;
  zeroRange(fd: number, offset: number, length: number): number;
  allocate(fd: number, offset: number, length: number): number;
  copyRange(fdIn: number, offIn: number, fdOut: number, offOut: number, length: number): number;
  map(fd: number, offset: number, length: number): Uint8Array | number;
  unmap(view: Uint8Array): number;
  writeback?(fd: number, offset: number, length: number): number;
  prefetch?(fd: number, offset: number, length: number): number;
  zstdCompress?(data: Uint8Array, limit: number): Uint8Array | number;
  zstdDecompress?(data: Uint8Array, size: number): Uint8Array | number;
  zeroRuns(bytes: Uint8Array, offset: number, granularity: number): Float64Array | number;
  deflatePool(
    threads: number,
    level: number,
    windowBits: number,
    memLevel: number,
    done: (id: number, out: Uint8Array | undefined | null) => void,
  ): { submit(id: number, data: Uint8Array): void } | number;
}

export interface Extent {
  offset: number;
  length: number;
}

export interface NativeIO {
  /**
   * Data runs intersecting [offset, offset+length), clipped to it and to the file size; undefined
   * when the file system cannot tell (then everything counts as data).
   */
  extents(fd: number, offset: number, length: number): Extent[] | undefined;
  /** Deallocates the range (reads as zeros, size kept); false when the file system can't. */
  punchHole(fd: number, offset: number, length: number): boolean;
  /** Makes the range read as zeros without writing them (size kept); false when unsupported. */
  zeroRange(fd: number, offset: number, length: number): boolean;
  /** Reserves blocks for the range (posix_fallocate-like, may grow the file); false when unsupported. */
  allocate(fd: number, offset: number, length: number): boolean;
  /**
   * In-kernel copy of length bytes; returns the bytes copied (short at the source's end), or -1
   * when the pair of files does not support it (nothing was copied then).
   */
  copyRange(fdIn: number, offIn: number, fdOut: number, offOut: number, length: number): number;
  /**
   * A read-only, pre-faulted mapping of the file range (bulk copies read the page cache in
   * place); undefined when it cannot be mapped (past EOF, too many live mappings).
   */
  map(fd: number, offset: number, length: number): Uint8Array | undefined;
  /**
   * Ends a mapping now (the view reads as empty after). False when the file shrank while mapped:
   * the vanished bytes read as zeros instead of killing the process with SIGBUS.
   */
  unmap(view: Uint8Array): boolean;
  /**
   * Starts write-out of the file's dirty pages in [offset, offset+length) (length 0: to the end)
   * on a background thread and returns at once (sync_file_range WRITE; nothing waits for the
   * disk). False when the addon is older than this call or the request could not be queued.
   */
  writeback(fd: number, offset: number, length: number): boolean;
  /**
   * Starts reading [offset, offset+length) into the page cache in large requests and returns
   * without waiting (posix_fadvise WILLNEED): a later map() or read of it finds it there.
   */
  prefetch(fd: number, offset: number, length: number): boolean;
  /**
   * Splits `bytes` (guest bytes at guest `offset`) into data and zero runs on granularity-
   * aligned guest blocks (qemu-img -S); blocks cut short by the buffer's ends count as data.
   */
  zeroRuns(bytes: Uint8Array, offset: number, granularity: number): ZeroRun[];
  /**
   * Deflate on the addon's own threads (Node's zlib, same output as node:zlib with the same
   * options): not limited by libuv's 4-thread pool. windowBits negative: raw deflate. The input
   * must stay unchanged until the promise settles.
   */
  deflater(threads: number, level: number, windowBits: number, memLevel: number): Deflater | undefined;
  /**
   * One zstd frame of `data` in at most `limit` bytes through the system's libzstd (qemu's
   * qcow2 zstd compression); "nospace" when it does not fit, undefined without libzstd (or an
   * addon older than this call), "error" when libzstd fails.
   */
  zstdCompress(data: Uint8Array, limit: number): Uint8Array | "nospace" | "error" | undefined;
  /**
   * Exactly `size` bytes out of a zstd stream (qemu's qcow2_zstd_decompress); "error" when the
   * stream is broken or does not end within them, undefined without libzstd.
   */
  zstdDecompress(data: Uint8Array, size: number): Uint8Array | "error" | undefined;
}

/** Deflates one buffer; undefined when the output would not be shorter than the input. */
export type Deflater = (data: Uint8Array) => Promise<Uint8Array | undefined>;

export interface ZeroRun {
  start: number;
  end: number;
  data: boolean;
}

const ADDON_PATH = fileURLToPath(new URL("../../../build/tsvirt_io.node", import.meta.url));

let loaded: NativeIO | null | undefined;
let why = "not loaded yet";

function wrap(a: Addon): NativeIO {
  return {
    extents(fd, offset, length) {
      const r = a.extents(fd, offset, length);
      if (typeof r === "number") return undefined;
      const out: Extent[] = new Array(r.length / 2);
      for (let i = 0; i < r.length; i += 2) out[i / 2] = { offset: r[i]!, length: r[i + 1]! };
      return out;
    },
    punchHole: (fd, offset, length) => a.punchHole(fd, offset, length) === 0,
    zeroRange: (fd, offset, length) => a.zeroRange(fd, offset, length) === 0,
    allocate: (fd, offset, length) => a.allocate(fd, offset, length) === 0,
    copyRange(fdIn, offIn, fdOut, offOut, length) {
      const r = a.copyRange(fdIn, offIn, fdOut, offOut, length);
      return r < 0 ? -1 : r;
    },
    map(fd, offset, length) {
      const r = a.map(fd, offset, length);
      return typeof r === "number" ? undefined : r;
    },
    unmap: (view) => a.unmap(view) !== -5 /* EIO */,
    writeback: (fd, offset, length) => (a.writeback ? a.writeback(fd, offset, length) === 0 : false),
    prefetch: (fd, offset, length) => (a.prefetch ? a.prefetch(fd, offset, length) === 0 : false),
    deflater(threads, level, windowBits, memLevel) {
      const waiting = new Map<
        number,
        { resolve: (v: Uint8Array | undefined) => void; reject: (e: Error) => void }
      >();
      let next = 0;
      const pool = a.deflatePool(threads, level, windowBits, memLevel, (id, out) => {
        const w = waiting.get(id);
        waiting.delete(id);
        if (out === null) w?.reject(new Error("deflate failed"));
        else w?.resolve(out);
      });
      if (typeof pool === "number") return undefined;
      return (data) =>
        new Promise((resolve, reject) => {
          const id = ++next;
          waiting.set(id, { resolve, reject });
          pool.submit(id, data);
        });
    },
    zstdCompress(data, limit) {
      const r = a.zstdCompress ? a.zstdCompress(data, limit) : -38;
      if (typeof r !== "number") return r;
      return r === -38 /* ENOSYS */ ? undefined : r === -12 /* ENOMEM */ ? "nospace" : "error";
    },
    zstdDecompress(data, size) {
      const r = a.zstdDecompress ? a.zstdDecompress(data, size) : -38;
      if (typeof r !== "number") return r;
      return r === -38 ? undefined : "error";
    },
    zeroRuns(bytes, offset, granularity) {
      const r = a.zeroRuns(bytes, offset, granularity);
      if (typeof r === "number") throw new Error(`zeroRuns failed (${r})`);
      const out: ZeroRun[] = new Array(r.length / 3);
      for (let i = 0; i < r.length; i += 3)
        out[i / 3] = { start: r[i]!, end: r[i + 1]!, data: r[i + 2] === 1 };
      return out;
    },
  };
}

/** The addon, or undefined when unavailable (see nativeStatus() for why). */
export function nativeIO(): NativeIO | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (process.env.TSVIRT_NO_NATIVE === "1") {
    why = "disabled by TSVIRT_NO_NATIVE=1";
    return undefined;
  }
  try {
    const a = createRequire(import.meta.url)(ADDON_PATH) as Partial<Addon>;
    if (typeof a.extents !== "function" || typeof a.zeroRuns !== "function") {
      why = "addon lacks the expected functions";
      return undefined;
    }
    loaded = wrap(a as Addon);
    why = `loaded from ${ADDON_PATH}`;
  } catch (e) {
    why = `could not load ${ADDON_PATH}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
  }
  return loaded ?? undefined;
}

let zstd: boolean | undefined;
/** True when qcow2's zstd clusters can be read and written (the addon and libzstd are there). */
export function zstdAvailable(): boolean {
  return (zstd ??= nativeIO()?.zstdCompress(new Uint8Array(1), 64) !== undefined);
}

/** Why nativeIO() returned what it did (for `tsvirt-img --version`-style diagnostics and tests). */
export function nativeStatus(): string {
  nativeIO();
  return why;
}
