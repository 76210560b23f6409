// Guest-facing domain commands (tools/virsh-domain.c, virsh-domain-monitor.c): domfsfreeze,
// domfsthaw, domblkerror, domiftune (query), domjobabort, set-user-password, managedsave-dumpxml,
// vncdisplay, domdisplay.
import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, lookupDomain, req } from "../lookup.js";
import { optArgv, optBool, optString } from "../options.js";
import { attr } from "../../../xml/index.js";
import { affectFlags, childrenAt, parseDoc } from "../util.js";
import { typedValue } from "./monitor-extra.js";

type H = Handler<Ctl>;

const domfsfreeze: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const n = await attempt("Unable to freeze filesystems", () => dom.fsFreeze(optArgv(cmd, "mountpoint"), 0));
  ctl.print(`Froze ${n} filesystem(s)\n`);
  return true;
};

const domfsthaw: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const n = await attempt("Unable to thaw filesystems", () => dom.fsThaw(optArgv(cmd, "mountpoint"), 0));
  ctl.print(`Thawed ${n} filesystem(s)\n`);
  return true;
};

const DISK_ERRORS = ["no error", "unspecified error", "no space"];

const domblkerror: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const errs = await dom.getDiskErrors(64, 0);
  if (errs.length === 0) {
    ctl.print("No errors found\n");
    return true;
  }
  for (const e of errs) ctl.print(`${e.disk}: ${DISK_ERRORS[e.error] ?? "unknown error"}\n`);
  return true;
};

const RATE_FIELDS = ["average", "peak", "burst", "floor"] as const;

/** virshParseRateStr: "average,peak,burst,floor", empty fields left 0. */
function parseRate(text: string): number[] {
  const tok = text.split(",");
  if (tok.length > 4) throw new CmdFailure(`Rate string '${text}' has too many fields`);
  const out = [0, 0, 0, 0];
  tok.forEach((t, i) => {
    if (t === "") return;
    if (!/^[ \t\n\v\f\r]*\+?\d+$/.test(t) || BigInt(t.trim()) > 0xffffffffffffffffn)
      throw new CmdFailure(`field '${RATE_FIELDS[i]}' is malformed`);
    out[i] = Number(BigInt(t.trim()));
  });
  return out;
}

/** domiftune's settings as typed parameters (UINT), virsh's checks first. */
function ifaceRateParams(inbound: string | undefined, outbound: string | undefined) {
  const params: { field: string; type: number; value: number }[] = [];
  const add = (dir: string, vals: number[]) =>
    vals.forEach((v, i) => {
      // the average always (0 clears the setting), the others when given
      if (v || i === 0) params.push({ field: `${dir}.${RATE_FIELDS[i]}`, type: 3, value: v });
    });
  if (inbound !== undefined) {
    const r = parseRate(inbound);
    if (r[0]! > 0xffffffff || r[1]! > 0xffffffff || r[2]! > 0xffffffff)
      throw new CmdFailure("inbound rate larger than maximum 4294967295");
    if (!r[0] && (r[1] || r[2]) && !r[3])
      throw new CmdFailure("either inbound average or floor is mandatory");
    add("inbound", r);
  }
  if (outbound !== undefined) {
    const r = parseRate(outbound);
    if (r[0]! > 0xffffffff || r[1]! > 0xffffffff || r[2]! > 0xffffffff)
      throw new CmdFailure("outbound rate larger than maximum 4294967295");
    if (r[3]) throw new CmdFailure("outbound floor is unsupported yet");
    if (!r[0] && (r[1] || r[2])) throw new CmdFailure("outbound average is mandatory");
    add("outbound", r);
  }
  return params;
}

const domiftune: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const dev = req(cmd, "interface");
  const inbound = optString(cmd, "inbound");
  const outbound = optString(cmd, "outbound");
  if (inbound !== undefined || outbound !== undefined) {
    const set = ifaceRateParams(inbound, outbound);
    await attempt("Unable to set interface parameters", () => dom.setInterfaceParameters(dev, set, flags));
    return true;
  }
  const params = await attempt("Unable to get interface parameters", () =>
    dom.getInterfaceParameters(dev, flags),
  );
  for (const p of params) ctl.print(`${p.field.padEnd(15)}: ${typedValue(p)}\n`);
  return true;
};

const domjobabort: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virDomainAbortJobFlags: no tsvirt driver has the slot
  if (optBool(cmd, "postcopy"))
    throw virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, "virDomainAbortJobFlags");
  await dom.abortJob();
  return true;
};

const setUserPassword: H = async (ctl, cmd) => {
  const user = req(cmd, "user");
  const password = req(cmd, "password");
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  await dom.setUserPassword(user, password, optBool(cmd, "encrypted") ? 1 : 0);
  ctl.print(`Password set successfully for ${user} in ${name}`);
  return true;
};

const managedsaveDumpxml: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  ctl.print(await dom.managedSaveGetXMLDesc(optBool(cmd, "security-info") ? 1 : 0));
  return true;
};

/** The first <graphics type=TYPE> of the live definition, with its port. */
async function graphics(dom: Awaited<ReturnType<typeof lookupDomain>>, type: string | null) {
  const doc = parseDoc(await dom.getXMLDesc(0));
  for (const g of childrenAt(doc, "devices/graphics")) {
    if (type !== null && attr(g, "type") !== type) continue;
    const port = Number(attr(g, "port") ?? "-1");
    if (port > 0) return { type: attr(g, "type") ?? "", port, listen: attr(g, "listen") ?? "" };
  }
  return null;
}

const vncdisplay: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const g = await graphics(dom, "vnc");
  if (!g) throw new CmdFailure("Failed to get VNC port. Is this domain using VNC?");
  const host = g.listen === "" || g.listen === "0.0.0.0" || g.listen === "::" ? "" : g.listen;
  ctl.print(`${host}:${g.port - 5900}\n`);
  return true;
};

const domdisplay: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const want = optString(cmd, "type") ?? null;
  const g = await graphics(dom, want);
  if (!g)
    throw new CmdFailure(
      want === null ? "No graphical display found" : `No graphical display with type '${want}' found`,
    );
  const host = g.listen === "" || g.listen === "0.0.0.0" || g.listen === "::" ? "localhost" : g.listen;
  ctl.print(g.type === "vnc" ? `vnc://${host}:${g.port - 5900}\n` : `${g.type}://${host}:${g.port}\n`);
  return true;
};

export const domainGuestHandlers: Record<string, H> = {
  domfsfreeze,
  domfsthaw,
  domblkerror,
  domiftune,
  domjobabort,
  "set-user-password": setUserPassword,
  "managedsave-dumpxml": managedsaveDumpxml,
  vncdisplay,
  domdisplay,
};
