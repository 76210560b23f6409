// The remote connection driver: every driver table slot becomes an RPC call to tsvirtd (or
// libvirtd) over the procedure table, so the API works unchanged against a daemon. Slots map to
// the procedure named like them; arguments go positionally into the args struct.
import type {
  ByteStream,
  ConnectionDriverFactory,
  ConnectUri,
  DriverSet,
  OpenOptions,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { RpcClient } from "../../rpc/client/client.js";
import type { DriverTable, ProcedureDef } from "../../rpc/protocol/procedure.js";
import { type EventFamily, eventMessages } from "../../rpc/protocol/procs-events.js";
import { remoteProcedures } from "../../rpc/protocol/program.js";
import { QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, qemuProcedures } from "../../rpc/protocol/qemu-program.js";
import { proc, slotName } from "../../rpc/protocol/procedure.js";
import { domainRef } from "../../rpc/protocol/remote-types.js";
import { uint, XdrReader } from "../../rpc/xdr/index.js";
import { PACK, UNPACK } from "./remote-shapes.js";
import { isRemoteUri, remoteTarget, serverUri } from "./remote-uri.js";

/** slot → the procedures that reach it (e.g. DOMAIN_DESTROY and DOMAIN_DESTROY_FLAGS). */
const BY_SLOT = new Map<string, ProcedureDef[]>();
for (const p of remoteProcedures.values()) {
  if (!p.slot) continue;
  const key = `${p.table}:${p.slot}`;
  BY_SLOT.set(key, [...(BY_SLOT.get(key) ?? []), p]);
}

/**
 * libvirt-qemu's slots (virDomainQemuMonitorCommand, virDomainQemuAgentCommand): calls of the
 * second program, QEMU_PROGRAM, over the same connection. Monitor events and qemu-attach stay
 * out (no slot of ours takes them); the WithFiles variant needs fd passing.
 */
const QEMU_SLOTS = new Map<string, ProcedureDef>();
for (const p of qemuProcedures.values())
  if (p.name === "DOMAIN_QEMU_MONITOR_COMMAND" || p.name === "DOMAIN_QEMU_AGENT_COMMAND")
    QEMU_SLOTS.set(p.slot ?? slotName(p.name), p);

/**
 * libvirt-lxc's program (lxc_protocol.x: LXC_PROGRAM 0x00068000, version 1): its one call,
 * virDomainLxcOpenNamespace, whose answer is descriptors; sent so that a daemon without the
 * program answers as it answers libvirt's client.
 */
const LXC_PROGRAM = 0x00068000;
const LXC_OPEN_NAMESPACE = proc(1, "DOMAIN_LXC_OPEN_NAMESPACE", { dom: domainRef, flags: uint }, null);

/** VIR_DRV_FEATURE_FD_PASSING. */
const FEATURE_FD_PASSING = 8;

function argCount(p: ProcedureDef): number {
  const fields = (p.args as { fields?: Record<string, unknown> }).fields;
  return fields ? Object.keys(fields).filter((n) => n !== "need_results").length : 0;
}

/** Picks the procedure whose args take exactly the slot's arguments, else the natural one. */
function pick(cands: ProcedureDef[], nargs: number): ProcedureDef {
  return (
    cands.find((p) => argCount(p) === nargs && slotName(p.name) === p.slot) ??
    cands.find((p) => argCount(p) === nargs) ??
    cands.find((p) => slotName(p.name) === p.slot) ??
    cands[0]!
  );
}

const EVENT_SLOTS: Record<string, { family: EventFamily; reg: string; objField: string }> = {
  connectDomainEventRegisterAny: {
    family: "domain",
    reg: "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    objField: "dom",
  },
  connectNetworkEventRegisterAny: {
    family: "network",
    reg: "CONNECT_NETWORK_EVENT_REGISTER_ANY",
    objField: "net",
  },
  connectStoragePoolEventRegisterAny: {
    family: "storagePool",
    reg: "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY",
    objField: "pool",
  },
  connectNodeDeviceEventRegisterAny: {
    family: "nodeDevice",
    reg: "CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY",
    objField: "dev",
  },
  connectSecretEventRegisterAny: {
    family: "secret",
    reg: "CONNECT_SECRET_EVENT_REGISTER_ANY",
    objField: "secret",
  },
};
const DEREG: Record<string, string> = {
  connectDomainEventDeregisterAny: "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
  connectNetworkEventDeregisterAny: "CONNECT_NETWORK_EVENT_DEREGISTER_ANY",
  connectStoragePoolEventDeregisterAny: "CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY",
  connectNodeDeviceEventDeregisterAny: "CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY",
  connectSecretEventDeregisterAny: "CONNECT_SECRET_EVENT_DEREGISTER_ANY",
};

/** Turns a wire event message back into the driver event shape ({eventId, dom, event, detail, data}). */
function toDriverEvent(eventID: number, payload: Record<string, any>): Record<string, unknown> {
  const { callbackID: _cb, msg, reason, ...rest } = payload;
  const flat: Record<string, any> = { ...(msg ?? {}), ...rest };
  if (reason !== undefined) flat.reason = reason;
  const { dom, net, pool, dev, secret, event, detail, ...data } = flat;
  const ev: Record<string, unknown> = { eventId: eventID };
  for (const [k, v] of Object.entries({ dom, net, pool, dev, secret, event, detail }))
    if (v !== undefined) ev[k] = v;
  if (Object.keys(data).length) ev.data = data;
  return ev;
}

/** Packs positional driver arguments into the procedure's args struct. */
function packArgs(p: ProcedureDef, positional: unknown[]): unknown {
  const fields = (p.args as { fields?: Record<string, unknown> }).fields;
  if (!fields) return undefined;
  const names = Object.keys(fields);
  const out: Record<string, unknown> = {};
  let i = 0;
  for (const n of names) {
    if (n === "need_results") out[n] = 1;
    else if ((n === "maxnames" || n === "maxids" || n === "maxuuids") && positional.length < names.length)
      out[n] = 16384;
    // typed-parameter getters: the slot has no nparams; ask for the count first (see the caller)
    else if (n === "nparams" && positional.length < names.length) out[n] = 0;
    else out[n] = positional[i++];
  }
  return out;
}

function unpackRet(p: ProcedureDef, ret: any): unknown {
  const fields = (p.ret as { fields?: Record<string, unknown> }).fields;
  if (!fields || ret === undefined) return undefined;
  const names = Object.keys(fields);
  if (names.length === 1) return ret[names[0]!];
  // list-all family: the objects, not the count
  if (names.length === 2 && names[1] === "ret" && Array.isArray(ret[names[0]!])) return ret[names[0]!];
  return ret;
}

class RemoteConnection {
  private readonly callbacks = new Map<
    number,
    { eventID: number; family: EventFamily; cb: (ev: any) => void }
  >();

  constructor(
    readonly client: RpcClient,
    private readonly uri: string,
  ) {
    client.onMessage((proc, body) => {
      const def = eventMessages.find((m) => m.proc === proc);
      if (!def) return;
      let payload: any;
      try {
        payload = def.codec.decode(new XdrReader(body));
      } catch {
        return;
      }
      const reg = this.callbacks.get(payload.callbackID);
      if (reg && reg.family === def.family) reg.cb(toDriverEvent(def.eventID, payload));
    });
  }

  /**
   * A stream slot over the wire: the caller's ByteStream (at the table's position) is fed with
   * the server's data and its `incoming` is sent up; resolves when the transfer is over.
   * Screenshots (no stream argument) resolve with { mime, data }.
   */
  private async streamCall(p: ProcedureDef, args: unknown[]): Promise<unknown> {
    if (p.streamArg === undefined) {
      const s = await this.client.openStream(p.name, packArgs(p, args));
      const parts: Buffer[] = [];
      for await (const c of s.incoming) parts.push(c);
      return { mime: s.reply?.mime ?? null, data: new Uint8Array(Buffer.concat(parts)) };
    }
    const bs = args[p.streamArg] as ByteStream;
    const rest = args.filter((_, i) => i !== p.streamArg);
    const s = await this.client.openStream(p.name, packArgs(p, rest));
    const up = (async () => {
      let sent = false;
      for await (const c of bs.incoming) {
        sent = true;
        await s.send(c);
      }
      // a download's (empty) input ends at once: its finish waits for the server's end of data,
      // which the client answers by itself; uploads and consoles finish when their input ends
      if (p.stream === "write" || sent) await s.finish();
    })();
    const down = (async () => {
      // a sparse download's holes go to a consumer that takes them, else they arrive as zeros
      if (bs.writeHole) {
        for await (const c of s.incomingSparse) await (typeof c === "number" ? bs.writeHole(c) : bs.write(c));
      } else {
        for await (const c of s.incoming) await bs.write(c);
      }
      await bs.close();
    })();
    // an upload is over when the server confirmed our end; anything else when its data ended
    if (p.stream === "write") await Promise.all([up, down]);
    else {
      up.catch(() => {});
      await down;
    }
    return undefined;
  }

  table(table: DriverTable, name: string): Record<string, unknown> {
    return new Proxy({ name } as Record<string, unknown>, {
      get: (target, prop) => {
        if (typeof prop !== "string") return undefined;
        if (prop in target) return target[prop];
        const ev = EVENT_SLOTS[prop];
        if (ev && table === tableOf(ev.family)) {
          return async (obj: unknown, eventID: number, cb: (e: unknown) => void) => {
            const { callbackID } = await this.client.call(ev.reg, { eventID, [ev.objField]: obj ?? null });
            this.callbacks.set(callbackID, { eventID, family: ev.family, cb });
            return callbackID;
          };
        }
        if (DEREG[prop]) {
          return async (callbackID: number) => {
            this.callbacks.delete(callbackID);
            await this.client.call(DEREG[prop]!, { callbackID });
          };
        }
        if (prop === "connectGetURI" && table === "hypervisor") return async () => this.uri;
        if (prop === "connectIsAlive" && table === "hypervisor") return async () => this.client.isOpen;
        if (prop === "connectIsSecure" && table === "hypervisor") return async () => this.client.isLocal;
        if (prop === "connectIsEncrypted" && table === "hypervisor") return async () => false;
        if (prop === "connectClose" && table === "hypervisor") {
          return async () => {
            try {
              await this.client.call("CONNECT_CLOSE");
            } finally {
              this.client.close();
            }
          };
        }
        if (prop === "domainLxcOpenNamespace" && table === "hypervisor") {
          return async (dom: unknown, flags: number) => {
            await this.client.callProgram(LXC_PROGRAM, 1, LXC_OPEN_NAMESPACE, { dom, flags });
            // the namespaces' descriptors come with the reply, which this client cannot receive
            throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, "file descriptor passing");
          };
        }
        if (prop === "domainQemuMonitorCommandWithFiles" && table === "hypervisor") {
          // libvirt's client asks the server about fd passing first; this client cannot send
          // descriptors either way, so a server that takes them is answered as one without the call
          return async () => {
            const { supported } = await this.client
              .call("CONNECT_SUPPORTS_FEATURE", { feature: FEATURE_FD_PASSING })
              .catch(() => ({ supported: 0 }));
            if (!supported)
              throw virError(
                ErrorCode.ARGUMENT_UNSUPPORTED,
                ErrorDomain.NONE,
                "fd passing is not supported by this connection",
              );
            throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, "file descriptor passing");
          };
        }
        const qemu = table === "hypervisor" ? QEMU_SLOTS.get(prop) : undefined;
        if (qemu) {
          return async (...args: unknown[]) =>
            unpackRet(
              qemu,
              await this.client.callProgram(QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, qemu, packArgs(qemu, args)),
            );
        }
        const cands = BY_SLOT.get(`${table}:${prop}`);
        if (!cands) return undefined;
        const streamed = cands.find((c) => c.stream);
        if (streamed) return (...args: unknown[]) => this.streamCall(streamed, args);
        return async (...args: unknown[]) => {
          const p = pick(cands, args.length);
          const packed = (PACK[p.name]?.(args) ?? packArgs(p, args)) as Record<string, unknown> | undefined;
          let ret = await this.client.call(p.name, packed);
          if (packed && packed.nparams === 0 && typeof ret?.nparams === "number" && ret.nparams > 0) {
            // libvirt's two-step typed-parameter getters: first the count, then the values.
            ret = await this.client.call(p.name, { ...packed, nparams: ret.nparams });
          }
          const custom = UNPACK[p.name];
          if (custom) return custom(ret, args);
          if (ret && typeof ret === "object" && "nparams" in ret && "params" in ret) return ret.params;
          return unpackRet(p, ret);
        };
      },
    });
  }
}

function tableOf(f: EventFamily): DriverTable {
  return (
    {
      domain: "hypervisor",
      network: "network",
      storagePool: "storage",
      nodeDevice: "nodedev",
      secret: "secret",
    } as const
  )[f];
}

export async function openRemote(u: ConnectUri, opts: OpenOptions): Promise<DriverSet> {
  const client = await RpcClient.connect(
    remoteTarget(u, process.env, process.getuid?.() ?? 1000, opts.readOnly === true),
  );
  try {
    // libvirt's remote driver order: auth list, keepalive support, open
    await client.call("AUTH_LIST");
    const { supported } = await client
      .call("CONNECT_SUPPORTS_FEATURE", { feature: 10 })
      .catch(() => ({ supported: 0 }));
    await client.call("CONNECT_OPEN", { name: serverUri(u), flags: opts.readOnly ? 1 : 0 });
    const { type } = await client.call("CONNECT_GET_TYPE").catch(() => ({ type: "remote" }));
    if (supported) client.startKeepalive(5, 6);
    const rc = new RemoteConnection(client, u.text);
    return {
      uri: u.text,
      hypervisor: rc.table("hypervisor", type) as any,
      network: rc.table("network", "remote") as any,
      storage: rc.table("storage", "remote") as any,
      secret: rc.table("secret", "remote") as any,
      iface: rc.table("iface", "remote") as any,
      nodedev: rc.table("nodedev", "remote") as any,
    };
  } catch (e) {
    client.close();
    throw e;
  }
}

export const remoteConnectionDriver: ConnectionDriverFactory = {
  name: "remote",
  accepts: isRemoteUri,
  open: openRemote,
};
