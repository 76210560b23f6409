// Test driver checkpoint slots: create (and redefine), list with tree filters, parent, lookup,
// XML (with or without the domain), delete with or without children; a checkpoint and a
// snapshot cannot coexist, as in libvirt's test driver.

import { type DomainDef, formatDomainXML, parseDomainXML } from "../../conf/domain/index.js";
import type { DomainCheckpointRef, HypervisorDriver } from "../../driver/index.js";
import {
  VIR_DOMAIN_CHECKPOINT_CREATE as C,
  VIR_DOMAIN_CHECKPOINT_DELETE as DEL,
  VIR_DOMAIN_CHECKPOINT_LIST as L,
  VIR_DOMAIN_CHECKPOINT_XML as X,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, child, childText, elements, escapeXml, formatElement, parseXml } from "../../xml/index.js";
import { findDomain, type TestCtx } from "./ctx.js";
import { checkDefCopyable, copyDef, domRef, isActive, type TestDomain } from "./domain-obj.js";
import { checkFlags, domainNotRunning, testError } from "./errors.js";

export interface CheckpointDef {
  name: string;
  description?: string;
  parent?: string;
  creationTime: number;
  disks: { name: string; checkpoint: string; bitmap?: string }[];
  dom?: DomainDef;
}

/** A domain's checkpoints in creation order, with the current one (the next one's parent). */
export class CheckpointList {
  readonly items = new Map<string, CheckpointDef>();
  current?: string;
  get size(): number {
    return this.items.size;
  }
  children(name: string | undefined): CheckpointDef[] {
    return [...this.items.values()].filter((c) => c.parent === name);
  }
  descendants(name: string): CheckpointDef[] {
    const out: CheckpointDef[] = [];
    for (const c of this.children(name)) out.push(c, ...this.descendants(c.name));
    return out;
  }
  list(from: string | undefined, flags: number): CheckpointDef[] {
    let base: CheckpointDef[];
    if (from === undefined) base = flags & L.ROOTS ? this.children(undefined) : [...this.items.values()];
    else base = flags & L.DESCENDANTS ? this.descendants(from) : this.children(from);
    if (flags & (L.LEAVES | L.NO_LEAVES)) {
      base = base.filter((c) => {
        // both filters together match nothing (libvirt 9.0 keeps the pair as two conditions)
        const leaf = this.children(c.name).length === 0;
        return (!(flags & L.LEAVES) || leaf) && (!(flags & L.NO_LEAVES) || !leaf);
      });
    }
    return base;
  }
}

const checkpoints = new WeakMap<TestDomain, CheckpointList>();

/** The checkpoint list of a domain (created on first use). */
export function checkpointsOf(d: TestDomain): CheckpointList {
  let l = checkpoints.get(d);
  if (!l) checkpoints.set(d, (l = new CheckpointList()));
  return l;
}

function xmlErr(msg: string) {
  return virError(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN_CHECKPOINT, msg);
}

function parseCheckpoint(xml: string, d: TestDomain, redefine: boolean): CheckpointDef {
  const root = parseXml(xml, { context: "(domain_checkpoint)", domain: ErrorDomain.DOMAIN_CHECKPOINT });
  if (root.name !== "domaincheckpoint") {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.XML,
      `expecting root element of 'domaincheckpoint', not '${root.name}'`,
    );
  }
  const now = Math.floor(Date.now() / 1000);
  const name = childText(root, "name")?.trim();
  const def: CheckpointDef = {
    name: name || String(now),
    description: childText(root, "description") || undefined,
    creationTime: now,
    disks: [],
  };
  const given = new Map<string, { checkpoint?: string; bitmap?: string }>();
  const disks = child(root, "disks");
  if (disks) {
    for (const e of elements(disks, "disk")) {
      const dn = attr(e, "name");
      if (dn === undefined) throw xmlErr("missing name from disk checkpoint element");
      given.set(dn, { checkpoint: attr(e, "checkpoint"), bitmap: attr(e, "bitmap") });
    }
  }
  if (redefine) {
    if (!name) throw xmlErr("a redefined checkpoint must have a name");
    const ct = childText(root, "creationTime");
    if (ct === undefined) {
      throw virError(
        ErrorCode.INTERNAL_ERROR,
        ErrorDomain.DOMAIN_CHECKPOINT,
        "missing creationTime from existing checkpoint",
      );
    }
    def.creationTime = Number(ct.trim());
    const p = child(root, "parent");
    if (p) def.parent = childText(p, "name")?.trim();
    const dom = child(root, "domain");
    if (dom) def.dom = parseDomainXML(formatElement(dom), { noIfnames: true });
    for (const [dn, g] of given)
      def.disks.push({ name: dn, checkpoint: g.checkpoint ?? "bitmap", bitmap: g.bitmap });
    return def;
  }
  // virDomainCheckpointAlignDisks counts the requests (duplicates too) before it names them
  const requested = disks ? elements(disks, "disk").length : 0;
  if (requested > d.def.devices.disks.length) {
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      ErrorDomain.DOMAIN_CHECKPOINT,
      "too many disk checkpoint requests for domain",
    );
  }
  if (d.def.devices.disks.length === 0) {
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      ErrorDomain.DOMAIN_CHECKPOINT,
      "domain must have at least one disk to perform checkpoints",
    );
  }
  for (const dn of given.keys()) {
    if (!d.def.devices.disks.some((x) => x.target.dev === dn)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_CHECKPOINT, `no disk named '${dn}'`);
    }
  }
  for (const disk of d.def.devices.disks) {
    const g = given.get(disk.target.dev);
    const kind = g?.checkpoint ?? (disk.readonly ? "no" : "bitmap");
    def.disks.push({
      name: disk.target.dev,
      checkpoint: kind,
      bitmap: kind === "bitmap" ? (g?.bitmap ?? def.name) : undefined,
    });
  }
  def.dom = copyDef(d.def);
  return def;
}

function formatCheckpoint(c: CheckpointDef, flags: number): string {
  let s = "<domaincheckpoint>\n";
  s += `  <name>${escapeXml(c.name)}</name>\n`;
  if (c.description) s += `  <description>${escapeXml(c.description)}</description>\n`;
  if (c.parent !== undefined) s += `  <parent>\n    <name>${escapeXml(c.parent)}</name>\n  </parent>\n`;
  s += `  <creationTime>${c.creationTime}</creationTime>\n`;
  if (c.disks.length > 0) {
    s += "  <disks>\n";
    for (const d of c.disks) {
      const bm = d.bitmap !== undefined ? ` bitmap='${escapeXml(d.bitmap)}'` : "";
      s += `    <disk name='${escapeXml(d.name)}' checkpoint='${d.checkpoint}'${bm}/>\n`;
    }
    s += "  </disks>\n";
  }
  if (c.dom && !(flags & X.NO_DOMAIN)) {
    const dom = formatDomainXML(c.dom, { inactive: true, securityInfo: (flags & X.SECURE) !== 0 });
    s += dom
      .split("\n")
      .map((l) => (l === "" ? l : `  ${l}`))
      .join("\n");
  }
  return `${s}</domaincheckpoint>\n`;
}

function findCp(d: TestDomain, name: string): CheckpointDef {
  const c = checkpointsOf(d).items.get(name);
  if (!c)
    throw testError(ErrorCode.NO_DOMAIN_CHECKPOINT, `no domain checkpoint with matching name '${name}'`);
  return c;
}

const cpRef = (d: TestDomain, name: string): DomainCheckpointRef => ({ name, domain: domRef(d) });

export function domainCheckpointSlots(ctx: TestCtx): Partial<HypervisorDriver> {
  return {
    async domainCheckpointCreateXML(ref, xml, flags) {
      // REDEFINE_VALIDATE passes the public API's check only with REDEFINE, then meets this one
      checkFlags(flags, C.REDEFINE | C.QUIESCE, "testDomainCheckpointCreateXML");
      const d = findDomain(ctx, ref);
      const redefine = (flags & C.REDEFINE) !== 0;
      if (d.snapshots.size > 0) {
        throw testError(ErrorCode.OPERATION_UNSUPPORTED, "cannot create checkpoint while snapshot exists");
      }
      if (!isActive(d)) {
        throw testError(ErrorCode.OPERATION_UNSUPPORTED, "cannot create checkpoint for inactive domain");
      }
      const list = checkpointsOf(d);
      if (!redefine) checkDefCopyable(d.def);
      const def = parseCheckpoint(xml, d, redefine);
      if (list.items.has(def.name) && !redefine) {
        throw virError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.DOMAIN,
          `domain moment ${def.name} already exists`,
        );
      }
      if (redefine && def.parent !== undefined && !list.items.has(def.parent)) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.DOMAIN,
          `parent ${def.parent} for moment ${def.name} not found`,
        );
      }
      if (!redefine) def.parent = list.current;
      list.items.set(def.name, def);
      list.current = def.name;
      return cpRef(d, def.name);
    },
    async domainCheckpointGetXMLDesc(cref, flags) {
      checkFlags(flags, X.SECURE | X.NO_DOMAIN | X.SIZE, "testDomainCheckpointGetXMLDesc");
      const d = findDomain(ctx, cref.domain);
      const cp = findCp(d, cref.name);
      // SIZE asks the running guest (the test driver then reports no sizes)
      if (flags & X.SIZE && !isActive(d)) throw domainNotRunning();
      return formatCheckpoint(cp, flags);
    },
    async domainListAllCheckpoints(ref, flags) {
      checkFlags(flags, 0xf, "testDomainListAllCheckpoints");
      const d = findDomain(ctx, ref);
      return checkpointsOf(d)
        .list(undefined, flags)
        .map((c) => cpRef(d, c.name));
    },
    async domainCheckpointListAllChildren(cref, flags) {
      checkFlags(flags, 0xf, "testDomainCheckpointListAllChildren");
      const d = findDomain(ctx, cref.domain);
      findCp(d, cref.name);
      return checkpointsOf(d)
        .list(cref.name, flags)
        .map((c) => cpRef(d, c.name));
    },
    async domainCheckpointLookupByName(ref, name, flags) {
      checkFlags(flags, 0, "testDomainCheckpointLookupByName");
      const d = findDomain(ctx, ref);
      return cpRef(d, findCp(d, name).name);
    },
    async domainCheckpointGetParent(cref, flags) {
      checkFlags(flags, 0, "testDomainCheckpointGetParent");
      const d = findDomain(ctx, cref.domain);
      const c = findCp(d, cref.name);
      if (c.parent === undefined) {
        throw testError(ErrorCode.NO_DOMAIN_CHECKPOINT, `checkpoint '${c.name}' does not have a parent`);
      }
      return cpRef(d, c.parent);
    },
    async domainCheckpointDelete(cref, flags) {
      checkFlags(flags, DEL.CHILDREN | DEL.METADATA_ONLY | DEL.CHILDREN_ONLY, "testDomainCheckpointDelete");
      const d = findDomain(ctx, cref.domain);
      const c = findCp(d, cref.name);
      const list = checkpointsOf(d);
      if (flags & (DEL.CHILDREN | DEL.CHILDREN_ONLY)) {
        let hadCurrent = false;
        for (const x of list.descendants(c.name)) {
          if (list.current === x.name) hadCurrent = true;
          list.items.delete(x.name);
        }
        if (hadCurrent) list.current = c.name;
      } else {
        for (const x of list.children(c.name)) x.parent = c.parent;
      }
      if (!(flags & DEL.CHILDREN_ONLY)) {
        if (list.current === c.name) list.current = c.parent;
        list.items.delete(c.name);
      }
    },
  };
}
