// Storage pool commands (tools/virsh-pool.c): pool-list, pool-info, pool-define/-as, pool-create/-as,
// pool-build/start/destroy/delete/undefine/refresh/autostart, pool-dumpxml/edit, pool-uuid/name.
import { ErrorDomain } from "../../../errors/index.js";
import type { StoragePool } from "../../../api/index.js";
import { VIR_CONNECT_LIST_STORAGE_POOLS as L } from "../../../driver/flags.js";
import { POOL_TYPE_LIST_BITS } from "../../../driver/pool-type-bits.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { poolStateName } from "../format/states.js";
import { pad } from "../format/info-line.js";
import { formatTable } from "../format/table.js";
import { prettyCapacity } from "../format/units.js";
import { attempt, type Ctl, conn, lookupPool, req } from "../lookup.js";
import { optBool, optString, optStringQuiet } from "../options.js";
import { exclusive } from "../util.js";
import {
  autostartCmd,
  autostartWord,
  dumpxmlCmd,
  editCmd,
  fromFileCmd,
  type KindWords,
  nameByUuidCmd,
  simpleStep,
  stateListFlags,
  uuidCmd,
} from "./host-object-cmds.js";
import { xmlEscape } from "./virsh-itself.js";

type H = Handler<Ctl>;

const poolList: H = async (ctl, cmd) => {
  exclusive(cmd, "details", "uuid");
  exclusive(cmd, "details", "name");
  let flags = stateListFlags(cmd, L);
  const type = optString(cmd, "type");
  if (type !== undefined) {
    for (const t of type.split(",")) {
      const f = POOL_TYPE_LIST_BITS[t];
      if (f === undefined) throw new CmdFailure(`Invalid pool type '${t}'`);
      flags |= f;
    }
  }
  const pools = (await attempt("Failed to list pools", () => conn(ctl).listAllStoragePools(flags))).sort(
    (a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
  );
  const name = optBool(cmd, "name");
  const uuid = optBool(cmd, "uuid");
  if (name || uuid) {
    for (const p of pools) {
      if (uuid && name) ctl.print(`${p.uuid} ${p.name.padEnd(20)}\n`);
      else if (uuid) ctl.print(`${p.uuid}\n`);
      else ctl.print(`${p.name.padEnd(20)}\n`);
    }
    return true;
  }
  const details = optBool(cmd, "details");
  const rows: string[][] = [];
  for (const p of pools) {
    const active = await p.isActive();
    if (!details) {
      rows.push([p.name, active ? "active" : "inactive", await autostartWord(p)]);
      continue;
    }
    const info = await p.getInfo();
    const row = [
      p.name,
      poolStateName(info.state),
      await autostartWord(p),
      (await p.isPersistent()) ? "yes" : "no",
    ];
    if (active)
      row.push(
        prettyCapacity(info.capacity),
        prettyCapacity(info.allocation),
        prettyCapacity(info.available),
      );
    else row.push("-", "-", "-");
    rows.push(row);
  }
  const header = details
    ? ["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"]
    : ["Name", "State", "Autostart"];
  ctl.print(formatTable(header, rows, !ctl.quiet));
  return true;
};

const poolInfo: H = async (ctl, cmd) => {
  const p = await lookupPool(ctl, cmd);
  const bytes = optBool(cmd, "bytes");
  let out = pad("Name:", p.name) + pad("UUID:", p.uuid);
  const info = await p.getInfo();
  out += pad("State:", poolStateName(info.state));
  const yn = async (f: () => Promise<boolean>, t: string, fl: string) => {
    try {
      return (await f()) ? t : fl;
    } catch {
      return "unknown";
    }
  };
  out += pad("Persistent:", await yn(() => p.isPersistent(), "yes", "no"));
  out += pad("Autostart:", await autostartWord(p));
  if (info.state === 2 || info.state === 3) {
    const f = (v: number) => (bytes ? String(v) : prettyCapacity(v));
    out +=
      pad("Capacity:", f(info.capacity)) +
      pad("Allocation:", f(info.allocation)) +
      pad("Available:", f(info.available));
  }
  ctl.print(out);
  return true;
};

const POOL: KindWords<StoragePool> = {
  noun: "pool",
  Noun: "Pool",
  lookup: (ctl, cmd) => lookupPool(ctl, cmd),
};

/** virshBuildPoolXML: the XML pool-define-as and pool-create-as send. */
export function buildPoolXml(cmd: ParsedCmd): { name: string; xml: string } {
  const name = req(cmd, "name");
  const type = req(cmd, "type");
  const o = (k: string) => optString(cmd, k);
  const e = xmlEscape;
  const host = o("source-host");
  const path = o("source-path");
  const dev = o("source-dev");
  const srcName = o("source-name");
  const target = o("target");
  const format = o("source-format");
  const authType = o("auth-type");
  const authUser = o("auth-username");
  const secretUsage = o("secret-usage");
  const secretUuid = o("secret-uuid");
  const adapterName = o("adapter-name");
  const wwnn = o("adapter-wwnn");
  const wwpn = o("adapter-wwpn");
  const parent = o("adapter-parent");
  const parentWwnn = o("adapter-parent-wwnn");
  const parentWwpn = o("adapter-parent-wwpn");
  const parentFabric = o("adapter-parent-fabric-wwn");
  const protoVer = o("source-protocol-ver");
  const initiator = o("source-initiator");
  let x = `<pool type='${e(type)}'>\n  <name>${e(name)}</name>\n`;
  // virsh 9.0 ignores a lone --adapter-wwnn or --adapter-wwpn
  if (host || path || dev || initiator || format || srcName || adapterName || (wwnn && wwpn)) {
    x += "  <source>\n";
    if (host) {
      const [h, port] = host.split(":");
      x += port ? `    <host name='${e(h)}' port='${e(port)}'/>\n` : `    <host name='${e(host)}'/>\n`;
    }
    if (path) x += `    <dir path='${e(path)}'/>\n`;
    if (dev) x += `    <device path='${e(dev)}'/>\n`;
    if (wwnn && wwpn) {
      x += `    <adapter type='fc_host'`;
      if (parent) x += ` parent='${e(parent)}'`;
      else if (parentWwnn && parentWwpn)
        x += ` parent_wwnn='${e(parentWwnn)}' parent_wwpn='${e(parentWwpn)}'`;
      else if (parentFabric) x += ` parent_fabric_wwn='${e(parentFabric)}'`;
      x += ` wwnn='${e(wwnn)}' wwpn='${e(wwpn)}'/>\n`;
    } else if (adapterName) {
      x += `    <adapter type='scsi_host' name='${e(adapterName)}'/>\n`;
    }
    if (format) x += `    <format type='${e(format)}'/>\n`;
    if (srcName) x += `    <name>${e(srcName)}</name>\n`;
    if (initiator) x += `    <initiator>\n      <iqn name='${e(initiator)}'/>\n    </initiator>\n`;
    if (authType && authUser && (secretUsage || secretUuid)) {
      x += `    <auth type='${e(authType)}' username='${e(authUser)}'>\n`;
      x += secretUsage
        ? `      <secret usage='${e(secretUsage)}'/>\n`
        : `      <secret uuid='${e(secretUuid ?? "")}'/>\n`;
      x += "    </auth>\n";
    }
    if (protoVer) x += `    <protocol ver='${e(protoVer)}'/>\n`;
    x += "  </source>\n";
  }
  if (target) x += `  <target>\n    <path>${e(target)}</path>\n  </target>\n`;
  x += "</pool>\n";
  return { name, xml: x };
}

const poolDefineAs: H = async (ctl, cmd) => {
  const { name, xml } = buildPoolXml(cmd);
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  const p = await attempt(`Failed to define pool ${name}`, () => conn(ctl).storagePoolDefineXML(xml, 0));
  ctl.printExtra(`Pool ${p.name} defined\n`);
  return true;
};

function buildFlags(cmd: ParsedCmd): number {
  exclusive(cmd, "overwrite", "no-overwrite");
  let flags = 0;
  if (optBool(cmd, "build")) flags |= 1;
  if (optBool(cmd, "overwrite")) flags |= 2;
  if (optBool(cmd, "no-overwrite")) flags |= 4;
  return flags;
}

const poolCreateAs: H = async (ctl, cmd) => {
  const flags = buildFlags(cmd);
  const { name, xml } = buildPoolXml(cmd);
  if (optBool(cmd, "print-xml")) {
    ctl.print(xml);
    return true;
  }
  const p = await attempt(`Failed to create pool ${name}`, () => conn(ctl).storagePoolCreateXML(xml, flags));
  ctl.printExtra(`Pool ${p.name} created\n`);
  return true;
};

const poolCreate: H = async (ctl, cmd) => {
  const flags = buildFlags(cmd);
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const p = await attempt(`Failed to create pool from ${file}`, () =>
    conn(ctl).storagePoolCreateXML(xml, flags),
  );
  ctl.printExtra(`Pool ${p.name} created from ${file}\n`);
  return true;
};

const poolStart: H = async (ctl, cmd) => {
  const flags = buildFlags(cmd);
  const p = await lookupPool(ctl, cmd);
  await attempt(`Failed to start pool ${req(cmd, "pool")}`, () => p.create(flags));
  ctl.printExtra(`Pool ${req(cmd, "pool")} started\n`);
  return true;
};

const poolBuild: H = async (ctl, cmd) => {
  exclusive(cmd, "overwrite", "no-overwrite");
  let flags = 0;
  if (optBool(cmd, "overwrite")) flags |= 8;
  if (optBool(cmd, "no-overwrite")) flags |= 4;
  const p = await lookupPool(ctl, cmd);
  await attempt(`Failed to build pool ${req(cmd, "pool")}`, () => p.build(flags));
  ctl.printExtra(`Pool ${req(cmd, "pool")} built\n`);
  return true;
};

const findSources: H = async (ctl, cmd) => {
  const type = req(cmd, "type");
  const specFile = optString(cmd, "srcSpec");
  const spec = specFile !== undefined ? await ctl.readFile(specFile) : null;
  const xml = await attempt(`Failed to find any ${type} pool sources`, () =>
    conn(ctl).findStoragePoolSources(type, spec, 0),
  );
  ctl.print(xml);
  return true;
};

const findSourcesAs: H = async (ctl, cmd) => {
  const type = req(cmd, "type");
  const host = optString(cmd, "host");
  // an empty port is no port
  const port = optStringQuiet(cmd, "port") || undefined;
  const initiator = optString(cmd, "initiator");
  let spec: string | null = null;
  if (host !== undefined) {
    spec = "<source>\n";
    spec +=
      port !== undefined
        ? `  <host name='${xmlEscape(host)}' port='${xmlEscape(port)}'/>\n`
        : `  <host name='${xmlEscape(host)}'/>\n`;
    if (initiator !== undefined)
      spec += `  <initiator>\n    <iqn name='${xmlEscape(initiator)}'/>\n  </initiator>\n`;
    spec += "</source>\n";
  }
  const xml = await attempt(`Failed to find any ${type} pool sources`, () =>
    conn(ctl).findStoragePoolSources(type, spec, 0),
  );
  ctl.print(xml);
  return true;
};

export const poolHandlers: Record<string, H> = {
  "pool-list": poolList,
  "pool-info": poolInfo,
  "pool-uuid": uuidCmd(POOL, (ctl, name) => conn(ctl).storagePoolLookupByName(name)),
  "pool-name": nameByUuidCmd("pool", "virStoragePoolLookupByUUIDString", ErrorDomain.STORAGE, (ctl, uuid) =>
    conn(ctl).storagePoolLookupByUUID(uuid),
  ),
  "pool-dumpxml": dumpxmlCmd(POOL),
  "pool-define-as": poolDefineAs,
  "pool-create-as": poolCreateAs,
  "pool-define": fromFileCmd(POOL, "define", "defined", (ctl, xml, cmd) =>
    conn(ctl).storagePoolDefineXML(xml, optBool(cmd, "validate") ? 1 : 0),
  ),
  "pool-create": poolCreate,
  "pool-start": poolStart,
  "pool-build": poolBuild,
  "pool-destroy": simpleStep(POOL, "destroy", "destroyed", (p) => p.destroy()),
  "pool-delete": simpleStep(POOL, "delete", "deleted", (p) => p.delete(0)),
  "pool-undefine": simpleStep(POOL, "undefine", "has been undefined", (p) => p.undefine()),
  "pool-refresh": simpleStep(POOL, "refresh", "refreshed", (p) => p.refresh(0)),
  "pool-autostart": autostartCmd(POOL),
  "pool-edit": editCmd(POOL, (ctl, xml) => conn(ctl).storagePoolDefineXML(xml, 0)),
  "find-storage-pool-sources": findSources,
  "find-storage-pool-sources-as": findSourcesAs,
};
