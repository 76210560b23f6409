// Domain snapshot commands (tools/virsh-snapshot.c): snapshot-create/-as, snapshot-current,
// snapshot-info, snapshot-list (table, names, --tree), snapshot-parent, snapshot-dumpxml,
// snapshot-revert, snapshot-delete, snapshot-edit.
import type { Domain, DomainSnapshot } from "../../../api/index.js";
import { VIR_DOMAIN_SNAPSHOT_LIST as SL } from "../../../driver/flags.js";
import { ErrorCode } from "../../../errors/index.js";
import { attr, child, childText } from "../../../xml/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { pad } from "../format/info-line.js";
import { attempt, type Ctl, lookupDomain, req } from "../lookup.js";
import { optArgv, optBool, optString } from "../options.js";
import { editText, exclusive, parseDoc } from "../util.js";
import { deleteTreeMember, parentNameOr, printTreeListing } from "./tree-members.js";
import { xmlEscape } from "./virsh-itself.js";

type H = Handler<Ctl>;

async function createSnapshot(
  ctl: Ctl,
  dom: Domain,
  xml: string,
  flags: number,
  from?: string,
): Promise<boolean> {
  const snap = await dom.snapshotCreateXML(xml, flags);
  if (from !== undefined) ctl.printExtra(`Domain snapshot ${snap.name} created from '${from}'`);
  else ctl.printExtra(`Domain snapshot ${snap.name} created`);
  return true;
}

function createFlags(cmd: ParsedCmd): number {
  const bits: [string, number][] = [
    ["redefine", 1],
    ["current", 2],
    ["no-metadata", 4],
    ["halt", 8],
    ["disk-only", 16],
    ["reuse-external", 32],
    ["quiesce", 64],
    ["atomic", 128],
    ["live", 256],
    ["validate", 512],
  ];
  let flags = 0;
  for (const [n, f] of bits) if (cmd.def.opts.some((o) => o.name === n) && optBool(cmd, n)) flags |= f;
  return flags;
}

const snapshotCreate: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const file = optString(cmd, "xmlfile");
  const xml = file === undefined ? "<domainsnapshot/>" : await ctl.readFile(file);
  return createSnapshot(ctl, dom, xml, createFlags(cmd), file);
};

/** "--diskspec vda,snapshot=external,file=/x" → <disk name='vda' snapshot='external'><source file='/x'/></disk>. */
function diskspecXml(spec: string): string {
  const [name, ...rest] = spec.split(",");
  let a = ` name='${xmlEscape(name)}'`;
  let inner = "";
  let driver = "";
  let stype = "file";
  for (const kv of rest) {
    const [k, v = ""] = kv.split("=");
    if (k === "snapshot") a += ` snapshot='${xmlEscape(v)}'`;
    else if (k === "driver") driver = v;
    else if (k === "stype") stype = v;
    else if (k === "file")
      inner +=
        stype === "block"
          ? `      <source dev='${xmlEscape(v)}'/>\n`
          : `      <source file='${xmlEscape(v)}'/>\n`;
    else throw new CmdFailure(`unable to parse diskspec: ${spec}`);
  }
  if (stype !== "file") a += ` type='${xmlEscape(stype)}'`;
  if (driver) inner += `      <driver type='${xmlEscape(driver)}'/>\n`;
  return inner ? `    <disk${a}>\n${inner}    </disk>\n` : `    <disk${a}/>\n`;
}

const snapshotCreateAs: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const name = optString(cmd, "name");
  const desc = optString(cmd, "description");
  const memspec = optString(cmd, "memspec");
  let xml = "<domainsnapshot>\n";
  if (name !== undefined) xml += `  <name>${xmlEscape(name)}</name>\n`;
  if (desc !== undefined) xml += `  <description>${xmlEscape(desc)}</description>\n`;
  if (memspec !== undefined) {
    // virshParseSnapshotMemspec: snapshot=, file= or a path starting with '/', each at most once
    // (vshStringToArray: ",," is a literal comma)
    const parts = [""];
    for (let i = 0; i < memspec.length; i++) {
      if (memspec[i] !== ",") parts[parts.length - 1] += memspec[i];
      else if (memspec[i + 1] === ",") {
        parts[parts.length - 1] += ",";
        i++;
      } else parts.push("");
    }
    let snapshot: string | undefined;
    let file: string | undefined;
    for (const p of memspec === "" ? [] : parts) {
      if (snapshot === undefined && p.startsWith("snapshot=")) snapshot = p.slice(9);
      else if (file === undefined && p.startsWith("file=")) file = p.slice(5);
      else if (file === undefined && p.startsWith("/")) file = p;
      else throw new CmdFailure(`unable to parse memspec: ${memspec}`);
    }
    let a = "";
    if (snapshot !== undefined) a += ` snapshot='${xmlEscape(snapshot)}'`;
    if (file !== undefined) a += ` file='${xmlEscape(file)}'`;
    xml += `  <memory${a}/>\n`;
  }
  const disks = optArgv(cmd, "diskspec");
  if (disks.length) xml += `  <disks>\n${disks.map(diskspecXml).join("")}  </disks>\n`;
  xml += "</domainsnapshot>\n";
  if (optBool(cmd, "print-xml")) {
    ctl.print(`${xml}\n`);
    return true;
  }
  return createSnapshot(ctl, dom, xml, createFlags(cmd));
};

/** virshLookupSnapshot: --snapshotname or --current, errors reported at once. */
async function lookupSnapshot(cmd: ParsedCmd, dom: Domain, arg = "snapshotname"): Promise<DomainSnapshot> {
  const name = optString(cmd, arg);
  const current = optBool(cmd, "current");
  if (name !== undefined && current) throw new CmdFailure(`--${arg} and --current are mutually exclusive`);
  if (name === undefined && !current) throw new CmdFailure(`--${arg} or --current is required`);
  return name !== undefined ? dom.snapshotLookupByName(name, 0) : dom.snapshotCurrent(0);
}

/** virshGetSnapshotParent: null when the snapshot is a root. */
const parentName = (snap: DomainSnapshot) => parentNameOr(snap, ErrorCode.NO_DOMAIN_SNAPSHOT);

const snapshotCurrent: H = async (ctl, cmd) => {
  exclusive(cmd, "name", "snapshotname");
  const dom = await lookupDomain(ctl, cmd);
  const setName = optString(cmd, "snapshotname");
  if (setName !== undefined) {
    const snap = await dom.snapshotLookupByName(setName, 0);
    const xml = await snap.getXMLDesc(1);
    const s = await dom.snapshotCreateXML(xml, 1 | 2);
    ctl.printExtra(`Snapshot ${s.name} set as current`);
    return true;
  }
  if (!(await dom.hasCurrentSnapshot(0)))
    throw new CmdFailure(`domain '${req(cmd, "domain")}' has no current snapshot`);
  const cur = await dom.snapshotCurrent(0);
  if (optBool(cmd, "name")) ctl.print(cur.name);
  else ctl.print(await cur.getXMLDesc(optBool(cmd, "security-info") ? 1 : 0));
  return true;
};

const snapshotInfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const snap = await lookupSnapshot(cmd, dom);
  let out = pad("Name:", snap.name) + pad("Domain:", dom.name);
  out += pad("Current:", (await snap.isCurrent(0)) ? "yes" : "no");
  const doc = parseDoc(await snap.getXMLDesc(0));
  const state = childText(doc, "state") ?? "";
  out += pad("State:", state);
  let external = state === "disk-snapshot";
  const mem = child(doc, "memory");
  if (mem && attr(mem, "snapshot") === "external") external = true;
  const disks = child(doc, "disks");
  if (disks) {
    for (const d of disks.children)
      if (d.kind === "element" && attr(d, "snapshot") === "external") external = true;
  }
  out += pad("Location:", external ? "external" : "internal");
  out += pad("Parent:", (await parentName(snap)) ?? "-");
  out += pad("Children:", String(await snap.numChildren(0)));
  out += pad("Descendants:", String(await snap.numChildren(SL.DESCENDANTS)));
  out += pad("Metadata:", (await snap.hasMetadata(0)) ? "yes" : "no");
  ctl.print(out);
  return true;
};

/** strftime("%Y-%m-%d %H:%M:%S %z", localtime(t)). */
export function formatTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p2 = (x: number) => String(x).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const z = `${sign}${p2(Math.floor(Math.abs(off) / 60))}${p2(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${z}`;
}

const snapshotList: H = async (ctl, cmd) => {
  exclusive(cmd, "tree", "name");
  exclusive(cmd, "parent", "roots");
  exclusive(cmd, "parent", "tree");
  exclusive(cmd, "roots", "tree");
  exclusive(cmd, "roots", "from");
  exclusive(cmd, "roots", "current");
  if (optBool(cmd, "descendants") && !optBool(cmd, "from") && !optBool(cmd, "current"))
    throw new CmdFailure("--descendants requires either --from or --current");
  const dom = await lookupDomain(ctl, cmd);
  if (optBool(cmd, "from") && optBool(cmd, "current"))
    throw new CmdFailure("--from and --current are mutually exclusive");
  let flags = 0;
  const bits: [string, number][] = [
    ["roots", SL.ROOTS],
    ["leaves", SL.LEAVES],
    ["no-leaves", SL.NO_LEAVES],
    ["metadata", SL.METADATA],
    ["no-metadata", SL.NO_METADATA],
    ["inactive", SL.INACTIVE],
    ["active", SL.ACTIVE],
    ["disk-only", SL.DISK_ONLY],
    ["internal", SL.INTERNAL],
    ["external", SL.EXTERNAL],
    ["topological", SL.TOPOLOGICAL],
  ];
  for (const [n, f] of bits) if (optBool(cmd, n)) flags |= f;
  const fromName = optString(cmd, "from");
  let snaps: DomainSnapshot[];
  if (fromName !== undefined || optBool(cmd, "current")) {
    const from =
      fromName !== undefined ? await dom.snapshotLookupByName(fromName, 0) : await dom.snapshotCurrent(0);
    const childFlags =
      (flags & ~SL.ROOTS) | (optBool(cmd, "descendants") || optBool(cmd, "tree") ? SL.DESCENDANTS : 0);
    snaps = await from.listAllChildren(childFlags);
    if (optBool(cmd, "tree")) snaps.unshift(from);
  } else {
    snaps = await dom.listAllSnapshots(flags);
  }
  return printTreeListing(ctl, cmd, snaps, {
    topological: !!(flags & SL.TOPOLOGICAL),
    parentName,
    headings: ["Name", "Creation Time", "State"],
    cells: (doc) => [
      formatTime(Number(childText(doc, "creationTime") ?? "0")),
      childText(doc, "state") ?? "",
    ],
  });
};

const snapshotParent: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const snap = await lookupSnapshot(cmd, dom);
  const p = await parentName(snap);
  if (p === null) throw new CmdFailure(`snapshot '${snap.name}' has no parent`);
  ctl.print(p);
  return true;
};

const snapshotDumpxml: H = async (ctl, cmd) => {
  const name = req(cmd, "snapshotname");
  const dom = await lookupDomain(ctl, cmd);
  const snap = await dom.snapshotLookupByName(name, 0);
  ctl.print(await snap.getXMLDesc(optBool(cmd, "security-info") ? 1 : 0));
  return true;
};

const snapshotRevert: H = async (ctl, cmd) => {
  // --running with --paused is refused by libvirt's API, after the lookups
  const dom = await lookupDomain(ctl, cmd);
  const snap = await lookupSnapshot(cmd, dom);
  let flags = 0;
  if (optBool(cmd, "running")) flags |= 1;
  if (optBool(cmd, "paused")) flags |= 2;
  if (optBool(cmd, "reset-nvram")) flags |= 8;
  // --force is passed only on a retry after a "risky" refusal, as virsh does
  try {
    try {
      await snap.revert(flags);
    } catch (e) {
      if (!optBool(cmd, "force") || (e as { code?: number }).code !== ErrorCode.SNAPSHOT_REVERT_RISKY)
        throw e;
      await snap.revert(flags | 4);
    }
  } catch (e) {
    throw new CmdFailure(`Failed to revert snapshot ${snap.name}`, e);
  }
  ctl.printExtra(`Domain snapshot ${snap.name} reverted\n`);
  return true;
};

const snapshotDelete: H = async (ctl, cmd) => {
  exclusive(cmd, "children", "children-only");
  const dom = await lookupDomain(ctl, cmd);
  const snap = await lookupSnapshot(cmd, dom);
  return deleteTreeMember(ctl, cmd, snap, "snapshot");
};

const snapshotEdit: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const snap = await lookupSnapshot(cmd, dom);
  const before = await snap.getXMLDesc(1);
  const after = editText(before);
  if (after === before) {
    ctl.printExtra(`Snapshot ${snap.name} XML configuration not changed.\n`);
    return true;
  }
  const flags = 1 | (optBool(cmd, "current") || (await snap.isCurrent(0)) ? 2 : 0);
  const ns = await attempt("Failed. Try again?", () => dom.snapshotCreateXML(after, flags));
  ctl.printExtra(`Snapshot ${ns.name} edited.\n`);
  return true;
};

export const snapshotHandlers: Record<string, H> = {
  "snapshot-create": snapshotCreate,
  "snapshot-create-as": snapshotCreateAs,
  "snapshot-current": snapshotCurrent,
  "snapshot-info": snapshotInfo,
  "snapshot-list": snapshotList,
  "snapshot-parent": snapshotParent,
  "snapshot-dumpxml": snapshotDumpxml,
  "snapshot-revert": snapshotRevert,
  "snapshot-delete": snapshotDelete,
  "snapshot-edit": snapshotEdit,
};
