// Format registry: each image format registers how to probe, open and create it, so openImage()
// and tsvirt-img dispatch by name without knowing concrete formats.

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

export function registerFormat(f: ImageFormat): void {
  formats.set(f.name, f);
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
