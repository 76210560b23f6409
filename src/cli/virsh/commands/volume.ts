// Storage volume commands (tools/virsh-volume.c): vol-list, vol-info, vol-create/-as/-from, vol-clone,
// vol-delete, vol-wipe, vol-resize, vol-dumpxml, vol-path/key/name/pool.
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { volTypeName } from "../format/states.js";
import { formatTable } from "../format/table.js";
import { prettyCapacity } from "../format/units.js";
import { attempt, type Ctl, conn, lookupPool, lookupVol, req } from "../lookup.js";
import { optBool, optString, scaleInteger } from "../options.js";
import { exclusive } from "../util.js";
import { xmlEscape } from "./virsh-itself.js";

type H = Handler<Ctl>;

const pad = (k: string, v: string) => `${k.padEnd(15)} ${v}\n`;

/** virshVolSize: "<digits><suffix>", bytes by default; "Malformed size" then the scale error. */
function volSize(text: string): bigint {
  const m = /^[ \t]*\+?(\d+)(.*)$/s.exec(text);
  if (!m) throw new CmdFailure(`Malformed size ${text}`);
  try {
    return scaleInteger(BigInt(m[1]), m[2], 1n, 0xffffffffffffffffn);
  } catch (e) {
    throw new CmdFailure(`Malformed size ${text}`, e);
  }
}

const volList: H = async (ctl, cmd) => {
  const pool = await lookupPool(ctl, cmd);
  const vols = (await attempt("Failed to list volumes", () => pool.listAllVolumes(0))).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const details = optBool(cmd, "details");
  const rows: string[][] = [];
  for (const v of vols) {
    let path = "";
    try {
      path = await v.getPath();
    } catch {}
    if (!details) {
      rows.push([v.name, path]);
      continue;
    }
    const info = await v.getInfo(0);
    rows.push([
      v.name,
      path,
      volTypeName(info.type),
      prettyCapacity(info.capacity),
      prettyCapacity(info.allocation),
    ]);
  }
  ctl.print(
    formatTable(
      details ? ["Name", "Path", "Type", "Capacity", "Allocation"] : ["Name", "Path"],
      rows,
      !ctl.quiet,
    ),
  );
  return true;
};

const volInfo: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  const bytes = optBool(cmd, "bytes");
  const info = await v.getInfo(optBool(cmd, "physical") ? 1 : 0);
  const f = (n: number) => (bytes ? `${n} bytes` : prettyCapacity(n));
  ctl.print(pad("Name:", v.name) + pad("Type:", volTypeName(info.type)) + pad("Capacity:", f(info.capacity)));
  ctl.print(pad(optBool(cmd, "physical") ? "Physical:" : "Allocation:", f(info.allocation)));
  return true;
};

function createFlags(cmd: ParsedCmd): number {
  let flags = 0;
  if (optBool(cmd, "prealloc-metadata")) flags |= 1;
  if (optBool(cmd, "reflink")) flags |= 2;
  if (optBool(cmd, "validate")) flags |= 4;
  return flags;
}

const volCreate: H = async (ctl, cmd) => {
  const pool = await lookupPool(ctl, cmd);
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const v = await attempt(`Failed to create vol from ${file}`, () =>
    pool.storageVolCreateXML(xml, createFlags(cmd)),
  );
  ctl.printExtra(`Vol ${v.name} created from ${file}\n`);
  return true;
};

const volCreateAs: H = async (ctl, cmd) => {
  const pool = await lookupPool(ctl, cmd);
  const name = req(cmd, "name");
  const capacity = volSize(req(cmd, "capacity"));
  const allocStr = optString(cmd, "allocation");
  const allocation = allocStr !== undefined ? volSize(allocStr) : undefined;
  const format = optString(cmd, "format");
  const backing = optString(cmd, "backing-vol");
  const backingFormat = optString(cmd, "backing-vol-format");
  let xml = `<volume>\n  <name>${xmlEscape(name)}</name>\n  <capacity>${capacity}</capacity>\n`;
  if (allocation !== undefined) xml += `  <allocation>${allocation}</allocation>\n`;
  if (format) xml += `  <target>\n    <format type='${xmlEscape(format)}'/>\n  </target>\n`;
  if (backing) {
    let path = backing;
    try {
      const bv = await pool.storageVolLookupByName(backing);
      path = await bv.getPath();
    } catch {
      try {
        path = await (await conn(ctl).storageVolLookupByKey(backing)).getPath();
      } catch {
        try {
          path = await (await conn(ctl).storageVolLookupByPath(backing)).getPath();
        } catch {
          throw new CmdFailure(`failed to get vol '${backing}'`);
        }
      }
    }
    xml += `  <backingStore>\n    <path>${xmlEscape(path)}</path>\n`;
    if (backingFormat) xml += `    <format type='${xmlEscape(backingFormat)}'/>\n`;
    xml += "  </backingStore>\n";
  }
  xml += "</volume>\n";
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  const v = await attempt(`Failed to create vol ${name}`, () =>
    pool.storageVolCreateXML(xml, createFlags(cmd)),
  );
  ctl.printExtra(`Vol ${v.name} created\n`);
  return true;
};

/** virshMakeCloneXML: the original volume's XML with a new name. */
function cloneXml(orig: string, name: string): string {
  return orig.replace(/<name>[^<]*<\/name>/, `<name>${xmlEscape(name)}</name>`);
}

const volClone: H = async (ctl, cmd) => {
  const orig = await lookupVol(ctl, cmd);
  const pool = await orig.lookupPool();
  const name = req(cmd, "newname");
  const xml = cloneXml(await orig.getXMLDesc(0), name);
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  const v = await attempt(`Failed to clone vol from ${orig.name}`, () =>
    pool.storageVolCreateXMLFrom(xml, orig, createFlags(cmd)),
  );
  ctl.printExtra(`Vol ${v.name} cloned from ${orig.name}\n`);
  return true;
};

const volCreateFrom: H = async (ctl, cmd) => {
  const pool = await lookupPool(ctl, cmd);
  const file = req(cmd, "file");
  const input = await lookupVol(ctl, cmd, "vol", "inputpool");
  const xml = await ctl.readFile(file);
  const v = await attempt(`Failed to create vol from ${file}`, () =>
    pool.storageVolCreateXMLFrom(xml, input, createFlags(cmd)),
  );
  ctl.printExtra(`Vol ${v.name} created from input vol ${input.name}\n`);
  return true;
};

const volDelete: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  // named as given (a path or key stays so)
  const name = req(cmd, "vol");
  const flags = optBool(cmd, "delete-snapshots") ? 2 : 0;
  await attempt(`Failed to delete vol ${name}`, () => v.delete(flags));
  ctl.printExtra(`Vol ${name} deleted\n`);
  return true;
};

const WIPE_ALGORITHMS = [
  "zero",
  "nnsa",
  "dod",
  "bsi",
  "gutmann",
  "schneier",
  "pfitzner7",
  "pfitzner33",
  "random",
  "trim",
];

const volWipe: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  // named as given (a path or key stays so)
  const name = req(cmd, "vol");
  const alg = optString(cmd, "algorithm");
  let a = 0;
  if (alg !== undefined) {
    a = WIPE_ALGORITHMS.indexOf(alg);
    if (a < 0) throw new CmdFailure(`Unsupported algorithm '${alg}'`);
  }
  await attempt(`Failed to wipe vol ${name}`, () => (a === 0 ? v.wipe(0) : v.wipePattern(a, 0)));
  ctl.printExtra(`Vol ${name} wiped\n`);
  return true;
};

const volResize: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  let text = req(cmd, "capacity");
  let flags = 0;
  if (optBool(cmd, "allocate")) flags |= 1;
  if (optBool(cmd, "delta")) flags |= 2;
  if (optBool(cmd, "shrink")) flags |= 4;
  const given = text;
  if (text.startsWith("-")) {
    if (!(flags & 4)) throw new CmdFailure(`negative size requires --shrink`);
    flags |= 2;
    text = text.slice(1);
  }
  let size: bigint;
  try {
    size = volSize(text);
  } catch (e) {
    throw new CmdFailure(`Malformed size ${given}`, (e as CmdFailure).cause);
  }
  // the size as given, less a leading '-' (which makes it a delta)
  await attempt(`Failed to change size of volume '${v.name}' ${flags & 2 ? "by" : "to"} ${text}`, () =>
    v.resize(Number(size), flags),
  );
  ctl.printExtra(
    flags & 2
      ? `Size of volume '${v.name}' successfully changed by ${text}\n`
      : `Size of volume '${v.name}' successfully changed to ${text}\n`,
  );
  return true;
};

const volDumpxml: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  ctl.print(await v.getXMLDesc(0));
  return true;
};

const volPath: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  ctl.print(`${await v.getPath()}\n`);
  return true;
};

const volKey: H = async (ctl, cmd) => {
  ctl.print(`${(await lookupVol(ctl, cmd)).key}\n`);
  return true;
};

const volName: H = async (ctl, cmd) => {
  ctl.print(`${(await lookupVol(ctl, cmd)).name}\n`);
  return true;
};

const volPool: H = async (ctl, cmd) => {
  const v = await lookupVol(ctl, cmd);
  const p = await attempt("failed to get parent pool", () => v.lookupPool());
  ctl.print(`${optBool(cmd, "uuid") ? p.uuid : p.name}\n`);
  return true;
};

export const volumeHandlers: Record<string, H> = {
  "vol-list": volList,
  "vol-info": volInfo,
  "vol-create": volCreate,
  "vol-create-as": volCreateAs,
  "vol-create-from": volCreateFrom,
  "vol-clone": volClone,
  "vol-delete": volDelete,
  "vol-wipe": volWipe,
  "vol-resize": volResize,
  "vol-dumpxml": volDumpxml,
  "vol-path": volPath,
  "vol-key": volKey,
  "vol-name": volName,
  "vol-pool": volPool,
};
void exclusive;
