// Volume upload and download (virStorageVolUpload/Download for local files): the bytes of the
// volume's file from an offset, through the RPC stream, as libvirt's virFDStreamOpenFile does.
// Sparse streams (the SPARSE_STREAM flag, virsh --sparse) carry holes as hole packets: a
// download sends the file's holes (SEEK_DATA/SEEK_HOLE through the native addon; without it the
// whole range counts as data, which is still correct), an upload punches the client's holes.
import { open } from "node:fs/promises";
import type { ByteStream } from "../../driver/index.js";
import { nativeIO } from "../../image/io/native.js";
import { sysError } from "./errors.js";

const CHUNK = 256 * 1024;

type Handle = Awaited<ReturnType<typeof open>>;

async function openVolumeFile(path: string, flags: "r" | "r+"): Promise<Handle> {
  try {
    return await open(path, flags);
  } catch (e) {
    throw sysError(`Unable to open ${path}`, e);
  }
}

/** Writes the client's bytes into `path` from `offset`; `length` 0 means until the stream ends. */
export async function uploadToFile(
  path: string,
  stream: ByteStream,
  offset: number,
  length: number,
  sparse = false,
): Promise<void> {
  const fh = await openVolumeFile(path, "r+");
  try {
    let pos = offset;
    let left = length > 0 ? length : Number.POSITIVE_INFINITY;
    const full = () => sysError("cannot write to stream", Object.assign(new Error(), { code: "ENOSPC" }));
    const items = sparse && stream.incomingSparse ? stream.incomingSparse : stream.incoming;
    for await (const chunk of items) {
      // virFDStreamWrite: bytes past the requested length fail with ENOSPC (after what fits).
      if (left <= 0) throw full();
      if (typeof chunk === "number") {
        const n = Math.min(chunk, left);
        await zeroRange(fh, pos, n);
        pos += n;
        left -= n;
        if (n < chunk) throw full();
        continue;
      }
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

/** A hole from the client: [pos, pos+n) reads as zeros after (punched, or written as zeros). */
async function zeroRange(fh: Handle, pos: number, n: number): Promise<void> {
  if (n <= 0) return;
  const size = (await fh.stat()).size;
  const inside = Math.max(0, Math.min(pos + n, size) - pos);
  if (inside > 0 && !nativeIO()?.punchHole(fh.fd, pos, inside)) {
    const zeros = new Uint8Array(Math.min(CHUNK, inside));
    for (let done = 0; done < inside; ) {
      const k = Math.min(zeros.length, inside - done);
      await fh.write(zeros, 0, k, pos + done);
      done += k;
    }
  }
  if (pos + n > size) await fh.truncate(pos + n);
}

/** Sends `path`'s bytes from `offset` (`length` 0: to the end of the file), then ends the stream. */
export async function downloadFromFile(
  path: string,
  stream: ByteStream,
  offset: number,
  length: number,
  sparse = false,
): Promise<void> {
  const fh = await openVolumeFile(path, "r");
  try {
    const size = (await fh.stat()).size;
    const end = length > 0 ? Math.min(size, offset + length) : size;
    const data =
      sparse && stream.writeHole && end > offset
        ? (nativeIO()?.extents(fh.fd, offset, end - offset) ?? [{ offset, length: end - offset }])
        : [{ offset, length: Math.max(0, end - offset) }];
    let pos = offset;
    for (const run of data) {
      if (run.offset > pos) await stream.writeHole!(run.offset - pos);
      pos = run.offset;
      const runEnd = run.offset + run.length;
      while (pos < runEnd) {
        const buf = new Uint8Array(Math.min(CHUNK, runEnd - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        await stream.write(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    }
    if (sparse && stream.writeHole && end > pos) await stream.writeHole(end - pos);
  } finally {
    await fh.close();
  }
  await stream.close();
}
