// Commands virsh builds out of several calls (tools/virsh-domain.c, virsh-interface.c):
// domfstrim, send-process-signal and iothreadset check their options as virsh does and call
// virDomainFSTrim, virDomainSendProcessSignal and virDomainSetIOThreadParams; iface-bridge/-unbridge
// look up and read the interface as virsh does and stop before rewriting it; update-memory-device
// selects the <memory> device.
import { attr, child, formatElement, textContent } from "../../../xml/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, lookupDomain, lookupInterface, req } from "../lookup.js";
import {
  OptionError,
  optBool,
  optInt,
  optScaled,
  optString,
  optUInt,
  optULongLong,
  ULLONG_MAX,
} from "../options.js";
import { affectFlags, childrenAt, exclusive, parseDoc } from "../util.js";

import type { TypedParam } from "../../../driver/types.js";

type H = Handler<Ctl>;

const domfstrim: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const minimum = optULongLong(cmd, "minimum") ?? 0n;
  const mountpoint = optString(cmd, "mountpoint") ?? null;
  await attempt("Unable to invoke fstrim", () => dom.fsTrim(mountpoint, Number(minimum), 0));
  return true;
};

/** virDomainProcessSignal names (VIR_DOMAIN_PROCESS_SIGNAL_*), in order. */
const SIGNALS = [
  "nop",
  "hup",
  "int",
  "quit",
  "ill",
  "trap",
  "abrt",
  "bus",
  "fpe",
  "kill",
  "usr1",
  "segv",
  "usr2",
  "pipe",
  "alrm",
  "term",
  "stkflt",
  "chld",
  "cont",
  "stop",
  "tstp",
  "ttin",
  "ttou",
  "urg",
  "xcpu",
  "xfsz",
  "vtalrm",
  "prof",
  "winch",
  "poll",
  "pwr",
  "sys",
];

/** getSignalNumber: a number, or a name with or without "sig", any case. */
function signalNumber(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  let n = s.toLowerCase();
  if (n.startsWith("sig")) n = n.slice(3);
  const i = SIGNALS.indexOf(n);
  if (i >= 0) return i;
  const rt = /^rt(\d+)$/.exec(n);
  return rt ? 32 + Number(rt[1]) : -1;
}

const sendProcessSignal: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // vshCommandOptLongLong: an empty value is a malformed number, not an empty option
  const pid = cmd.opts.find((o) => o.def.name === "pid")?.value ?? "";
  if (!/^[ \t]*[+-]?\d+$/.test(pid))
    throw new OptionError(`Numeric value '${pid}' for <pid> option is malformed or out of range`);
  const sig = req(cmd, "signame");
  const signum = signalNumber(sig);
  if (signum < 0) throw new CmdFailure(`malformed signal name: ${sig}`);
  await dom.sendProcessSignal(Number(pid), signum, 0);
  return true;
};

const iothreadset: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const id = optInt(cmd, "id") ?? 0;
  if (id <= 0) throw new CmdFailure(`Invalid IOThread id value: '${id}'`);
  // virsh's typed parameters: poll_max_ns unsigned long long, poll_grow/shrink unsigned int,
  // thread_pool_min/max int (VIR_TYPED_PARAM_ULLONG 4, UINT 2, INT 1)
  const params: TypedParam[] = [];
  const maxNs = optULongLong(cmd, "poll-max-ns");
  if (maxNs !== undefined) params.push({ field: "poll_max_ns", type: 4, value: Number(maxNs) });
  for (const o of ["poll-grow", "poll-shrink"]) {
    const v = optUInt(cmd, o);
    if (v !== undefined) params.push({ field: o.replace("-", "_"), type: 2, value: v });
  }
  for (const o of ["thread-pool-min", "thread-pool-max"]) {
    const v = optInt(cmd, o);
    if (v !== undefined) params.push({ field: o.replaceAll("-", "_"), type: 1, value: v });
  }
  if (params.length === 0) throw new CmdFailure("Not enough arguments passed, nothing to set");
  await dom.setIOThreadParams(id, params, flags);
  return true;
};

/** VIR_INTERFACE_XML_INACTIVE. */
const IFACE_INACTIVE = 1;

const ifaceBridge: H = async (ctl, cmd) => {
  const iface = await lookupInterface(ctl, cmd);
  const bridge = req(cmd, "bridge");
  let lookupError: unknown;
  try {
    await conn(ctl).interfaceLookupByName(bridge);
    throw new CmdFailure(`Network device ${bridge} already exists`);
  } catch (e) {
    if (e instanceof CmdFailure) throw e;
    lookupError = e;
  }
  try {
    optUInt(cmd, "delay");
  } catch (e) {
    // virsh reports the bridge lookup's error left over from above
    if (e instanceof OptionError) throw new CmdFailure(e.message, lookupError);
    throw e;
  }
  await iface.getXMLDesc(IFACE_INACTIVE);
  throw new CmdFailure("bridging an interface is not implemented in tsvirsh");
};

const ifaceUnbridge: H = async (ctl, cmd) => {
  const br = await lookupInterface(ctl, cmd, "bridge", "name");
  await br.getXMLDesc(IFACE_INACTIVE);
  throw new CmdFailure("unbridging an interface is not implemented in tsvirsh");
};

/** VIR_DOMAIN_XML_INACTIVE. */
const XML_INACTIVE = 2;

const updateMemoryDevice: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  exclusive(cmd, "node", "alias");
  const dom = await lookupDomain(ctl, cmd);
  const alias = optString(cmd, "alias");
  const node = optUInt(cmd, "node");
  const doc = parseDoc(await dom.getXMLDesc(flags & 2 ? XML_INACTIVE : 0));
  let mems = childrenAt(doc, "devices/memory");
  if (alias !== undefined) mems = mems.filter((m) => attr(child(m, "alias") ?? m, "name") === alias);
  else if (node !== undefined)
    mems = mems.filter((m) => {
      const n = child(child(m, "target") ?? m, "node");
      return n !== undefined && textContent(n).trim() === String(node);
    });
  if (mems.length === 0) throw new CmdFailure("no memory device found");
  if (mems.length > 1)
    throw new CmdFailure("multiple memory devices found, use --alias or --node to select one");
  const mem = mems[0]!;
  const size = optScaled(cmd, "requested-size", 1024n, ULLONG_MAX);
  if (size !== undefined) {
    const target = child(mem, "target");
    const requested = target ? child(target, "requested") : undefined;
    if (!requested) throw new CmdFailure("virtio-mem device is missing <requested/>");
    requested.children = [{ kind: "text", text: String((size + 1023n) / 1024n) }];
    requested.attrs = requested.attrs.filter(([k]) => k !== "unit");
  }
  const xml = formatElement(mem);
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  try {
    await dom.updateDevice(xml, flags);
  } catch (e) {
    throw new CmdFailure("Unable to update memory device", e);
  }
  return true;
};

export const gapHandlers: Record<string, H> = {
  domfstrim,
  "send-process-signal": sendProcessSignal,
  iothreadset,
  "iface-bridge": ifaceBridge,
  "iface-unbridge": ifaceUnbridge,
  "update-memory-device": updateMemoryDevice,
};
