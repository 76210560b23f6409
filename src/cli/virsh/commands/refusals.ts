// Commands whose libvirt call tsvirt's drivers do not offer (block jobs, guest agent, QEMU/LXC
// specifics, backups, network filters and ports, host device assignment, host suspend, page
// allocation, native config conversion …): each checks its options and looks its object up as
// virsh does, then fails as virsh does against a driver without the slot — virsh's own message
// (when it has one), then VIR_ERR_NO_SUPPORT naming the libvirt call.
import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, lookupDomain, lookupNetwork, req } from "../lookup.js";
import {
  OptionError,
  optArgv,
  optBool,
  optInt,
  optScaled,
  optString,
  optUInt,
  optULongLong,
  ULLONG_MAX,
} from "../options.js";
import { affectFlags, exclusive, requires } from "../util.js";

type H = Handler<Ctl>;

const noSupport = (fn: string) => virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, fn);

/** Fails with virsh's message (if any) over the missing call `fn`. */
function refuse(fn: string, message?: string): never {
  if (message === undefined) throw noSupport(fn);
  throw new CmdFailure(message, noSupport(fn));
}

/** A domain command: option checks, the domain lookup, more checks, then the refused call. */
function onDomain(
  fn: (cmd: ParsedCmd) => string,
  pre?: (ctl: Ctl, cmd: ParsedCmd) => unknown,
  post?: (cmd: ParsedCmd) => unknown,
): H {
  return async (ctl, cmd) => {
    await pre?.(ctl, cmd);
    await lookupDomain(ctl, cmd);
    post?.(cmd);
    refuse(fn(cmd));
  };
}

const fixed = (fn: string) => () => fn;

/** vshCommandOptLongLong. */
function optLongLong(cmd: ParsedCmd, name: string): bigint | undefined {
  const o = cmd.opts.find((x) => x.def.name === name);
  if (!o || o.value === null) return undefined;
  const v = o.value;
  const m = /^[ \t\n\v\f\r]*([+-]?(?:0[xX][0-9a-fA-F]+|\d+))$/.exec(v);
  if (!m) throw new OptionError(`Numeric value '${v}' for <${name}> option is malformed or out of range`);
  const s = m[1]!;
  const neg = s.startsWith("-");
  const body = s.replace(/^[+-]/, "");
  const n = (neg ? -1n : 1n) * BigInt(/^0[xX]/.test(body) ? body : body.replace(/^0+(?=\d)/, ""));
  if (n < -(1n << 63n) || n >= 1n << 63n)
    throw new OptionError(`Numeric value '${v}' for <${name}> option is malformed or out of range`);
  return n;
}

const nodesuspend: H = (_ctl, cmd) => {
  const target = req(cmd, "target");
  const duration = optLongLong(cmd, "duration") ?? 0n;
  if (duration < 0n) throw new CmdFailure("Invalid duration");
  if (!["mem", "disk", "hybrid"].includes(target)) throw new CmdFailure("Invalid target");
  refuse("virNodeSuspendForDuration", "The host was not suspended");
};

const allocpages: H = (_ctl, cmd) => {
  exclusive(cmd, "all", "cellno");
  optInt(cmd, "cellno");
  optScaled(cmd, "pagesize", 1024n, 0xffffffffn * 1024n);
  optULongLong(cmd, "pagecount");
  refuse("virNodeAllocPages");
};

const setUserSshkeys: H = async (ctl, cmd) => {
  requires(cmd, "file", "remove");
  exclusive(cmd, "reset", "remove");
  await lookupDomain(ctl, cmd);
  optString(cmd, "user");
  const file = optString(cmd, "file");
  if (file === undefined) {
    if (!optBool(cmd, "reset")) throw new CmdFailure("Option --file is required");
  } else await ctl.readFile(file);
  refuse("virDomainAuthorizedSSHKeysSet");
};

const setvcpu: H = async (ctl, cmd) => {
  exclusive(cmd, "enable", "disable");
  exclusive(cmd, "current", "live");
  exclusive(cmd, "current", "config");
  if (!optBool(cmd, "enable") && !optBool(cmd, "disable"))
    throw new CmdFailure("one of --enable, --disable is required");
  optString(cmd, "vcpulist");
  await lookupDomain(ctl, cmd);
  refuse("virDomainSetVcpu");
};

const domFdAssociate: H = async (ctl, cmd) => {
  await lookupDomain(ctl, cmd);
  for (const fd of (optString(cmd, "pass-fds") ?? "").split(",")) {
    if (!/^\d+$/.test(fd)) throw new CmdFailure(`Unable to parse FD number '${fd}'`);
  }
  refuse("virDomainFDAssociate");
};

/** Reads each named file option that is given (virFileReadAll's error when one is missing). */
function readFiles(...names: string[]) {
  return async (ctl: Ctl, cmd: ParsedCmd) => {
    for (const n of names) {
      const f = optString(cmd, n);
      if (f !== undefined) await ctl.readFile(f);
    }
  };
}

const netPortLookup = (fn: string): H => {
  // virsh reports the failed lookups but the command still succeeds (virsh 9.0's net-port-dumpxml
  // and net-port-delete return true on these paths)
  return async (ctl, cmd) => {
    try {
      await lookupNetwork(ctl, cmd);
    } catch (e) {
      if (!(e instanceof CmdFailure)) throw e;
      ctl.error(e.message);
      return true;
    }
    let port: string;
    try {
      port = req(cmd, "port");
    } catch (e) {
      if (!(e instanceof CmdFailure)) throw e;
      ctl.error(e.message);
      return true;
    }
    ctl.error(`failed to get network port '${port}'`);
    void fn;
    return true;
  };
};

const netPortCreate: H = async (ctl, cmd) => {
  await lookupNetwork(ctl, cmd);
  const file = req(cmd, "file");
  await ctl.readFile(file);
  refuse("virNetworkPortCreateXML", `Failed to create network from ${file}`);
};

async function nodedev(ctl: Ctl, cmd: ParsedCmd, fn: string, what: string): Promise<never> {
  const name = req(cmd, "device");
  await attempt(`Could not find matching device '${name}'`, () => conn(ctl).nodeDeviceLookupByName(name));
  refuse(fn, `Failed to ${what} device ${name}`);
}

const qemuMonitorEvent: H = async (ctl, cmd) => {
  if (optString(cmd, "domain") !== undefined) await lookupDomain(ctl, cmd);
  refuse("virConnectDomainQemuMonitorEventRegister");
};

/** vshCommandOptULWrap: an unsigned long where negative values wrap (strtoul). */
function optULWrap(cmd: ParsedCmd, name: string): bigint | undefined {
  const v = cmd.opts.find((x) => x.def.name === name)?.value;
  if (v === undefined || v === null) return undefined;
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(v);
  const n = m ? BigInt(m[2]!) : -1n;
  if (!m || n > ULLONG_MAX)
    throw new OptionError(`Numeric value '${v}' for <${name}> option is malformed or out of range`);
  return m[1] === "-" ? (ULLONG_MAX + 1n - n) & ULLONG_MAX : n;
}

/** The migration tunables: the domain first, then the value, then the missing call. */
const migrateTunables: Record<string, H> = {
  "migrate-getmaxdowntime": onDomain(fixed("virDomainMigrateGetMaxDowntime")),
  "migrate-setmaxdowntime": onDomain(fixed("virDomainMigrateSetMaxDowntime"), undefined, (cmd) => {
    if (optULongLong(cmd, "downtime") === 0n) throw new CmdFailure("migrate: Invalid downtime");
  }),
  "migrate-compcache": onDomain(
    (cmd) =>
      optBool(cmd, "size") ? "virDomainMigrateSetCompressionCache" : "virDomainMigrateGetCompressionCache",
    undefined,
    (cmd) => optULongLong(cmd, "size"),
  ),
  "migrate-setspeed": onDomain(fixed("virDomainMigrateSetMaxSpeed"), undefined, (cmd) =>
    optULWrap(cmd, "bandwidth"),
  ),
  "migrate-getspeed": onDomain(fixed("virDomainMigrateGetMaxSpeed")),
  "migrate-postcopy": onDomain(fixed("virDomainMigrateStartPostCopy")),
};

export const refusalHandlers: Record<string, H> = {
  nodesuspend,
  allocpages,
  "detach-device-alias": async (ctl, cmd) => {
    affectFlags(cmd);
    await lookupDomain(ctl, cmd);
    refuse("virDomainDetachDeviceAlias", `Failed to detach device with alias ${req(cmd, "alias")}`);
  },
  "get-user-sshkeys": onDomain(fixed("virDomainAuthorizedSSHKeysGet"), undefined, (cmd) =>
    optString(cmd, "user"),
  ),
  "set-user-sshkeys": setUserSshkeys,
  setvcpu,
  guestinfo: onDomain(fixed("virDomainGetGuestInfo")),
  "qemu-monitor-event": qemuMonitorEvent,
  "qemu-attach": (_ctl, cmd) => {
    const pid = optUInt(cmd, "pid");
    refuse("virDomainQemuAttach", `Failed to attach to pid ${pid}`);
  },
  "guest-agent-timeout": onDomain(fixed("virDomainAgentSetResponseTimeout"), undefined, (cmd) =>
    optInt(cmd, "timeout"),
  ),
  // libvirt-lxc's call: a driver slot only the remote driver has (it sends LXC_PROGRAM's call)
  "lxc-enter-namespace": async (ctl, cmd) => {
    const dom = await lookupDomain(ctl, cmd);
    conn(ctl).checkWritable(ErrorDomain.DOMAIN, "virDomainLxcOpenNamespace");
    const open = (conn(ctl).drivers.hypervisor as unknown as Record<string, unknown>).domainLxcOpenNamespace;
    if (typeof open !== "function") refuse("virDomainLxcOpenNamespace");
    await (open as (d: unknown, f: number) => Promise<never>)(dom.ref, 0);
    return false;
  },
  "dom-fd-associate": domFdAssociate,
  "backup-begin": async (ctl, cmd) => {
    await lookupDomain(ctl, cmd);
    await readFiles("backupxml", "checkpointxml")(ctl, cmd);
    refuse("virDomainBackupBegin");
  },
  "backup-dumpxml": onDomain(fixed("virDomainBackupGetXMLDesc")),
  domsetlaunchsecstate: async (ctl, cmd) => {
    await lookupDomain(ctl, cmd);
    const hdr = optString(cmd, "secrethdr");
    const secret = optString(cmd, "secret");
    if (hdr === undefined || secret === undefined)
      throw new CmdFailure("Both secret and the secret header are required");
    await readFiles("secrethdr", "secret")(ctl, cmd);
    optULongLong(cmd, "set-address");
    refuse("virDomainSetLaunchSecurityState", "Unable to set launch security state");
  },
  // cmdDomXMLFromNative / cmdDomXMLToNative: the driver's answer printed as it is (no newline added)
  "domxml-from-native": async (ctl, cmd) => {
    const format = req(cmd, "format");
    const config = await ctl.readFile(req(cmd, "config"));
    ctl.print(await conn(ctl).domainXMLFromNative(format, config, 0));
    return true;
  },
  "domxml-to-native": async (ctl, cmd) => {
    exclusive(cmd, "domain", "xml");
    const format = req(cmd, "format");
    const file = optString(cmd, "xml");
    let xml: string;
    if (file !== undefined) xml = await ctl.readFile(file);
    else if (optBool(cmd, "domain")) xml = await (await lookupDomain(ctl, cmd)).getXMLDesc(0);
    else throw new CmdFailure("need either domain or domain XML");
    ctl.print(await conn(ctl).domainXMLToNative(format, xml, 0));
    return true;
  },
  "nwfilter-define": async (ctl, cmd) => {
    const file = req(cmd, "file");
    await ctl.readFile(file);
    refuse(
      optBool(cmd, "validate") ? "virNWFilterDefineXMLFlags" : "virNWFilterDefineXML",
      `Failed to define network filter from ${file}`,
    );
  },
  "nwfilter-edit": (_ctl, cmd) =>
    refuse("virNWFilterLookupByName", `failed to get nwfilter '${req(cmd, "nwfilter")}'`),
  "nwfilter-binding-create": async (ctl, cmd) => {
    const file = req(cmd, "file");
    await ctl.readFile(file);
    refuse("virNWFilterBindingCreateXML", `Failed to create network filter from ${file}`);
  },
  "nwfilter-binding-delete": (_ctl, cmd) =>
    refuse("virNWFilterBindingLookupByPortDev", `failed to get nwfilter binding '${req(cmd, "binding")}'`),
  "nwfilter-binding-dumpxml": (_ctl, cmd) =>
    refuse("virNWFilterBindingLookupByPortDev", `failed to get nwfilter binding '${req(cmd, "binding")}'`),
  "net-port-create": netPortCreate,
  "net-port-dumpxml": netPortLookup("virNetworkPortLookupByUUID"),
  "net-port-delete": netPortLookup("virNetworkPortLookupByUUID"),
  "nodedev-detach": (ctl, cmd) =>
    nodedev(
      ctl,
      cmd,
      // --driver is read quietly: an empty value means none
      cmd.opts.find((o) => o.def.name === "driver")?.value
        ? "virNodeDeviceDetachFlags"
        : "virNodeDeviceDettach",
      "detach",
    ),
  "nodedev-reattach": (ctl, cmd) => nodedev(ctl, cmd, "virNodeDeviceReAttach", "re-attach"),
  "nodedev-reset": (ctl, cmd) => nodedev(ctl, cmd, "virNodeDeviceReset", "reset"),
  ...migrateTunables,
};

void optArgv;
