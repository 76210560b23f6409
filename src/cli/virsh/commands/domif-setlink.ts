// domif-setlink (tools/virsh-domain.c cmdDomIfSetLink): the interface element of the domain XML
// with its <link state> set (changed in place, or added as the last child the way libxml2 appends
// it), sent to virDomainUpdateDeviceFlags.
import { VIR_DOMAIN_XML } from "../../../driver/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, lookupDomain, req } from "../lookup.js";
import { optBool } from "../options.js";
import { elementTexts, nodeDump } from "./domain-xml-nodes.js";

type H = Handler<Ctl>;

const LIVE = 1;
const CONFIG = 2;

const domifSetlink: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const iface = req(cmd, "interface");
  const state = req(cmd, "state");
  if (state !== "up" && state !== "down") throw new CmdFailure(`invalid link state '${state}'`);
  let flags = optBool(cmd, "config") ? CONFIG : LIVE;
  if (!(await dom.isActive())) flags = CONFIG;
  const xml = await dom.getXMLDesc(flags === CONFIG ? VIR_DOMAIN_XML.INACTIVE : 0);
  const text = elementTexts(xml, "interface").find((t) => {
    const target = /<target\s[^>]*dev='([^']*)'/.exec(t)?.[1];
    const mac = /<mac\s[^>]*address='([^']*)'/.exec(t)?.[1];
    return target === iface || mac?.toLowerCase() === iface.toLowerCase();
  });
  if (!text) throw new CmdFailure(`interface '${iface}' not found`);
  const edited = /<link\s[^>]*\/>/.test(text)
    ? text.replace(/<link\s([^>]*?)state='[^']*'/, `<link $1state='${state}'`)
    : text.replace(/<\/interface>$/, `<link state='${state}'/></interface>`);
  const node = nodeDump(edited);
  if (optBool(cmd, "print-xml")) {
    ctl.print(node);
    return true;
  }
  await attempt("Failed to update interface link state", () => dom.updateDevice(node, flags));
  ctl.printExtra("Device updated successfully\n");
  return true;
};

export const domifSetlinkHandlers: Record<string, H> = { "domif-setlink": domifSetlink };
