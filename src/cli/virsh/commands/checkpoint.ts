// Domain checkpoint commands (tools/virsh-checkpoint.c): checkpoint-create/-as, checkpoint-list
// (table, names, --tree), checkpoint-info, checkpoint-parent, checkpoint-dumpxml, checkpoint-delete.
import type { Domain, DomainCheckpoint } from "../../../api/index.js";
import { ErrorCode } from "../../../errors/index.js";
import { childText } from "../../../xml/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { pad } from "../format/info-line.js";
import { attempt, type Ctl, lookupDomain } from "../lookup.js";
import { optArgv, optBool, optString } from "../options.js";
import { editText, exclusive, requires } from "../util.js";
import { formatTime } from "./snapshot.js";
import { deleteTreeMember, parentNameOr, printTreeListing } from "./tree-members.js";
import { xmlEscape } from "./virsh-itself.js";

type H = Handler<Ctl>;

/** VIR_DOMAIN_CHECKPOINT_LIST_* */
const CL = { ROOTS: 1, DESCENDANTS: 1, TOPOLOGICAL: 2, LEAVES: 4, NO_LEAVES: 8 };

async function lookupCheckpoint(cmd: ParsedCmd, dom: Domain): Promise<DomainCheckpoint> {
  const name = optString(cmd, "checkpointname");
  if (name === undefined) throw new CmdFailure("--checkpointname is required");
  return dom.checkpointLookupByName(name, 0);
}

const parentName = (cp: DomainCheckpoint) => parentNameOr(cp, ErrorCode.NO_DOMAIN_CHECKPOINT);

function createFlags(cmd: ParsedCmd): number {
  let flags = 0;
  if (optBool(cmd, "redefine")) flags |= 1;
  if (optBool(cmd, "quiesce")) flags |= 2;
  if (cmd.def.opts.some((o) => o.name === "redefine-validate") && optBool(cmd, "redefine-validate"))
    flags |= 4;
  return flags;
}

const checkpointCreate: H = async (ctl, cmd) => {
  requires(cmd, "redefine", "redefine-validate");
  const dom = await lookupDomain(ctl, cmd);
  const file = optString(cmd, "xmlfile");
  const xml = file === undefined ? "<domaincheckpoint/>" : await ctl.readFile(file);
  const cp = await dom.checkpointCreateXML(xml, createFlags(cmd));
  ctl.printExtra(
    file !== undefined
      ? `Domain checkpoint ${cp.name} created from '${file}'`
      : `Domain checkpoint ${cp.name} created`,
  );
  return true;
};

const checkpointCreateAs: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const name = optString(cmd, "name");
  const desc = optString(cmd, "description");
  let xml = "<domaincheckpoint>\n";
  if (name !== undefined) xml += `  <name>${xmlEscape(name)}</name>\n`;
  if (desc !== undefined) xml += `  <description>${xmlEscape(desc)}</description>\n`;
  const disks = optArgv(cmd, "diskspec");
  if (disks.length) {
    xml += "  <disks>\n";
    for (const spec of disks) {
      const [disk, ...rest] = spec.split(",");
      let a = ` name='${xmlEscape(disk)}'`;
      for (const kv of rest) {
        const [k, v = ""] = kv.split("=");
        if (k !== "checkpoint" && k !== "bitmap") throw new CmdFailure(`unable to parse diskspec: ${spec}`);
        a += ` ${k}='${xmlEscape(v)}'`;
      }
      xml += `    <disk${a}/>\n`;
    }
    xml += "  </disks>\n";
  }
  xml += "</domaincheckpoint>\n";
  if (optBool(cmd, "print-xml")) {
    ctl.print(`${xml}\n`);
    return true;
  }
  const cp = await dom.checkpointCreateXML(xml, createFlags(cmd));
  ctl.printExtra(`Domain checkpoint ${cp.name} created`);
  return true;
};

const checkpointList: H = async (ctl, cmd) => {
  exclusive(cmd, "tree", "name");
  exclusive(cmd, "parent", "roots");
  exclusive(cmd, "parent", "tree");
  exclusive(cmd, "roots", "tree");
  exclusive(cmd, "roots", "from");
  if (optBool(cmd, "descendants") && !optBool(cmd, "from"))
    throw new CmdFailure("--descendants requires --from");
  const dom = await lookupDomain(ctl, cmd);
  let flags = 0;
  if (optBool(cmd, "roots")) flags |= CL.ROOTS;
  if (optBool(cmd, "leaves")) flags |= CL.LEAVES;
  if (optBool(cmd, "no-leaves")) flags |= CL.NO_LEAVES;
  if (optBool(cmd, "topological")) flags |= CL.TOPOLOGICAL;
  const fromName = optString(cmd, "from");
  let cps: DomainCheckpoint[];
  if (fromName !== undefined) {
    const from = await dom.checkpointLookupByName(fromName, 0);
    const deep = optBool(cmd, "descendants") || optBool(cmd, "tree");
    cps = await from.listAllChildren((flags & ~CL.ROOTS) | (deep ? CL.DESCENDANTS : 0));
    if (optBool(cmd, "tree")) cps.unshift(from);
  } else {
    cps = await dom.listAllCheckpoints(flags);
  }
  return printTreeListing(ctl, cmd, cps, {
    topological: !!(flags & CL.TOPOLOGICAL),
    parentName,
    headings: ["Name", "Creation Time"],
    cells: (doc) => [formatTime(Number(childText(doc, "creationTime") ?? "0"))],
  });
};

const checkpointInfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const cp = await lookupCheckpoint(cmd, dom);
  let out = pad("Name:", cp.name) + pad("Domain:", dom.name);
  out += pad("Parent:", (await parentName(cp)) ?? "-");
  out += pad("Children:", String((await cp.listAllChildren(0)).length));
  out += pad("Descendants:", String((await cp.listAllChildren(CL.DESCENDANTS)).length));
  ctl.print(out);
  return true;
};

const checkpointParent: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const cp = await lookupCheckpoint(cmd, dom);
  const p = await parentName(cp);
  if (p === null) throw new CmdFailure(`checkpoint '${cp.name}' has no parent`);
  ctl.print(p);
  return true;
};

const checkpointDumpxml: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const cp = await lookupCheckpoint(cmd, dom);
  let flags = 0;
  if (optBool(cmd, "security-info")) flags |= 1;
  if (optBool(cmd, "no-domain")) flags |= 2;
  if (optBool(cmd, "size")) flags |= 4;
  ctl.print(await cp.getXMLDesc(flags));
  return true;
};

const checkpointDelete: H = async (ctl, cmd) => {
  exclusive(cmd, "children", "children-only");
  const dom = await lookupDomain(ctl, cmd);
  const cp = await lookupCheckpoint(cmd, dom);
  return deleteTreeMember(ctl, cmd, cp, "checkpoint");
};

const checkpointEdit: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const cp = await lookupCheckpoint(cmd, dom);
  const before = await cp.getXMLDesc(1);
  const after = editText(before);
  if (after === before) {
    ctl.printExtra(`Checkpoint ${cp.name} XML configuration not changed.\n`);
    return true;
  }
  const nc = await attempt("Failed. Try again?", () => dom.checkpointCreateXML(after, 1));
  ctl.printExtra(`Checkpoint ${nc.name} edited.\n`);
  return true;
};

export const checkpointHandlers: Record<string, H> = {
  "checkpoint-create": checkpointCreate,
  "checkpoint-create-as": checkpointCreateAs,
  "checkpoint-list": checkpointList,
  "checkpoint-info": checkpointInfo,
  "checkpoint-parent": checkpointParent,
  "checkpoint-dumpxml": checkpointDumpxml,
  "checkpoint-delete": checkpointDelete,
  "checkpoint-edit": checkpointEdit,
};
