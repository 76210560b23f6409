// Shared remote_protocol.x data types: strings, uuid, the object references every procedure passes
// (remote_nonnull_domain, _network, _storage_pool, _storage_vol, ...) and typed parameters.
// Refs use tsvirt's wire-shaped driver refs: uuid as a canonical lowercase string.
import {
  array,
  type Codec,
  double,
  type Infer,
  int,
  mapped,
  optional,
  string,
  struct,
  uint,
  union,
  xdrError,
} from "../xdr/index.js";
import { REMOTE_STRING_MAX, VIR_UUID_BUFLEN } from "./constants.js";

/** remote_nonnull_string. */
export const nstr = string(REMOTE_STRING_MAX);
/** remote_string (optional string; null when absent). */
export const ostr = optional(nstr);

/** Formats 16 uuid bytes the way libvirt's virUUIDFormat does. */
export function uuidToString(b: Uint8Array): string {
  const h = Buffer.from(b).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const CANONICAL_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function uuidToBytes(s: string): Buffer {
  const hex = s.length === 36 && CANONICAL_UUID.test(s) ? s.replaceAll("-", "") : s.replace(/-/g, "");
  // Buffer.from(…, "hex") stops at the first bad digit, so the length check catches bad input
  const b = Buffer.from(hex, "hex");
  if (hex.length !== 32 || b.length !== 16) throw xdrError(`XDR: malformed uuid '${s}'`);
  return b;
}

/** remote_uuid: opaque[VIR_UUID_BUFLEN], carried as a lowercase string in memory. */
export const uuid: Codec<string> = {
  kind: "remote_uuid",
  minSize: VIR_UUID_BUFLEN,
  encode(w, v) {
    if (typeof v !== "string") throw xdrError(`XDR: malformed uuid '${String(v)}'`);
    // canonical 8-4-4-4-12 form (or bare hex) written straight into the message
    if (v.length === 36 && v[8] === "-" && v[13] === "-" && v[18] === "-" && v[23] === "-")
      w.canonicalUuid(v);
    else w.hexOpaque(v.length === 36 ? v.replaceAll("-", "") : v, VIR_UUID_BUFLEN);
  },
  decode: (r) => r.uuidString(),
};

/** Wire int that the driver sees as a JS number: hypers become numbers when exact. */
export function toNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** unsigned hyper that decodes to a number when it fits (memory sizes, times). */
// (the writer takes safe integers as they are and anything else through BigInt(); the reader
// builds a bigint only for values beyond 2^53)
export const u64: Codec<number | bigint> = {
  kind: "unsigned hyper",
  minSize: 8,
  encode: (w, v) => w.uhyper(v),
  decode: (r) => r.uhyperNumber(),
};
export const i64: Codec<number | bigint> = {
  kind: "hyper",
  minSize: 8,
  encode: (w, v) => w.hyper(v),
  decode: (r) => r.hyperNumber(),
};

export const domainRef = struct("remote_nonnull_domain", { name: nstr, uuid, id: int });
export const networkRef = struct("remote_nonnull_network", { name: nstr, uuid });
export const nwfilterRef = struct("remote_nonnull_nwfilter", { name: nstr, uuid });
export const interfaceRef = struct("remote_nonnull_interface", { name: nstr, mac: nstr });
export const poolRef = struct("remote_nonnull_storage_pool", { name: nstr, uuid });
export const volRef = struct("remote_nonnull_storage_vol", { pool: nstr, name: nstr, key: nstr });
export const nodeDeviceRef = struct("remote_nonnull_node_device", { name: nstr });
/** A node device named by a bare remote_nonnull_string on the wire, a NodeDeviceRef in memory. */
export const devName: Codec<{ name: string }> = mapped(
  nstr,
  "remote_nonnull_string (node device)",
  (name) => ({ name }),
  (r) => r.name,
);
export const secretRef = struct("remote_nonnull_secret", { uuid, usageType: int, usageID: nstr });
const snapshotWire = struct("remote_nonnull_domain_snapshot", { name: nstr, dom: domainRef });
/** remote_nonnull_domain_snapshot; in memory the parent is `domain` (tsvirt's DomainSnapshotRef). */
export const snapshotRef = mapped(
  snapshotWire,
  "remote_nonnull_domain_snapshot",
  (w) => ({ name: w.name, domain: w.dom }),
  (v: { name: string; domain: DomainRef }) => ({ name: v.name, dom: v.domain }),
);

/** An int the driver sees as a boolean (autostart, is-active, has-image ...). */
export const flag: Codec<boolean> = mapped(
  int,
  "int (boolean)",
  (v) => v !== 0,
  (b) => (b ? 1 : 0),
);

export type DomainRef = Infer<typeof domainRef>;
export type NodeDeviceRef = Infer<typeof nodeDeviceRef>;
export type NetworkRef = Infer<typeof networkRef>;
export type PoolRef = Infer<typeof poolRef>;
export type VolRef = Infer<typeof volRef>;
export type SnapshotRef = Infer<typeof snapshotRef>;

/** libvirt-common.h virTypedParameterType values, as used by remote_typed_param_value. */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

/** remote_typed_param_value: union switch (int type). */
export const typedParamValue = union("remote_typed_param_value", {
  [TypedParamType.INT]: int,
  [TypedParamType.UINT]: uint,
  [TypedParamType.LLONG]: i64,
  [TypedParamType.ULLONG]: u64,
  [TypedParamType.DOUBLE]: double,
  [TypedParamType.BOOLEAN]: int,
  [TypedParamType.STRING]: nstr,
});

const typedParamWire = struct("remote_typed_param", { field: nstr, value: typedParamValue });

/** A virTypedParameter in memory: { field, type, value }; booleans travel as int 0/1. */
export interface TypedParam {
  field: string;
  type: number;
  value: number | bigint | string | boolean;
}

/** remote_typed_param, flattened to tsvirt's TypedParam shape. */
export const typedParam: Codec<TypedParam> = mapped(
  typedParamWire,
  "remote_typed_param",
  (w) => ({
    field: w.field,
    type: w.value.type,
    value:
      w.value.type === TypedParamType.BOOLEAN ? w.value.value !== 0 : (w.value.value as TypedParam["value"]),
  }),
  (t) => ({
    field: t.field,
    value: { type: t.type, value: typeof t.value === "boolean" ? (t.value ? 1 : 0) : t.value },
  }),
);

export function typedParams(max: number) {
  return array(typedParam, max);
}
