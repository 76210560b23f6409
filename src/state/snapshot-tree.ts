// A domain's snapshots as a tree (libvirt's virDomainSnapshotObjList + virDomainMomentObj):
// lookup by name, parent links, the current snapshot, and listing with libvirt's filter flags.
// Shared by the test and QEMU drivers; holds only snapshots that have metadata.

import type { DomainDef } from "../conf/domain/index.js";
import type { DomainSnapshotDef } from "../conf/snapshot/index.js";
import { VIR_DOMAIN_SNAPSHOT_LIST as L } from "../driver/index.js";

/** A snapshot's definition plus the copy of the domain definition it can be reverted to. */
export interface SnapshotDef extends DomainSnapshotDef {
  dom?: DomainDef;
}

export class SnapshotTree<S extends SnapshotDef = SnapshotDef> {
  /**
   * In creation order (libvirt iterates a hash table; callers sort where order matters). Made on
   * the first snapshot: most domains never have one, and a daemon may hold thousands of domains.
   */
  private byName: Map<string, S> | undefined;
  current?: string;

  get size(): number {
    return this.byName?.size ?? 0;
  }
  get(name: string): S | undefined {
    return this.byName?.get(name);
  }
  add(s: S): void {
    this.byName ??= new Map();
    this.byName.set(s.name, s);
  }
  remove(name: string): void {
    this.byName?.delete(name);
    if (this.current === name) this.current = undefined;
  }
  clear(): void {
    this.byName = undefined;
    this.current = undefined;
  }
  all(): S[] {
    return this.byName ? [...this.byName.values()] : [];
  }
  children(name: string | undefined): S[] {
    return this.all().filter((s) => s.parent === name);
  }
  /** Descendants in depth-first, parent-before-child order. */
  descendants(name: string): S[] {
    const out: S[] = [];
    const walk = (n: string) => {
      for (const c of this.children(n)) {
        out.push(c);
        walk(c.name);
      }
    };
    walk(name);
    return out;
  }
  /**
   * Topological order: every parent before its children, depth first. libvirt links a new child
   * at the head of its parent's list (virDomainMomentSetParent), so the newest sibling comes first.
   */
  topological(list: S[]): S[] {
    const set = new Set(list.map((s) => s.name));
    const out: S[] = [];
    const walk = (parent: string | undefined) => {
      for (const c of this.children(parent).reverse()) {
        if (set.has(c.name)) out.push(c);
        walk(c.name);
      }
    };
    walk(undefined);
    return out;
  }

  /**
   * virDomainSnapshotObjListGetNames: `from` undefined lists the whole domain (ROOTS bit =
   * roots only); with `from` it lists children (DESCENDANTS bit = all descendants).
   */
  list(from: string | undefined, flags: number): S[] {
    let base: S[];
    if (from === undefined) base = flags & L.ROOTS ? this.children(undefined) : this.all();
    else base = flags & L.DESCENDANTS ? this.descendants(from) : this.children(from);
    const out = base.filter((s) => this.matches(s, flags));
    return flags & L.TOPOLOGICAL ? this.topological(out) : out;
  }

  private matches(s: S, flags: number): boolean {
    const leaf = this.children(s.name).length === 0;
    // Each bit excludes the other kind, so LEAVES|NO_LEAVES matches nothing (as libvirt 9.0).
    if (flags & L.LEAVES && !leaf) return false;
    if (flags & L.NO_LEAVES && leaf) return false;
    // Every snapshot in the tree has metadata (NO_METADATA snapshots are never added).
    if (flags & (L.METADATA | L.NO_METADATA) && !(flags & L.METADATA)) return false;
    if (flags & (L.INACTIVE | L.ACTIVE | L.DISK_ONLY)) {
      const ok =
        (flags & L.INACTIVE && s.state === "shutoff") ||
        (flags & L.DISK_ONLY && s.state === "disk-snapshot") ||
        (flags & L.ACTIVE && s.state !== "shutoff" && s.state !== "disk-snapshot");
      if (!ok) return false;
    }
    if (flags & (L.INTERNAL | L.EXTERNAL)) {
      const external = s.memory?.snapshot === "external" || s.disks.some((d) => d.snapshot === "external");
      if (!((flags & L.INTERNAL && !external) || (flags & L.EXTERNAL && external))) return false;
    }
    return true;
  }
}
