// What every tsvirt-img command shares: output sinks, the program-name prefix for errors, the
// CliError that ends a command with an exit code, and opening images with qemu-img's messages.

import { statSync } from "node:fs";
import { isAbsolute } from "node:path";
// Imports name the image layer's modules, not its index: the index re-exports every IO backend.
import { ImageError } from "../../image/errors.js";
import type { Image } from "../../image/image.js";
import { openImage } from "../../image/open.js";
import { hasFormat } from "../../image/registry.js";
import { UsageError } from "./getopt.js";
import type { Secrets } from "./qdict.js";

export const PROG = "tsvirt-img";

export interface Out {
  out(s: string): void;
  err(s: string): void;
  /** True when stdout is a terminal (progress bars). */
  isTTY?: boolean;
}

/** Ends a command: prints `tsvirt-img: <message>` (when given) and exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string | undefined,
    readonly code = 1,
    readonly hint?: string,
  ) {
    super(message ?? "");
  }
}

export function usage(msg: string): CliError {
  return new CliError(msg, 1, `Try '${PROG} --help' for more information\n`);
}

export function fromUsage(e: unknown): unknown {
  return e instanceof UsageError ? usage(e.message) : e;
}

/** A command's -h: the tool's help on stdout, exit status 0 (as qemu-img's help()). */
export async function showHelp(io: Out): Promise<number> {
  const { main } = await import("./main.js");
  return main(["--help"], io);
}

/** qemu's path_combine(), used for backing and extent names in messages. */
export function pathCombine(base: string, name: string): string {
  if (isAbsolute(name)) return name;
  const i = base.lastIndexOf("/");
  return i < 0 ? name : base.slice(0, i + 1) + name;
}

export function errText(e: unknown): string {
  if (e instanceof ImageError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface OpenOpts {
  readOnly?: boolean;
  backingChain?: boolean;
  /** Metadata only (info): an encrypted image opens without its key. */
  noIo?: boolean;
  /** Print qemu's raw-probing warning on writable opens without -f. */
  warnProbe?: Out;
  /** --image-opts: `filename` is a driver option string (driver=…,file.filename=…,encrypt.key-secret=…). */
  imageOpts?: boolean;
  /** --object secrets, for encrypt.key-secret. */
  secrets?: Secrets;
  /** Where the warnings qemu prints while opening the chain go (stderr). */
  warn?: Out;
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false; // ELOOP, EACCES, …: the open that follows reports it
  }
}

/** Whether the parsed options include --image-opts. */
export function hasImageOpts(opts: Iterable<[string, string]>): boolean {
  for (const [k] of opts) if (k === "image-opts") return true;
  return false;
}

/** Opens an image for a command; failures read "Could not open 'x': <why>" as qemu-img's. */
export async function openCli(
  filename: string,
  format: string | undefined,
  o: OpenOpts = {},
): Promise<Image> {
  let img: Image;
  // An unknown -f is refused before any file is looked at (qemu's bdrv_fill_options).
  if (!o.imageOpts && format !== undefined && !hasFormat(format))
    throw new CliError(`Could not open '${filename}': Unknown driver '${format}'`);
  // qemu's file driver refuses directories before any format looks at them. (A synchronous
  // stat: a one-shot command need not start libuv's thread pool for it.)
  if (!o.imageOpts && isDirectory(filename))
    throw new CliError(
      `Could not open '${filename}': 'file' driver requires '${filename}' to be a regular file`,
    );
  let path = filename;
  let options: Record<string, string> | undefined;
  let secrets: Secrets | undefined;
  // A json: filename is the same options as --image-opts spelled as a JSON object.
  const json =
    !o.imageOpts && filename.startsWith("json:{")
      ? (await import("./qdict.js")).parseJsonFilename(filename, (m) => new CliError(m))
      : undefined;
  if (o.imageOpts || json) {
    if (o.imageOpts && format !== undefined)
      throw new CliError("--image-opts and --format are mutually exclusive");
    // qdict loads only for --image-opts (info/check start-up stays lean).
    const spec = json ?? (await import("./qdict.js")).parseImageOpts(filename, (m) => new CliError(m));
    path = spec.path;
    format = spec.format ?? format;
    options = spec.options;
    // As qemu: a key only through encrypt.key-secret, naming an --object secret.
    const id = options["encrypt.key-secret"];
    if (id !== undefined) {
      // (Opened for its metadata only, as info does, the image needs no key: qemu does not look
      // the secret up then.)
      if (o.secrets?.[id] === undefined) {
        if (!o.noIo) throw new CliError(`Could not open '${filename}': No secret with id '${id}'`);
        delete options["encrypt.key-secret"];
      } else secrets = o.secrets;
    }
  }
  try {
    img = await openImage(path, {
      format,
      readOnly: o.readOnly ?? true,
      backingChain: o.backingChain ?? true,
      options,
      secrets,
    });
  } catch (e) {
    // (An empty name: qemu's file protocol refuses it before looking for a file.)
    if (
      path === "" &&
      (e as { kind?: string }).kind === "not-found" &&
      (format === undefined || hasFormat(format))
    )
      throw new CliError(`Could not open '${filename}': The 'file' block driver requires a file name`);
    // An unknown -f reads "Could not open 'x': Unknown driver 'fmt'", as qemu-img's.
    throw new CliError(`Could not open '${filename}': ${errText(e)}`);
  }
  if (o.warn) {
    // Each image of the chain, top first (qemu parses the header before opening the backing).
    for (let l: Image | undefined = img; l; l = l.backing?.backingImage)
      for (const w of (l as { openWarnings?: string[] }).openWarnings ?? [])
        o.warn.err(`${PROG}: warning: ${w}`);
  }
  if (!o.noIo && (img as { keyMissing?: boolean }).keyMissing) {
    // qemu opens an encrypted image without its key only for metadata (info).
    await img.close();
    throw new CliError(`Could not open '${filename}': Parameter 'encrypt.key-secret' is required for cipher`);
  }
  if (!format && img.format === "raw" && o.warnProbe && !o.readOnly) {
    o.warnProbe.err(
      `WARNING: Image format was not specified for '${filename}' and probing guessed raw.\n` +
        "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n" +
        "         Specify the 'raw' format explicitly to remove the restrictions.\n",
    );
  }
  return img;
}

/** The compressed-write capability a target format may offer (qcow, qcow2, stream vmdk). */
export interface CompressedWriter {
  readonly compressedClusterSize: number | undefined;
  compressCluster(raw: Uint8Array): Promise<Uint8Array | undefined>;
  writeCompressedCluster(offset: number, compressed: Uint8Array | undefined, raw: Uint8Array): Promise<void>;
}

export function compressedWriter(img: Image): CompressedWriter | undefined {
  const c = img as unknown as Partial<CompressedWriter>;
  if (
    typeof c.compressCluster === "function" &&
    typeof c.writeCompressedCluster === "function" &&
    c.compressedClusterSize
  ) {
    return c as CompressedWriter;
  }
  // Formats that only offer writeCompressed(offset, raw) (qcow2) compress on the main thread.
  const w = img as unknown as { writeCompressed?: (o: number, d: Uint8Array) => Promise<void> };
  const sizes = img as unknown as { clusterSize?: number; cs?: number };
  const cs = sizes.clusterSize ?? sizes.cs;
  if (typeof w.writeCompressed === "function" && cs) {
    return {
      compressedClusterSize: cs,
      compressCluster: async () => new Uint8Array(0),
      writeCompressedCluster: (offset, _c, raw) => w.writeCompressed!.call(img, offset, raw),
    };
  }
  return undefined;
}

/** Bytes the image's files take on the host (qemu's "disk size"/"actual-size"). */
export async function allocatedSize(img: Image): Promise<number | undefined> {
  const a = img as unknown as { allocatedFileSize?: () => Promise<number> };
  if (typeof a.allocatedFileSize === "function") return a.allocatedFileSize();
  return img.io.allocatedBytes ? img.io.allocatedBytes() : undefined;
}

export function isZero(b: Uint8Array): boolean {
  const n = b.length;
  if (n === 0) return true;
  if (b[0] !== 0 || b[n - 1] !== 0) return false;
  const buf = Buffer.from(b.buffer, b.byteOffset, n);
  const zero = (ZERO ??= Buffer.alloc(1 << 20));
  let off = 0;
  while (off < n) {
    const len = Math.min(zero.length, n - off);
    if (buf.compare(zero, 0, len, off, off + len) !== 0) return false;
    off += len;
  }
  return true;
}
let ZERO: Buffer | undefined;

/**
 * printf("%.2f", x) as C rounds it: the exact binary value to nearest, ties to even (15.625 →
 * "15.62"), where toFixed rounds such ties up.
 */
export function printf2(x: number): string {
  // Exact ties at two decimals are the odd eighths (.125, .375, .625, .875): only those doubles
  // sit exactly halfway; every other value already rounds the same in both.
  if (Number.isFinite(x) && Number.isInteger(x * 8) && !Number.isInteger(x * 4) && Math.abs(x) < 2 ** 40) {
    const lo = Math.floor(x * 100);
    return ((lo % 2 === 0 ? lo : lo + 1) / 100).toFixed(2);
  }
  return x.toFixed(2);
}
