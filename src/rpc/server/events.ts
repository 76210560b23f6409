// Per-client event callback registrations (libvirt's daemon/remote.c callback lists): maps the
// client's callbackID to the driver's registration and turns driver events into MESSAGE payloads.
import type { DriverSet } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { type EventFamily, eventMessages, legacyLifecycleMessage } from "../protocol/procs-events.js";
import type { Codec } from "../xdr/index.js";

export interface EventSink {
  /** Sends one VIR_NET_MESSAGE with the given proc number and payload. */
  send(proc: number, codec: Codec<any>, payload: unknown): void;
}

interface Registration {
  family: EventFamily;
  driverId: number;
  deregister: (driverId: number) => Promise<void>;
}

const FAMILY_SLOTS: Record<EventFamily, { table: keyof DriverSet; reg: string; dereg: string; obj: string }> =
  {
    domain: {
      table: "hypervisor",
      reg: "connectDomainEventRegisterAny",
      dereg: "connectDomainEventDeregisterAny",
      obj: "dom",
    },
    network: {
      table: "network",
      reg: "connectNetworkEventRegisterAny",
      dereg: "connectNetworkEventDeregisterAny",
      obj: "net",
    },
    storagePool: {
      table: "storage",
      reg: "connectStoragePoolEventRegisterAny",
      dereg: "connectStoragePoolEventDeregisterAny",
      obj: "pool",
    },
    nodeDevice: {
      table: "nodedev",
      reg: "connectNodeDeviceEventRegisterAny",
      dereg: "connectNodeDeviceEventDeregisterAny",
      obj: "dev",
    },
    secret: {
      table: "secret",
      reg: "connectSecretEventRegisterAny",
      dereg: "connectSecretEventDeregisterAny",
      obj: "secret",
    },
  };

/** Flattens a driver event ({eventId, dom, event, detail, data}) into wire message fields. */
function fields(family: EventFamily, eventID: number, ev: Record<string, any>): Record<string, any> {
  const { eventId: _ignored, data, ...rest } = ev;
  const out: Record<string, any> = { ...(data ?? {}), ...rest };
  if (family === "domain" && eventID === 23) {
    out.type = out.type ?? 0;
    out.nsuri = out.nsuri ?? out.uri ?? null;
  }
  return out;
}

export class EventRegistry {
  private readonly regs = new Map<number, Registration>();
  private legacy: number | null = null;
  private nextId = 1;

  constructor(
    private readonly drivers: () => DriverSet,
    private readonly sink: EventSink,
  ) {}

  private slotsFor(family: EventFamily) {
    const s = FAMILY_SLOTS[family];
    const table = this.drivers()[s.table] as Record<string, any> | undefined;
    const reg = table?.[s.reg];
    const dereg = table?.[s.dereg];
    if (typeof reg !== "function" || typeof dereg !== "function") {
      throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.RPC, `vir${s.reg[0]!.toUpperCase()}${s.reg.slice(1)}`);
    }
    return { reg: reg.bind(table), dereg: dereg.bind(table) as (id: number) => Promise<void> };
  }

  /** REMOTE_PROC_CONNECT_*_EVENT_(CALLBACK_)REGISTER_ANY: returns the client-visible callbackID. */
  async register(family: EventFamily, eventID: number, obj: unknown): Promise<number> {
    const def = eventMessages.find((m) => m.family === family && m.eventID === eventID);
    const { reg, dereg } = this.slotsFor(family);
    const callbackID = this.nextId++;
    const driverId: number = await reg(obj ?? null, eventID, (ev: Record<string, any>) => {
      if (!this.regs.has(callbackID) || !def) return;
      this.sink.send(def.proc, def.codec, def.build(callbackID, fields(family, eventID, ev)));
    });
    this.regs.set(callbackID, { family, driverId, deregister: dereg });
    return callbackID;
  }

  async deregister(family: EventFamily, callbackID: number): Promise<void> {
    const r = this.regs.get(callbackID);
    if (!r || r.family !== family) {
      throw virError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, `callback ${callbackID} not registered`);
    }
    this.regs.delete(callbackID);
    await r.deregister(r.driverId);
  }

  /** Legacy virConnectDomainEventRegister: lifecycle events as REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE. */
  async registerLegacy(): Promise<void> {
    if (this.legacy !== null) return;
    const { reg, dereg } = this.slotsFor("domain");
    const callbackID = this.nextId++;
    this.legacy = callbackID;
    const driverId: number = await reg(null, 0, (ev: Record<string, any>) => {
      if (this.legacy !== callbackID) return;
      this.sink.send(legacyLifecycleMessage.proc, legacyLifecycleMessage.codec, fields("domain", 0, ev));
    });
    this.regs.set(callbackID, { family: "domain", driverId, deregister: dereg });
  }

  async deregisterLegacy(): Promise<void> {
    if (this.legacy === null) return;
    const id = this.legacy;
    this.legacy = null;
    const r = this.regs.get(id);
    this.regs.delete(id);
    if (r) await r.deregister(r.driverId);
  }

  /** Drops every registration (client gone or CONNECT_CLOSE). Errors are ignored. */
  async clear(): Promise<void> {
    const all = [...this.regs.values()];
    this.regs.clear();
    this.legacy = null;
    for (const r of all) {
      try {
        await r.deregister(r.driverId);
      } catch {
        // the driver may already be gone; nothing more to undo
      }
    }
  }
}
