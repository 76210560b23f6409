// Device hot(un)plug, save/restore and power-management commands (tools/virsh-domain.c):
// attach-device, detach-device, update-device, save, restore, dompmsuspend, dompmwakeup, inject-nmi,
// set-lifecycle-action.
import { resolve } from "node:path";
import { checkExclusive } from "../../../api/check.js";
import type { Domain } from "../../../api/index.js";
import { ErrorDomain } from "../../../errors/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, lookupDomain, req } from "../lookup.js";
import { optBool, optString, optULongLong } from "../options.js";
import { affectFlags, asFlagless, exclusive, jobDone } from "../util.js";

type H = Handler<Ctl>;

/** --persistent (alias semantics of old virsh), --config/--live/--current → AFFECT flags. */
function deviceFlagsChecked(cmd: ParsedCmd): number {
  exclusive(cmd, "persistent", "current");
  return affectFlags(cmd);
}

/** deviceFlagsChecked's flags, with --persistent's AFFECT_CONFIG (and LIVE when running). */
async function deviceFlags(cmd: ParsedCmd, dom: Domain): Promise<number> {
  let flags = deviceFlagsChecked(cmd);
  if (optBool(cmd, "persistent")) {
    flags |= 2;
    if (await dom.isActive()) flags |= 1;
  }
  return flags;
}

function deviceCommand(
  verb: string,
  done: string,
  call: (d: Domain, xml: string, f: number) => Promise<void>,
): H {
  return async (ctl, cmd) => {
    deviceFlagsChecked(cmd);
    const dom = await lookupDomain(ctl, cmd);
    const file = req(cmd, "file");
    const xml = await ctl.readFile(file);
    let flags = await deviceFlags(cmd, dom);
    // Without flags or --current virsh calls the flag-less virDomainAttachDevice/DetachDevice,
    // which mean AFFECT_LIVE; update-device always passes its flags.
    const flagless = verb !== "update" && flags === 0 && !optBool(cmd, "current");
    if (flagless) flags = 1;
    const V = verb[0]!.toUpperCase() + verb.slice(1);
    await attempt(`Failed to ${verb} device from ${file}`, () =>
      asFlagless(flagless, `virDomain${V}DeviceFlags`, `virDomain${V}Device`, () =>
        call(dom, xml, flags | (optBool(cmd, "force") ? 4 : 0)),
      ),
    );
    ctl.printExtra(`Device ${done} successfully\n`);
    return true;
  };
}

const save: H = async (ctl, cmd) => {
  // --running with --paused is refused by libvirt's API, after the lookup and the file reads
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  const to = req(cmd, "file");
  let flags = 0;
  if (optBool(cmd, "bypass-cache")) flags |= 1;
  if (optBool(cmd, "running")) flags |= 2;
  if (optBool(cmd, "paused")) flags |= 4;
  const xmlFile = optString(cmd, "xml");
  const dxml = xmlFile !== undefined ? await ctl.readFile(xmlFile) : null;
  await attempt(`Failed to save domain '${name}' to ${to}`, async () => {
    // libvirt's virDomainSaveFlags refuses the pair (tsvirt's API does not check it yet)
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    // libvirt's virDomainSaveFlags makes the path absolute before the driver sees it
    return dom.save(resolve(ctl.cwd, to), dxml, flags);
  });
  if (optBool(cmd, "verbose")) jobDone(ctl, "Save");
  ctl.printExtra(`\nDomain '${name}' saved to ${to}\n`);
  return true;
};

const restore: H = async (ctl, cmd) => {
  const from = req(cmd, "file");
  let flags = 0;
  if (optBool(cmd, "bypass-cache")) flags |= 1;
  if (optBool(cmd, "running")) flags |= 2;
  if (optBool(cmd, "paused")) flags |= 4;
  if (optBool(cmd, "reset-nvram")) flags |= 8;
  const xmlFile = optString(cmd, "xml");
  const dxml = xmlFile !== undefined ? await ctl.readFile(xmlFile) : null;
  // libvirt's virDomainRestore makes the path absolute before the driver sees it
  await attempt(`Failed to restore domain from ${from}`, async () => {
    // libvirt's virDomainRestoreFlags refuses the pair (tsvirt's API does not check it yet)
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    return conn(ctl).domainRestore(resolve(ctl.cwd, from), dxml, flags);
  });
  ctl.printExtra(`Domain restored from ${from}\n`);
  return true;
};

const PM_TARGETS: Record<string, number> = { mem: 0, disk: 1, hybrid: 2 };

const dompmsuspend: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const duration = optULongLong(cmd, "duration") ?? 0n;
  const name = req(cmd, "target");
  const target = PM_TARGETS[name];
  if (target === undefined) throw new CmdFailure("Invalid target");
  await attempt(`Domain '${dom.name}' could not be suspended`, () =>
    dom.pmSuspendForDuration(target, Number(duration), 0),
  );
  ctl.printExtra(`Domain '${dom.name}' successfully suspended`);
  return true;
};

const dompmwakeup: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  await attempt(`Domain '${dom.name}' could not be woken up`, () => dom.pmWakeup(0));
  ctl.printExtra(`Domain '${dom.name}' successfully woken up`);
  return true;
};

const injectNmi: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  await dom.injectNMI(0);
  return true;
};

const LIFECYCLE_TYPES = ["poweroff", "reboot", "crash"];
const LIFECYCLE_ACTIONS = [
  "destroy",
  "restart",
  "rename-restart",
  "preserve",
  "coredump-destroy",
  "coredump-restart",
];

const setLifecycleAction: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const typeName = req(cmd, "type");
  const actionName = req(cmd, "action");
  const type = LIFECYCLE_TYPES.indexOf(typeName);
  if (type < 0) throw new CmdFailure(`Invalid lifecycle type '${typeName}'.`);
  const action = LIFECYCLE_ACTIONS.indexOf(actionName);
  if (action < 0) throw new CmdFailure(`Invalid lifecycle action '${actionName}'.`);
  const dom = await lookupDomain(ctl, cmd);
  await dom.setLifecycleAction(type, action, flags);
  return true;
};

export const domainDeviceHandlers: Record<string, H> = {
  "attach-device": deviceCommand("attach", "attached", (d, x, f) => d.attachDevice(x, f)),
  "detach-device": deviceCommand("detach", "detached", (d, x, f) => d.detachDevice(x, f)),
  "update-device": deviceCommand("update", "updated", (d, x, f) => d.updateDevice(x, f)),
  save,
  restore,
  dompmsuspend,
  dompmwakeup,
  "inject-nmi": injectNmi,
  "set-lifecycle-action": setLifecycleAction,
};
