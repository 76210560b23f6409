// change-media (tools/virsh-domain.c cmdChangeMedia / virshUpdateDiskXML): the CD-ROM or floppy
// element of the domain XML with its <source> taken out, put in or replaced, sent to
// virDomainUpdateDeviceFlags. The text is what virsh 9.0 gets from editing the libxml2 tree: the
// old source's surrounding whitespace stays, the new source goes before <target> with a newline.
import { escapeXml } from "../../../xml/index.js";
import { VIR_DOMAIN_XML } from "../../../driver/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, lookupDomain, req } from "../lookup.js";
import { optBool, optString } from "../options.js";
import { exclusive } from "../util.js";
import { elementTexts, nodeDump } from "./domain-xml-nodes.js";

type H = Handler<Ctl>;

const MODIFY_FORCE = 4;

/** The removable disk (cdrom/floppy) whose target or source is `path` (VIRSH_FIND_DISK_CHANGEABLE). */
function findRemovable(xml: string, path: string): string | undefined {
  return elementTexts(xml, "disk").find((text) => {
    const head = /^<disk[^>]*>/.exec(text)?.[0] ?? "";
    const device = /\sdevice='([^']*)'/.exec(head)?.[1];
    if (device !== "cdrom" && device !== "floppy") return false;
    if (new RegExp(`<target\\s[^>]*dev='${escapeRe(escapeXml(path))}'`).test(text)) return true;
    return new RegExp(`<source\\s[^>]*(?:file|dev|dir|name)='${escapeRe(escapeXml(path))}'`).test(text);
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const changeMedia: H = async (ctl, cmd) => {
  const eject = optBool(cmd, "eject");
  const insert = optBool(cmd, "insert");
  const update = optBool(cmd, "update");
  const block = optBool(cmd, "block");
  exclusive(cmd, "eject", "insert");
  exclusive(cmd, "eject", "update");
  exclusive(cmd, "insert", "update");
  exclusive(cmd, "eject", "block");
  exclusive(cmd, "current", "live");
  exclusive(cmd, "current", "config");
  let flags = 0;
  if (optBool(cmd, "config")) flags |= 2;
  if (optBool(cmd, "live")) flags |= 1;
  if (optBool(cmd, "force")) flags |= MODIFY_FORCE;
  const action = eject ? "eject" : insert ? "insert" : "update";
  const source = optString(cmd, "source");
  const dom = await lookupDomain(ctl, cmd);
  const path = req(cmd, "path");
  const xml = await dom.getXMLDesc((flags & 3) === 2 ? VIR_DOMAIN_XML.INACTIVE : 0);
  const text = findRemovable(xml, path);
  if (!text) throw new CmdFailure(`No disk found whose source path or target is ${path}`);
  const target = /<target\s[^>]*dev='([^']*)'/.exec(text)?.[1] ?? path;
  const srcRe = /<source\b[^>]*\/>|<source\b[^>]*>[\s\S]*?<\/source>/;
  const hasMedia = srcRe.test(text);
  if (!eject && !update && source === undefined)
    throw new CmdFailure("New disk media source was not specified");
  // --update without a source is an eject.
  if ((eject || source === undefined) && !hasMedia) {
    throw new CmdFailure(`The disk device '${target}' doesn't have media`);
  }
  if (insert && hasMedia) throw new CmdFailure(`The disk device '${target}' already has media`);
  let out = text.replace(srcRe, "");
  if (!eject && source !== undefined) {
    out = out.replace(/^<disk([^>]*)\stype='[^']*'/, `<disk$1 type='${block ? "block" : "file"}'`);
    const t = /\n( *)<target[\s/>]/.exec(out);
    if (t) {
      const at = t.index + 1 + t[1]!.length;
      const elem = `<source ${block ? "dev" : "file"}='${escapeXml(source)}'/>\n${t[1]}`;
      out = out.slice(0, at) + elem + out.slice(at);
    }
  }
  const node = nodeDump(out);
  if (optBool(cmd, "print-xml")) {
    ctl.print(node);
    return true;
  }
  await attempt(`Failed to complete action ${action} on media`, () => dom.updateDevice(node, flags));
  const done = { eject: "ejected", insert: "inserted", update: "updated" }[action];
  ctl.printExtra(`Successfully ${done} media.\n`);
  return true;
};

export const changeMediaHandlers: Record<string, H> = { "change-media": changeMedia };
