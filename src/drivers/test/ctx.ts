// Shared plumbing for the test driver's slot tables: finding objects from wire refs with
// libvirt's "not found" texts, and queueing lifecycle events.

import type { DomainRef, NetworkRef, StoragePoolRef } from "../../driver/index.js";
import { VIR_DOMAIN_EVENT_ID, VIR_NETWORK_EVENT_ID, VIR_STORAGE_POOL_EVENT_ID } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import type { EventQueue } from "../../state/index.js";
import { domRef, type TestDomain } from "./domain-obj.js";
import { testError } from "./errors.js";
import type { TestNetwork, TestNode } from "./node.js";
import type { TestPool } from "./storage-obj.js";

export interface TestCtx {
  node: TestNode;
  uri: string;
  /** Event callbacks this connection registered, per queue, so a shared node can drop them. */
  callbacks?: Map<EventQueue<never>, Set<number>>;
}

/** Registers an event callback on behalf of this connection. */
export function registerCallback<E extends { eventId: number }>(
  ctx: TestCtx,
  queue: EventQueue<E>,
  eventId: number,
  key: string | null,
  cb: (ev: E) => void,
): number {
  const id = queue.register(eventId, key, cb);
  ctx.callbacks ??= new Map();
  const q = queue as unknown as EventQueue<never>;
  let set = ctx.callbacks.get(q);
  if (!set) ctx.callbacks.set(q, (set = new Set()));
  set.add(id);
  return id;
}

/** Deregisters one of this connection's callbacks (virObjectEventStateDeregisterID). */
export function deregisterCallback<E extends { eventId: number }>(
  ctx: TestCtx,
  queue: EventQueue<E>,
  id: number,
): void {
  const set = ctx.callbacks?.get(queue as unknown as EventQueue<never>);
  if (!set?.delete(id)) {
    throw virError(
      ErrorCode.INVALID_ARG,
      ErrorDomain.NONE,
      `could not find event callback ${id} for deletion`,
    );
  }
  queue.deregister(id);
}

/** Drops every callback this connection registered (on close). */
export function dropCallbacks(ctx: TestCtx): void {
  for (const [queue, ids] of ctx.callbacks ?? []) for (const id of ids) queue.deregister(id);
  ctx.callbacks?.clear();
}

/** testDomObjFromDomain. */
export function findDomain(ctx: TestCtx, ref: DomainRef): TestDomain {
  const d = ctx.node.domains.byUuid(ref.uuid);
  if (!d) {
    throw testError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${ref.uuid}' (${ref.name})`);
  }
  return d;
}

export function domainEvent(ctx: TestCtx, d: TestDomain, event: number, detail: number): void {
  // Nobody listening (the common case): not even the event object is built.
  if (ctx.node.domainEvents.registrations === 0) return;
  ctx.node.domainEvents.emit({ eventId: VIR_DOMAIN_EVENT_ID.LIFECYCLE, dom: domRef(d), event, detail });
}

/** testNetworkObjFindByName / ByUUID as used from a network ref. */
export function findNetwork(ctx: TestCtx, ref: NetworkRef): TestNetwork {
  const n = ctx.node.networks.byUuid(ref.uuid);
  if (!n) {
    throw testError(ErrorCode.NO_NETWORK, `no network with matching uuid '${ref.uuid}' (${ref.name})`);
  }
  return n;
}

export function netRef(n: TestNetwork): NetworkRef {
  return { name: n.name, uuid: n.uuid };
}

export function networkEvent(ctx: TestCtx, n: TestNetwork, event: number, detail = 0): void {
  ctx.node.networkEvents.emit({ eventId: VIR_NETWORK_EVENT_ID.LIFECYCLE, net: netRef(n), event, detail });
}

export function poolRef(p: TestPool): StoragePoolRef {
  return { name: p.name, uuid: p.uuid };
}

export function poolEvent(ctx: TestCtx, p: TestPool, event: number, detail = 0): void {
  ctx.node.poolEvents.emit({ eventId: VIR_STORAGE_POOL_EVENT_ID.LIFECYCLE, pool: poolRef(p), event, detail });
}
