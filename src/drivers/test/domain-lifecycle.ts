// Test driver domain slots for defining, starting and stopping domains, and for listing and
// lookup: libvirt's state machine with state reasons, ids and lifecycle events
// (src/test/test_driver.c semantics, observed against libvirt 9.0).

import { type DomainDef, parseDomainXML } from "../../conf/domain/index.js";
import type { DomainRef, HypervisorDriver } from "../../driver/index.js";
import {
  VIR_CONNECT_LIST_DOMAINS as LD,
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_STATE as S,
  VIR_DOMAIN_UNDEFINE,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain } from "../../errors/index.js";
import { domainEvent, findDomain, type TestCtx } from "./ctx.js";
import { checkpointsOf } from "./domain-checkpoints.js";
import { domRef, isActive, newTestDomain, setRunning, setShutoff, type TestDomain } from "./domain-obj.js";
import { checkFlags, domainNotRunning, internal, opFailed, opInvalid, testError } from "./errors.js";

export function parseDef(xml: string): DomainDef {
  return parseDomainXML(xml);
}

/**
 * virDomainObjListAdd: adds `def` or assigns it to the domain with the same UUID.
 * `live` (createXML / restore) refuses an active domain. Returns the object and whether it existed.
 */
export function addDomain(
  ctx: TestCtx,
  def: DomainDef,
  live: boolean,
): { dom: TestDomain; existed: boolean } {
  const list = ctx.node.domains;
  const same = list.byUuid(def.uuid);
  if (same) {
    if (same.name !== def.name) {
      throw opFailed(`domain '${same.name}' is already defined with uuid ${same.uuid}`);
    }
    if (live && isActive(same))
      throw opInvalid(`domain '${same.name}' is already active`, ErrorDomain.DOMAIN);
    if (isActive(same)) same.newDef = def;
    else if (live) {
      if (!same.newDef) same.newDef = same.def;
      same.def = def;
    } else same.def = def;
    return { dom: same, existed: true };
  }
  const byName = list.byName(def.name);
  if (byName) throw opFailed(`domain '${byName.name}' already exists with uuid ${byName.uuid}`);
  return { dom: list.add(newTestDomain(def)), existed: false };
}

function stopped(ctx: TestCtx, d: TestDomain, reason: number, detail: number): void {
  setShutoff(d, reason);
  domainEvent(ctx, d, VIR_DOMAIN_EVENT.STOPPED, detail);
  if (!d.persistent) ctx.node.domains.remove(d);
}

/** testDomainActionSetState: what a shutdown or reboot does given the on_* action. */
function applyAction(ctx: TestCtx, d: TestDomain, action: string): void {
  if (action === "restart" || action === "rename-restart") {
    d.state = S.RUNNING;
    d.reason = VIR_DOMAIN_RUNNING.BOOTED;
    return;
  }
  stopped(ctx, d, VIR_DOMAIN_SHUTOFF.SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED.SHUTDOWN);
}

export function stateMatches(d: TestDomain, flags: number): boolean {
  const f = (bits: number) => (flags & bits) !== 0;
  const act = isActive(d);
  if (f(LD.ACTIVE | LD.INACTIVE) && !((f(LD.ACTIVE) && act) || (f(LD.INACTIVE) && !act))) return false;
  if (
    f(LD.PERSISTENT | LD.TRANSIENT) &&
    !((f(LD.PERSISTENT) && d.persistent) || (f(LD.TRANSIENT) && !d.persistent))
  )
    return false;
  if (f(LD.RUNNING | LD.PAUSED | LD.SHUTOFF | LD.OTHER)) {
    const st = d.state;
    const other = st !== S.RUNNING && st !== S.PAUSED && st !== S.SHUTOFF;
    const ok =
      (f(LD.RUNNING) && st === S.RUNNING) ||
      (f(LD.PAUSED) && st === S.PAUSED) ||
      (f(LD.SHUTOFF) && st === S.SHUTOFF) ||
      (f(LD.OTHER) && other);
    if (!ok) return false;
  }
  if (f(LD.MANAGEDSAVE | LD.NO_MANAGEDSAVE)) {
    const m = d.hasManagedSave;
    if (!((f(LD.MANAGEDSAVE) && m) || (f(LD.NO_MANAGEDSAVE) && !m))) return false;
  }
  if (f(LD.AUTOSTART | LD.NO_AUTOSTART)) {
    const a = d.autostart;
    if (!((f(LD.AUTOSTART) && a) || (f(LD.NO_AUTOSTART) && !a))) return false;
  }
  if (f(LD.HAS_SNAPSHOT | LD.NO_SNAPSHOT)) {
    const s = d.snapshots.size > 0;
    if (!((f(LD.HAS_SNAPSHOT) && s) || (f(LD.NO_SNAPSHOT) && !s))) return false;
  }
  if (f(LD.HAS_CHECKPOINT | LD.NO_CHECKPOINT)) {
    const c = checkpointsOf(d).size > 0;
    if (!((f(LD.HAS_CHECKPOINT) && c) || (f(LD.NO_CHECKPOINT) && !c))) return false;
  }
  return true;
}

export function domainLifecycleSlots(ctx: TestCtx): Partial<HypervisorDriver> {
  const node = ctx.node;
  return {
    async connectNumOfDomains() {
      return node.domains.filter(isActive).length;
    },
    async connectListDomains(maxids) {
      return node.domains
        .filter(isActive)
        .map((d) => d.id)
        .sort((a, b) => a - b)
        .slice(0, maxids);
    },
    async connectNumOfDefinedDomains() {
      return node.domains.filter((d) => !isActive(d)).length;
    },
    async connectListDefinedDomains(maxnames) {
      return node.domains
        .filter((d) => !isActive(d))
        .map((d) => d.name)
        .slice(0, maxnames);
    },
    async connectListAllDomains(flags) {
      checkFlags(flags, 0xffff, "testConnectListAllDomains");
      return node.domains.filterMap((d) => flags === 0 || stateMatches(d, flags), domRef);
    },
    async domainLookupByID(id) {
      const d = node.domains.byId(id);
      if (!d) throw testError(ErrorCode.NO_DOMAIN);
      return domRef(d);
    },
    async domainLookupByName(name) {
      const d = node.domains.byName(name);
      if (!d) throw testError(ErrorCode.NO_DOMAIN);
      return domRef(d);
    },
    async domainLookupByUUID(uuid) {
      const d = node.domains.byUuid(uuid);
      if (!d) throw testError(ErrorCode.NO_DOMAIN);
      return domRef(d);
    },

    async domainDefineXMLFlags(xml, flags) {
      checkFlags(flags, 1, "testDomainDefineXMLFlags");
      const def = parseDef(xml);
      const { dom, existed } = addDomain(ctx, def, false);
      dom.persistent = true;
      domainEvent(
        ctx,
        dom,
        VIR_DOMAIN_EVENT.DEFINED,
        existed ? VIR_DOMAIN_EVENT_DEFINED.UPDATED : VIR_DOMAIN_EVENT_DEFINED.ADDED,
      );
      return domRef(dom);
    },
    async domainCreateXML(xml, flags) {
      checkFlags(flags, 16, "testDomainCreateXML");
      const def = parseDef(xml);
      const { dom } = addDomain(ctx, def, true);
      setRunning(dom, node.allocDomId(), VIR_DOMAIN_RUNNING.BOOTED);
      domainEvent(ctx, dom, VIR_DOMAIN_EVENT.STARTED, VIR_DOMAIN_EVENT_STARTED.BOOTED);
      return domRef(dom);
    },
    async domainUndefineFlags(ref, flags) {
      const U = VIR_DOMAIN_UNDEFINE;
      checkFlags(
        flags,
        // libvirt 9.0's test driver takes neither NVRAM flag
        U.MANAGED_SAVE | U.SNAPSHOTS_METADATA,
        "testDomainUndefineFlags",
      );
      const d = findDomain(ctx, ref);
      if (d.hasManagedSave && !(flags & U.MANAGED_SAVE)) {
        throw opInvalid("Refusing to undefine while domain managed save image exists");
      }
      // Requiring an inactive domain is part of UNDEFINE_SNAPSHOTS_METADATA's contract.
      const nsnap = d.snapshots.size;
      if (!isActive(d) && nsnap > 0) {
        if (!(flags & U.SNAPSHOTS_METADATA)) {
          throw opInvalid(`cannot delete inactive domain with ${nsnap} snapshots`);
        }
        d.snapshots.clear();
      }
      d.hasManagedSave = false;
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED.REMOVED);
      // A running domain only becomes transient: libvirt keeps its pending persistent definition,
      // which XMLDesc(INACTIVE) still shows until the domain stops.
      if (isActive(d)) d.persistent = false;
      else node.domains.remove(d);
    },
    // testDomainCreateXMLWithFiles / testDomainCreateWithFiles: the files are not used
    async domainCreateXMLWithFiles(xml, flags) {
      return this.domainCreateXML!(xml, flags);
    },
    async domainCreateWithFiles(ref, flags) {
      return this.domainCreateWithFlags!(ref, flags);
    },
    async domainCreateWithFlags(ref, flags) {
      checkFlags(flags, 0, "testDomainCreateWithFlags");
      const d = findDomain(ctx, ref);
      if (d.state !== S.SHUTOFF) throw internal(`Domain '${ref.name}' is already running`);
      setRunning(d, node.allocDomId(), VIR_DOMAIN_RUNNING.BOOTED);
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.STARTED, VIR_DOMAIN_EVENT_STARTED.BOOTED);
      return domRef(d);
    },
    async domainShutdownFlags(ref, flags) {
      checkFlags(flags, 0, "testDomainShutdownFlags");
      const d = findDomain(ctx, ref);
      if (d.state === S.SHUTOFF) throw internal(`domain '${ref.name}' not running`);
      applyAction(ctx, d, d.def.onPoweroff);
    },
    async domainRebootFlags(ref, flags) {
      checkFlags(flags, 31, "testDomainReboot");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      applyAction(ctx, d, d.def.onReboot);
    },
    async domainReset(ref, flags) {
      checkFlags(flags, 0, "testDomainReset");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
    },
    async domainDestroyFlags(ref, flags) {
      checkFlags(flags, 1, "testDomainDestroyFlags");
      const d = findDomain(ctx, ref);
      if (!isActive(d)) throw domainNotRunning();
      stopped(ctx, d, VIR_DOMAIN_SHUTOFF.DESTROYED, VIR_DOMAIN_EVENT_STOPPED.DESTROYED);
    },
    async domainSuspend(ref) {
      const d = findDomain(ctx, ref);
      if (d.state === S.SHUTOFF || d.state === S.PAUSED) throw internal(`domain '${ref.name}' not running`);
      d.state = S.PAUSED;
      d.reason = VIR_DOMAIN_PAUSED.USER;
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED.PAUSED);
    },
    async domainResume(ref) {
      const d = findDomain(ctx, ref);
      if (d.state !== S.PAUSED) throw internal(`domain '${ref.name}' not paused`);
      d.state = S.RUNNING;
      d.reason = VIR_DOMAIN_RUNNING.UNPAUSED;
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.RESUMED, VIR_DOMAIN_EVENT_RESUMED.UNPAUSED);
    },
    async domainRename(ref, newName, flags) {
      checkFlags(flags, 0, "testDomainRename");
      const d = findDomain(ctx, ref);
      if (isActive(d)) throw opInvalid("cannot rename active domain");
      if (!d.persistent) throw opInvalid("cannot rename a transient domain");
      if (newName.includes("/")) {
        throw testError(ErrorCode.XML_ERROR, `name ${newName} cannot contain '/'`);
      }
      if (newName === d.name) throw opInvalid("Can't rename domain to itself", ErrorDomain.DOMAIN);
      const other = node.domains.byName(newName);
      if (other) throw opInvalid(`domain with name '${newName}' already exists`, ErrorDomain.DOMAIN);
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED.RENAMED);
      node.domains.rename(d, newName);
      d.def.name = newName;
      domainEvent(ctx, d, VIR_DOMAIN_EVENT.DEFINED, VIR_DOMAIN_EVENT_DEFINED.RENAMED);
    },
  };
}

export type { DomainRef };
