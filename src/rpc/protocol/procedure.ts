// The shape of one procedure-table entry and the helpers the per-area tables are written with.
// An entry is data: number, name, codecs, the driver slot it calls, whether a read-only
// connection may use it. The dispatcher (rpc/server) is generic over these entries.
import { type Codec, fixedArray, int, mapped, struct, uint, type XdrWriter, xvoid } from "../xdr/index.js";

export type DriverFn = (...args: any[]) => Promise<any> | any;

/** Read-only refusal for an XML getter called with its *_XML_SECURE flag (bit 0 in libvirt). */
export function secureFlag(fn: string) {
  return (a: { flags: number }) => ((a.flags & 1) !== 0 ? `${fn} with secure flag` : null);
}

/** Which driver table of a connection serves the procedure (tsvirt's DriverSet members). */
export type DriverTable = "hypervisor" | "network" | "storage" | "secret" | "iface" | "nodedev" | "nwfilter";

export interface ProcedureDef {
  /** remote_procedure number (remote_protocol.x). */
  num: number;
  /** Name without the REMOTE_PROC_ prefix, e.g. "DOMAIN_LOOKUP_BY_NAME". */
  name: string;
  args: Codec<any>;
  ret: Codec<any>;
  /** Driver slot (libvirt's name in camelCase); null when the server itself answers. */
  slot: string | null;
  /** The driver table the slot lives in (set per group by program.ts). */
  table: DriverTable;
  /** Allowed on a read-only connection (libvirt: the public API has no virCheckReadOnly). */
  readonly: boolean;
  /**
   * For procedures allowed read-only except with some flags: returns libvirt's refusal text after
   * "operation forbidden: " ("virDomainGetXMLDesc with secure flag"), or null when allowed.
   */
  roDeny?: (args: any) => string | null;
  /** @priority: high in remote_protocol.x: never blocks on a hypervisor. */
  high: boolean;
  /** @readstream / @writestream: the call opens a data stream. */
  stream?: "read" | "write";
  /**
   * Where the driver slot takes its ByteStream among the positional arguments (libvirt's
   * @readstream/@writestream paramnumber, counted after the object): virStorageVolUpload(vol,
   * stream, …) → 1, virDomainOpenConsole(dom, dev, stream, flags) → 2.
   */
  streamArg?: number;
  /** Maps decoded args to a driver call and its result to the ret struct. */
  invoke: (fn: DriverFn, args: any) => Promise<any>;
  /**
   * The same mapping as `invoke` split for the dispatcher's fast path (set when the entry has no
   * custom invoke): `args` gives the slot's positional arguments, `ret` encodes the slot's bare
   * result as `invoke`'s ret value would be encoded (a 1-field ret without its wrapper object).
   */
  direct?: { args: (args: any) => unknown[]; ret: { encode(w: XdrWriter, r: unknown): void } };
}

export interface ProcOptions {
  ro?: boolean;
  high?: boolean;
  slot?: string | null;
  stream?: "read" | "write";
  streamArg?: number;
  roDeny?: (args: any) => string | null;
  /** Positional driver arguments built from the decoded args (default: every field in order). */
  pass?: (args: any) => unknown[];
  invoke?: (fn: DriverFn, args: any) => Promise<any>;
}

const ACRONYMS: Record<string, string> = {
  XML: "XML",
  UUID: "UUID",
  URI: "URI",
  OS: "OS",
  ID: "ID",
  CPU: "CPU",
  MAC: "MAC",
  DHCP: "DHCP",
  PM: "PM",
  NMI: "NMI",
  SCSI: "SCSI",
  WWN: "WWN",
  FSINFO: "FSInfo",
  IOTHREAD: "IOThread",
  NWFILTERS: "NWFilters",
  SEV: "SEV",
  SSH: "SSH",
  FD: "FD",
};

/** DOMAIN_GET_XML_DESC → domainGetXMLDesc, as libvirt names driver slots. */
export function slotName(name: string): string {
  return name
    .split("_")
    .map((w, i) => {
      if (i > 0 && ACRONYMS[w]) return ACRONYMS[w];
      const lower = w.toLowerCase();
      return i === 0 ? lower : lower[0]!.toUpperCase() + lower.slice(1);
    })
    .join("");
}

type Fields = Record<string, Codec<any>>;

/** Default mapping: pass args fields in declaration order; wrap a bare result into a 1-field ret. */
function defaultInvoke(ret: Codec<any> & { fields?: Fields }, pass?: (args: any) => unknown[]) {
  const names = ret.fields ? Object.keys(ret.fields) : [];
  return async (fn: DriverFn, args: any) => {
    const positional = pass ? pass(args) : args && typeof args === "object" ? Object.values(args) : [];
    const r = await fn(...positional);
    if (!ret.fields) return undefined;
    return names.length === 1 ? { [names[0]!]: r } : r;
  };
}

const NO_ARGS: unknown[] = [];

/** defaultInvoke's positional arguments. */
function positionalOf(pass?: (args: any) => unknown[]): (args: any) => unknown[] {
  if (pass) return pass;
  return (args: any) => (args && typeof args === "object" ? Object.values(args) : NO_ARGS);
}

/**
 * Encodes a slot's bare result as defaultInvoke's ret value would be: void rets ignore it, a
 * 1-field ret struct is its field's codec (with the struct's " in field" note on errors).
 */
function directRet(ret: Codec<any> & { fields?: Fields }): { encode(w: XdrWriter, r: unknown): void } {
  const fields = ret.fields;
  if (!fields) return { encode: (w) => ret.encode(w, undefined) };
  const names = Object.keys(fields);
  if (names.length !== 1) return ret;
  const name = names[0]!;
  const field = fields[name]!;
  return {
    encode(w, r) {
      try {
        field.encode(w, r);
      } catch (e) {
        if (e instanceof Error && !e.message.includes(" in field "))
          e.message += ` in field ${ret.kind}.${name}`;
        throw e;
      }
    },
  };
}

function toCodec(name: string, suffix: string, f: Fields | Codec<any> | null): Codec<any> {
  if (f === null) return xvoid;
  if (typeof (f as Codec<any>).encode === "function") return f as Codec<any>;
  return struct(`remote_${name.toLowerCase()}_${suffix}`, f as Fields);
}

export function proc(
  num: number,
  name: string,
  args: Fields | Codec<any> | null,
  ret: Fields | Codec<any> | null,
  o: ProcOptions = {},
): ProcedureDef {
  const retCodec = toCodec(name, "ret", ret);
  return {
    num,
    name,
    args: toCodec(name, "args", args),
    ret: retCodec,
    slot: o.slot === undefined ? slotName(name) : o.slot,
    table: "hypervisor",
    readonly: o.ro ?? false,
    high: o.high ?? false,
    stream: o.stream,
    streamArg: o.streamArg,
    roDeny: o.roDeny,
    invoke: o.invoke ?? defaultInvoke(retCodec as Codec<any> & { fields?: Fields }, o.pass),
    direct: o.invoke ? undefined : { args: positionalOf(o.pass), ret: directRet(retCodec) },
  };
}

/**
 * The list-all family (need_results + flags → objects + count): the driver slot takes the
 * leading args (if any) and flags and returns the array.
 */
export function listAll(field: string) {
  return async (fn: DriverFn, args: any) => {
    const { need_results, flags, ...lead } = args;
    const list: unknown[] = (await fn(...Object.values(lead), flags)) ?? [];
    return { [field]: need_results ? list : [], ret: list.length };
  };
}

/** Getter args are (obj, …, nparams, flags); the driver slot gets them without nparams. */
export const withoutNparams = (a: any) => Object.entries(a).flatMap(([k, v]) => (k === "nparams" ? [] : [v]));

/**
 * The "nparams" getters (memory/blkio/numa parameters, stats): nparams 0 asks for the count,
 * otherwise up to nparams entries come back. The driver slot returns the whole list.
 */
export function paramsGetter(pass: (args: any) => unknown[], field = "params") {
  return async (fn: DriverFn, args: any) => {
    const list: unknown[] = (await fn(...pass(args))) ?? [];
    const n = args.nparams ?? 0;
    if (n !== 0) throwDeferred(list);
    return { [field]: n === 0 ? [] : list.slice(0, n), nparams: list.length };
  };
}

/**
 * A driver whose C counterpart answers the count (nparams 0) before it looks anything up returns
 * the list's shape with `deferredError` set: the count call succeeds, the call for values fails.
 */
function throwDeferred(list: unknown): void {
  const e = (list as { deferredError?: unknown } | null)?.deferredError;
  if (e) throw e;
}

/**
 * DOMAIN_GET_CPU_STATS as libvirt's remoteDispatchDomainGetCPUStats answers it: with nparams 0 the
 * count alone (parameters per CPU, or with ncpus 0 the number of CPUs); otherwise every CPU's
 * first ret.nparams parameters back to back, so the client splits them with that stride.
 */
export async function cpuStatsGetter(fn: DriverFn, a: any) {
  if (a.nparams === 0 && a.ncpus === 0) {
    const rows = ((await fn(a.dom, a.start_cpu, 128, a.flags)) ?? []) as unknown[][];
    return { params: [], nparams: a.start_cpu + rows.length };
  }
  const rows = ((await fn(a.dom, a.start_cpu, a.ncpus, a.flags)) ?? []) as unknown[][];
  const per = Math.max(0, ...rows.map((r) => r.length));
  if (a.nparams === 0) return { params: [], nparams: per };
  throwDeferred(rows);
  const n = Math.min(per, a.nparams);
  return { params: rows.flatMap((r) => r.slice(0, n)), nparams: n };
}

/** rpcgen `char x[n]`: n chars, each widened to a 4-byte int; carried as a NUL-trimmed string. */
export function charArray(n: number): Codec<string> {
  return mapped(
    fixedArray(int, n),
    `char[${n}]`,
    (codes) => {
      const end = codes.indexOf(0);
      return Buffer.from((end < 0 ? codes : codes.slice(0, end)).map((c) => c & 0xff)).toString("latin1");
    },
    (s) => {
      const bytes = Buffer.from(s, "latin1").subarray(0, n);
      const out = new Array<number>(n).fill(0);
      bytes.forEach((b, i) => {
        out[i] = b > 127 ? b - 256 : b;
      });
      return out;
    },
  );
}

/** rpcgen `char x<max>` as libvirt fills it: the C string including its NUL, one int per char. */
export function charVarArray(max: number): Codec<string> {
  return {
    kind: `char<${max}>`,
    minSize: 4,
    encode(w, s) {
      const bytes = Buffer.from(s, "utf8");
      if (bytes.length + 1 > max) throw new Error(`string too long for char<${max}>`);
      w.uint(bytes.length + 1);
      for (const b of bytes) w.int(b > 127 ? b - 256 : b);
      w.int(0);
    },
    decode(r) {
      const n = r.length(max, "char array", 4);
      const bytes: number[] = [];
      for (let i = 0; i < n; i++) bytes.push(r.int() & 0xff);
      const end = bytes.indexOf(0);
      return Buffer.from(end < 0 ? bytes : bytes.slice(0, end)).toString("utf8");
    },
  };
}

export { int, uint };
