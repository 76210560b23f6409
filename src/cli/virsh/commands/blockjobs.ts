// blockcommit, blockcopy, blockpull (and blockjob, whose checks follow the lookup): virsh 9.0's option checks in its order (strings, bandwidth,
// numbers, timeout, exclusive and dependent options — all before the domain lookup), then the
// lookup, then the call tsvirt's drivers do not offer (VIR_ERR_NO_SUPPORT naming the libvirt
// entry point virsh would use). blockcopy --print-xml prints the destination XML it would send.
import { escapeXml } from "../../../xml/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import type { Domain } from "../../../api/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { type Ctl, lookupDomain } from "../lookup.js";
import { OptionError, optBool, optInt, optScaled, optString, optUInt, optULongLong } from "../options.js";
import { exclusive, requires } from "../util.js";

type H = Handler<Ctl>;

const ULONG_MAX = 0xffffffffffffffffn;

/**
 * virshBlockJobOptionBandwidth: a plain strtoul number (negative values wrap) is MiB/s (bytes/s
 * with --bytes); otherwise a scaled size in bytes, turned into MiB/s without --bytes. The error
 * names the option as "<--bandwidth>".
 */
export function optBandwidth(cmd: ParsedCmd, bytes: boolean): bigint | undefined {
  const o = cmd.opts.find((x) => x.def.name === "bandwidth");
  if (!o || o.value === null) return undefined;
  const v = o.value;
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(v);
  if (m) {
    const n = BigInt(m[2]!);
    if (n <= ULONG_MAX) return m[1] === "-" ? (ULONG_MAX + 1n - n) & ULONG_MAX : n;
  }
  const err = `Scaled numeric value '${v}' for <--bandwidth> option is malformed or out of range`;
  let bw: bigint | undefined;
  try {
    bw = optScaled(cmd, "bandwidth", 1n, ULONG_MAX);
  } catch (e) {
    throw new OptionError(err, e instanceof OptionError ? e.cause : e);
  }
  if (bw === undefined) throw new OptionError(err);
  return bytes ? bw : bw >> 20n;
}

/** vshCommandOptTimeoutToMs: whole seconds, 1..INT_MAX/1000; milliseconds (0 when absent). */
export function optTimeoutMs(cmd: ParsedCmd): number {
  const t = optInt(cmd, "timeout");
  if (t === undefined) return 0;
  if (t <= 0 || t > Math.floor(2147483647 / 1000)) {
    const raw = cmd.opts.find((x) => x.def.name === "timeout")?.value ?? "";
    throw new OptionError(`Numeric value '${raw}' for <timeout> option is malformed or out of range`);
  }
  return t * 1000;
}

const noSupport = (fn: string) => virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, fn);

const blockcommit: H = async (ctl, cmd) => {
  const pivot = optBool(cmd, "pivot");
  const finish = optBool(cmd, "keep-overlay");
  let blocking = optBool(cmd, "wait") || pivot || finish;
  exclusive(cmd, "pivot", "keep-overlay");
  optString(cmd, "path");
  optString(cmd, "base");
  optString(cmd, "top");
  optBandwidth(cmd, optBool(cmd, "bytes"));
  if (optTimeoutMs(cmd)) blocking = true;
  if (!blocking) {
    const need = "requires at least one of --timeout, --wait, --pivot, or --keep-overlay";
    if (optBool(cmd, "verbose")) throw new CmdFailure(`--verbose ${need}`);
    if (optBool(cmd, "async")) throw new CmdFailure(`--async ${need}`);
  }
  await lookupDomain(ctl, cmd);
  throw noSupport("virDomainBlockCommit");
};

const blockpull: H = async (ctl, cmd) => {
  requires(cmd, "wait", "verbose");
  requires(cmd, "wait", "async");
  optString(cmd, "path");
  const base = optString(cmd, "base");
  optBandwidth(cmd, optBool(cmd, "bytes"));
  optTimeoutMs(cmd);
  await lookupDomain(ctl, cmd);
  throw noSupport(
    base !== undefined || optBool(cmd, "keep-relative") ? "virDomainBlockRebase" : "virDomainBlockPull",
  );
};

/** The largest MiB/s value whose bytes/s still fit an unsigned long long (virsh's limit). */
const COPY_BW_LIMIT = ULONG_MAX >> 20n;

const blockcopy: H = async (ctl, cmd) => {
  const pivot = optBool(cmd, "pivot");
  const finish = optBool(cmd, "finish");
  let blocking = optBool(cmd, "wait") || pivot || finish;
  const bytes = optBool(cmd, "bytes");
  const blockdev = optBool(cmd, "blockdev");
  optString(cmd, "path");
  const dest = optString(cmd, "dest");
  const xml = optString(cmd, "xml");
  const format = optString(cmd, "format");
  const bandwidth = optBandwidth(cmd, bytes) ?? 0n;
  const granularity = optUInt(cmd, "granularity") ?? 0;
  const bufSize = optULongLong(cmd, "buf-size") ?? 0n;
  if (optTimeoutMs(cmd)) blocking = true;
  exclusive(cmd, "dest", "xml");
  exclusive(cmd, "format", "xml");
  exclusive(cmd, "blockdev", "xml");
  exclusive(cmd, "pivot", "finish");
  if (dest === undefined && xml === undefined) throw new CmdFailure("need either --dest or --xml");
  if (!blocking) {
    const need = "requires at least one of --timeout, --wait, --pivot, or --finish";
    if (optBool(cmd, "verbose")) throw new CmdFailure(`--verbose ${need}`);
    if (optBool(cmd, "async")) throw new CmdFailure(`--async ${need}`);
  }
  await lookupDomain(ctl, cmd);
  let text: string;
  if (xml !== undefined) text = await ctl.readFile(xml);
  else {
    text = `<disk type='${blockdev ? "block" : "file"}'>\n`;
    text += `  <source ${blockdev ? "dev" : "file"}='${escapeXml(dest ?? "")}'/>\n`;
    if (format !== undefined) text += `  <driver type='${escapeXml(format)}'/>\n`;
    text += "</disk>\n";
  }
  const copyApi =
    granularity !== 0 ||
    bufSize !== 0n ||
    (format !== undefined && format !== "raw") ||
    xml !== undefined ||
    optBool(cmd, "transient-job") ||
    optBool(cmd, "synchronous-writes");
  if (copyApi && bandwidth !== 0n && !bytes && bandwidth > COPY_BW_LIMIT)
    throw new CmdFailure(`bandwidth must be less than ${COPY_BW_LIMIT}`);
  if (optBool(cmd, "print-xml")) {
    ctl.print(text);
    return true;
  }
  throw noSupport(copyApi ? "virDomainBlockCopy" : "virDomainBlockRebase");
};

const blockjob: H = async (ctl, cmd) => {
  // virsh's exclusive pairs in its order: each abort-mode option against --raw, --info, --bytes
  for (const mode of ["abort", "pivot", "async", "bandwidth"])
    for (const other of ["raw", "info", "bytes"])
      if (other !== "bytes" || mode !== "bandwidth") exclusive(cmd, other, mode);
  const dom = await lookupDomain(ctl, cmd);
  optString(cmd, "path");
  if (optBool(cmd, "bandwidth")) {
    optBandwidth(cmd, optBool(cmd, "bytes"));
    throw noSupport("virDomainBlockJobSetSpeed");
  }
  if (["abort", "async", "pivot"].some((o) => optBool(cmd, o))) throw noSupport("virDomainBlockJobAbort");
  return blockJobInfo(ctl, dom, optString(cmd, "path") ?? "", optBool(cmd, "raw"), optBool(cmd, "bytes"));
};

/** virDomainBlockJobType names as virsh shows them. */
const BLOCK_JOB_TYPES = ["Unknown", "Block Pull", "Block Copy", "Block Commit", "Active Block Commit", "Backup"];

/** vshPrettyCapacity: the value in the largest binary unit it reaches. */
function prettyCapacity(v: bigint): [number, string] {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  while (i < units.length - 1 && v >= 1024n ** BigInt(i + 1)) i++;
  return [Number(v) / 1024 ** i, units[i]!];
}

/** blockjob --info (the default): the job on the disk, or that there is none. */
async function blockJobInfo(ctl: Ctl, dom: Domain, path: string, raw: boolean, bytes: boolean): Promise<boolean> {
  const info = await dom.conn.hv("domainGetBlockJobInfo", "virDomainGetBlockJobInfo")(
    dom.ref,
    path,
    bytes ? BLOCK_JOB_INFO_BANDWIDTH_BYTES : 0,
  );
  if (!info.found) {
    if (!raw) ctl.printExtra(`No current block job for ${path}`);
    return true;
  }
  const bandwidth = BigInt(info.bandwidth);
  const cur = BigInt(info.cur);
  const end = BigInt(info.end);
  if (raw) {
    ctl.print(` type=${info.type}\n bandwidth=${bandwidth}\n cur=${cur}\n end=${end}\n`);
    return true;
  }
  const label = BLOCK_JOB_TYPES[info.type] ?? "Unknown";
  if (end !== 0n) {
    const remaining = end - cur;
    let progress = remaining === 0n ? 100n : 100n - (remaining * 100n) / end;
    if (remaining !== 0n && progress >= 100n) progress = 99n;
    ctl.err.write(`\r${label}: [${String(progress).padStart(3)} %]`);
  }
  const speed = bytes ? bandwidth : bandwidth << 20n;
  if (speed !== 0n) {
    const [val, unit] = prettyCapacity(speed);
    ctl.print(`    Bandwidth limit: ${speed} bytes/s (${val.toFixed(3)} ${unit}/s)`);
  }
  ctl.print("\n");
  return true;
}

/** VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES. */
const BLOCK_JOB_INFO_BANDWIDTH_BYTES = 1;

export const blockJobHandlers: Record<string, H> = { blockcommit, blockcopy, blockjob, blockpull };
