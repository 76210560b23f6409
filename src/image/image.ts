// The format-independent view of an open disk image, and the capability interfaces that only
// some formats have. tsvirt-img, the storage driver and convert all work through these types.

import type { BlockIO } from "./block-io.js";

export type FormatName = "raw" | "qcow2" | "qcow" | "cow" | "vmdk" | "vdi";

/** Status of a guest-visible range, as `qemu-img map` reports it. */
export interface MapExtent {
  start: number;
  length: number;
  /** True when the range reads as data (from this image or a backing file). */
  data: boolean;
  /** True when the range reads as zeros. */
  zero: boolean;
  /** True when some layer of the chain defines the range (qemu-img map "present"). */
  present?: boolean;
  /** Depth in the backing chain where the data lives (0 = this image). */
  depth: number;
  /** Host offset in the file holding it, when it is stored uncompressed at a fixed place. */
  offset?: number;
  /** Path of the file holding the data, when known. */
  filename?: string;
  compressed?: boolean;
}

export interface Image {
  readonly format: FormatName;
  readonly io: BlockIO;
  /** Guest-visible size in bytes. */
  readonly virtualSize: number;
  readonly readOnly: boolean;
  /** Reads guest bytes [offset, offset+buf.length); past virtualSize is an error. */
  read(offset: number, buf: Uint8Array): Promise<void>;
  write(offset: number, buf: Uint8Array): Promise<void>;
  /**
   * Writes one whole cluster compressed (qemu-img convert -c). `offset` is cluster-aligned and
   * `data` one cluster long (shorter only for the image's last cluster). Only formats with
   * compressed clusters have it.
   */
  writeCompressed?(offset: number, data: Uint8Array): Promise<void>;
  /** Marks a guest range as reading zeros, deallocating where the format allows. */
  writeZeroes?(offset: number, length: number, opts?: { mayUnmap?: boolean }): Promise<void>;
  /** Allocation status of [offset, offset+length), extents covering the range in order. */
  blockStatus(offset: number, length: number): Promise<MapExtent[]>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Format-specific `qemu-img info` fields ("format-specific" in --output=json). */
  info(): Promise<ImageInfo>;
  resizable?: Resizable;
  backing?: BackingChain;
  snapshots?: InternalSnapshots;
  checker?: Checkable;
}

export interface ImageInfo {
  virtualSize: number;
  clusterSize?: number;
  backingFilename?: string;
  fullBackingFilename?: string;
  backingFilenameFormat?: string;
  dirtyFlag?: boolean;
  encrypted?: boolean;
  /** `format-specific` object as qemu-img --output=json prints it: { type, data }. */
  formatSpecific?: { type: string; data: Record<string, unknown> };
}

export interface Resizable {
  resize(newSize: number, opts?: { shrink?: boolean; preallocation?: string }): Promise<void>;
}

export interface BackingChain {
  /** Backing file as written in the header (may be relative), or undefined. */
  readonly backingFile?: string;
  readonly backingFormat?: string;
  /** The opened backing image, when opened with a chain. */
  readonly backingImage?: Image;
  /** Rewrites the backing file name/format in the header (rebase -u). */
  setBacking(file: string | undefined, format: string | undefined): Promise<void>;
}

export interface SnapshotInfo {
  id: string;
  name: string;
  vmStateSize: number;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  icount?: number;
}

export interface InternalSnapshots {
  list(): Promise<SnapshotInfo[]>;
  create(name: string): Promise<void>;
  apply(nameOrId: string): Promise<void>;
  delete(nameOrId: string): Promise<void>;
}

export interface CheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  corruptionsFixed: number;
  leaksFixed: number;
  imageEndOffset?: number;
  totalClusters?: number;
  allocatedClusters?: number;
  fragmentedClusters?: number;
  compressedClusters?: number;
  /** Human messages in qemu-img's wording ("Leaked cluster 5 refcount=1 reference=0"). */
  messages: string[];
}

export interface Checkable {
  check(opts?: { repair?: "leaks" | "all" }): Promise<CheckResult>;
}
