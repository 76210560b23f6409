// Domain snapshot XML ⇄ DomainSnapshotDef as libvirt 9.0 parses, aligns and prints it
// (snapshot_conf.c virDomainSnapshotDefParse / virDomainSnapshotAlignDisks / ...DefFormat).

import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, elements, formatElement, textContent } from "../../xml/index.js";
import { a, enumAttr, esc, parseRoot, XmlBuf } from "../network/conf-xml.js";
import { domainDisksOf } from "./domain-disks.js";
import {
  type DomainSnapshotDef,
  SNAPSHOT_LOCATIONS,
  SNAPSHOT_STATES,
  type SnapshotDisk,
  type SnapshotDomainDisk,
  type SnapshotFormatOptions,
  type SnapshotParseOptions,
  type SnapshotState,
} from "./types.js";

const D = ErrorDomain.DOMAIN_SNAPSHOT;
const unsupported = (msg: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, D, msg);

/** Parses `<domainsnapshot>` and aligns its disks with the domain's, as a driver's create does. */
export function parseDomainSnapshotXML(xml: string, opts: SnapshotParseOptions = {}): DomainSnapshotDef {
  const root = parseRoot(xml, "domainsnapshot", "(domain_snapshot)", D);
  const nameS = childText(root, "name");
  const desc = childText(root, "description");
  const def: DomainSnapshotDef = {
    name: nameS ?? "",
    description: desc || undefined,
    state: "nostate",
    creationTime: 0,
    disks: [],
  };
  if (opts.redefine) {
    // libvirt 9.0's order and codes (checked with python-libvirt on test:///default): the name
    // first (XML error), then creationTime (internal error, also when it is not a number), then
    // the state (XML error when missing, unsupported configuration when unknown).
    const xmlError = (msg: string) => virError(ErrorCode.XML_ERROR, D, msg);
    if (!nameS) throw xmlError("a redefined snapshot must have a name");
    const ct = childText(root, "creationTime");
    if (ct === undefined || !/^-?[0-9]+$/.test(ct.trim())) {
      throw virError(ErrorCode.INTERNAL_ERROR, D, "missing creationTime from existing snapshot");
    }
    def.creationTime = Number(ct.trim());
    const st = childText(root, "state");
    if (st === undefined) throw xmlError("missing state from existing snapshot");
    if (!(SNAPSHOT_STATES as readonly string[]).includes(st) || st === "nostate") {
      throw unsupported(`Invalid state '${st}' in domain snapshot XML`);
    }
    def.state = st as SnapshotState;
    const p = child(root, "parent");
    const pn = p ? childText(p, "name") : undefined;
    if (pn) def.parent = pn;
    def.domain = child(root, "domain");
    if (!def.domain) throw virError(ErrorCode.INTERNAL_ERROR, D, "missing domain in snapshot");
    def.inactiveDomain = child(root, "inactiveDomain");
    const act = childText(root, "active");
    if (act !== undefined) def.active = act.trim() === "1";
  } else {
    def.creationTime = opts.now ?? Math.floor(Date.now() / 1000);
    def.state = opts.domain?.state ?? "shutoff";
    def.domainXml = opts.domain?.xml;
  }
  if (!def.name) def.name = String(def.creationTime);

  const mem = child(root, "memory");
  if (mem) {
    const snap = enumAttr(mem, "snapshot", SNAPSHOT_LOCATIONS);
    const file = attr(mem, "file");
    if (snap === undefined && file === undefined) {
      // libvirt keeps the default location; nothing to record.
    } else {
      if (file !== undefined && snap !== undefined && snap !== "external") {
        throw unsupported(`memory filename '${file}' requires external snapshot`);
      }
      def.memory = { snapshot: snap ?? "external", file };
    }
  }
  const disks = child(root, "disks");
  if (disks) {
    for (const d of elements(disks, "disk")) {
      const name = attr(d, "name");
      if (name === undefined)
        throw virError(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "missing name from disk snapshot element");
      const sd: SnapshotDisk = { name, snapshot: enumAttr(d, "snapshot", SNAPSHOT_LOCATIONS) };
      const src = child(d, "source");
      if (src) {
        sd.type = attr(d, "type") ?? "file";
        sd.sourceFile = attr(src, "file") ?? attr(src, "dev");
        if (sd.snapshot === undefined) sd.snapshot = "external";
      }
      const drv = child(d, "driver");
      if (drv) sd.driverType = attr(drv, "type");
      def.disks.push(sd);
    }
  }
  const running = def.state === "running" || def.state === "paused" || def.state === "blocked";
  if (opts.memoryFromState && !opts.redefine) def.memory = { snapshot: running ? "internal" : "no" };
  else if (!def.memory) def.memory = { snapshot: running ? "internal" : "no" };

  const domDisks = def.domain ? domainDisksOf(def.domain) : (opts.domain?.disks ?? []);
  alignDisks(def, domDisks, opts);
  void textContent;
  return def;
}

/** virDomainSnapshotAlignDisks: map listed disks onto the domain's, fill in the rest, sort by domain order. */
function alignDisks(
  def: DomainSnapshotDef,
  domDisks: SnapshotDomainDisk[],
  opts: SnapshotParseOptions,
): void {
  const dflt = def.memory?.snapshot === "external" ? "external" : (opts.defaultLocation ?? "internal");
  if (def.disks.length > domDisks.length) throw unsupported("too many disk snapshot requests for domain");
  const used = new Map<number, SnapshotDisk>();
  for (const sd of def.disks) {
    let idx = domDisks.findIndex((d) => d.dst === sd.name);
    if (idx < 0) idx = domDisks.findIndex((d) => d.source !== undefined && d.source === sd.name);
    if (idx < 0) throw unsupported(`no disk named '${sd.name}'`);
    if (used.has(idx)) throw unsupported(`disk '${sd.name}' specified twice`);
    const dd = domDisks[idx]!;
    if (sd.snapshot === undefined) sd.snapshot = dd.snapshot ?? (dd.readonly ? "no" : dflt);
    else if (opts.requireMatch && sd.snapshot !== dflt) {
      throw unsupported(`disk '${sd.name}' must use snapshot mode '${dflt}'`);
    }
    sd.name = dd.dst;
    used.set(idx, sd);
  }
  const out: SnapshotDisk[] = [];
  domDisks.forEach((dd, i) => {
    out.push(used.get(i) ?? { name: dd.dst, snapshot: dd.snapshot ?? (dd.readonly ? "no" : dflt) });
  });
  def.disks = out;
}

/** Formats a snapshot as `virsh snapshot-dumpxml` shows it, embedding the domain indented. */
export function formatDomainSnapshotXML(def: DomainSnapshotDef, opts: SnapshotFormatOptions = {}): string {
  const buf = new XmlBuf();
  buf.line("<domainsnapshot>");
  buf.indent();
  buf.line(`<name>${esc(def.name)}</name>`);
  if (def.description) buf.line(`<description>${esc(def.description)}</description>`);
  buf.line(`<state>${def.state}</state>`);
  if (def.parent) {
    buf.line("<parent>");
    buf.indent();
    buf.line(`<name>${esc(def.parent)}</name>`);
    buf.dedent();
    buf.line("</parent>");
  }
  buf.line(`<creationTime>${def.creationTime}</creationTime>`);
  if (def.memory) buf.line(`<memory snapshot='${def.memory.snapshot}'${a("file", def.memory.file)}/>`);
  if (def.disks.length) {
    buf.line("<disks>");
    buf.indent();
    for (const d of def.disks) {
      const open = `<disk${a("name", d.name)}${a("snapshot", d.snapshot)}`;
      if (d.sourceFile === undefined && d.driverType === undefined) {
        buf.line(`${open}/>`);
        continue;
      }
      buf.line(`${open}${a("type", d.type ?? "file")}>`);
      buf.indent();
      // libvirt prints the format before the source (virDomainSnapshotDiskDefFormat).
      if (d.driverType !== undefined) buf.line(`<driver${a("type", d.driverType)}/>`);
      if (d.sourceFile !== undefined)
        buf.line(`<source${a(d.type === "block" ? "dev" : "file", d.sourceFile)}/>`);
      buf.dedent();
      buf.line("</disk>");
    }
    buf.dedent();
    buf.line("</disks>");
  }
  // The embedded copy carries no runtime id: libvirt formats the snapshot's domain without one.
  if (def.domainXml !== undefined) buf.raw(def.domainXml.replace(/^(\s*<domain\b[^>]*?) id='[0-9]+'/, "$1"));
  else if (def.domain) {
    const dom = { ...def.domain, attrs: def.domain.attrs.filter(([k]) => k !== "id") };
    buf.raw(opts.formatDomain ? opts.formatDomain(dom) : formatElement(dom));
  }
  if (def.inactiveDomain) {
    // Printed like the domain, under the <inactiveDomain> name.
    const text = (opts.formatDomain ?? formatElement)({ ...def.inactiveDomain, name: "domain" });
    buf.raw(text.replace(/^<domain\b/, "<inactiveDomain").replace(/<\/domain>\n?$/, "</inactiveDomain>\n"));
  }
  if (opts.internal && def.active !== undefined) buf.line(`<active>${def.active ? 1 : 0}</active>`);
  buf.dedent();
  buf.line("</domainsnapshot>");
  return buf.toString();
}
