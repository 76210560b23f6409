// Host interface and secret commands (tools/virsh-interface.c, virsh-secret.c).
import { VIR_CONNECT_LIST_INTERFACES as IL } from "../../../driver/flags.js";
import { ErrorCode, ErrorDomain, VirError } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { formatTable } from "../format/table.js";
import { attempt, type Ctl, conn, looksLikeUuid, lookupInterface, req } from "../lookup.js";
import { optBool, optString } from "../options.js";
import { editText } from "../util.js";

type H = Handler<Ctl>;

const isNoSupport = (e: unknown) => (e as { code?: number }).code === ErrorCode.NO_SUPPORT;

const ifaceList: H = async (ctl, cmd) => {
  let flags: number = IL.ACTIVE;
  if (optBool(cmd, "inactive")) flags = IL.INACTIVE;
  if (optBool(cmd, "all")) flags = IL.ACTIVE | IL.INACTIVE;
  const list = (await attempt("Failed to list interfaces", () => conn(ctl).listAllInterfaces(flags))).sort(
    (a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
  );
  const rows: string[][] = [];
  for (const i of list) rows.push([i.name, (await i.isActive()) ? "active" : "inactive", i.mac]);
  ctl.print(formatTable(["Name", "State", "MAC Address"], rows, !ctl.quiet));
  return true;
};

const ifaceMac: H = async (ctl, cmd) => {
  ctl.print(`${(await lookupInterface(ctl, cmd, "interface", "name")).mac}\n`);
  return true;
};

const ifaceName: H = async (ctl, cmd) => {
  ctl.print(`${(await lookupInterface(ctl, cmd, "interface", "mac")).name}\n`);
  return true;
};

const ifaceDumpxml: H = async (ctl, cmd) => {
  const i = await lookupInterface(ctl, cmd);
  ctl.print(await i.getXMLDesc(optBool(cmd, "inactive") ? 1 : 0));
  return true;
};

const ifaceStart: H = async (ctl, cmd) => {
  const i = await lookupInterface(ctl, cmd);
  // named as given (a MAC stays so)
  const name = req(cmd, "interface");
  await attempt(`Failed to start interface ${name}`, () => i.create(0));
  ctl.printExtra(`Interface ${name} started\n`);
  return true;
};

const ifaceDestroy: H = async (ctl, cmd) => {
  const i = await lookupInterface(ctl, cmd);
  // named as given (a MAC stays so)
  const name = req(cmd, "interface");
  await attempt(`Failed to destroy interface ${name}`, () => i.destroy(0));
  ctl.printExtra(`Interface ${name} destroyed\n`);
  // virsh 9.0's cmdInterfaceDestroy returns its initial 'false' even on success: exit status 1
  return false;
};

const ifaceDefine: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const i = await attempt(`Failed to define interface from ${file}`, () =>
    conn(ctl).interfaceDefineXML(xml, optBool(cmd, "validate") ? 1 : 0),
  );
  ctl.printExtra(`Interface ${i.name} defined from ${file}\n`);
  return true;
};

const ifaceUndefine: H = async (ctl, cmd) => {
  const i = await lookupInterface(ctl, cmd);
  // named as given (a MAC stays so)
  const name = req(cmd, "interface");
  await attempt(`Failed to undefine interface ${name}`, () => i.undefine());
  ctl.printExtra(`Interface ${name} undefined\n`);
  return true;
};

const ifaceEdit: H = async (ctl, cmd) => {
  const i = await lookupInterface(ctl, cmd);
  const before = await i.getXMLDesc(1);
  const after = editText(before);
  if (after === before) {
    ctl.printExtra(`Interface ${i.name} XML configuration not changed.\n`);
    return true;
  }
  const ni = await attempt("Failed. Try again?", () => conn(ctl).interfaceDefineXML(after, 0));
  ctl.printExtra(`Interface ${ni.name} XML configuration edited.\n`);
  return true;
};

const ifaceBegin: H = async (ctl) => {
  await attempt("Failed to begin network config change transaction", () => conn(ctl).interfaceChangeBegin(0));
  ctl.printExtra("Network config change transaction started\n");
  return true;
};

const ifaceCommit: H = async (ctl) => {
  await attempt("Failed to commit network config change transaction", () =>
    conn(ctl).interfaceChangeCommit(0),
  );
  ctl.printExtra("Network config change transaction committed\n");
  return true;
};

const ifaceRollback: H = async (ctl) => {
  await attempt("Failed to rollback network config change transaction", () =>
    conn(ctl).interfaceChangeRollback(0),
  );
  ctl.printExtra("Network config change transaction rolled back\n");
  return true;
};

const USAGE_NAMES = ["none", "volume", "ceph", "iscsi", "tls", "vtpm"];

/** VIR_CONNECT_LIST_SECRETS_* filter flags. */
const SECRET_FILTERS: [string, number][] = [
  ["ephemeral", 1],
  ["no-ephemeral", 2],
  ["private", 4],
  ["no-private", 8],
];

const secretList: H = async (ctl, cmd) => {
  const c = conn(ctl);
  let flags = 0;
  for (const [o, f] of SECRET_FILTERS) if (optBool(cmd, o)) flags |= f;
  let rows: string[][];
  try {
    const list = await c.listAllSecrets(flags);
    rows = list.map((s) => [
      s.uuid,
      s.usageType ? `${USAGE_NAMES[s.usageType] ?? "unknown"} ${s.usageID}` : "Unused",
    ]);
  } catch (e) {
    if (!isNoSupport(e)) throw new CmdFailure("Failed to list secrets", e);
    // the old listing calls cannot filter
    if (flags) throw new CmdFailure("Filtering is not supported by this libvirt");
    await attempt("Failed to count secrets", () => c.numOfSecrets());
    const uuids = await attempt("Failed to list secrets", () => c.listSecrets(65536));
    rows = uuids.map((u) => [u, "Unused"]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  ctl.print(formatTable(["UUID", "Usage"], rows, !ctl.quiet));
  return true;
};

const secretDefine: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const s = await attempt(`Failed to set attributes from ${file}`, () => conn(ctl).secretDefineXML(xml, 0));
  ctl.printExtra(`Secret ${s.uuid} created\n`);
  return true;
};

async function lookupSecret(ctl: Ctl, uuid: string) {
  return attempt(`failed to get secret '${uuid}'`, () => {
    // virSecretLookupByUUIDString refuses a malformed UUID before any driver call
    if (!looksLikeUuid(uuid))
      throw new VirError({
        code: ErrorCode.INVALID_ARG,
        domain: ErrorDomain.SECRET,
        message: "uuidstr in virSecretLookupByUUIDString must be a valid UUID",
      });
    return conn(ctl).secretLookupByUUID(uuid);
  });
}

const secretDumpxml: H = async (ctl, cmd) => {
  const s = await lookupSecret(ctl, req(cmd, "secret"));
  ctl.print(await s.getXMLDesc(0));
  return true;
};

const secretUndefine: H = async (ctl, cmd) => {
  const s = await lookupSecret(ctl, req(cmd, "secret"));
  await attempt(`Failed to delete secret ${s.uuid}`, () => s.undefine());
  ctl.printExtra(`Secret ${s.uuid} deleted\n`);
  return true;
};

const secretSetValue: H = async (ctl, cmd) => {
  const s = await lookupSecret(ctl, req(cmd, "secret"));
  const b64 = optString(cmd, "base64");
  const file = optString(cmd, "file");
  let value: Uint8Array;
  if (b64 !== undefined) value = Buffer.from(b64, "base64");
  else if (file !== undefined) {
    const text = await ctl.readFile(file);
    value = optBool(cmd, "plain") ? Buffer.from(text) : Buffer.from(text, "base64");
  } else throw new CmdFailure("Input secret value is missing");
  await attempt("Failed to set secret value", () => s.setValue(value, 0));
  ctl.printExtra("Secret value set\n");
  return true;
};

const secretGetValue: H = async (ctl, cmd) => {
  const s = await lookupSecret(ctl, req(cmd, "secret"));
  const v = await s.getValue(0);
  ctl.print(optBool(cmd, "plain") ? Buffer.from(v).toString() : `${Buffer.from(v).toString("base64")}\n`);
  return true;
};

export const hostObjectHandlers: Record<string, H> = {
  "iface-list": ifaceList,
  "iface-mac": ifaceMac,
  "iface-name": ifaceName,
  "iface-dumpxml": ifaceDumpxml,
  "iface-start": ifaceStart,
  "iface-destroy": ifaceDestroy,
  "iface-define": ifaceDefine,
  "iface-undefine": ifaceUndefine,
  "iface-edit": ifaceEdit,
  "iface-begin": ifaceBegin,
  "iface-commit": ifaceCommit,
  "iface-rollback": ifaceRollback,
  "secret-list": secretList,
  "secret-define": secretDefine,
  "secret-dumpxml": secretDumpxml,
  "secret-undefine": secretUndefine,
  "secret-set-value": secretSetValue,
  "secret-get-value": secretGetValue,
};
