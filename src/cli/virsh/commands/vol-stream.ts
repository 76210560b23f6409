// vol-upload and vol-download (tools/virsh-volume.c cmdVolUpload/cmdVolDownload): a local file's
// bytes streamed into a volume from --offset (at most --length), or a volume's bytes into a file.
// The driver gets a ByteStream (src/driver/types.ts) at virStorageVolUpload/Download's stream
// position, as the remote driver and the storage driver take it.
import { open, unlink } from "node:fs/promises";
import { resolve } from "node:path";
import type { ByteStream } from "../../../driver/index.js";
import { ErrorDomain } from "../../../errors/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { type Ctl, conn, lookupVol, req } from "../lookup.js";
import { OptionError, optBool, optULongLong } from "../options.js";

type H = Handler<Ctl>;

/** VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM / VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM. */
const SPARSE_STREAM = 1;
const CHUNK = 256 * 1024;

/** vshCommandOptULongLong: --offset, negative refused. */
function optOffset(cmd: ParsedCmd): number {
  return Number(optULongLong(cmd, "offset") ?? 0n);
}

/**
 * vshCommandOptULongLongWrapper: --length, where a negative value wraps around (-1: all). The
 * driver interface carries numbers, so a wrapped length is capped at 2^53-1 (still "to the end").
 */
function optLength(cmd: ParsedCmd): number {
  const o = cmd.opts.find((x) => x.def.name === "length");
  if (!o || o.value === null) return 0;
  const m = /^[ \t\n\v\f\r]*-(\d+)$/.exec(o.value);
  if (!m) return Number(optULongLong(cmd, "length") ?? 0n);
  const n = BigInt(m[1]!);
  if (n > 0xffffffffffffffffn)
    throw new OptionError(`Numeric value '${o.value}' for <length> option is malformed or out of range`);
  const wrapped = n === 0n ? 0n : (1n << 64n) - n;
  return Number(wrapped > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : wrapped);
}

/** The connection's storage slot, checked as libvirt's public API checks it (read-only first). */
function volSlot(ctl: Ctl, key: "storageVolUpload" | "storageVolDownload", fn: string) {
  const c = conn(ctl);
  c.checkWritable(ErrorDomain.STORAGE, fn);
  return c.storage(key, fn);
}

const volUpload: H = async (ctl, cmd) => {
  const offset = optOffset(cmd);
  const length = optLength(cmd);
  const vol = await lookupVol(ctl, cmd);
  const name = vol.name;
  const file = req(cmd, "file");
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(resolve(ctl.cwd, file), "r");
  } catch {
    throw new CmdFailure(`cannot read ${file}`);
  }
  const flags = optBool(cmd, "sparse") ? SPARSE_STREAM : 0;
  let started = false;
  let sentAll = false;
  async function* source(): AsyncGenerator<Uint8Array> {
    started = true;
    for (;;) {
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) {
        sentAll = true;
        return;
      }
      yield buf.subarray(0, bytesRead);
    }
  }
  const stream: ByteStream = {
    incoming: source(),
    write: async () => {},
    close: async () => {},
  };
  try {
    const upload = volSlot(ctl, "storageVolUpload", "virStorageVolUpload");
    await upload(vol.ref, stream, offset, length, flags);
  } catch (e) {
    // refused by the call, failed while sending, or failed once all was sent (virStreamFinish)
    const what = !started ? "upload to" : sentAll ? "close" : "send data to";
    throw new CmdFailure(`cannot ${what} volume ${name}`, e);
  } finally {
    await fh.close().catch(() => {});
  }
  return true;
};

const volDownload: H = async (ctl, cmd) => {
  const offset = optOffset(cmd);
  const length = optLength(cmd);
  const vol = await lookupVol(ctl, cmd);
  const name = vol.name;
  const file = req(cmd, "file");
  const path = resolve(ctl.cwd, file);
  const flags = optBool(cmd, "sparse") ? SPARSE_STREAM : 0;
  let fh: Awaited<ReturnType<typeof open>>;
  let created = false;
  try {
    fh = await open(path, "wx", 0o666);
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new CmdFailure(`cannot create ${file}`);
    try {
      fh = await open(path, "w", 0o666);
    } catch {
      throw new CmdFailure(`cannot create ${file}`);
    }
  }
  let started = false;
  let ok = false;
  // a download sends nothing up: the input is over as soon as the transfer asks for it
  const nothing: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      started = true;
      return { next: async () => ({ done: true, value: undefined }) };
    },
  };
  // virsh's sink and skip callbacks: data at the file position, a hole moves it on (and
  // ftruncate makes a trailing hole part of the file)
  let pos = 0;
  let holeAtEnd = false;
  const stream: ByteStream = {
    incoming: nothing,
    write: async (chunk) => {
      started = true;
      await fh.write(chunk, 0, chunk.length, pos);
      pos += chunk.length;
      holeAtEnd = false;
    },
    close: async () => {
      if (holeAtEnd) await fh.truncate(pos);
    },
    ...(flags & SPARSE_STREAM
      ? {
          writeHole: async (length: number) => {
            started = true;
            pos += length;
            holeAtEnd = true;
          },
        }
      : {}),
  };
  try {
    const download = volSlot(ctl, "storageVolDownload", "virStorageVolDownload");
    await download(vol.ref, stream, offset, length, flags);
    ok = true;
  } catch (e) {
    throw new CmdFailure(
      started ? `cannot receive data from volume ${name}` : `cannot download from volume ${name}`,
      e,
    );
  } finally {
    await fh.close().catch(() => {});
    if (!ok && created) await unlink(path).catch(() => {});
  }
  return true;
};

export const volStreamHandlers: Record<string, H> = {
  "vol-upload": volUpload,
  "vol-download": volDownload,
};
