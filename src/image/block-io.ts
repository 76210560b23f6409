// BlockIO: positional, sparse-aware byte storage under every image format. Formats never touch
// files directly, so the same code runs over a file, a block device or memory (tests, fuzzing).

export interface BlockIO {
  /** Reads exactly buf.length bytes at `offset`; bytes past the end read as zero. */
  read(offset: number, buf: Uint8Array): Promise<void>;
  /** Writes all of buf at `offset`, growing the storage when needed. */
  write(offset: number, buf: Uint8Array): Promise<void>;
  /** Current length in bytes. */
  size(): Promise<number>;
  /** Sets the length (grow leaves a hole where the storage supports holes). */
  truncate(length: number): Promise<void>;
  /** Makes written data durable. */
  flush(): Promise<void>;
  /**
   * Deallocates a byte range so it reads as zero and takes no space (punch hole). Optional:
   * where absent, callers write zeros instead.
   */
  discard?(offset: number, length: number): Promise<void>;
  /**
   * Makes a byte range read as zero without writing zero bytes, keeping it allocated where the
   * storage can (fallocate ZERO_RANGE). Optional, and may answer false (unsupported here): then
   * callers write zeros.
   */
  zeroRange?(offset: number, length: number): Promise<boolean>;
  /** Reserves storage for a range (fallocate mode 0, may grow); false when unsupported. */
  preallocate?(offset: number, length: number): Promise<boolean>;
  /**
   * Allocated (data) ranges intersecting [offset, offset+length), in order. Optional: where
   * absent, the whole range counts as data.
   */
  dataRanges?(offset: number, length: number): Promise<{ offset: number; length: number }[]>;
  /**
   * The stored bytes [offset, offset+length) in place, without copying them into a buffer (a
   * read-only file mapping), or undefined when this storage cannot (then read()). The view is
   * valid until release(), which throws if the bytes changed under it (the file shrank).
   */
  view?(offset: number, length: number): Promise<{ data: Uint8Array; release(): void } | undefined>;
  /** Bytes actually allocated on the host (st_blocks*512 for files). */
  allocatedBytes?(): Promise<number>;
  close(): Promise<void>;
  readonly readOnly: boolean;
  /** Path for messages and relative backing-file resolution; undefined for memory. */
  readonly path?: string;
}
