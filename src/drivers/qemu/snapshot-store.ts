// Snapshot metadata of the QEMU driver: each domain's snapshot tree in memory, and on disk one
// libvirt-format file per snapshot, <lib>/qemu/snapshot/<domain>/<snapshot>.xml (libvirt:
// /var/lib/libvirt/qemu/snapshot/<dom>/<name>.xml), written atomically, with `<active>` marking
// the current snapshot. Loaded at daemon start. Touches no disk image.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type DomainDef, formatDomainXML, parseDomainXML } from "../../conf/domain/index.js";
import { formatDomainSnapshotXML, parseDomainSnapshotXML } from "../../conf/snapshot/index.js";
import { XmlStore } from "../../state/index.js";
import { type SnapshotDef, SnapshotTree } from "../../state/snapshot-tree.js";
import { formatElement, type XmlElement } from "../../xml/index.js";
import type { QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

/** A snapshot as the QEMU driver keeps it: the domain it was taken of, live and persistent. */
export interface QemuSnapshot extends SnapshotDef {
  /** The persistent definition when the snapshot was taken of a running domain (`<inactiveDomain>`). */
  inactiveDom?: DomainDef;
}

export type QemuSnapshotTree = SnapshotTree<QemuSnapshot>;

const trees = new WeakMap<QemuDomain, QemuSnapshotTree>();

/** The domain's snapshot tree (empty until its first snapshot). */
export function snapshotsOf(d: QemuDomain): QemuSnapshotTree {
  let t = trees.get(d);
  if (!t) {
    t = new SnapshotTree<QemuSnapshot>();
    trees.set(d, t);
  }
  return t;
}

export function snapshotDir(st: QemuDriverState, domName: string): string {
  return join(st.opts.libDir, "qemu", "snapshot", domName);
}

/** virDomainSnapshotDefFormat: embedded domains printed inactive; the store adds `<active>`. */
export function formatQemuSnapshot(
  s: QemuSnapshot,
  o: { secure: boolean; internal?: boolean; current?: boolean },
): string {
  const domainXml = s.dom ? formatDomainXML(s.dom, { inactive: true, securityInfo: o.secure }) : undefined;
  const inactiveXml = s.inactiveDom
    ? formatDomainXML(s.inactiveDom, { inactive: true, securityInfo: o.secure })
    : undefined;
  const placeholder: XmlElement | undefined = inactiveXml
    ? { kind: "element", name: "inactiveDomain", attrs: [], children: [], line: 0 }
    : undefined;
  return formatDomainSnapshotXML(
    {
      ...s,
      domainXml,
      domain: domainXml ? undefined : s.domain,
      inactiveDomain: placeholder ?? (s.inactiveDom ? undefined : s.inactiveDomain),
      active: o.internal ? (o.current ?? false) : undefined,
    },
    {
      internal: o.internal,
      formatDomain: (e) => (placeholder && inactiveXml ? inactiveXml : formatElement(e)),
    },
  );
}

/**
 * Parses a `<domain>` embedded in snapshot XML. `parse` is the driver's own (QEMU post-parse,
 * as libvirt parses redefined snapshots with its xmlopt); the plain parser is the fallback, and
 * an element neither accepts is kept verbatim.
 */
export async function parseEmbeddedDomain(
  el: XmlElement | undefined,
  parse?: (xml: string) => Promise<DomainDef>,
): Promise<DomainDef | undefined> {
  if (!el) return undefined;
  const xml = formatElement({ ...el, name: "domain" });
  if (parse) {
    try {
      return await parse(xml);
    } catch {
      // fall through to the generic parser
    }
  }
  try {
    return parseDomainXML(xml, { noIfnames: true });
  } catch {
    return undefined;
  }
}

function storeOf(st: QemuDriverState, d: QemuDomain): XmlStore {
  return new XmlStore(snapshotDir(st, d.name));
}

/** qemuDomainSnapshotWriteMetadata: the snapshot's file, secure and with `<active>`. */
export async function writeSnapshotMetadata(
  st: QemuDriverState,
  d: QemuDomain,
  s: QemuSnapshot,
): Promise<void> {
  const current = snapshotsOf(d).current === s.name;
  await storeOf(st, d).save(s.name, formatQemuSnapshot(s, { secure: true, internal: true, current }));
}

export async function removeSnapshotMetadata(
  st: QemuDriverState,
  d: QemuDomain,
  name: string,
): Promise<void> {
  await rm(join(snapshotDir(st, d.name), `${name}.xml`), { force: true });
}

/** qemuDomainSnapshotDiscardAllMetadata: every file and the directory; the tree is emptied. */
export async function discardAllSnapshotMetadata(st: QemuDriverState, d: QemuDomain): Promise<void> {
  snapshotsOf(d).clear();
  await rm(snapshotDir(st, d.name), { recursive: true, force: true });
}

/**
 * qemuDomainSnapshotLoad: reads every `<name>.xml` of the domain's directory. A file that does
 * not parse is reported and skipped; parents that are missing make their children roots.
 */
export async function loadSnapshots(
  st: QemuDriverState,
  d: QemuDomain,
  parse?: (xml: string) => Promise<DomainDef>,
): Promise<string[]> {
  const dir = snapshotDir(st, d.name);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(".xml") && !f.includes(".new-")).sort();
  } catch {
    return [];
  }
  const problems: string[] = [];
  const tree = snapshotsOf(d);
  const store = new XmlStore(dir);
  const currents: string[] = [];
  for (const f of files) {
    const xml = await store.load(f.slice(0, -4));
    if (xml === undefined) continue;
    try {
      const def: QemuSnapshot = parseDomainSnapshotXML(xml, { redefine: true });
      def.dom = await parseEmbeddedDomain(def.domain, parse);
      def.inactiveDom = await parseEmbeddedDomain(def.inactiveDomain, parse);
      if (def.active) currents.push(def.name);
      def.active = undefined;
      tree.add(def);
    } catch (e) {
      problems.push(`${d.name}/${f}: ${(e as Error).message}`);
    }
  }
  for (const s of tree.all()) if (s.parent !== undefined && !tree.get(s.parent)) s.parent = undefined;
  // libvirt keeps the last one it read when several claim to be current.
  if (currents.length) tree.current = currents[currents.length - 1];
  return problems;
}
