// Domain and host commands over calls the API already has (tools/virsh-domain.c,
// virsh-host.c): iothreadadd/del/pin, cpu-stats, domlaunchsecinfo, ttyconsole, screenshot, dump,
// save-image-dumpxml/-define, managedsave-define, freepages.
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { checkExclusive } from "../../../api/check.js";
import type { TypedParam } from "../../../driver/types.js";
import { ErrorDomain } from "../../../errors/index.js";
import { attr } from "../../../xml/index.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { attempt, type Ctl, conn, lookupDomain, req } from "../lookup.js";
import { optArgv, optBool, optInt, optScaled, optString, optUInt } from "../options.js";
import { affectFlags, childrenAt, exclusive, jobDone, parseDoc } from "../util.js";
import { parseCpuList } from "./cpulist.js";
import { linuxKeycode } from "./linux-keycodes.js";
import { typedValue } from "./monitor-extra.js";

type H = Handler<Ctl>;

async function hostCpus(ctl: Ctl): Promise<number> {
  try {
    return (await conn(ctl).nodeGetCPUMap(0)).cpus;
  } catch {
    return (await conn(ctl).nodeGetInfo()).cpus;
  }
}

function iothreadAddDel(del: boolean): H {
  return async (ctl, cmd) => {
    const flags = affectFlags(cmd);
    const dom = await lookupDomain(ctl, cmd);
    const id = optInt(cmd, "id") ?? 0;
    if (id <= 0) throw new CmdFailure(`Invalid IOThread id value: '${id}'`);
    if (del) await dom.delIOThread(id, flags);
    else await dom.addIOThread(id, flags);
    return true;
  };
}

const iothreadpin: H = async (ctl, cmd) => {
  const flags = affectFlags(cmd);
  const dom = await lookupDomain(ctl, cmd);
  const id = optUInt(cmd, "iothread") ?? 0;
  const cpulist = req(cmd, "cpulist");
  const maxcpu = await hostCpus(ctl);
  const map = parseCpuList(cpulist, maxcpu);
  await dom.pinIOThread(id, map, flags);
  return true;
};

const NS = 1_000_000_000;
const seconds = (v: unknown, width: number) => (Number(v) / NS).toFixed(9).padStart(width);

const cpuStats: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  let showTotal = optBool(cmd, "total");
  const start = optInt(cmd, "start");
  const count = optInt(cmd, "count");
  let cpu = start ?? 0;
  if (cpu < 0) throw new CmdFailure("Invalid value for start CPU");
  if (count !== undefined && count < 0) throw new CmdFailure("Invalid value for number of CPUs to show");
  let showPerCpu = start !== undefined || count !== undefined;
  if (!showTotal && !showPerCpu) {
    showTotal = true;
    showPerCpu = true;
  }
  const failed = (e: unknown) =>
    new CmdFailure(`Failed to retrieve CPU statistics for domain '${dom.name}'`, e);
  if (showPerCpu) {
    let rows: TypedParam[][];
    try {
      rows = await dom.getCPUStats(0, 128, 0);
    } catch (e) {
      throw failed(e);
    }
    const maxId = rows.length;
    if (cpu >= maxId) throw new CmdFailure(`Start CPU ${cpu} is out of range (min: 0, max: ${maxId - 1})`);
    let show = count ?? -1;
    if (show < 0 || show > maxId) {
      if (show > maxId) ctl.print(`Only ${maxId} CPUs available to show\n`);
      show = maxId - cpu;
    }
    let part: TypedParam[][];
    try {
      part = show > 0 ? await dom.getCPUStats(cpu, Math.min(show, 128), 0) : [];
    } catch (e) {
      throw failed(e);
    }
    for (const [i, params] of part.entries()) {
      if (params.length === 0) continue;
      ctl.print(`CPU${cpu + i}:\n`);
      for (const p of params) {
        if (p.field === "cpu_time" || p.field === "vcpu_time")
          ctl.print(`\t${p.field.padEnd(12)} ${seconds(p.value, 19)} seconds\n`);
        else ctl.print(`\t${p.field.padEnd(12)} ${typedValue(p)}\n`);
      }
    }
    cpu += part.length;
  }
  if (!showTotal) return true;
  let total: TypedParam[];
  try {
    total = (await dom.getCPUStats(-1, 1, 0))[0] ?? [];
  } catch (e) {
    throw failed(e);
  }
  if (total.length === 0) {
    ctl.print("No total stats available");
    return true;
  }
  ctl.print("Total:\n");
  for (const p of total) {
    if (p.field === "cpu_time" || p.field === "user_time" || p.field === "system_time")
      ctl.print(`\t${p.field.padEnd(12)} ${seconds(p.value, 19)} seconds\n`);
    else ctl.print(`\t${p.field.padEnd(12)} ${typedValue(p)}\n`);
  }
  return true;
};

const domlaunchsecinfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const params = await attempt("Unable to get launch security parameters", () =>
    dom.getLaunchSecurityInfo(0),
  );
  for (const p of params) ctl.print(`${p.field.padEnd(15)}: ${typedValue(p)}\n`);
  return true;
};

const ttyconsole: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const doc = parseDoc(await dom.getXMLDesc(0));
  const tty = childrenAt(doc, "devices/console")
    .map((c) => attr(c, "tty"))
    .find((t) => t !== undefined && t !== null);
  if (tty === undefined || tty === null) return false;
  ctl.print(`${tty}\n`);
  return true;
};

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const screenshot: H = async (ctl, cmd) => {
  let file = optString(cmd, "file");
  const screen = optUInt(cmd, "screen") ?? 0;
  const dom = await lookupDomain(ctl, cmd);
  const shot = await attempt(`could not take a screenshot of ${req(cmd, "domain")}`, () =>
    dom.screenshot(screen, 0),
  );
  if (file === undefined) {
    const ext = shot.mime === "image/png" ? ".png" : shot.mime === "image/x-portable-pixmap" ? ".ppm" : "";
    file = `${dom.name}-${stamp(new Date())}${ext}`;
  }
  const path = resolve(ctl.cwd, file);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "wx", 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new CmdFailure(`cannot create file ${file}`);
    try {
      fh = await open(path, "w", 0o666);
    } catch {
      throw new CmdFailure(`cannot create file ${file}`);
    }
  }
  try {
    await fh.write(shot.data, 0, shot.data.length);
  } finally {
    await fh.close();
  }
  ctl.printExtra(`Screenshot saved to ${file}, with type of ${shot.mime}`);
  return true;
};

/** VIR_DUMP_* flags. */
const DUMP = { crash: 1, live: 2, "bypass-cache": 4, reset: 8, "memory-only": 16 } as const;

const dump: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh names the domain as given (an id or a UUID stays so)
  const name = req(cmd, "domain");
  const file = req(cmd, "file");
  if (optBool(cmd, "format") && !optBool(cmd, "memory-only"))
    throw new CmdFailure("--format only works with --memory-only");
  let flags = 0;
  for (const [k, v] of Object.entries(DUMP)) if (optBool(cmd, k)) flags |= v;
  await attempt(`Failed to core dump domain '${name}' to ${file}`, async () => {
    // libvirt's virDomainCoreDump refuses these pairs (tsvirt's API does not check them yet)
    const D = ErrorDomain.DOMAIN;
    checkExclusive(flags, DUMP.crash, "VIR_DUMP_CRASH", DUMP.live, "VIR_DUMP_LIVE", D);
    checkExclusive(flags, DUMP.crash, "VIR_DUMP_CRASH", DUMP.reset, "VIR_DUMP_RESET", D);
    checkExclusive(flags, DUMP.live, "VIR_DUMP_LIVE", DUMP.reset, "VIR_DUMP_RESET", D);
    return dom.coreDump(resolve(ctl.cwd, file), flags);
  });
  if (optBool(cmd, "verbose")) jobDone(ctl, "Dump");
  ctl.printExtra(`\nDomain '${name}' dumped to ${file}\n`);
  return true;
};

const saveImageDumpxml: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const flags = optBool(cmd, "security-info") ? 1 : 0;
  ctl.print(await conn(ctl).domainSaveImageGetXMLDesc(resolve(ctl.cwd, file), flags));
  return true;
};

/** VIR_DOMAIN_SAVE_RUNNING / _PAUSED. */
function saveStateFlags(cmd: ParsedCmd): number {
  // not checked here: virsh passes both and the driver refuses the pair
  return (optBool(cmd, "running") ? 2 : 0) | (optBool(cmd, "paused") ? 4 : 0);
}

const saveImageDefine: H = async (ctl, cmd) => {
  const file = req(cmd, "file");
  const flags = saveStateFlags(cmd);
  const xml = await ctl.readFile(req(cmd, "xml"));
  const c = conn(ctl);
  await attempt(`Failed to update ${file}`, async () => {
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainSaveImageDefineXML");
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    return c.hv("domainSaveImageDefineXML", "virDomainSaveImageDefineXML")(
      resolve(ctl.cwd, file),
      xml,
      flags,
    );
  });
  ctl.printExtra(`State file ${file} updated.\n`);
  return true;
};

const managedsaveDefine: H = async (ctl, cmd) => {
  exclusive(cmd, "running", "paused");
  const flags = saveStateFlags(cmd);
  const xml = await ctl.readFile(req(cmd, "xml"));
  const dom = await lookupDomain(ctl, cmd);
  const c = conn(ctl);
  await attempt(`Failed to update ${dom.name} XML configuration`, async () => {
    c.checkWritable(ErrorDomain.DOMAIN, "virDomainManagedSaveDefineXML");
    checkExclusive(flags, 2, "VIR_DOMAIN_SAVE_RUNNING", 4, "VIR_DOMAIN_SAVE_PAUSED", ErrorDomain.DOMAIN);
    return c.hv("domainManagedSaveDefineXML", "virDomainManagedSaveDefineXML")(dom.ref, xml, flags);
  });
  ctl.printExtra(`Managed save state file of domain '${dom.name}' updated.\n`);
  return true;
};

const freepages: H = async (ctl, cmd) => {
  exclusive(cmd, "all", "cellno");
  const bytes = optScaled(cmd, "pagesize", 1024n, 0xffffffffn * 1024n);
  const kib = bytes === undefined ? 0 : Number((bytes + 1023n) / 1024n);
  const c = conn(ctl);
  if (optBool(cmd, "all")) {
    const caps = parseDoc(await c.getCapabilities());
    const sizes =
      bytes !== undefined
        ? [kib]
        : childrenAt(caps, "host/cpu/pages").map((p) => Number(attr(p, "size") ?? 0));
    const cells = childrenAt(caps, "host/topology/cells/cell").map((x) => Number(attr(x, "id") ?? 0));
    for (const id of cells) {
      const counts = await c.nodeGetFreePages(sizes, id, 1, 0);
      ctl.print(`Node ${id}:\n`);
      for (const [j, s] of sizes.entries()) ctl.print(`${s}KiB: ${counts[j] ?? 0}\n`);
      ctl.print("\n");
    }
    return true;
  }
  if (!optBool(cmd, "cellno")) throw new CmdFailure("missing cellno argument");
  const cell = optInt(cmd, "cellno") ?? 0;
  if (cell < -1) throw new CmdFailure("cell number must be non-negative integer or -1");
  if (bytes === undefined) throw new CmdFailure("missing pagesize argument");
  const counts = await c.nodeGetFreePages([kib], cell, 1, 0);
  ctl.print(`${kib}KiB: ${counts[0] ?? 0}\n`);
  return true;
};

/** virKeycodeSet names, in VIR_KEYCODE_SET_* order. */
const CODESETS = ["linux", "xt", "atset1", "atset2", "atset3", "os_x", "xt_kbd", "usb", "win32", "qnum"];

/** virStrToLong_uip(…, 0): decimal, 0x hex or 0 octal, at most 0xffff; -1 otherwise. */
function numericKeycode(s: string): number {
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(s);
  if (!m) return -1;
  const b = m[1]!;
  const v = /^0[xX]/.test(b)
    ? Number.parseInt(b.slice(2), 16)
    : b.length > 1 && b[0] === "0"
      ? Number.parseInt(b, 8)
      : Number(b);
  return v > 0xffff ? -1 : v;
}

/** send-key: names are known for the linux codeset (KEY_*); every codeset takes numbers. */
const sendKey: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // --codeset is read quietly (an empty value keeps linux); --holdtime is unsigned
  let codesetName = cmd.opts.find((o) => o.def.name === "codeset")?.value || "linux";
  const holdtime = optUInt(cmd, "holdtime") ?? 0;
  if (codesetName === "rfb") codesetName = "qnum";
  const codeset = CODESETS.indexOf(codesetName);
  if (codeset < 0) throw new CmdFailure(`unknown codeset: '${codesetName}'`);
  const codes: number[] = [];
  for (const k of optArgv(cmd, "keycode")) {
    if (codes.length === 16) throw new CmdFailure("too many keycodes");
    let code = numericKeycode(k);
    if (code < 0 && codeset === 0) code = linuxKeycode(k) ?? -1;
    if (code < 0) throw new CmdFailure(`invalid keycode: '${k}'`);
    codes.push(code);
  }
  await dom.sendKey(codeset, holdtime, codes, 0);
  return true;
};

export const domainExtraHandlers: Record<string, H> = {
  iothreadadd: iothreadAddDel(false),
  iothreaddel: iothreadAddDel(true),
  iothreadpin,
  "cpu-stats": cpuStats,
  domlaunchsecinfo,
  ttyconsole,
  screenshot,
  dump,
  "save-image-dumpxml": saveImageDumpxml,
  "save-image-define": saveImageDefine,
  "managedsave-define": managedsaveDefine,
  freepages,
  "send-key": sendKey,
};
