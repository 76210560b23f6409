// Guest-facing domain commands (tools/virsh-domain.c, virsh-domain-monitor.c): domfsfreeze,
// domfsthaw, domblkerror, domiftune (query), domjobabort, set-user-password, managedsave-dumpxml,
// vncdisplay, domdisplay.
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

const domiftune: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const dev = req(cmd, "interface");
  if (optString(cmd, "inbound") !== undefined || optString(cmd, "outbound") !== undefined)
    throw new CmdFailure("setting interface parameters is not implemented in tsvirsh");
  const params = await attempt("Unable to get number of interface parameters", () =>
    dom.getInterfaceParameters(dev, flags),
  );
  for (const p of params) ctl.print(`${p.field.padEnd(15)}: ${typedValue(p)}\n`);
  return true;
};

const domjobabort: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  if (optBool(cmd, "postcopy"))
    throw new CmdFailure("aborting post-copy migration is not implemented in tsvirsh");
  await dom.abortJob();
  return true;
};

const setUserPassword: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const user = req(cmd, "user");
  const password = req(cmd, "password");
  await dom.setUserPassword(user, password, optBool(cmd, "encrypted") ? 1 : 0);
  ctl.print(`Password set successfully for ${user} in ${dom.name}`);
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
  if (!g) throw new CmdFailure("No graphical display found");
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
