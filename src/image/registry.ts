// Format registry: each image format registers how to probe, open and create it, so openImage()
// and tsvirt-img dispatch by name without knowing concrete formats. The built-in formats are
// registered here as stand-ins that import a format's code when it is first used.

import type { BlockIO } from "./block-io.js";
import { ImageError } from "./errors.js";
import type { FormatName, Image } from "./image.js";

/** Secrets by id, as qemu's `--object secret,id=sec0,data=…` provides them. */
export type SecretMap = Record<string, string | Uint8Array>;

export interface FormatOpenOptions {
  readOnly: boolean;
  /** Open backing files (default true); false leaves unallocated ranges reading zeros. */
  backingChain: boolean;
  secrets?: SecretMap;
  /**
   * Opens a backing file named in a header. `name` is resolved relative to the image's
   * directory; `format` is the header's backing format (probed when absent).
   */
  openBacking(name: string, format: string | undefined): Promise<Image>;
  /** Opens an auxiliary file (external data file, extent) relative to the image. */
  openFile(name: string, opts: { readOnly: boolean; create?: boolean }): Promise<BlockIO>;
  /** Set only for options parsed from a `json:` or `-o` string. */
  options?: Record<string, string>;
}

export interface FormatCreateContext {
  secrets?: SecretMap;
  /** qemu-img create -u: the backing file is recorded without being opened (the size is given). */
  unsafe?: boolean;
  /** Asks that a failed create delete the target even when it existed before (as qemu's qcow2). */
  removeTarget?(): void;
  /** Opens an existing image (e.g. the backing file to learn its size/format). */
  openImage(name: string, format: string | undefined): Promise<Image>;
  openFile(name: string, opts: { readOnly: boolean; create?: boolean }): Promise<BlockIO>;
}

export interface ImageFormat {
  name: FormatName;
  /**
   * Higher-precedence probe than the built-in magic table: returns true when the header is
   * this format. Optional (the magic table in probe.ts already knows every built-in format).
   */
  probe?(head: Uint8Array): boolean;
  open(io: BlockIO, opts: FormatOpenOptions): Promise<Image>;
  /**
   * Writes a new, empty image of `size` bytes into `io` (already created, empty). `size` may be
   * undefined only when a backing file gives it. Options are qemu-img's `-o` keys.
   */
  create(
    io: BlockIO,
    size: number | undefined,
    options: Record<string, string>,
    ctx: FormatCreateContext,
  ): Promise<void>;
}

const formats = new Map<string, ImageFormat>();
/** Built-in formats: probe.ts's magic table decides for them, whether their code is loaded or not. */
const tabled = new Set<string>();

export function registerFormat(f: ImageFormat): void {
  formats.set(f.name, f);
}

/**
 * Registers a format whose implementation is imported on first open/create: `load` imports the
 * module that calls registerFormat() with the real entry, which then replaces this stand-in.
 * Keeps start-up (tsvirt-img info) from loading every format's code. A format registered
 * already (its module was imported directly) is left as it is. The stand-in has no probe():
 * the magic table in probe.ts recognises every built-in format.
 */
export function registerLazyFormat(name: FormatName, load: () => Promise<unknown>): void {
  tabled.add(name);
  if (formats.has(name)) return;
  let real: Promise<ImageFormat> | undefined;
  const resolve = (): Promise<ImageFormat> =>
    (real ??= load().then(() => {
      const f = formats.get(name);
      if (!f || f === stub) throw new ImageError("unsupported", `Unknown driver '${name}'`);
      return f;
    }));
  const stub: ImageFormat = {
    name,
    open: async (io, opts) => (await resolve()).open(io, opts),
    create: async (io, size, options, ctx) => (await resolve()).create(io, size, options, ctx),
  };
  formats.set(name, stub);
}

export function getFormat(name: string): ImageFormat {
  const f = formats.get(name);
  if (!f) throw new ImageError("unsupported", `Unknown driver '${name}'`);
  return f;
}

export function hasFormat(name: string): boolean {
  return formats.has(name);
}

export function listFormats(): ImageFormat[] {
  return [...formats.values()];
}

/** Formats whose own probe() runs before the magic table (those not built in). */
export function probingFormats(): ImageFormat[] {
  return [...formats.values()].filter((f) => f.probe && !tabled.has(f.name));
}

// The formats built into the image layer, each imported on first open/create of its kind.
registerLazyFormat("raw", () => import("./formats/raw/index.js"));
registerLazyFormat("qcow2", () => import("./formats/qcow2/index.js"));
registerLazyFormat("qcow", () => import("./formats/qcow/index.js"));
registerLazyFormat("cow", () => import("./formats/cow/index.js"));
registerLazyFormat("vmdk", () => import("./formats/vmdk/index.js"));
registerLazyFormat("vdi", () => import("./formats/vdi/index.js"));
