// Node device commands (tools/virsh-nodedev.c): nodedev-list, nodedev-dumpxml, nodedev-info,
// nodedev-create/define/start/destroy/undefine/autostart.
import { ErrorCode } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, req } from "../lookup.js";
import { optBool, optStringQuiet } from "../options.js";

type H = Handler<Ctl>;

const LIST_ACTIVE = 2 ** 31;
const LIST_INACTIVE = 2 ** 30;

/** virNodeDevCapType names; capability n filters with VIR_CONNECT_LIST_NODE_DEVICES_CAP bit n. */
const CAP_NAMES = [
  "system",
  "pci",
  "usb_device",
  "usb",
  "net",
  "scsi_host",
  "scsi_target",
  "scsi",
  "storage",
  "fc_host",
  "vports",
  "scsi_generic",
  "drm",
  "mdev_types",
  "mdev",
  "ccw",
  "css",
  "vdpa",
  "ap_card",
  "ap_queue",
  "ap_matrix",
  "vpd",
];

const nodedevList: H = async (ctl, cmd) => {
  let flags = LIST_ACTIVE;
  if (optBool(cmd, "inactive")) flags = LIST_INACTIVE;
  if (optBool(cmd, "all")) flags = LIST_ACTIVE + LIST_INACTIVE;
  // read quietly: an empty list is no capability filter
  const capArg = optStringQuiet(cmd, "cap") ?? undefined;
  if (capArg !== undefined) {
    for (const c of capArg.split(",")) {
      const i = CAP_NAMES.indexOf(c);
      if (i < 0) throw new CmdFailure("Invalid capability type");
      flags += 2 ** i;
    }
  }
  const c = conn(ctl);
  let names: string[];
  try {
    names = (await c.listAllNodeDevices(flags)).map((d) => d.name);
  } catch (e) {
    if ((e as { code?: number }).code !== ErrorCode.NO_SUPPORT)
      throw new CmdFailure("Failed to list node devices", e);
    const cap = optStringQuiet(cmd, "cap") || null;
    names = await attempt("Failed to list node devices", () => c.nodeListDevices(cap, 65536, 0));
  }
  names.sort();
  for (const n of names) ctl.print(`${n}\n`);
  return true;
};

async function lookupDev(ctl: Ctl, name: string) {
  return attempt(`Could not find matching device '${name}'`, () => conn(ctl).nodeDeviceLookupByName(name));
}

const nodedevDumpxml: H = async (ctl, cmd) => {
  const dev = await lookupDev(ctl, req(cmd, "device"));
  ctl.print(await dev.getXMLDesc(0));
  return true;
};

/** virsh prints "yes" for a call that fails: its -1 is true in C (libvirt 9.0's test driver has neither). */
async function yesNo(f: () => Promise<boolean>): Promise<string> {
  try {
    return (await f()) ? "yes" : "no";
  } catch {
    return "yes";
  }
}

const nodedevInfo: H = async (ctl, cmd) => {
  const dev = await lookupDev(ctl, req(cmd, "device"));
  const p = (k: string, v: string) => `${k.padEnd(15)} ${v}\n`;
  let auto = "no autostart";
  try {
    auto = (await dev.getAutostart()) ? "yes" : "no";
  } catch {}
  ctl.print(
    p("Name:", dev.name) +
      p("Parent:", (await dev.getParent()) ?? "") +
      p("Active:", await yesNo(() => dev.isActive())) +
      p("Persistent:", await yesNo(() => dev.isPersistent())) +
      p("Autostart:", auto),
  );
  return true;
};

const nodedevDestroy: H = async (ctl, cmd) => {
  const name = req(cmd, "device");
  const dev = await lookupDev(ctl, name);
  await attempt(`Failed to destroy node device '${name}'`, () => dev.destroy());
  ctl.printExtra(`Destroyed node device '${name}'\n`);
  return true;
};

const nodedevCreate: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const dev = await attempt(`Failed to create node device from ${file}`, () =>
    conn(ctl).nodeDeviceCreateXML(xml, 0),
  );
  ctl.printExtra(`Node device ${dev.name} created from ${file}\n`);
  return true;
};

const nodedevDefine: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const dev = await attempt(`Failed to define node device from '${file}'`, () =>
    conn(ctl).nodeDeviceDefineXML(xml, 0),
  );
  ctl.printExtra(`Node device '${dev.name}' defined from '${file}'\n`);
  return true;
};

const nodedevUndefine: H = async (ctl, cmd) => {
  const name = req(cmd, "device");
  const dev = await lookupDev(ctl, name);
  await attempt(`Failed to undefine node device '${name}'`, () => dev.undefine(0));
  ctl.printExtra(`Undefined node device '${name}'\n`);
  return true;
};

const nodedevStart: H = async (ctl, cmd) => {
  const name = req(cmd, "device");
  const dev = await lookupDev(ctl, name);
  await attempt(`Failed to start device ${name}`, () => dev.create(0));
  ctl.printExtra(`Device ${name} started\n`);
  return true;
};

const nodedevAutostart: H = async (ctl, cmd) => {
  const name = req(cmd, "device");
  const dev = await lookupDev(ctl, name);
  const off = optBool(cmd, "disable");
  const msg = off
    ? `failed to unmark device ${name} as autostarted`
    : `failed to mark device ${name} as autostarted`;
  await attempt(msg, () => dev.setAutostart(!off));
  ctl.printExtra(off ? `Device ${name} unmarked as autostarted\n` : `Device ${name} marked as autostarted\n`);
  return true;
};

export const nodedevHandlers: Record<string, H> = {
  "nodedev-list": nodedevList,
  "nodedev-dumpxml": nodedevDumpxml,
  "nodedev-info": nodedevInfo,
  "nodedev-destroy": nodedevDestroy,
  "nodedev-create": nodedevCreate,
  "nodedev-define": nodedevDefine,
  "nodedev-undefine": nodedevUndefine,
  "nodedev-start": nodedevStart,
  "nodedev-autostart": nodedevAutostart,
};
