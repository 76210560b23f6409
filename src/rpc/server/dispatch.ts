// The generic dispatcher: one decoded CALL in, the ret value out (or a thrown VirError). It
// checks the procedure table entry (known? connection open? allowed read-only?), answers the
// procedures the server owns (open, auth, features, events) and calls every other driver slot.
import type { ByteStream, DriverSet } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { RemoteAuthType } from "../protocol/constants.js";
import { type ProcedureDef, slotName } from "../protocol/procedure.js";
import type { EventFamily } from "../protocol/procs-events.js";
import { remoteProcedures } from "../protocol/program.js";
import { XdrReader } from "../xdr/index.js";
import type { OpenedConnection } from "./connection-opener.js";
import type { EventRegistry } from "./events.js";
import { DrvFeature, serverSupportsFeature } from "./features.js";

/** What the dispatcher needs from a client session. */
export interface DispatchContext {
  readonly transport: "unix" | "tcp" | "tls";
  /** The socket is the read-only one. */
  readonly socketReadOnly: boolean;
  conn: OpenedConnection | null;
  connReadOnly: boolean;
  readonly events: EventRegistry;
  open(uri: string | null, readOnly: boolean): Promise<OpenedConnection>;
  startKeepalive(): void;
  /** For @readstream/@writestream procedures: the ByteStream the driver slot gets. */
  openStream(def: ProcedureDef, serial: number): ByteStream;
  /** The driver's work on that stream (it runs on after the call's reply). */
  streamRunning(serial: number, running: Promise<unknown>): void;
}

/** virConnectOpen flag VIR_CONNECT_RO. */
const VIR_CONNECT_RO = 1;

/** libvirt's public name for a procedure: DOMAIN_GET_XML_DESC → virDomainGetXMLDesc. */
export function publicName(p: ProcedureDef): string {
  const s = slotName(p.name)
    .replace(/^nwfilter/, "NWFilter")
    .replace(/Nwfilter/g, "NWFilter");
  return `vir${s[0]!.toUpperCase()}${s.slice(1)}`;
}

/**
 * The error domain libvirt's public API file reports for a procedure (VIR_FROM_THIS of
 * libvirt-domain.c, libvirt-network.c, ...): DOMAIN_DESTROY → VIR_FROM_DOMAIN.
 */
export function errorDomainOf(p: ProcedureDef): ErrorDomain {
  const n = p.name;
  const has = (w: string) => n.startsWith(`${w}_`) || (n.startsWith("CONNECT_") && n.includes(w));
  if (has("NODE_DEVICE") || n.startsWith("NODE_NUM_OF_DEVICES") || n.startsWith("NODE_LIST_DEVICES")) {
    return ErrorDomain.NODEDEV;
  }
  if (has("NWFILTER")) return ErrorDomain.NWFILTER;
  // libvirt-domain-snapshot.c and libvirt-domain-checkpoint.c have their own VIR_FROM_THIS.
  if (n.startsWith("DOMAIN_") && n.includes("SNAPSHOT")) return ErrorDomain.DOMAIN_SNAPSHOT;
  if (n.startsWith("DOMAIN_") && n.includes("CHECKPOINT")) return ErrorDomain.DOMAIN_CHECKPOINT;
  if (has("DOMAIN")) return ErrorDomain.DOMAIN;
  if (has("NETWORK")) return ErrorDomain.NETWORK;
  if (has("STORAGE")) return ErrorDomain.STORAGE;
  if (has("SECRET")) return ErrorDomain.SECRET;
  if (has("INTERFACE")) return ErrorDomain.INTERFACE;
  // libvirt.c (open, close, authentication) reports VIR_FROM_NONE; the remaining virConnect* and
  // virNode* calls live in libvirt-host.c, whose VIR_FROM_THIS is VIR_FROM_DOMAIN.
  if (n.startsWith("AUTH_") || n === "CONNECT_OPEN" || n === "CONNECT_CLOSE") return ErrorDomain.NONE;
  return ErrorDomain.DOMAIN;
}

/** Decodes the args of `p`; trailing bytes are tolerated as libvirt's xdrmem decoding does. */
export function decodeArgs(p: ProcedureDef, body: Buffer): unknown {
  try {
    return p.args.decode(new XdrReader(body));
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new VirError({
      code: ErrorCode.RPC,
      domain: ErrorDomain.RPC,
      message: `Unable to decode message payload: ${detail}`,
    });
  }
}

const FAMILY_BY_REG: Record<number, [EventFamily, string]> = {
  313: ["network", "net"],
  316: ["domain", "dom"],
  368: ["storagePool", "pool"],
  374: ["nodeDevice", "dev"],
  380: ["secret", "secret"],
};
const FAMILY_BY_DEREG: Record<number, EventFamily> = {
  314: "network",
  317: "domain",
  369: "storagePool",
  375: "nodeDevice",
  381: "secret",
};

async function serverProcedure(ctx: DispatchContext, p: ProcedureDef, args: any): Promise<unknown> {
  switch (p.num) {
    case 1: {
      if (ctx.conn) throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, "connection already open");
      const ro = ctx.socketReadOnly || (args.flags & VIR_CONNECT_RO) !== 0;
      ctx.conn = await ctx.open(args.name, ro);
      ctx.connReadOnly = ro;
      return undefined;
    }
    case 2: {
      const c = ctx.conn;
      ctx.conn = null;
      await ctx.events.clear();
      await c?.release();
      return undefined;
    }
    case 60: {
      if (args.feature === DrvFeature.PROGRAM_KEEPALIVE) ctx.startKeepalive();
      return { supported: serverSupportsFeature(args.feature) ? 1 : 0 };
    }
    case 66:
      return { types: [RemoteAuthType.NONE] };
    case 70:
      return { complete: 1 };
    case 149:
      return { secure: ctx.transport !== "tcp" };
    case 360:
    case 361:
      return undefined;
    case 105:
      await ctx.events.registerLegacy();
      return { cb_registered: 1 };
    case 106:
      await ctx.events.deregisterLegacy();
      return { cb_registered: 0 };
    case 167:
    case 168:
      // Pre-callback registrations: only lifecycle is delivered (as proc 107).
      if (args.eventID === 0)
        await (p.num === 167 ? ctx.events.registerLegacy() : ctx.events.deregisterLegacy());
      return undefined;
  }
  const reg = FAMILY_BY_REG[p.num];
  if (reg) return { callbackID: await ctx.events.register(reg[0], args.eventID, args[reg[1]]) };
  const dereg = FAMILY_BY_DEREG[p.num];
  if (dereg) {
    await ctx.events.deregister(dereg, args.callbackID);
    return undefined;
  }
  throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.RPC, publicName(p));
}

/**
 * Answers libvirt's public API gives when a driver lacks the slot (libvirt-host.c), and the
 * flag-less DOMAIN_PIN_VCPU as the Flags call with AFFECT_LIVE for a driver without its own slot.
 */
const FALLBACKS: Record<number, (d: DriverSet, args: any) => unknown> = {
  3: (d) => ({ type: d.hypervisor.name }),
  110: (d) => ({ uri: d.uri }),
  157: () => ({ lib_ver: LIBVIRT_COMPAT_VERSION }),
  26: async (d, a) => {
    const pin = d.hypervisor.domainPinVcpuFlags;
    if (!pin) throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.DOMAIN, "virDomainPinVcpu");
    await pin.call(d.hypervisor, a.dom, a.vcpu, a.cpumap, 1);
    return undefined;
  },
};

/** The libvirt version tsvirtd reports to clients that ask (9.0.0, the oldest client it must serve). */
export const LIBVIRT_COMPAT_VERSION = 9_000_000;

/**
 * A stream procedure: the driver slot gets a ByteStream at the table's position and keeps working
 * after the reply (downloads, uploads, consoles). Errors it raises at once still become the
 * call's error reply; later ones arrive as a stream error. Screenshots return their image, which
 * is sent as the stream's data.
 */
async function dispatchStream(
  ctx: DispatchContext,
  p: ProcedureDef,
  serial: number,
  bound: (...a: unknown[]) => Promise<any>,
  args: any,
): Promise<unknown> {
  const positional = Object.values(args as object);
  const stream = ctx.openStream(p, serial);
  if (p.streamArg === undefined) {
    const r = await bound(...positional);
    const data: Uint8Array = r?.data ?? new Uint8Array(0);
    ctx.streamRunning(
      serial,
      (async () => {
        await stream.write(data);
        await stream.close();
      })(),
    );
    return { ...r, data: undefined };
  }
  positional.splice(p.streamArg, 0, stream);
  const running = Promise.resolve(bound(...positional));
  // let an immediate refusal (bad arguments, no such object) become the reply
  const early = await Promise.race([
    running.then(
      () => null,
      (e: unknown) => ({ e }),
    ),
    new Promise<null>((r) => setImmediate(() => r(null))),
  ]);
  if (early) throw early.e;
  ctx.streamRunning(serial, running);
  return undefined;
}

/**
 * Calls a driver slot with no stack trace captured for errors created while its synchronous part
 * runs: those are the call's answers (VirErrors: no such domain, invalid argument …), the wire
 * carries only their code, domain and texts, and the session logs a foreign error's String(). The
 * slot now runs under the socket's read callback, ~10 frames deep, and capturing those frames was
 * half of a failed lookup's instructions (callgrind). Errors from the slot's asynchronous part
 * keep their stacks.
 */
function callSlot(fn: (...a: unknown[]) => unknown, table: object, args: unknown[]): unknown {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn.apply(table, args);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Procedures a client may call before CONNECT_OPEN (libvirt: auth and open itself). */
const BEFORE_OPEN = new Set([1, 60, 66, 67, 68, 69, 70]);

/**
 * One call on its way: the procedure and its result, a promise or (rarely) the value itself.
 * `direct`: `result` is the driver slot's bare result, which the entry's direct.ret encodes
 * (no ret struct built around it); otherwise it is the ret value for def.ret.
 */
export interface PreparedCall {
  def: ProcedureDef;
  result: unknown;
  direct: boolean;
}

/**
 * Checks and starts one call: throws (synchronously) what libvirt answers with an error before
 * the driver runs, otherwise starts the driver slot (or the server's own procedure).
 */
export function prepareCall(
  ctx: DispatchContext,
  proc: number,
  serial: number,
  body: Buffer,
  program: ReadonlyMap<number, ProcedureDef> = remoteProcedures,
): PreparedCall {
  const p = program.get(proc);
  if (!p) throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.RPC, `unknown procedure: ${proc}`);
  const args: any = decodeArgs(p, body);
  if (!ctx.conn && !BEFORE_OPEN.has(p.num)) {
    throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, "connection not open");
  }
  if (ctx.connReadOnly) {
    const denied = !p.readonly ? `read only access prevents ${publicName(p)}` : (p.roDeny?.(args) ?? null);
    if (denied) {
      throw new VirError({
        code: ErrorCode.OPERATION_DENIED,
        domain: errorDomainOf(p),
        message: `operation forbidden: ${denied}`,
      });
    }
  }
  if (p.slot === null) return { def: p, result: serverProcedure(ctx, p, args), direct: false };
  const table = (ctx.conn!.drivers as unknown as Record<string, Record<string, any> | undefined>)[p.table];
  const fn = table?.[p.slot];
  if (typeof fn !== "function") {
    // remote program numbers (libvirt-qemu's procedures have their own numbering)
    const fallback = program === remoteProcedures ? FALLBACKS[p.num] : undefined;
    if (fallback) return { def: p, result: fallback(ctx.conn!.drivers, args), direct: false };
    throw virError(ErrorCode.NO_SUPPORT, errorDomainOf(p), publicName(p));
  }
  if (p.stream) {
    return { def: p, result: dispatchStream(ctx, p, serial, fn.bind(table), args), direct: false };
  }
  const d = p.direct;
  // the common case: the slot called with the args' fields, its result encoded as it comes
  if (d) return { def: p, result: callSlot(fn, table!, d.args(args)), direct: true };
  return { def: p, result: p.invoke(fn.bind(table), args), direct: false };
}
