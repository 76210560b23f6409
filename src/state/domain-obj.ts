// What every driver's domain object has (libvirt's virDomainObj): definitions, run state with
// reason, running id, persistence and autostart. Drivers extend it with their own fields.
import type { DomainDef } from "../conf/domain/index.js";
import type { DomainRef } from "../driver/index.js";
import type { ListedObject } from "./object-list.js";

export interface DomainObj extends ListedObject {
  /** Running id, -1 when inactive. */
  id: number;
  /** The current definition: live while running, persistent otherwise. */
  def: DomainDef;
  /** The persistent definition while running (virDomainObj.newDef). */
  newDef?: DomainDef;
  persistent: boolean;
  state: number;
  reason: number;
  autostart: boolean;
}

export function domRef(d: DomainObj): DomainRef {
  return { name: d.name, uuid: d.uuid, id: d.id };
}

export function isActive(d: DomainObj): boolean {
  return d.id >= 0;
}
