// Commands that call what tsvirtd's QEMU driver offers and the test driver does not: virsh 9.0's
// option checks, its call, its output. Against a driver without the slot they fail as virsh does
// (virsh's message, then VIR_ERR_NO_SUPPORT naming the libvirt call, raised by Connection.hv).
// qemu-monitor-command and qemu-agent-command go over libvirt-qemu's program (remote driver).
import type { TypedParam } from "../../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, lookupDomain, req } from "../lookup.js";
import { optArgv, optBool, optInt, optScaled, optString, ULLONG_MAX } from "../options.js";
import { exclusive, requires } from "../util.js";
import { typedValue } from "./monitor-extra.js";
import { formatJson, JsonSyntaxError, parseJson } from "./qemu-json.js";

type H = Handler<Ctl>;

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP. */
const MONITOR_HMP = 1;

/** libvirt's virJSONValueFromString failure, as virsh shows it. */
function jsonParseError(text: string, e: JsonSyntaxError): VirError {
  return virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `cannot parse json ${text}: ${e.yajlMessage(text)}`);
}

/**
 * virsh's monitor command text: the arguments joined by spaces when that is a JSON object;
 * otherwise the first argument is the command's name and the others, joined by commas inside
 * braces, its arguments ({"execute":NAME,"arguments":{...}}).
 */
function monitorText(args: string[]): string {
  const joined = args.join(" ");
  try {
    const v = parseJson(joined);
    if (v.kind === "object") return joined;
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
  }
  const name = JSON.stringify(args[0] ?? "");
  if (args.length <= 1) return `{"execute":${name}}`;
  const argText = `{${args.slice(1).join(",")}}`;
  try {
    const v = parseJson(argText);
    return `{"execute":${name},"arguments":${formatJson(v, false)}}`;
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new CmdFailure(
      `failed to wrap arguments '${args.slice(1).join(" ")}' into a QMP command wrapper`,
      jsonParseError(argText, e),
    );
  }
}

const qemuMonitorCommand: H = async (ctl, cmd) => {
  exclusive(cmd, "hmp", "pretty");
  exclusive(cmd, "hmp", "return-value");
  const dom = await lookupDomain(ctl, cmd);
  // --pass-fds is read quietly: empty means none; each item an int
  const fds = cmd.opts.find((o) => o.def.name === "pass-fds")?.value;
  if (fds)
    for (const fd of fds.split(","))
      if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(fd) || Math.abs(Number(fd)) > 2147483647)
        throw new CmdFailure(`Unable to parse FD number '${fd}'`);
  const hmp = optBool(cmd, "hmp");
  const pretty = optBool(cmd, "pretty");
  const returnValue = optBool(cmd, "return-value");
  const args = optArgv(cmd, "cmd");
  const text = hmp ? args.join(" ") : monitorText(args);
  const c = conn(ctl);
  if (fds) {
    // virDomainQemuMonitorCommandWithFiles: no HypervisorDriver slot of its own; the remote
    // driver answers it as libvirt's client does (no fd passing)
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainQemuMonitorCommandWithFiles");
    const withFiles = (c.drivers.hypervisor as unknown as Record<string, unknown>)
      .domainQemuMonitorCommandWithFiles as ((...a: unknown[]) => Promise<never>) | undefined;
    if (typeof withFiles !== "function")
      throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, "virDomainQemuMonitorCommandWithFiles");
    await withFiles(dom.ref, text, hmp ? MONITOR_HMP : 0);
  }
  c.checkWritable(ErrorDomain.DOMAIN, "virDomainQemuMonitorCommand");
  const result = await c.hv("domainQemuMonitorCommand", "virDomainQemuMonitorCommand")(
    dom.ref,
    text,
    hmp ? MONITOR_HMP : 0,
  );
  if (!pretty && !returnValue) {
    ctl.print(`${result}\n`);
    return true;
  }
  let v = parseJson(result);
  if (returnValue) {
    const r = v.kind === "object" ? v.entries.find(([k]) => k === "return") : undefined;
    if (!r) throw new CmdFailure("'return' member missing");
    v = r[1];
  }
  ctl.print(formatJson(v, pretty));
  return true;
};

/** VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK / _DEFAULT / _NOWAIT. */
const AGENT_BLOCK = -2;
const AGENT_DEFAULT = -1;
const AGENT_NOWAIT = 0;

const qemuAgentCommand: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const text = optArgv(cmd, "cmd").join(" ");
  const timeoutOpt = optInt(cmd, "timeout");
  if (timeoutOpt !== undefined && timeoutOpt < 1) throw new CmdFailure("timeout must be positive");
  const isAsync = optBool(cmd, "async");
  const block = optBool(cmd, "block");
  if ([timeoutOpt !== undefined, isAsync, block].filter(Boolean).length > 1)
    throw new CmdFailure("timeout, async and block options are exclusive");
  const timeout = timeoutOpt ?? (isAsync ? AGENT_NOWAIT : block ? AGENT_BLOCK : AGENT_DEFAULT);
  const c = conn(ctl);
  c.checkWritable(ErrorDomain.DOMAIN, "virDomainQemuAgentCommand");
  const result = await c.hv("domainQemuAgentCommand", "virDomainQemuAgentCommand")(dom.ref, text, timeout, 0);
  // a reply without result and without error (tsvirtd's test driver answers so): libvirt's
  // public call fails with no error set
  if (result === null || result === undefined)
    throw new CmdFailure("An error occurred, but the cause is unknown");
  if (optBool(cmd, "pretty")) ctl.print(formatJson(parseJson(result), true));
  else ctl.print(`${result}\n`);
  return true;
};

/** VIR_DOMAIN_BLOCK_RESIZE_BYTES. */
const RESIZE_BYTES = 1;

const blockresize: H = async (ctl, cmd) => {
  const path = req(cmd, "path");
  let size = optScaled(cmd, "size", 1024n, ULLONG_MAX);
  if (size === undefined) throw new CmdFailure("command 'blockresize' requires --size option");
  const dom = await lookupDomain(ctl, cmd);
  // the older KiB interface when the size is whole KiB, bytes otherwise
  let flags = 0;
  if (size % 1024n === 0n) size /= 1024n;
  else flags |= RESIZE_BYTES;
  await attempt(`Failed to resize block device '${path}'`, async () => {
    const c = conn(ctl);
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainBlockResize");
    await c.hv("domainBlockResize", "virDomainBlockResize")(dom.ref, path, size, flags);
  });
  ctl.printExtra(`Block device '${path}' is resized`);
  return true;
};

const domblkthreshold: H = async (ctl, cmd) => {
  const dev = req(cmd, "dev");
  const threshold = optScaled(cmd, "threshold", 1n, ULLONG_MAX) ?? 0n;
  const dom = await lookupDomain(ctl, cmd);
  const c = conn(ctl);
  c.checkWritable(ErrorDomain.DOMAIN, "virDomainSetBlockThreshold");
  await c.hv("domainSetBlockThreshold", "virDomainSetBlockThreshold")(dom.ref, dev, threshold, 0);
  return true;
};

/** VIR_DOMAIN_DIRTYRATE_MODE_*: page-sampling is no flag. */
const DIRTYRATE_MODES: Record<string, number> = { "page-sampling": 0, "dirty-bitmap": 1, "dirty-ring": 2 };

const domdirtyrateCalc: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const seconds = optInt(cmd, "seconds") ?? 1;
  const mode = optString(cmd, "mode");
  let flags = 0;
  if (mode !== undefined) {
    const f = DIRTYRATE_MODES[mode];
    if (f === undefined) throw new CmdFailure(`Unknown calculation mode '${mode}'`);
    flags = f;
  }
  const c = conn(ctl);
  c.checkWritable(ErrorDomain.DOMAIN, "virDomainStartDirtyRateCalc");
  await c.hv("domainStartDirtyRateCalc", "virDomainStartDirtyRateCalc")(dom.ref, seconds, flags);
  ctl.printExtra("Start to calculate domain's memory dirty rate successfully.\n");
  return true;
};

const nodememstats: H = async (ctl, cmd) => {
  const cell = optInt(cmd, "cell") ?? -1;
  const params: TypedParam[] = await attempt("Unable to get number of memory stats", async () => {
    // virNodeGetMemoryStats' own argument check comes before the driver
    if (cell < -1)
      throw new VirError({
        code: ErrorCode.INVALID_ARG,
        domain: ErrorDomain.NONE,
        message: "cellNum in virNodeGetMemoryStats only accepts -1 as a negative value",
      });
    return conn(ctl).hv("nodeGetMemoryStats", "virNodeGetMemoryStats")(cell, 0);
  });
  for (const p of params) ctl.print(`${p.field.padEnd(7)}: ${String(p.value).padStart(20)} KiB\n`);
  return true;
};

const guestvcpus: H = async (ctl, cmd) => {
  const set = optBool(cmd, "enable") || optBool(cmd, "disable");
  exclusive(cmd, "enable", "disable");
  requires(cmd, "cpulist", "enable");
  requires(cmd, "cpulist", "disable");
  const cpulist = optString(cmd, "cpulist");
  if (cpulist !== undefined && !set)
    throw new CmdFailure("One of options --enable or --disable is required by option --cpulist");
  const dom = await lookupDomain(ctl, cmd);
  const c = conn(ctl);
  if (set) {
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainSetGuestVcpus");
    await c.hv("domainSetGuestVcpus", "virDomainSetGuestVcpus")(
      dom.ref,
      cpulist ?? "",
      optBool(cmd, "enable") ? 1 : 0,
      0,
    );
    return true;
  }
  const params = await c.hv("domainGetGuestVcpus", "virDomainGetGuestVcpus")(dom.ref, 0);
  for (const p of params) ctl.print(`${p.field.padEnd(15)}: ${typedValue(p)}\n`);
  return true;
};

/** pool-capabilities: the storage driver's XML as it comes. */
const poolCapabilities: H = async (ctl) => {
  const caps = await attempt("failed to get storage pool capabilities", () =>
    conn(ctl).storage("connectGetStoragePoolCapabilities", "virConnectGetStoragePoolCapabilities")(0),
  );
  ctl.print(`${caps}\n`);
  return true;
};

export const qemuCallHandlers: Record<string, H> = {
  guestvcpus,
  "pool-capabilities": poolCapabilities,
  "qemu-monitor-command": qemuMonitorCommand,
  "qemu-agent-command": qemuAgentCommand,
  blockresize,
  domblkthreshold,
  "domdirtyrate-calc": domdirtyrateCalc,
  nodememstats,
};
