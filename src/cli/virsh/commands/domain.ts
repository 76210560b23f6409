// Domain lifecycle and configuration commands (tools/virsh-domain.c): start, shutdown, destroy,
// define/undefine, dumpxml, edit, memory and vCPU setters, desc/metadata, managed save.
import { VIR_DOMAIN_METADATA, VIR_DOMAIN_UNDEFINE, VIR_DOMAIN_XML } from "../../../driver/flags.js";
import { checkExclusive } from "../../../api/check.js";
import type { StoragePool, StorageVol } from "../../../api/index.js";
import { ErrorCode, ErrorDomain } from "../../../errors/index.js";
import { attr, child } from "../../../xml/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, denyReadOnly, lookupDomain, req } from "../lookup.js";
import { optArgv, optBool, optScaled, optString, optUInt } from "../options.js";
import {
  affectFlags,
  asFlagless,
  childrenAt,
  editText,
  exclusive,
  jobDone,
  parseDoc,
  requires,
} from "../util.js";

type H = Handler<Ctl>;

const ULONG_MAX = 0xffffffffffffffffn;

const start: H = async (ctl, cmd) => {
  // by name or UUID only: an inactive domain has no id
  const dom = await lookupDomain(ctl, cmd, "domain", { id: false, uuid: true, name: true });
  if (await dom.isActive()) throw new CmdFailure("Domain is already active");
  let flags = 0;
  if (optBool(cmd, "paused")) flags |= 1;
  if (optBool(cmd, "autodestroy")) flags |= 2;
  if (optBool(cmd, "bypass-cache")) flags |= 4;
  if (optBool(cmd, "force-boot")) flags |= 8;
  if (optBool(cmd, "reset-nvram")) flags |= 32;
  // virsh emulates --force-boot for a driver that refuses it: the managed save image goes, and the
  // domain starts without the flag
  if (flags & 8) {
    try {
      await dom.create(flags);
      ctl.printExtra(`Domain '${dom.name}' started\n`);
      return true;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== ErrorCode.NO_SUPPORT && code !== ErrorCode.INVALID_ARG) throw e;
    }
    if (await dom.hasManagedSaveImage(0).catch(() => false)) await dom.managedSaveRemove(0);
    flags &= ~8;
  }
  await attempt(`Failed to start domain '${dom.name}'`, () => dom.create(flags));
  ctl.printExtra(`Domain '${dom.name}' started\n`);
  return true;
};

const SHUTDOWN_MODES: Record<string, number> = { acpi: 1, agent: 2, initctl: 4, signal: 8, paravirt: 16 };

function modeFlags(cmd: Parameters<H>[1], what: string): number {
  const mode = optString(cmd, "mode");
  let flags = 0;
  if (mode === undefined) return 0;
  for (const m of mode.split(",")) {
    const f = SHUTDOWN_MODES[m];
    // virsh 9.0's two texts differ by a comma: shutdown's list has "'signal', or", reboot's not
    if (f === undefined) {
      const last = what === "shutdown" ? ", or" : " or";
      throw new CmdFailure(
        `Unknown mode ${m} value, expecting 'acpi', 'agent', 'initctl', 'signal'${last} 'paravirt'`,
      );
    }
    flags |= f;
  }
  return flags;
}

const shutdown: H = async (ctl, cmd) => {
  const flags = modeFlags(cmd, "shutdown");
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  await attempt(`Failed to shutdown domain '${name}'`, () => dom.shutdown(flags));
  ctl.printExtra(`Domain '${name}' is being shutdown\n`);
  return true;
};

const reboot: H = async (ctl, cmd) => {
  const flags = modeFlags(cmd, "reboot");
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  await attempt(`Failed to reboot domain '${name}'`, () => dom.reboot(flags));
  ctl.printExtra(`Domain '${name}' is being rebooted\n`);
  return true;
};

const reset: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  await attempt(`Failed to reset domain '${name}'`, () => dom.reset(0));
  ctl.printExtra(`Domain '${name}' was reset\n`);
  return true;
};

const destroy: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  let flags = 0;
  if (optBool(cmd, "graceful")) flags |= 1;
  if (optBool(cmd, "remove-logs")) flags |= 2;
  await attempt(`Failed to destroy domain '${name}'`, () => dom.destroy(flags));
  ctl.printExtra(`Domain '${name}' destroyed\n`);
  return true;
};

const suspend: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  await attempt(`Failed to suspend domain '${name}'`, () => dom.suspend());
  ctl.printExtra(`Domain '${name}' suspended\n`);
  return true;
};

const resume: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  await attempt(`Failed to resume domain '${name}'`, () => dom.resume());
  ctl.printExtra(`Domain '${name}' resumed\n`);
  return true;
};

const define: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  const flags = optBool(cmd, "validate") ? 1 : 0;
  const dom = await attempt(`Failed to define domain from ${file}`, () =>
    conn(ctl).domainDefineXML(xml, flags),
  );
  ctl.printExtra(`Domain '${dom.name}' defined from ${file}\n`);
  return true;
};

const create: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const xml = await ctl.readFile(file);
  // --pass-fds (read quietly) is parsed after the file; each item an int
  const fds = cmd.opts.find((o) => o.def.name === "pass-fds")?.value;
  if (fds)
    for (const fd of fds.split(","))
      if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(fd) || Math.abs(Number(fd)) > 2147483647)
        throw new CmdFailure(`Unable to parse FD number '${fd}'`);
  // VIR_DOMAIN_START_PAUSED, _AUTODESTROY, _VALIDATE, _RESET_NVRAM
  let flags = 0;
  if (optBool(cmd, "paused")) flags |= 1;
  if (optBool(cmd, "autodestroy")) flags |= 2;
  if (optBool(cmd, "validate")) flags |= 16;
  if (optBool(cmd, "reset-nvram")) flags |= 32;
  const dom = await attempt(`Failed to create domain from ${file}`, () =>
    conn(ctl).domainCreateXML(xml, flags),
  );
  ctl.printExtra(`Domain '${dom.name}' created from ${file}\n`);
  return true;
};

const undefine: H = async (ctl, cmd) => {
  requires(cmd, "remove-all-storage", "delete-storage-volume-snapshots");
  exclusive(cmd, "nvram", "keep-nvram");
  exclusive(cmd, "tpm", "keep-tpm");
  // virsh reads --storage quietly: an empty value counts as not given
  const storageOpt = cmd.opts.find((o) => o.def.name === "storage")?.value;
  const storage = storageOpt ? storageOpt : undefined;
  const removeAll = optBool(cmd, "remove-all-storage");
  const wipe = optBool(cmd, "wipe-storage");
  if (wipe && storage === undefined && !removeAll)
    throw new CmdFailure("'--wipe-storage' requires '--storage <string>' or '--remove-all-storage'");
  // VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS
  const volFlags = optBool(cmd, "delete-storage-volume-snapshots") ? 2 : 0;
  let flags = 0;
  if (optBool(cmd, "managed-save")) flags |= VIR_DOMAIN_UNDEFINE.MANAGED_SAVE;
  if (optBool(cmd, "snapshots-metadata")) flags |= VIR_DOMAIN_UNDEFINE.SNAPSHOTS_METADATA;
  if (optBool(cmd, "checkpoints-metadata")) flags |= VIR_DOMAIN_UNDEFINE.CHECKPOINTS_METADATA;
  if (optBool(cmd, "nvram")) flags |= VIR_DOMAIN_UNDEFINE.NVRAM;
  if (optBool(cmd, "keep-nvram")) flags |= VIR_DOMAIN_UNDEFINE.KEEP_NVRAM;
  if (optBool(cmd, "tpm")) flags |= VIR_DOMAIN_UNDEFINE.TPM;
  if (optBool(cmd, "keep-tpm")) flags |= VIR_DOMAIN_UNDEFINE.KEEP_TPM;
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  // the volumes to remove are found before the definition disappears
  const vols: { vol: StorageVol; source: string; target: string }[] = [];
  if (storage !== undefined || removeAll) {
    if (await dom.isActive())
      throw new CmdFailure("Storage volume deletion is supported only on stopped domains");
    if (storage !== undefined && removeAll)
      throw new CmdFailure("Specified both --storage and --remove-all-storage");
    const doc = parseDoc(await dom.getXMLDesc(0));
    const wanted: (string | null)[] | null = storage?.split(",") ?? null;
    for (const disk of childrenAt(doc, "devices/disk")) {
      const target = attr(child(disk, "target") ?? disk, "dev");
      if (!target) continue;
      const src = child(disk, "source");
      const source = src
        ? ["file", "dir", "name", "dev", "volume"].map((a) => attr(src, a)).find((v) => v !== undefined)
        : undefined;
      if (!source) continue;
      if (wanted) {
        const j = wanted.findIndex((w) => w === target || w === source);
        if (j < 0) continue;
        wanted[j] = null;
      }
      const poolName = src ? attr(src, "pool") : undefined;
      let vol: StorageVol | undefined;
      const c = conn(ctl);
      if (poolName) {
        let pool: StoragePool;
        try {
          pool = await c.storagePoolLookupByName(poolName);
        } catch {
          ctl.error(`Storage pool '${poolName}' for volume '${target}' not found.`);
          continue;
        }
        vol = await pool.storageVolLookupByName(source).catch(() => undefined);
      } else vol = await c.storageVolLookupByPath(source).catch(() => undefined);
      if (!vol) {
        ctl.error(`Storage volume '${target}'(${source}) is not managed by libvirt. Remove it manually.\n`);
        continue;
      }
      vols.push({ vol, source, target });
    }
    let missing = false;
    for (const w of wanted ?? [])
      if (w !== null) {
        ctl.error(`Volume '${w}' was not found in domain's definition.\n`);
        missing = true;
      }
    if (missing) return false;
  }
  // virsh drops the metadata flags the domain has nothing for (fewer refusals of unknown bits)
  const U = VIR_DOMAIN_UNDEFINE;
  if (flags & U.CHECKPOINTS_METADATA && (await dom.listAllCheckpoints(0).catch(() => [1])).length === 0)
    flags &= ~U.CHECKPOINTS_METADATA;
  await attempt(`Failed to undefine domain '${name}'`, async () => {
    denyReadOnly(ctl, "virDomainUndefineFlags");
    try {
      return await dom.undefine(flags);
    } catch (e) {
      // a driver refusing the flags (unsupported, invalid argument): virsh falls back to removing
      // the managed save image itself and the flag-less virDomainUndefine
      const code = (e as { code?: number }).code;
      // (not with --nvram, whose removal only the Flags call can do)
      if (flags === 0 || flags & U.NVRAM || (code !== ErrorCode.NO_SUPPORT && code !== ErrorCode.INVALID_ARG))
        throw e;
      if (flags & U.MANAGED_SAVE && (await dom.hasManagedSaveImage(0))) await dom.managedSaveRemove(0);
      return dom.undefine(0);
    }
  });
  ctl.printExtra(`Domain '${name}' has been undefined\n`);
  let ok = true;
  for (const v of vols) {
    if (wipe) {
      ctl.printExtra(`Wiping volume '${v.target}'(${v.source}) ... `);
      try {
        await v.vol.wipe(0);
        ctl.printExtra("Done.\n");
      } catch (e) {
        // the libvirt error is printed once, when the command fails
        ctl.error("Failed! Volume not removed.");
        ctl.setError(e);
        ok = false;
        continue;
      }
    }
    try {
      await v.vol.delete(volFlags);
      ctl.printExtra(`Volume '${v.target}'(${v.source}) removed.\n`);
    } catch (e) {
      ctl.error(`Failed to remove storage volume '${v.target}'(${v.source})`);
      ctl.setError(e);
      ok = false;
    }
  }
  return ok;
};

const autostart: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  const disable = optBool(cmd, "disable");
  await attempt(
    disable
      ? `Failed to unmark domain '${name}' as autostarted`
      : `Failed to mark domain '${name}' as autostarted`,
    () => dom.setAutostart(!disable),
  );
  ctl.printExtra(
    disable ? `Domain '${name}' unmarked as autostarted\n` : `Domain '${name}' marked as autostarted\n`,
  );
  return true;
};

function xmlFlags(cmd: Parameters<H>[1]): number {
  let flags = 0;
  if (optBool(cmd, "inactive")) flags |= VIR_DOMAIN_XML.INACTIVE;
  if (optBool(cmd, "security-info")) flags |= VIR_DOMAIN_XML.SECURE;
  if (optBool(cmd, "update-cpu")) flags |= VIR_DOMAIN_XML.UPDATE_CPU;
  if (optBool(cmd, "migratable")) flags |= VIR_DOMAIN_XML.MIGRATABLE;
  return flags;
}

const dumpxml: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const xml = await dom.getXMLDesc(xmlFlags(cmd));
  ctl.print(xml);
  return true;
};

const edit: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const flags = VIR_DOMAIN_XML.INACTIVE | VIR_DOMAIN_XML.SECURE;
  const before = await dom.getXMLDesc(flags);
  const after = editText(before);
  if (after === before) {
    ctl.printExtra(`Domain '${dom.name}' XML configuration not changed.\n`);
    return true;
  }
  const defFlags = optBool(cmd, "skip-validate") ? 0 : 1;
  const nd = await attempt("Failed. Try again?", () => conn(ctl).domainDefineXML(after, defFlags));
  ctl.printExtra(`Domain '${nd.name}' XML configuration edited.\n`);
  return true;
};

const setmem: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const bytes = optScaled(cmd, "size", 1024n, ULONG_MAX) ?? 0n;
  const kib = Number((bytes + 1023n) / 1024n);
  // none of --current/--live/--config: virsh changes the live domain (AFFECT_LIVE)
  const none = !["current", "live", "config"].some((o) => optBool(cmd, o));
  await dom.setMemory(kib, none ? 1 : flags);
  return true;
};

const setmaxmem: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const bytes = optScaled(cmd, "size", 1024n, ULONG_MAX) ?? 0n;
  const kib = Number((bytes + 1023n) / 1024n);
  await attempt("Unable to change MaxMemorySize", () => dom.setMemory(kib, flags | 4));
  return true;
};

const setvcpus: H = async (ctl, cmd) => {
  let flags = affectFlags(cmd);
  exclusive(cmd, "guest", "config");
  requires(cmd, "config", "maximum");
  const dom = await lookupDomain(ctl, cmd);
  const count = optUInt(cmd, "count") ?? 0;
  if (optBool(cmd, "maximum")) flags |= 4;
  if (optBool(cmd, "guest")) flags |= 8;
  if (optBool(cmd, "hotpluggable")) flags |= 16;
  if (count === 0) throw new CmdFailure("Can't set 0 processors for a VM");
  if (!flags && !optBool(cmd, "current")) denyReadOnly(ctl, "virDomainSetVcpus");
  // no flags and no --current: virDomainSetVcpus, which changes the live domain
  const flagless = flags === 0 && !optBool(cmd, "current");
  await asFlagless(flagless, "virDomainSetVcpusFlags", "virDomainSetVcpus", () =>
    dom.setVcpus(count, flagless ? 1 : flags),
  );
  return true;
};

/** virshGetDomainDescription: "" when the domain has no such metadata. */
export async function domainDescription(
  dom: Awaited<ReturnType<typeof lookupDomain>>,
  title: boolean,
  flags: number,
) {
  try {
    return await dom.getMetadata(
      title ? VIR_DOMAIN_METADATA.TITLE : VIR_DOMAIN_METADATA.DESCRIPTION,
      null,
      flags,
    );
  } catch (e) {
    if ((e as { code?: number }).code === ErrorCode.NO_DOMAIN_METADATA) return "";
    throw e;
  }
}

const desc: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const title = optBool(cmd, "title");
  const words = optArgv(cmd, "new-desc");
  let text: string | undefined = words.length ? words.join(" ") : undefined;
  if (optBool(cmd, "edit")) {
    const cur = await domainDescription(dom, title, flags & 2 ? VIR_DOMAIN_XML.INACTIVE : 0);
    text = editText(text ?? cur, ".txt").replace(/\n+$/, "");
    // the edited text is compared with the domain's current one
    if (text === cur) {
      ctl.printExtra(title ? "Domain title not changed\n" : "Domain description not changed\n");
      return true;
    }
  }
  if (text !== undefined) {
    const type = title ? VIR_DOMAIN_METADATA.TITLE : VIR_DOMAIN_METADATA.DESCRIPTION;
    await attempt(title ? "Failed to set new domain title" : "Failed to set new domain description", () =>
      dom.setMetadata(type, text ?? "", null, null, flags),
    );
    ctl.printExtra(title ? "Domain title updated successfully" : "Domain description updated successfully");
    return true;
  }
  const cur = await domainDescription(dom, title, flags & 2 ? VIR_DOMAIN_XML.INACTIVE : 0);
  if (cur.length > 0) ctl.print(cur);
  else ctl.printExtra(title ? `No title for domain: ${dom.name}` : `No description for domain: ${dom.name}`);
  return true;
};

const metadata: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const uri = req(cmd, "uri");
  const key = optString(cmd, "key");
  const set = optString(cmd, "set");
  const remove = optBool(cmd, "remove");
  exclusive(cmd, "edit", "set");
  exclusive(cmd, "remove", "set");
  exclusive(cmd, "remove", "edit");
  if ((set !== undefined || optBool(cmd, "edit")) && key === undefined)
    throw new CmdFailure("namespace key is required when modifying metadata");
  if (set !== undefined || remove) {
    await dom.setMetadata(VIR_DOMAIN_METADATA.ELEMENT, set ?? null, key ?? null, uri, flags);
    ctl.printExtra(remove ? "Metadata removed\n" : "Metadata modified\n");
    return true;
  }
  if (optBool(cmd, "edit")) {
    let cur = "";
    try {
      cur = await dom.getMetadata(VIR_DOMAIN_METADATA.ELEMENT, uri, flags);
    } catch {}
    const next = editText(cur);
    if (next === cur) {
      ctl.printExtra("Metadata not changed\n");
      return true;
    }
    await dom.setMetadata(VIR_DOMAIN_METADATA.ELEMENT, next, key ?? null, uri, flags);
    ctl.printExtra("Metadata modified\n");
    return true;
  }
  ctl.print(`${await dom.getMetadata(VIR_DOMAIN_METADATA.ELEMENT, uri, flags)}\n`);
  return true;
};

const managedsave: H = async (ctl, cmd) => {
  // --running with --paused is left to libvirt's API (after the lookup), as virsh does
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  let flags = 0;
  if (optBool(cmd, "bypass-cache")) flags |= 1;
  if (optBool(cmd, "running")) flags |= 2;
  if (optBool(cmd, "paused")) flags |= 4;
  await attempt(`Failed to save domain '${name}' state`, async () => {
    // libvirt's virDomainManagedSave refuses the pair (tsvirt's API does not check it yet)
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    return dom.managedSave(flags);
  });
  if (optBool(cmd, "verbose")) jobDone(ctl, "Managedsave");
  ctl.printExtra(`\nDomain '${name}' state saved by libvirt\n`);
  return true;
};

const managedsaveRemove: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  const has = await attempt("Failed to check for domain managed save image", () =>
    dom.hasManagedSaveImage(0),
  );
  if (!has) {
    ctl.printExtra(`Domain '${name}' has no manage save image; removal skipped`);
    return true;
  }
  await attempt(`Failed to remove managed save image for domain '${name}'`, () => dom.managedSaveRemove(0));
  ctl.printExtra(`Removed managedsave image for domain '${name}'`);
  return true;
};

const domrename: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const name = req(cmd, "new-name");
  await dom.rename(name, 0);
  ctl.printExtra("Domain successfully renamed\n");
  return true;
};

export const domainHandlers: Record<string, H> = {
  start,
  shutdown,
  reboot,
  reset,
  destroy,
  suspend,
  resume,
  define,
  create,
  undefine,
  autostart,
  dumpxml,
  edit,
  setmem,
  setmaxmem,
  setvcpus,
  desc,
  metadata,
  managedsave,
  "managedsave-remove": managedsaveRemove,
  domrename,
};
