// Splits a QMP byte stream into lines (QEMU ends each JSON message with "\r\n", qapi/qmp-spec).
// Memory stays bounded: a line longer than the cap is an error, never buffered further.

/** libvirt caps a monitor reply at 10 MiB (QEMU_MONITOR_MAX_RESPONSE); we do the same by default. */
export const DEFAULT_MAX_LINE = 10 * 1024 * 1024;

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`QEMU monitor reply exceeds buffer size (${limit} bytes)`);
    this.name = "LineTooLongError";
  }
}

export class LineDecoder {
  private parts: Buffer[] = [];
  private partLen = 0;
  private failed = false;

  constructor(private readonly maxLine = DEFAULT_MAX_LINE) {}

  /**
   * Feeds bytes; returns the complete lines (without "\r\n"/"\n"), decoded as UTF-8.
   * Throws LineTooLongError once a pending line exceeds the cap; the decoder then stays failed.
   */
  push(chunk: Buffer): string[] {
    if (this.failed) throw new LineTooLongError(this.maxLine);
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.partLen + piece.length > this.maxLine) return this.fail();
      let line: Buffer;
      if (this.parts.length > 0) {
        this.parts.push(piece);
        line = Buffer.concat(this.parts, this.partLen + piece.length);
        this.parts = [];
        this.partLen = 0;
      } else {
        line = piece;
      }
      let end = line.length;
      if (end > 0 && line[end - 1] === 0x0d) end--;
      if (end > 0) lines.push(line.toString("utf8", 0, end));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.partLen + rest.length > this.maxLine) return this.fail();
      // Copy: the caller may reuse its buffer.
      this.parts.push(Buffer.from(rest));
      this.partLen += rest.length;
    }
    return lines;
  }

  /** Bytes held for an unfinished line. */
  get pending(): number {
    return this.partLen;
  }

  private fail(): never {
    this.failed = true;
    this.parts = [];
    this.partLen = 0;
    throw new LineTooLongError(this.maxLine);
  }
}
