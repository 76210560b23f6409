// Compressed clusters (spec "Compressed Clusters Descriptor"): raw deflate (zlib type) via
// node:zlib; zstd (not in Node 20) through the native addon's libzstd, refused as unsupported
// where that is missing.

import { deflateRaw, deflateRawSync, inflateRawSync } from "node:zlib";
import { ImageError } from "../../errors.js";
import { type Deflater, nativeIO } from "../../io/native.js";

export const COMPRESSION_ZLIB = 0;
export const COMPRESSION_ZSTD = 1;

/** Inflates one cluster; the output is capped at the cluster size (never sized by input). */
export function decompressCluster(
  data: Uint8Array,
  clusterSize: number,
  type: number,
  offset: number,
): Uint8Array {
  if (type === COMPRESSION_ZSTD) {
    const out = nativeIO()?.zstdDecompress(data, clusterSize);
    if (out === undefined)
      throw new ImageError("unsupported", "zstd-compressed clusters are not supported", { offset });
    if (out === "error") throw new ImageError("io", "Input/output error", { offset });
    return out;
  }
  let out: Buffer;
  try {
    // Trailing bytes after the deflate stream are padding to the sector; finishFlush tolerates a
    // stream that ends exactly at the buffer end.
    out = inflateRawSync(data, { maxOutputLength: clusterSize, finishFlush: 2 /* Z_SYNC_FLUSH */ });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new ImageError("io", "Input/output error", {
        offset,
        cause: e,
      });
    }
    throw new ImageError("io", "Input/output error", { offset, cause: e });
  }
  if (out.length < clusterSize) {
    throw new ImageError("io", "Input/output error", { offset });
  }
  return new Uint8Array(out.buffer, out.byteOffset, clusterSize);
}

// qemu's qcow2_compress (block/qcow2-threads.c): deflateInit2(Z_DEFAULT_COMPRESSION, Z_DEFLATED,
// -12 (raw deflate, 4 KiB window), memLevel 9, Z_DEFAULT_STRATEGY).
const DEFLATE_OPTS = { level: 6, windowBits: 12, memLevel: 9 } as const;

/**
 * Compresses a cluster (deflate, or zstd for type 1); returns undefined when compression does not
 * save space (qemu stores it raw: its output buffer is one byte shorter than the cluster).
 */
export function compressCluster(data: Uint8Array, type = COMPRESSION_ZLIB): Uint8Array | undefined {
  if (type === COMPRESSION_ZSTD) {
    const out = nativeIO()?.zstdCompress(data, data.length - 1);
    if (out === undefined) throw new ImageError("unsupported", "zstd compression is not supported");
    if (out === "error") throw new ImageError("invalid-argument", "Invalid argument");
    return out === "nospace" ? undefined : out;
  }
  const out = deflateRawSync(data, DEFLATE_OPTS);
  return out.length < data.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
}

/** qemu-img -m's default: clusters compressing at once, each on its own thread. */
const DEFLATE_THREADS = 8;
let deflater: Deflater | null | undefined;

/**
 * compressCluster off the main thread: on the native addon's threads (as many as qemu keeps
 * busy) where available, else on libuv's thread pool. Same output either way (Node's zlib).
 */
export function compressClusterAsync(
  data: Uint8Array,
  type = COMPRESSION_ZLIB,
): Promise<Uint8Array | undefined> {
  if (type === COMPRESSION_ZSTD) {
    try {
      return Promise.resolve(compressCluster(data, type));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  if (deflater === undefined) {
    const o = DEFLATE_OPTS;
    deflater = nativeIO()?.deflater(DEFLATE_THREADS, o.level, -o.windowBits, o.memLevel) ?? null;
  }
  if (deflater) return deflater(data);
  return new Promise((resolve, reject) => {
    deflateRaw(data, DEFLATE_OPTS, (err, out) => {
      if (err) reject(err);
      else
        resolve(
          out.length < data.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined,
        );
    });
  });
}
