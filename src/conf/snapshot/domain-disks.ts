// Reads the disk list a snapshot aligns against out of domain XML: target dev, source path,
// readonly flag and per-disk snapshot default. A private reader so snapshots do not depend on
// the full domain parser; only these few fields matter for virDomainSnapshotAlignDisks.

import { attr, child, elements, parseXml, type XmlElement } from "../../xml/index.js";
import { SNAPSHOT_LOCATIONS, type SnapshotDomainDisk, type SnapshotLocation } from "./types.js";

export function domainDisksOf(dom: XmlElement): SnapshotDomainDisk[] {
  const devices = child(dom, "devices");
  if (!devices) return [];
  const out: SnapshotDomainDisk[] = [];
  for (const d of elements(devices, "disk")) {
    const t = child(d, "target");
    const dst = t ? attr(t, "dev") : undefined;
    if (dst === undefined) continue;
    const s = child(d, "source");
    const source = s ? (attr(s, "file") ?? attr(s, "dev") ?? attr(s, "dir") ?? attr(s, "name")) : undefined;
    const snap = attr(d, "snapshot");
    out.push({
      dst,
      source,
      readonly: child(d, "readonly") !== undefined,
      snapshot: (SNAPSHOT_LOCATIONS as readonly string[]).includes(snap ?? "")
        ? (snap as SnapshotLocation)
        : undefined,
    });
  }
  return out;
}

/** Disk list from formatted domain XML. */
export function domainDisksOfXml(xml: string): SnapshotDomainDisk[] {
  return domainDisksOf(parseXml(xml));
}
