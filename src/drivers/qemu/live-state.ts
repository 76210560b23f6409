// What a start adds to the live definition of a QEMU domain besides device aliases, as libvirtd
// 9.0 shows it in `virsh dumpxml` of a running guest (tests/qemu-live-xml-diff.test.ts compares
// with a private libvirtd running the same XML):
//  - `<resource><partition>/machine</partition></resource>`: the machine partition a guest is
//    placed in when its XML names none;
//  - the DAC security label of the account QEMU runs as (`+UID:+GID` for both the process and its
//    images), as a dynamic `model='dac'` seclabel when the XML gives no DAC label of its own;
//  - the disks' storage node numbers (`<source index='N'>`, one per disk, counted over the disks
//    from the last to the first), and the terminated backing chain (`<backingStore/>`) of an image
//    without a backing file; an empty drive (no medium) shows no image format.
// The live XML is saved in the status file and parsed again after a daemon restart; the parser
// keeps no source index, so collectLiveState/restoreLiveState carry them beside it.
import { statSync } from "node:fs";
import { fillLiveListenAddress } from "../../conf/domain/devices/graphics.js";
import type { DiskDef, DomainDef } from "../../conf/domain/index.js";
import { attr, child, el, elements, type XmlElement } from "../../xml/index.js";

export interface LiveStateOptions {
  /** The account QEMU runs as (the daemon's own). */
  uid: number;
  gid: number;
}

/** Adds, in place, what libvirt's start adds to the live definition (see the file comment). */
export async function applyLiveState(def: DomainDef, o: LiveStateOptions): Promise<void> {
  implicitDac.delete(def.uuid);
  addResourcePartition(def);
  addDacLabel(def, o);
  await numberDiskSources(def);
}

function addResourcePartition(def: DomainDef): void {
  const res = def.extra.resource?.[0];
  if (!res) {
    def.extra.resource = [el("resource", {}, el("partition", {}, "/machine"))];
    return;
  }
  if (!child(res, "partition")) res.children.unshift(el("partition", {}, "/machine"));
}

function addDacLabel(def: DomainDef, o: LiveStateOptions): void {
  const labels = def.extra.seclabel ?? [];
  const label = `+${o.uid}:+${o.gid}`;
  // a DAC label of the XML's own stays, a dynamic one labelled with QEMU's account (a 'none'
  // model's label does not stand for DAC)
  const own = labels.filter((l) => attr(l, "model") === "dac");
  for (const l of own) {
    if (attr(l, "type") === "dynamic" && attr(l, "relabel") !== "no" && elements(l).length === 0)
      l.children = [el("label", {}, label), el("imagelabel", {}, label)];
  }
  if (own.length) return;
  implicitDac.add(def.uuid);
  def.extra.seclabel = [
    ...labels,
    el(
      "seclabel",
      [
        ["type", "dynamic"],
        ["model", "dac"],
        ["relabel", "yes"],
      ],
      el("label", {}, label),
      el("imagelabel", {}, label),
    ),
  ];
}

/** Running domains (by UUID) whose DAC label addDacLabel gave (not their XML). */
const implicitDac = new Set<string>();

/**
 * True for the seclabel addDacLabel gave the running domain `def` is a copy of, with its labels or
 * as the inactive copy shows it (without them): `dumpxml --migratable` leaves it out, as libvirt
 * does its implicit one. A DAC label the domain's XML gave is kept.
 */
export function isImplicitDacLabel(def: DomainDef, l: XmlElement): boolean {
  if (!implicitDac.has(def.uuid)) return false;
  if (attr(l, "type") !== "dynamic" || attr(l, "model") !== "dac" || attr(l, "relabel") !== "yes")
    return false;
  const kids = elements(l);
  if (kids.length === 0) return true;
  const text = (n: string) => {
    const e = kids.find((k) => k.name === n);
    return e ? e.children.map((c) => (c.kind === "text" ? c.text : "")).join("") : undefined;
  };
  const label = text("label");
  return (
    kids.length === 2 && label !== undefined && /^\+\d+:\+\d+$/.test(label) && text("imagelabel") === label
  );
}

/** A drive without a medium: no `<source>`, or one naming no image. */
function isEmpty(d: DiskDef): boolean {
  if (!d.source) return true;
  if (d.type === "file") return attr(d.source, "file") === undefined;
  if (d.type === "block") return attr(d.source, "dev") === undefined;
  return false;
}

/** One image below a disk's top image: where it is and its format. */
interface BackingImage {
  path: string;
  format: string;
  block: boolean;
}

/** Formats whose header may name a backing file. */
const BACKED_FORMATS = new Set(["qcow2", "qcow", "qed", "vmdk"]);

/**
 * The backing chain below a local image, read from the image headers (libvirt's
 * qemuDomainDetermineDiskChain). A chain that cannot be read stays unknown (undefined): QEMU then
 * reports what is wrong when it opens the image.
 */
async function backingChain(path: string, format: string): Promise<BackingImage[] | undefined> {
  if (!BACKED_FORMATS.has(format)) return [];
  // the image code loads only when a disk can have a backing file (not on the daemon's start path)
  const { MAX_BACKING_DEPTH, openImage, pathCombine } = await import("../../image/open.js");
  const out: BackingImage[] = [];
  let cur = path;
  let fmt = format;
  for (let depth = 0; BACKED_FORMATS.has(fmt); depth++) {
    if (depth > MAX_BACKING_DEPTH) return undefined;
    let next: { file?: string; format?: string };
    try {
      const img = await openImage(cur, { format: fmt, readOnly: true, backingChain: false });
      next = { file: img.backing?.backingFile, format: img.backing?.backingFormat };
      await img.close();
    } catch {
      return undefined;
    }
    if (next.file === undefined) break;
    cur = pathCombine(cur, next.file);
    // an unnamed backing format: libvirt takes such an image as raw (it probes no formats)
    fmt = next.format ?? "raw";
    let block = false;
    try {
      block = statSync(cur).isBlockDevice();
    } catch {
      return undefined;
    }
    out.push({ path: cur, format: fmt, block });
  }
  return out;
}

/** `<backingStore>` elements for a chain, numbered from `next`, ending in `<backingStore/>`. */
function chainElement(chain: BackingImage[], next: () => number): XmlElement {
  let inner = el("backingStore");
  const ids = chain.map(() => next());
  for (let i = chain.length - 1; i >= 0; i--) {
    const b = chain[i]!;
    inner = el(
      "backingStore",
      [
        ["type", b.block ? "block" : "file"],
        ["index", String(ids[i])],
      ],
      el("format", { type: b.format }),
      el("source", b.block ? { dev: b.path } : { file: b.path }),
      inner,
    );
  }
  return inner;
}

/**
 * Numbers the disks' storage sources as libvirt 9.0 does at start: one number per disk (an empty
 * drive's too), from the last disk to the first, then the backing images of each chain, again from
 * the last disk. Disks whose XML gives a `<backingStore>` keep it as given, its images numbered
 * right after their disk's top image.
 */
async function numberDiskSources(def: DomainDef): Promise<void> {
  const disks = def.devices.disks;
  let n = 1;
  const next = () => n++;
  const chains: [DiskDef, BackingImage[]][] = [];
  const given = new Set<string>();
  givenChains.set(def.uuid, given);
  for (let i = disks.length - 1; i >= 0; i--) {
    const d = disks[i]!;
    const id = next();
    if (isEmpty(d)) {
      // no medium, no image format (the persistent definition keeps the one it was given)
      if (d.driver && attr(d.driver, "type") === "raw" && d.type === "file")
        d.driver.attrs = d.driver.attrs.filter(([k]) => k !== "type");
      continue;
    }
    if (!d.source || (d.type !== "file" && d.type !== "block")) continue;
    d.source.attrs = [...d.source.attrs.filter(([k]) => k !== "index"), ["index", String(id)]];
    if (d.backingStore) {
      // a chain the XML gives: its images right after their disk's top image
      numberGivenChain(d.backingStore, next);
      given.add(d.target.dev);
      continue;
    }
    const path = attr(d.source, d.type === "file" ? "file" : "dev");
    const format = d.driver ? attr(d.driver, "type") : undefined;
    const chain = path !== undefined && format !== undefined ? await backingChain(path, format) : undefined;
    if (chain === undefined) continue;
    chains.push([d, chain]);
  }
  for (const [d, chain] of chains) d.backingStore = chainElement(chain, next);
  sourceCounters.set(def.uuid, n - 1);
}

/**
 * The last storage source number each running domain used, by UUID (libvirt's per-domain node
 * name index): a disk attached later, or a new medium, continues from it; numbers of detached
 * disks are not given again.
 */
const sourceCounters = new Map<string, number>();

/**
 * The disks (target dev) of each running domain, by UUID, whose `<backingStore>` chain their XML
 * gave: --migratable keeps those (without numbers), while a chain read from the images is left out.
 */
const givenChains = new Map<string, Set<string>>();

/** For the migratable copy of a running domain's definition: the numbers of the chains its XML gave go. */
export function stripGivenChainNumbers(def: DomainDef): void {
  const given = givenChains.get(def.uuid);
  if (!given) return;
  for (const d of def.devices.disks) {
    if (!given.has(d.target.dev)) continue;
    for (let b = d.backingStore; b; b = child(b, "backingStore"))
      b.attrs = b.attrs.filter(([k]) => k !== "index");
  }
}

/** The highest source number `def` shows (a status file written before the counter was kept). */
function highestIndex(def: DomainDef): number {
  let max = 0;
  const see = (e: XmlElement | undefined) => {
    const v = e ? attr(e, "index") : undefined;
    if (v !== undefined && /^\d+$/.test(v)) max = Math.max(max, Number(v));
  };
  for (const d of def.devices.disks) {
    see(d.source);
    for (let b = d.backingStore; b; b = child(b, "backingStore")) see(b);
  }
  return max;
}

/** Numbers, in place, the images of a `<backingStore>` chain an attached disk's XML gives (from the top down). */
function numberGivenChain(bs: XmlElement | undefined, next: () => number): void {
  for (let b = bs; b && attr(b, "type") !== undefined; b = child(b, "backingStore")) {
    const attrs = b.attrs.filter(([k]) => k !== "index");
    const at = attrs.findIndex(([k]) => k === "type") + 1;
    b.attrs = [...attrs.slice(0, at), ["index", String(next())], ...attrs.slice(at)];
  }
}

/**
 * Numbers the storage sources of a disk attached to (or a medium inserted into) running domain
 * `def`, as libvirt 9.0's hotplug does; returns the top image's number (for its QEMU node names).
 * libvirt reads the backing chain first, numbering its images, then numbers the whole chain again
 * from the top image: a chain of k images below the top uses 2k+1 numbers, the first k unseen.
 * An empty drive or a non-local disk uses one number and shows none; a `<backingStore>` the XML
 * gives is kept, its images numbered after the top one.
 */
export async function numberAttachedDisk(def: DomainDef, disk: DiskDef): Promise<number> {
  let n = sourceCounters.get(def.uuid) ?? highestIndex(def);
  const next = () => ++n;
  const local =
    !isEmpty(disk) && disk.source !== undefined && (disk.type === "file" || disk.type === "block");
  let chain: BackingImage[] | undefined;
  if (local && !disk.backingStore) {
    const path = attr(disk.source!, disk.type === "file" ? "file" : "dev");
    const format = disk.driver ? attr(disk.driver, "type") : undefined;
    chain = path !== undefined && format !== undefined ? await backingChain(path, format) : undefined;
    for (const _ of chain ?? []) next();
  }
  const top = next();
  if (local) {
    disk.source!.attrs = [...disk.source!.attrs.filter(([k]) => k !== "index"), ["index", String(top)]];
    if (chain !== undefined) disk.backingStore = chainElement(chain, next);
    // a chain the XML gives is not read again, but its images are numbered after the top one
    else numberGivenChain(disk.backingStore, next);
  }
  let given = givenChains.get(def.uuid);
  if (!given) givenChains.set(def.uuid, (given = new Set()));
  if (local && chain === undefined && disk.backingStore) given.add(disk.target.dev);
  else given.delete(disk.target.dev);
  sourceCounters.set(def.uuid, n);
  return top;
}

/** What of a live definition its status file must keep beside the XML (the parser drops it). */
export interface SavedLiveState {
  /** target dev → `<source index>` */
  diskIndexes: [string, string][];
  /** The controllers' order (type/index): a created domain's differs from a reparsed one's. */
  controllers?: string[];
  /** Each display's port= (an autoport display's is not in the inactive XML the file keeps). */
  graphicsPorts?: (string | null)[];
  /** Whether the DAC label was given by the start (not the XML). */
  implicitDac?: boolean;
  /** Each interface's host device (`<target dev>`; the parser drops generated vnetN names). */
  ifnames?: (string | null)[];
  /** The last storage source number used (hot-plugged disks continue from it). */
  sourceCounter?: number;
  /** Disks (target dev) whose backing chain the XML gave. */
  givenChains?: string[];
}

export function collectLiveState(def: DomainDef): SavedLiveState {
  const out: [string, string][] = [];
  for (const d of def.devices.disks) {
    const i = d.source ? attr(d.source, "index") : undefined;
    if (i !== undefined) out.push([d.target.dev, i]);
  }
  return {
    diskIndexes: out,
    controllers: def.devices.controllers.map((c) => `${c.type}/${c.index}`),
    graphicsPorts: def.devices.graphics.map((g) => g.attrs.find(([k]) => k === "port")?.[1] ?? null),
    implicitDac: implicitDac.has(def.uuid),
    ifnames: def.devices.interfaces.map((n) => n.target ?? null),
    sourceCounter: sourceCounters.get(def.uuid),
    givenChains: [...(givenChains.get(def.uuid) ?? [])],
  };
}

/**
 * After a daemon restart, on the live definition parsed again from the status file: the source
 * numbers, controller order, display ports and tap names collectLiveState saved, the DAC labels (the parser keeps no label
 * of a dynamic seclabel) and empty drives without an image format (post-parse gave them one).
 */
export function restoreLiveState(
  def: DomainDef,
  saved: Partial<SavedLiveState> | undefined,
  o: LiveStateOptions,
): void {
  for (const l of def.extra.seclabel ?? []) {
    if (attr(l, "type") !== "dynamic" || attr(l, "model") !== "dac" || elements(l).length > 0) continue;
    const label = `+${o.uid}:+${o.gid}`;
    l.children = [el("label", {}, label), el("imagelabel", {}, label)];
  }
  // (a drive whose medium was ejected has a number and keeps its format, as libvirt's does)
  const numbered = new Set(
    Array.isArray(saved?.diskIndexes)
      ? saved.diskIndexes.map((p) => (Array.isArray(p) ? p[0] : undefined))
      : [],
  );
  for (const d of def.devices.disks) {
    if (
      isEmpty(d) &&
      d.driver &&
      attr(d.driver, "type") === "raw" &&
      d.type === "file" &&
      !numbered.has(d.target.dev)
    )
      d.driver.attrs = d.driver.attrs.filter(([k]) => k !== "type");
  }
  if (!saved) return;
  if (saved.implicitDac === true) implicitDac.add(def.uuid);
  if (Array.isArray(saved.diskIndexes)) {
    const byDev = new Map<string, string>();
    for (const p of saved.diskIndexes as unknown[]) {
      if (Array.isArray(p) && typeof p[0] === "string" && typeof p[1] === "string" && /^\d+$/.test(p[1]))
        byDev.set(p[0], p[1]);
    }
    for (const d of def.devices.disks) {
      const i = byDev.get(d.target.dev);
      if (i === undefined || !d.source || attr(d.source, "index") !== undefined) continue;
      d.source.attrs.push(["index", i]);
    }
  }
  // a file without the counter: past every number the definition shows
  sourceCounters.set(
    def.uuid,
    Number.isSafeInteger(saved.sourceCounter) && saved.sourceCounter! >= 0
      ? saved.sourceCounter!
      : highestIndex(def),
  );
  if (Array.isArray(saved.givenChains))
    givenChains.set(def.uuid, new Set(saved.givenChains.filter((t): t is string => typeof t === "string")));
  if (Array.isArray(saved.ifnames)) {
    saved.ifnames.forEach((t, i) => {
      const n = def.devices.interfaces[i];
      if (n && n.target === undefined && typeof t === "string" && t !== "") n.target = t;
    });
  }
  if (Array.isArray(saved.graphicsPorts)) {
    saved.graphicsPorts.forEach((p, i) => {
      const g = def.devices.graphics[i];
      if (!g || typeof p !== "string" || !/^-?\d+$/.test(p)) return;
      if (g.attrs.some(([k]) => k === "port")) g.attrs = g.attrs.map(([k, v]) => [k, k === "port" ? p : v]);
      else g.attrs.unshift(["port", p]);
    });
  }
  if (Array.isArray(saved.controllers)) {
    const rank = new Map(saved.controllers.map((k, i) => [String(k), i]));
    const pos = (c: DomainDef["devices"]["controllers"][number]) =>
      rank.get(`${c.type}/${c.index}`) ?? rank.size;
    def.devices.controllers = def.devices.controllers
      .map((c, i) => [c, i] as const)
      .sort((a, b) => pos(a[0]) - pos(b[0]) || a[1] - b[1])
      .map((x) => x[0]);
  }
}

/** libvirt's per-run directory name of a domain: domain-ID-NAME, the name cut to 20 characters. */
export function runShortName(id: number, name: string): string {
  return `domain-${id}-${[...name].slice(0, 20).join("")}`;
}

/** A `<listen>` whose address the start filled in: graphics index, listen index, address, listen=. */
interface FilledListen {
  g: number;
  l: number;
  address: string;
  attr: boolean;
}

/** The listen addresses each running domain's start filled in, by UUID. */
const filledListens = new Map<string, FilledListen[]>();

const listensOf = (g: DomainDef["devices"]["graphics"][number]) =>
  g.children.filter((c) => c.name === "listen");

/**
 * At start: a display `<listen type='address'/>` without an address gets the one QEMU listens on
 * (fillLiveListenAddress); which ones were filled is remembered, because libvirt's --migratable
 * XML leaves such addresses (taken from qemu.conf) out again.
 */
export function fillListenAddresses(uuid: string, def: DomainDef, address: string): void {
  const filled: FilledListen[] = [];
  def.devices.graphics.forEach((g, gi) => {
    const before = listensOf(g).map((l) => attr(l, "address"));
    const hadAttr = g.attrs.some(([k]) => k === "listen");
    fillLiveListenAddress(g, address);
    listensOf(g).forEach((l, li) => {
      const a = attr(l, "address");
      if (before[li] === undefined && a !== undefined)
        filled.push({
          g: gi,
          l: li,
          address: a,
          attr: li === 0 && !hadAttr && g.attrs.some(([k]) => k === "listen"),
        });
    });
  });
  if (filled.length) filledListens.set(uuid, filled);
  else filledListens.delete(uuid);
}

/** A domain stopped: what its start added is forgotten. */
export function forgetLiveMarks(uuid: string): void {
  filledListens.delete(uuid);
  sourceCounters.delete(uuid);
  givenChains.delete(uuid);
  implicitDac.delete(uuid);
}

/** For the migratable copy of a running domain's definition: the filled-in addresses left out. */
export function stripFilledListens(def: DomainDef): void {
  for (const f of filledListens.get(def.uuid) ?? []) {
    const g = def.devices.graphics[f.g];
    const l = g ? listensOf(g)[f.l] : undefined;
    if (!g || !l || attr(l, "address") !== f.address) continue;
    l.attrs = l.attrs.filter(([k]) => k !== "address");
    if (f.attr) g.attrs = g.attrs.filter(([k, v]) => !(k === "listen" && v === f.address));
  }
}

/** The filled-in listen addresses of a running domain, for its status file. */
export function filledListensOf(uuid: string): FilledListen[] | undefined {
  return filledListens.get(uuid);
}

/** Remembers again, after a daemon restart, the filled-in addresses a status file kept. */
export function restoreFilledListens(uuid: string, saved: unknown): void {
  if (!Array.isArray(saved)) return;
  const ok = saved.filter(
    (f): f is FilledListen =>
      typeof f === "object" &&
      f !== null &&
      Number.isInteger((f as FilledListen).g) &&
      Number.isInteger((f as FilledListen).l) &&
      typeof (f as FilledListen).address === "string" &&
      typeof (f as FilledListen).attr === "boolean",
  );
  if (ok.length) filledListens.set(uuid, ok);
}
