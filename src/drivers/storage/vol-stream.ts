// Volume upload and download (virStorageVolUpload/Download for local files): the bytes of the
// volume's file from an offset, through the RPC stream, as libvirt's virFDStreamOpenFile does.
import { open } from "node:fs/promises";
import type { ByteStream } from "../../driver/index.js";
import { sysError } from "./errors.js";

const CHUNK = 256 * 1024;

/** Writes the client's bytes into `path` from `offset`; `length` 0 means until the stream ends. */
export async function uploadToFile(
  path: string,
  stream: ByteStream,
  offset: number,
  length: number,
): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r+");
  } catch (e) {
    throw sysError(`Unable to open ${path}`, e);
  }
  try {
    let pos = offset;
    let left = length > 0 ? length : Number.POSITIVE_INFINITY;
    const full = () => sysError("cannot write to stream", Object.assign(new Error(), { code: "ENOSPC" }));
    for await (const chunk of stream.incoming) {
      // virFDStreamWrite: bytes past the requested length fail with ENOSPC (after what fits).
      if (left <= 0) throw full();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      await fh.write(part, 0, part.length, pos);
      pos += part.length;
      left -= part.length;
      if (part.length < chunk.length) throw full();
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Sends `path`'s bytes from `offset` (`length` 0: to the end of the file), then ends the stream. */
export async function downloadFromFile(
  path: string,
  stream: ByteStream,
  offset: number,
  length: number,
): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw sysError(`Unable to open ${path}`, e);
  }
  try {
    const size = (await fh.stat()).size;
    const end = length > 0 ? Math.min(size, offset + length) : size;
    for (let pos = offset; pos < end; ) {
      const buf = new Uint8Array(Math.min(CHUNK, end - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      await stream.write(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  await stream.close();
}
