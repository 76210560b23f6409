// An ordered list of named objects findable by name, UUID and (for domains) numeric id,
// as libvirt's virDomainObjList / virNetworkObjList. Pure in-memory bookkeeping.

export interface ListedObject {
  name: string;
  /** Canonical lowercase UUID. */
  uuid: string;
  /** Running id for domains (-1 when inactive); absent for other kinds. */
  id?: number;
}

export class ObjectList<T extends ListedObject> {
  private readonly byUuidMap = new Map<string, T>();
  private readonly byNameMap = new Map<string, T>();

  get size(): number {
    return this.byUuidMap.size;
  }

  /** Adds an object; the caller has checked that name and UUID are free. */
  add(obj: T): T {
    this.byUuidMap.set(obj.uuid, obj);
    this.byNameMap.set(obj.name, obj);
    return obj;
  }

  remove(obj: T): void {
    if (this.byUuidMap.get(obj.uuid) === obj) this.byUuidMap.delete(obj.uuid);
    if (this.byNameMap.get(obj.name) === obj) this.byNameMap.delete(obj.name);
  }

  /** Renames in place, keeping the name index right. */
  rename(obj: T, newName: string): void {
    if (this.byNameMap.get(obj.name) === obj) this.byNameMap.delete(obj.name);
    obj.name = newName;
    this.byNameMap.set(newName, obj);
  }

  byName(name: string): T | undefined {
    return this.byNameMap.get(name);
  }

  byUuid(uuid: string): T | undefined {
    return this.byUuidMap.get(uuid.toLowerCase());
  }

  /** Active object with this id (ids are only meaningful while running). */
  byId(id: number): T | undefined {
    if (id < 0) return undefined;
    for (const o of this.byUuidMap.values()) if (o.id === id) return o;
    return undefined;
  }

  /** Objects in insertion order. */
  values(): T[] {
    return [...this.byUuidMap.values()];
  }

  /** Matching objects in insertion order, without copying the whole list first. */
  filter(pred: (o: T) => boolean): T[] {
    const out: T[] = [];
    for (const o of this.byUuidMap.values()) if (pred(o)) out.push(o);
    return out;
  }

  /** pred-matching objects mapped through fn, in one pass (listings of hundreds of objects). */
  filterMap<R>(pred: (o: T) => boolean, fn: (o: T) => R): R[] {
    const out: R[] = [];
    for (const o of this.byUuidMap.values()) if (pred(o)) out.push(fn(o));
    return out;
  }
}
