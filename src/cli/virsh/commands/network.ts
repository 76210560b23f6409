// Virtual network commands (tools/virsh-network.c): net-list, net-info, net-define/create/start/
// destroy/undefine/autostart, net-dumpxml, net-edit, net-uuid/name, net-dhcp-leases, net-update.
import { ErrorDomain } from "../../../errors/index.js";
import type { Network } from "../../../api/index.js";
import { VIR_CONNECT_LIST_NETWORKS as L } from "../../../driver/flags.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { pad } from "../format/info-line.js";
import { formatTable } from "../format/table.js";
import { attempt, type Ctl, conn, lookupNetwork, req } from "../lookup.js";
import { optBool, optInt, optString } from "../options.js";
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

type H = Handler<Ctl>;

const netList: H = async (ctl, cmd) => {
  const table = optBool(cmd, "table");
  const name = optBool(cmd, "name");
  const uuid = optBool(cmd, "uuid");
  if (Number(table) + Number(name) + Number(uuid) > 1)
    throw new CmdFailure("Only one argument from --table, --name and --uuid may be specified.");
  const flags = stateListFlags(cmd, L);
  const nets = (await attempt("Failed to list networks", () => conn(ctl).listAllNetworks(flags))).sort(
    (a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
  );
  if (name || uuid) {
    for (const n of nets) ctl.print(`${name ? n.name : n.uuid}\n`);
    return true;
  }
  const rows: string[][] = [];
  for (const n of nets) {
    rows.push([
      n.name,
      (await n.isActive()) ? "active" : "inactive",
      await autostartWord(n),
      (await n.isPersistent()) ? "yes" : "no",
    ]);
  }
  ctl.print(formatTable(["Name", "State", "Autostart", "Persistent"], rows, !ctl.quiet));
  return true;
};

const netInfo: H = async (ctl, cmd) => {
  const n = await lookupNetwork(ctl, cmd);
  let out = pad("Name:", n.name) + pad("UUID:", n.uuid);
  const yn = async (f: () => Promise<boolean>) => {
    try {
      return (await f()) ? "yes" : "no";
    } catch {
      return "unknown";
    }
  };
  out += pad("Active:", await yn(() => n.isActive()));
  out += pad("Persistent:", await yn(() => n.isPersistent()));
  out += pad("Autostart:", await autostartWord(n));
  try {
    out += pad("Bridge:", await n.getBridgeName());
  } catch {}
  ctl.print(out);
  return true;
};

const NET: KindWords<Network> = {
  noun: "network",
  Noun: "Network",
  lookup: (ctl, cmd) => lookupNetwork(ctl, cmd),
};

const netDhcpLeases: H = async (ctl, cmd) => {
  const n = await lookupNetwork(ctl, cmd);
  const mac = optString(cmd, "mac") ?? null;
  const leases = await attempt(`Failed to get leases info for ${req(cmd, "network")}`, () =>
    n.getDHCPLeases(mac, 0),
  );
  const rows = leases.map((l) => {
    const d = new Date(l.expirytime * 1000);
    const p2 = (x: number) => String(x).padStart(2, "0");
    const when = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
    const proto = l.type === 1 ? "ipv6" : "ipv4";
    return [when, l.mac ?? "-", proto, `${l.ipaddr}/${l.prefix}`, l.hostname || "-", l.clientid || "-"];
  });
  ctl.print(
    formatTable(
      ["Expiry Time", "MAC address", "Protocol", "IP address", "Hostname", "Client ID or DUID"],
      rows,
      !ctl.quiet,
    ),
  );
  return true;
};

const UPDATE_COMMANDS: Record<string, number> = {
  none: 0,
  modify: 1,
  delete: 2,
  "add-last": 3,
  add: 3,
  "add-first": 4,
};
const UPDATE_SECTIONS: Record<string, number> = {
  bridge: 1,
  domain: 2,
  ip: 3,
  "ip-dhcp-host": 4,
  "ip-dhcp-range": 5,
  forward: 6,
  "forward-interface": 7,
  "forward-pf": 8,
  portgroup: 9,
  "dns-host": 10,
  "dns-txt": 11,
  "dns-srv": 12,
};

const netUpdate: H = async (ctl, cmd) => {
  exclusive(cmd, "current", "live");
  exclusive(cmd, "current", "config");
  const n = await lookupNetwork(ctl, cmd);
  const command = req(cmd, "command");
  const c = UPDATE_COMMANDS[command];
  if (c === undefined) throw new CmdFailure(`unrecognized command name '${command}'`);
  const section = req(cmd, "section");
  const s = UPDATE_SECTIONS[section];
  if (s === undefined) throw new CmdFailure(`unrecognized section name '${section}'`);
  const xmlArg = req(cmd, "xml");
  const xml = xmlArg.trimStart().startsWith("<") ? xmlArg : await ctl.readFile(xmlArg);
  let flags = 0;
  if (optBool(cmd, "config")) flags |= 2;
  if (optBool(cmd, "live")) flags |= 1;
  const idx = optInt(cmd, "parent-index") ?? -1;
  await attempt(`Failed to update network ${n.name}`, () => n.update(c, s, idx, xml, flags));
  // no newline of its own (the one after the command ends the line); without --live/--config the
  // state changed is the live one of an active network, the persistent one otherwise
  const where =
    flags & 2
      ? flags & 1
        ? "persistent config and live state"
        : "persistent config"
      : flags & 1 || (await n.isActive())
        ? "live state"
        : "persistent config";
  ctl.printExtra(`Updated network ${n.name} ${where}`);
  return true;
};

export const networkHandlers: Record<string, H> = {
  "net-list": netList,
  "net-info": netInfo,
  "net-uuid": uuidCmd(NET, (ctl, name) => conn(ctl).networkLookupByName(name)),
  "net-name": nameByUuidCmd("network", "virNetworkLookupByUUIDString", ErrorDomain.NETWORK, (ctl, uuid) =>
    conn(ctl).networkLookupByUUID(uuid),
  ),
  "net-dumpxml": dumpxmlCmd(NET),
  "net-define": fromFileCmd(NET, "define", "defined", (ctl, xml, cmd) =>
    conn(ctl).networkDefineXML(xml, optBool(cmd, "validate") ? 1 : 0),
  ),
  "net-create": fromFileCmd(NET, "create", "created", (ctl, xml, cmd) =>
    conn(ctl).networkCreateXML(xml, optBool(cmd, "validate") ? 1 : 0),
  ),
  "net-start": simpleStep(NET, "start", "started", (n) => n.create()),
  "net-destroy": simpleStep(NET, "destroy", "destroyed", (n) => n.destroy()),
  "net-undefine": simpleStep(NET, "undefine", "has been undefined", (n) => n.undefine()),
  "net-autostart": autostartCmd(NET),
  "net-edit": editCmd(NET, (ctl, xml) => conn(ctl).networkDefineXML(xml, 0)),
  "net-dhcp-leases": netDhcpLeases,
  "net-update": netUpdate,
};
