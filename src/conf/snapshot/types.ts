// Typed domain snapshot definition (libvirt's virDomainSnapshotDef, domainsnapshot.rng).

import type { XmlElement } from "../../xml/index.js";

export const SNAPSHOT_LOCATIONS = ["no", "internal", "external", "manual"] as const;
export type SnapshotLocation = (typeof SNAPSHOT_LOCATIONS)[number];

export const SNAPSHOT_STATES = [
  "nostate",
  "running",
  "blocked",
  "paused",
  "shutdown",
  "shutoff",
  "crashed",
  "pmsuspended",
  "disk-snapshot",
] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** The state a snapshot records for a domain's virDomainState: the first 8 names are that enum. */
export function snapshotStateOf(domainState: number): SnapshotState {
  return Number.isInteger(domainState) && domainState >= 0 && domainState < 8
    ? SNAPSHOT_STATES[domainState]!
    : "nostate";
}

/** One `<disks><disk>`: how that disk is captured. */
export interface SnapshotDisk {
  /** Target dev (post-parse canonicalises a source path to the dev name). */
  name: string;
  snapshot?: SnapshotLocation;
  /** External overlay: storage type and file, and its format. */
  type?: string;
  sourceFile?: string;
  driverType?: string;
}

export interface DomainSnapshotDef {
  name: string;
  description?: string;
  state: SnapshotState;
  parent?: string;
  /** Seconds since the epoch. */
  creationTime: number;
  memory?: { snapshot: SnapshotLocation; file?: string };
  disks: SnapshotDisk[];
  /** `<domain>` as it was when the snapshot was taken (parsed tree; redefine supplies it). */
  domain?: XmlElement;
  /** Already-formatted domain XML to embed (the driver's live XML at creation time). */
  domainXml?: string;
  inactiveDomain?: XmlElement;
  /** `<active>1</active>`: internal bookkeeping, printed only in the driver's own store. */
  active?: boolean;
}

/** What a snapshot needs to know about its domain: run state and disks (for disk alignment). */
export interface SnapshotDomainInfo {
  state: SnapshotState;
  disks: SnapshotDomainDisk[];
  /** Formatted domain XML (virDomainDefFormat of the live definition). */
  xml?: string;
}

export interface SnapshotDomainDisk {
  dst: string;
  source?: string;
  readonly?: boolean;
  /** `<disk snapshot=>` default the domain sets per disk. */
  snapshot?: SnapshotLocation;
}

export interface SnapshotParseOptions {
  /** The domain being snapshotted (required unless `redefine` with an embedded domain). */
  domain?: SnapshotDomainInfo;
  /** VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: take creationTime/state/parent/domain from the XML. */
  redefine?: boolean;
  /** Clock for creationTime and the default name (seconds); defaults to now. */
  now?: number;
  /** Location disks get by default (virDomainSnapshotAlignDisks default_snapshot). */
  defaultLocation?: "internal" | "external";
  /** Every listed disk must use the default location (the test driver's require_match). */
  requireMatch?: boolean;
  /** Test-driver behaviour: memory follows the domain state (internal when running, else no). */
  memoryFromState?: boolean;
}

export interface SnapshotFormatOptions {
  /** VIR_DOMAIN_SNAPSHOT_FORMAT_INTERNAL: also print `<active>`. */
  internal?: boolean;
  /**
   * Formats a parsed `<domain>` (redefined snapshots) the way the domain formatter would, e.g.
   * conf/domain's parse+format; without it the element is printed as parsed.
   */
  formatDomain?: (dom: XmlElement) => string;
}
