// Object lookups from a command's option, as virsh's virshCommandOpt{Domain,Network,Pool,Vol,
// Interface}By do (tools/virsh-util.c, virsh-*.c): by id, uuid, then name, with virsh's messages.
import type { Connection, Domain, Interface, Network, StoragePool, StorageVol } from "../../api/index.js";
import { ErrorCode, ErrorDomain, VirError } from "../../errors/index.js";
import type { ParsedCmd } from "./command.js";
import { CmdFailure, type VirshControl } from "./control.js";
import { optString, strToLongI } from "./options.js";

export type Ctl = VirshControl<Connection>;

/**
 * virUUIDParse: leading blanks, then 32 hex digits with '-' or ' ' anywhere between the byte
 * pairs, then only blanks. The canonical lower-case 8-4-4-4-12 form, or null.
 */
export function parseUuid(s: string): string | null {
  const m = /^[ \t\n\v\f\r]*((?:[-\x20]*[0-9a-fA-F]{2}){16})[ \t\n\v\f\r]*$/.exec(s);
  if (!m) return null;
  const hex = m[1]!.replace(/[- ]/g, "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function looksLikeUuid(s: string): boolean {
  return parseUuid(s) !== null;
}

/** virsh tries a UUID lookup only for a string of a UUID's length (VIR_UUID_STRING_BUFLEN - 1). */
export function uuidLength(s: string): boolean {
  return Buffer.byteLength(s) === 36;
}

/** The public virXLookupByUUIDString: a malformed string is refused before any driver call. */
export async function byUuidString<T>(
  fn: string,
  domain: number,
  s: string,
  lookup: (uuid: string) => Promise<T>,
): Promise<T> {
  const uuid = parseUuid(s);
  if (uuid === null)
    throw new VirError({
      code: ErrorCode.INVALID_ARG,
      domain,
      message: `uuidstr in ${fn} must be a valid UUID`,
    });
  return lookup(uuid);
}

export function conn(ctl: Ctl): Connection {
  if (!ctl.conn) throw new CmdFailure("no valid connection");
  return ctl.conn;
}

/** The option's value; a required option that is missing cannot happen after parsing. */
export function req(cmd: ParsedCmd, name: string): string {
  const v = optString(cmd, name);
  if (v === undefined) throw new CmdFailure(`command '${cmd.def.name}' requires <${name}> option`);
  return v;
}

/** virshLookupDomainBy: id (a non-negative integer), uuid, then name; the lookup errors are
 * dropped and only "failed to get domain" is shown. */
export interface LookupBy {
  id: boolean;
  uuid: boolean;
  name: boolean;
}
const ANY: LookupBy = { id: true, uuid: true, name: true };

export async function lookupDomain(
  ctl: Ctl,
  cmd: ParsedCmd,
  opt = "domain",
  by: LookupBy = ANY,
): Promise<Domain> {
  const n = req(cmd, opt);
  ctl.debug(1, `${cmd.def.name}: found option <${opt}>: ${n}\n`);
  return domainByString(ctl, n, `${cmd.def.name}: <${opt}>`, by);
}

export async function domainByString(ctl: Ctl, n: string, who = "", by: LookupBy = ANY): Promise<Domain> {
  const c = conn(ctl);
  const id = by.id ? strToLongI(n, 10) : null;
  if (id !== null && id >= 0) {
    ctl.debug(0, `${who} looks like ID\n`);
    try {
      return await c.domainLookupByID(id);
    } catch {}
  }
  if (by.uuid && uuidLength(n)) {
    ctl.debug(0, `${who} trying as domain UUID\n`);
    try {
      return await byUuidString("virDomainLookupByUUIDString", ErrorDomain.DOMAIN, n, (u) =>
        c.domainLookupByUUID(u),
      );
    } catch {}
  }
  if (by.name) {
    ctl.debug(0, `${who} trying as domain NAME\n`);
    try {
      return await c.domainLookupByName(n);
    } catch {}
  }
  throw new CmdFailure(`failed to get domain '${n}'`);
}

/** virshCommandOptNetworkBy: uuid then name; the libvirt error is reported after ours. */
export async function lookupNetwork(ctl: Ctl, cmd: ParsedCmd, opt = "network"): Promise<Network> {
  const n = req(cmd, opt);
  const c = conn(ctl);
  let last: unknown;
  if (uuidLength(n)) {
    try {
      return await byUuidString("virNetworkLookupByUUIDString", ErrorDomain.NETWORK, n, (u) =>
        c.networkLookupByUUID(u),
      );
    } catch (e) {
      last = e;
    }
  }
  try {
    return await c.networkLookupByName(n);
  } catch (e) {
    last = e;
  }
  throw new CmdFailure(`failed to get network '${n}'`, last);
}

/** Lookups that accept only a UUID (net-name, pool-name): no libvirt call for other lengths. */
export function requireUuid(n: string, what: string): void {
  if (!uuidLength(n)) throw new CmdFailure(`failed to get ${what} '${n}'`);
}

export async function poolByString(ctl: Ctl, n: string): Promise<StoragePool> {
  const c = conn(ctl);
  let last: unknown;
  if (uuidLength(n)) {
    try {
      return await byUuidString("virStoragePoolLookupByUUIDString", ErrorDomain.STORAGE, n, (u) =>
        c.storagePoolLookupByUUID(u),
      );
    } catch (e) {
      last = e;
    }
  }
  try {
    return await c.storagePoolLookupByName(n);
  } catch (e) {
    last = e;
  }
  throw new CmdFailure(`failed to get pool '${n}'`, last);
}

export async function lookupPool(ctl: Ctl, cmd: ParsedCmd, opt = "pool"): Promise<StoragePool> {
  return poolByString(ctl, req(cmd, opt));
}

/** virshCommandOptVolBy: by name inside --pool, else by key, then by path. */
export async function lookupVol(
  ctl: Ctl,
  cmd: ParsedCmd,
  opt = "vol",
  poolOpt = "pool",
): Promise<StorageVol> {
  const n = req(cmd, opt);
  const p = optString(cmd, poolOpt);
  const c = conn(ctl);
  let last: unknown;
  let pool: StoragePool | undefined;
  if (p !== undefined) {
    pool = await poolByString(ctl, p);
    if (!(await pool.isActive())) throw new CmdFailure(`pool '${p}' is not active`);
    try {
      return await pool.storageVolLookupByName(n);
    } catch (e) {
      last = e;
    }
  }
  try {
    return await c.storageVolLookupByKey(n);
  } catch (e) {
    last = e;
  }
  try {
    return await c.storageVolLookupByPath(n);
  } catch (e) {
    last = e;
  }
  if (pool || !cmd.def.opts.some((o) => o.name === poolOpt))
    throw new CmdFailure(`failed to get vol '${n}'`, last);
  throw new CmdFailure(`failed to get vol '${n}', specifying --${poolOpt} might help`, last);
}

/** virshCommandOptInterfaceBy: by name, or by MAC when it looks like one; `by` restricts it as
 * iface-mac (names only) and iface-name (MACs only) do. */
export async function lookupInterface(
  ctl: Ctl,
  cmd: ParsedCmd,
  opt = "interface",
  by: "name" | "mac" | "any" = "any",
): Promise<Interface> {
  const n = req(cmd, opt);
  const c = conn(ctl);
  let last: unknown;
  // virMacAddrParse: six hex bytes separated by ':' only
  const isMac = /^([0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}$/.test(n);
  if (!isMac && by !== "mac") {
    try {
      return await c.interfaceLookupByName(n);
    } catch (e) {
      last = e;
    }
  } else if (isMac && by !== "name") {
    try {
      return await c.interfaceLookupByMACString(n);
    } catch (e) {
      last = e;
    }
  }
  throw new CmdFailure(`failed to get interface '${n}'`, last);
}

/**
 * virsh calls the flag-less API (virDomainDefineXML, virDomainSetVcpus …) when no flag is set and
 * the read-only refusal names that function; the typed API has one method per slot, so the CLI
 * names the function itself (VIR_ERR_OPERATION_DENIED, as virCheckReadOnlyGoto).
 */
export function denyReadOnly(ctl: Ctl, fn: string): void {
  if (ctl.readOnly)
    throw new VirError({
      code: ErrorCode.OPERATION_DENIED,
      domain: ErrorDomain.DOMAIN,
      message: `operation forbidden: read only access prevents ${fn}`,
    });
}

/** Runs an API call; on failure reports virsh's message first, then the libvirt error. */
export async function attempt<T>(msg: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof CmdFailure) throw e;
    throw new CmdFailure(msg, e);
  }
}
