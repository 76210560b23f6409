// ImageError: the image layer's own error (kind + path + offset + cause). The storage driver
// wraps it into a VirError at its boundary; tsvirt-img prints it qemu-img style.

export type ImageErrorKind =
  | "io" // the underlying file failed
  | "format" // the bytes are not a valid image of the claimed format (bad magic, header field)
  | "corrupt" // metadata is inconsistent (tables past EOF, overlapping clusters)
  | "unsupported" // valid, but a feature we do not implement (e.g. zstd compression)
  | "invalid-argument" // caller asked for something impossible (bad size, bad option)
  | "not-found" // file, snapshot or backing file missing
  | "read-only" // write attempted on a read-only image
  | "encrypted"; // a key is needed or was wrong

export class ImageError extends Error {
  readonly kind: ImageErrorKind;
  readonly path?: string;
  readonly offset?: number;
  /** Guest offset where a read or write request failed (what qemu-img names in its messages). */
  readonly guestOffset?: number;
  override readonly cause?: unknown;

  constructor(
    kind: ImageErrorKind,
    message: string,
    ctx: { path?: string; offset?: number; guestOffset?: number; cause?: unknown } = {},
  ) {
    super(message);
    this.name = "ImageError";
    this.kind = kind;
    this.path = ctx.path;
    this.offset = ctx.offset;
    this.guestOffset = ctx.guestOffset;
    this.cause = ctx.cause;
  }
}

export function isImageError(e: unknown): e is ImageError {
  return e instanceof ImageError;
}

/**
 * qcow2 metadata that cannot be right (qemu's qcow2_signal_corruption): the request fails with
 * EIO, and the first such event of an image prints `notice` on stderr (qemu's own line, before
 * the command's error; later events of the same image are suppressed).
 */
export class CorruptionError extends ImageError {
  constructor(
    readonly notice: string | undefined,
    ctx: { path?: string; offset?: number; guestOffset?: number } = {},
  ) {
    super("io", "Input/output error", ctx);
  }
}
