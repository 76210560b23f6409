// Compressed clusters (spec "Compressed Clusters Descriptor"): raw deflate (zlib type) via
// node:zlib; zstd is not in Node 20 and is refused as unsupported.

import { deflateRawSync, inflateRawSync } from "node:zlib";
import { ImageError } from "../../errors.js";

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
    throw new ImageError("unsupported", "zstd-compressed clusters are not supported", { offset });
  }
  let out: Buffer;
  try {
    // Trailing bytes after the deflate stream are padding to the sector; finishFlush tolerates a
    // stream that ends exactly at the buffer end.
    out = inflateRawSync(data, { maxOutputLength: clusterSize, finishFlush: 2 /* Z_SYNC_FLUSH */ });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new ImageError("corrupt", "Compressed cluster inflates past the cluster size", {
        offset,
        cause: e,
      });
    }
    throw new ImageError("corrupt", "Could not decompress a compressed cluster", { offset, cause: e });
  }
  if (out.length < clusterSize) {
    throw new ImageError("corrupt", "Compressed cluster is shorter than a cluster", { offset });
  }
  return new Uint8Array(out.buffer, out.byteOffset, clusterSize);
}

/** Deflates a cluster; returns undefined when compression does not save space (qemu stores it raw). */
export function compressCluster(data: Uint8Array): Uint8Array | undefined {
  const out = deflateRawSync(data, { level: 6, windowBits: 12 });
  return out.length < data.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
}
