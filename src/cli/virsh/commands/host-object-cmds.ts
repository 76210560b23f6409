// What the net-* and pool-* commands share (tools/virsh-network.c, virsh-pool.c): both kinds are
// host objects that are active or not, persistent or transient, autostarted or not.
import { ErrorCode, isVirError } from "../../../errors/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { attempt, byUuidString, type Ctl, req, requireUuid } from "../lookup.js";
import { optBool } from "../options.js";
import { editText } from "../util.js";

type H = Handler<Ctl>;

/** A network or storage pool handle, as far as these helpers need it. */
export interface HostObjectHandle {
  readonly name: string;
  getAutostart(): Promise<boolean>;
  setAutostart(on: boolean): Promise<void>;
  getXMLDesc(flags: number): Promise<string>;
}

/** How a command names the kind: "network" in errors, "Network" at the start of a message. */
export interface KindWords<T> {
  noun: string;
  Noun: string;
  lookup: (ctl: Ctl, cmd: ParsedCmd) => Promise<T>;
}

/** The Autostart column / line: yes, no, or "no autostart" when it cannot be read. */
export async function autostartWord(o: HostObjectHandle): Promise<string> {
  try {
    return (await o.getAutostart()) ? "yes" : "no";
  } catch {
    return "no autostart";
  }
}

/** The list flags every *-list of host objects takes (VIR_CONNECT_LIST_{NETWORKS,STORAGE_POOLS}_*). */
export interface StateListFlags {
  ACTIVE: number;
  INACTIVE: number;
  PERSISTENT: number;
  TRANSIENT: number;
  AUTOSTART: number;
  NO_AUTOSTART: number;
}

/** --inactive/--all pick the states (active by default), --[no-]autostart and --persistent/--transient filter. */
export function stateListFlags(cmd: ParsedCmd, L: StateListFlags): number {
  let flags: number = L.ACTIVE;
  if (optBool(cmd, "inactive")) flags = L.INACTIVE;
  if (optBool(cmd, "all")) flags = L.ACTIVE | L.INACTIVE;
  if (optBool(cmd, "persistent")) flags |= L.PERSISTENT;
  if (optBool(cmd, "transient")) flags |= L.TRANSIENT;
  if (optBool(cmd, "autostart")) flags |= L.AUTOSTART;
  if (optBool(cmd, "no-autostart")) flags |= L.NO_AUTOSTART;
  return flags;
}

/** net-name / pool-name: the name of the object with this UUID. */
export function nameByUuidCmd<T extends { name: string }>(
  noun: string,
  fn: string,
  domain: number,
  byUuid: (ctl: Ctl, uuid: string) => Promise<T>,
): H {
  return async (ctl, cmd) => {
    const n = req(cmd, noun);
    requireUuid(n, noun);
    const o = await attempt(`failed to get ${noun} '${n}'`, () =>
      byUuidString(fn, domain, n, (u) => byUuid(ctl, u)),
    );
    ctl.print(`${o.name}\n`);
    return true;
  };
}

/** A command that looks the object up, does one thing and says "<Noun> NAME <done>". */
export function simpleStep<T extends { name: string }>(
  kind: KindWords<T>,
  verb: string,
  done: string,
  f: (o: T) => Promise<void>,
): H {
  return async (ctl, cmd) => {
    const o = await kind.lookup(ctl, cmd);
    // virsh names the object as given (a UUID stays so)
    const name = req(cmd, kind.noun);
    await attempt(`Failed to ${verb} ${kind.noun} ${name}`, () => f(o));
    ctl.printExtra(`${kind.Noun} ${name} ${done}\n`);
    return true;
  };
}

/** net-autostart / pool-autostart [--disable]. */
export function autostartCmd<T extends HostObjectHandle>(kind: KindWords<T>): H {
  return async (ctl, cmd) => {
    const o = await kind.lookup(ctl, cmd);
    const off = optBool(cmd, "disable");
    const name = req(cmd, kind.noun);
    await attempt(
      off
        ? `failed to unmark ${kind.noun} ${name} as autostarted`
        : `failed to mark ${kind.noun} ${name} as autostarted`,
      () => o.setAutostart(!off),
    );
    ctl.printExtra(
      off ? `${kind.Noun} ${name} unmarked as autostarted\n` : `${kind.Noun} ${name} marked as autostarted\n`,
    );
    return true;
  };
}

/** net-edit / pool-edit: edit the inactive XML and define it again. */
export function editCmd<T extends HostObjectHandle>(
  kind: KindWords<T>,
  define: (ctl: Ctl, xml: string) => Promise<{ name: string }>,
): H {
  return async (ctl, cmd) => {
    const o = await kind.lookup(ctl, cmd);
    // the inactive XML; a driver that refuses the flag (invalid argument) is asked without it
    const before = await o.getXMLDesc(1).catch((e: unknown) => {
      if (isVirError(e) && e.code === ErrorCode.INVALID_ARG) return o.getXMLDesc(0);
      throw e;
    });
    const after = editText(before);
    if (after === before) {
      ctl.printExtra(`${kind.Noun} ${o.name} XML configuration not changed.\n`);
      return true;
    }
    const n = await attempt("Failed. Try again?", () => define(ctl, after));
    ctl.printExtra(`${kind.Noun} ${n.name} XML configuration edited.\n`);
    return true;
  };
}

/** net-define / net-create / pool-define: "<Noun> NAME <done> from FILE". */
export function fromFileCmd<T>(
  kind: KindWords<T>,
  verb: string,
  done: string,
  f: (ctl: Ctl, xml: string, cmd: ParsedCmd) => Promise<{ name: string }>,
): H {
  return async (ctl, cmd) => {
    const file = req(cmd, "file");
    const xml = await ctl.readFile(file);
    const o = await attempt(`Failed to ${verb} ${kind.noun} from ${file}`, () => f(ctl, xml, cmd));
    ctl.printExtra(`${kind.Noun} ${o.name} ${done} from ${file}\n`);
    return true;
  };
}

/** net-uuid / pool-uuid: looked up by name only (a UUID is a name there). */
export function uuidCmd<T extends { uuid: string }>(
  kind: KindWords<T>,
  byName: (ctl: Ctl, name: string) => Promise<T>,
): H {
  return async (ctl, cmd) => {
    const n = req(cmd, kind.noun);
    const o = await attempt(`failed to get ${kind.noun} '${n}'`, () => byName(ctl, n));
    ctl.print(`${o.uuid}\n`);
    return true;
  };
}

/** net-dumpxml / pool-dumpxml [--inactive]. */
export function dumpxmlCmd<T extends HostObjectHandle>(kind: KindWords<T>): H {
  return async (ctl, cmd) => {
    const o = await kind.lookup(ctl, cmd);
    ctl.print(await o.getXMLDesc(optBool(cmd, "inactive") ? 1 : 0));
    return true;
  };
}
