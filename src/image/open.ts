// openImage()/createImage(): the one factory for disk images. Opens the file, probes or checks
// the format, and gives formats a way to open backing and auxiliary files relative to the image.

import { stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import type { BlockIO } from "./block-io.js";
import { ImageError } from "./errors.js";
import type { Image } from "./image.js";
import { FileIO } from "./io/file-io.js";
import { PROBE_BYTES, probeFormat } from "./probe.js";
import {
  type FormatCreateContext,
  type FormatOpenOptions,
  getFormat,
  probingFormats,
  type SecretMap,
} from "./registry.js";

export interface OpenImageOptions {
  /** Format name; probed from the header when absent. */
  format?: string;
  readOnly?: boolean;
  /** Open the backing chain (default true). */
  backingChain?: boolean;
  secrets?: SecretMap;
  /** Driver options as qemu's --image-opts gives them (e.g. `encrypt.key-secret`). */
  options?: Record<string, string>;
  /** Internal: depth guard against backing loops. */
  depth?: number;
}

/** Backing chains deeper than this are refused (guards against loops through symlinks). */
export const MAX_BACKING_DEPTH = 256;

/** Resolves a backing/auxiliary file name the way qemu does: relative to the image's directory. */
export function resolveRelative(base: string | undefined, name: string): string {
  if (isAbsolute(name) || !base) return name;
  return resolve(dirname(base), name);
}

/**
 * qemu's path_combine(): a relative name is joined as text to the directory part of the image's
 * name as given (no normalisation), so messages name the file as qemu-img does.
 */
export function pathCombine(base: string | undefined, name: string): string {
  if (isAbsolute(name) || !base) return name;
  const i = base.lastIndexOf("/");
  return i < 0 ? name : base.slice(0, i + 1) + name;
}

/** Reads the probe header and names the format. */
export async function detectFormat(io: BlockIO): Promise<string> {
  const size = await io.size();
  const head = new Uint8Array(Math.min(PROBE_BYTES, size));
  await io.read(0, head);
  for (const f of probingFormats()) if (f.probe?.(head)) return f.name;
  return probeFormat(head);
}

export async function openImage(pathOrIO: string | BlockIO, opts: OpenImageOptions = {}): Promise<Image> {
  const readOnly = opts.readOnly ?? false;
  const depth = opts.depth ?? 0;
  if (depth > MAX_BACKING_DEPTH) {
    throw new ImageError("invalid-argument", `Backing chain deeper than ${MAX_BACKING_DEPTH} (a loop?)`);
  }
  const io = typeof pathOrIO === "string" ? await FileIO.open(pathOrIO, { readOnly }) : pathOrIO;
  try {
    const name = opts.format ?? (await detectFormat(io));
    const format = getFormat(name);
    const base = io.path;
    const fopts: FormatOpenOptions = {
      readOnly,
      backingChain: opts.backingChain ?? true,
      secrets: opts.secrets,
      options: opts.options,
      // qemu's bdrv_open_backing_file prefixes what went wrong with "Could not open backing file: ".
      openBacking: (file, fmt) =>
        openImage(pathCombine(base, file), {
          format: fmt,
          readOnly: true,
          backingChain: true,
          secrets: opts.secrets,
          depth: depth + 1,
        }).catch((e: unknown) => {
          if (!(e instanceof ImageError)) throw e;
          throw new ImageError(e.kind, `Could not open backing file: ${e.message}`, {
            path: e.path,
            offset: e.offset,
            cause: e,
          });
        }),
      openFile: (file, o) => FileIO.open(pathCombine(base, file), o),
    };
    return await format.open(io, fopts);
  } catch (e) {
    if (typeof pathOrIO === "string") await io.close().catch(() => {});
    throw e;
  }
}

/**
 * Creates (or replaces) `path` as an empty image. Options are qemu-img's `-o` keys; `size` may
 * be undefined when a backing file supplies it.
 */
export async function createImage(
  path: string | BlockIO,
  format: string,
  size: number | undefined,
  options: Record<string, string> = {},
  extra: { secrets?: SecretMap; unsafe?: boolean } = {},
): Promise<void> {
  const f = getFormat(format);
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new ImageError("invalid-argument", "Image size must be a non-negative integer");
  }
  const st = typeof path === "string" ? await stat(path).catch(() => undefined) : undefined;
  const existed = st !== undefined;
  // An existing file is emptied only when the format starts writing: options are validated first.
  const io =
    typeof path !== "string"
      ? path
      : path === "" && format === "vmdk"
        ? // qemu's vmdk creates its files itself and first refuses an empty name (No filename
          // provided): nothing to open.
          new (await import("./io/memory-io.js")).MemoryIO(undefined, { path: "" })
        : st?.isFile()
          ? new (await import("./io/lazy-truncate-io.js")).LazyTruncateIO(
              await FileIO.open(path, { readOnly: false }),
            )
          : await FileIO.open(path, { create: true, truncate: true });
  const base = io.path;
  let remove = !existed;
  const ctx: FormatCreateContext = {
    secrets: extra.secrets,
    unsafe: extra.unsafe,
    removeTarget: () => {
      remove = st === undefined || st.isFile(); // never a device node
    },
    openImage: (name, fmt) =>
      openImage(pathCombine(base, name), { format: fmt, readOnly: true, secrets: extra.secrets }),
    // Creating replaces an existing file, as qemu-img create does.
    openFile: (name, o) => FileIO.open(pathCombine(base, name), { ...o, truncate: o.create }),
  };
  try {
    await f.create(io, size, options, ctx);
    await io.flush();
  } catch (e) {
    // A failed create (bad option, missing backing file) leaves no new file behind.
    if (typeof path === "string" && remove) await unlink(path).catch(() => {});
    throw e;
  } finally {
    if (typeof path === "string") await io.close();
  }
}
