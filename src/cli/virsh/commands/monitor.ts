// Domain monitoring commands (tools/virsh-domain-monitor.c and the vCPU readers of virsh-domain.c):
// list, dominfo, domstate, domid/domname/domuuid, domblklist, domiflist, domblkinfo, vcpucount, vcpuinfo.
import type { Domain } from "../../../api/index.js";
import { VIR_CONNECT_LIST_DOMAINS as L, VIR_DOMAIN_XML } from "../../../driver/flags.js";
import { ErrorCode } from "../../../errors/index.js";
import { attr, child } from "../../../xml/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { domainReasonName, domainStateName } from "../format/states.js";
import { formatTable } from "../format/table.js";
import { type Ctl, conn, lookupDomain } from "../lookup.js";
import { optBool } from "../options.js";
import { bitmapRanges } from "./monitor-extra.js";
import { childrenAt, exclusive, parseDoc } from "../util.js";
import { domainDescription } from "./domain.js";

type H = Handler<Ctl>;

const INACTIVE_ID = -1;

/** virshDomainSorter: running domains by id, then inactive ones by name (case-insensitive). */
function sortDomains(a: Domain, b: Domain): number {
  if (a.id === INACTIVE_ID && b.id === INACTIVE_ID)
    return a.name.toLowerCase().localeCompare(b.name.toLowerCase());
  if (a.id !== INACTIVE_ID && b.id !== INACTIVE_ID) return a.id - b.id;
  return a.id !== INACTIVE_ID ? -1 : 1;
}

const list: H = async (ctl, cmd) => {
  exclusive(cmd, "table", "name");
  exclusive(cmd, "table", "uuid");
  exclusive(cmd, "table", "id");
  let flags: number = L.ACTIVE;
  // --state-shutoff alone lists inactive domains, as --inactive does
  if (optBool(cmd, "inactive") || optBool(cmd, "state-shutoff")) flags = L.INACTIVE;
  if (optBool(cmd, "all")) flags = L.INACTIVE | L.ACTIVE;
  const filters: [string, number][] = [
    ["persistent", L.PERSISTENT],
    ["transient", L.TRANSIENT],
    ["with-managed-save", L.MANAGEDSAVE],
    ["without-managed-save", L.NO_MANAGEDSAVE],
    ["autostart", L.AUTOSTART],
    ["no-autostart", L.NO_AUTOSTART],
    ["with-snapshot", L.HAS_SNAPSHOT],
    ["without-snapshot", L.NO_SNAPSHOT],
    ["with-checkpoint", L.HAS_CHECKPOINT],
    ["without-checkpoint", L.NO_CHECKPOINT],
    ["state-running", L.RUNNING],
    ["state-paused", L.PAUSED],
    ["state-shutoff", L.SHUTOFF],
    ["state-other", L.OTHER],
  ];
  for (const [o, f] of filters) if (optBool(cmd, o)) flags |= f;
  const doms = (await conn(ctl).listAllDomains(flags)).sort(sortDomains);
  const optName = optBool(cmd, "name");
  const optUuid = optBool(cmd, "uuid");
  const optId = optBool(cmd, "id");
  if (optName || optUuid || optId) {
    for (const d of doms) {
      if (optId && d.id === INACTIVE_ID && !optName && !optUuid) continue;
      const parts: string[] = [];
      if (optUuid) parts.push(d.uuid);
      if (optId) parts.push(d.id === INACTIVE_ID ? "-" : String(d.id));
      if (optName) parts.push(d.name);
      ctl.print(`${parts.join(" ")}\n`);
    }
    return true;
  }
  const withTitle = optBool(cmd, "title");
  const managed = optBool(cmd, "managed-save");
  const rows: string[][] = [];
  for (const d of doms) {
    const st = (await d.getState(0)).state;
    let state = domainStateName(st);
    if (managed && st === 5 && (await d.hasManagedSaveImage(0))) state = "saved";
    const row = [d.id === INACTIVE_ID ? "-" : String(d.id), d.name, state];
    if (withTitle) row.push((await domainDescription(d, true, 0)).split("\n")[0]);
    rows.push(row);
  }
  const header = withTitle ? ["Id", "Name", "State", "Title"] : ["Id", "Name", "State"];
  ctl.print(formatTable(header, rows, !ctl.quiet));
  return true;
};

const pad = (k: string, v: string) => `${k.padEnd(15)} ${v}\n`;

const dominfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const c = conn(ctl);
  let out = pad("Id:", dom.id === INACTIVE_ID ? "-" : String(dom.id));
  out += pad("Name:", dom.name);
  out += pad("UUID:", dom.uuid);
  try {
    out += pad("OS Type:", await dom.getOSType());
  } catch {}
  const info = await dom.getInfo();
  out += pad("State:", domainStateName(info.state));
  out += pad("CPU(s):", String(info.nrVirtCpu));
  // Number(): a remote driver may hand 64-bit counters over as bigint
  const cpuTime = Number(info.cpuTime);
  if (cpuTime !== 0) out += pad("CPU time:", `${(cpuTime / 1e9).toFixed(1)}s`);
  out += pad("Max memory:", Number(info.maxMem) === 4294967295 ? "no limit" : `${info.maxMem} KiB`);
  out += pad("Used memory:", `${info.memory} KiB`);
  let persistent = "unknown";
  try {
    const p = await dom.isPersistent();
    ctl.print(out);
    out = "";
    ctl.debug(0, `Domain persistent flag value: ${p ? 1 : 0}\n`);
    persistent = p ? "yes" : "no";
  } catch {}
  out += pad("Persistent:", persistent);
  try {
    out += pad("Autostart:", (await dom.getAutostart()) ? "enable" : "disable");
  } catch {}
  let managed = "unknown";
  try {
    managed = (await dom.hasManagedSaveImage(0)) ? "yes" : "no";
  } catch {}
  out += pad("Managed save:", managed);
  ctl.print(out);
  let model: { model: string; doi: string } | null = null;
  try {
    model = await c.nodeGetSecurityModel();
  } catch (e) {
    if ((e as { code?: number }).code !== ErrorCode.NO_SUPPORT) {
      ctl.setError(e);
      return false;
    }
  }
  if (model && model.model !== "") {
    ctl.print(pad("Security model:", model.model));
    ctl.print(pad("Security DOI:", model.doi));
    if (dom.id !== INACTIVE_ID) {
      const label = await dom.getSecurityLabel();
      if (label.label !== "")
        ctl.print(pad("Security label:", `${label.label} (${label.enforcing ? "enforcing" : "permissive"})`));
    }
  }
  return true;
};

const domstate: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const st = await dom.getState(0);
  if (optBool(cmd, "reason"))
    ctl.print(`${domainStateName(st.state)} (${domainReasonName(st.state, st.reason)})\n`);
  else ctl.print(`${domainStateName(st.state)}\n`);
  return true;
};

const domid: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd, "domain", { id: false, uuid: true, name: true });
  ctl.print(dom.id === INACTIVE_ID ? "-\n" : `${dom.id}\n`);
  return true;
};

const domname: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd, "domain", { id: true, uuid: true, name: false });
  ctl.print(`${dom.name}\n`);
  return true;
};

const domuuid: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd, "domain", { id: true, uuid: false, name: true });
  ctl.print(`${dom.uuid}\n`);
  return true;
};

const domblklist: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const doc = parseDoc(await dom.getXMLDesc(optBool(cmd, "inactive") ? VIR_DOMAIN_XML.INACTIVE : 0));
  const details = optBool(cmd, "details");
  const rows: string[][] = [];
  for (const disk of childrenAt(doc, "devices/disk")) {
    const src = child(disk, "source");
    const source = src
      ? (attr(src, "file") ??
        attr(src, "dev") ??
        attr(src, "dir") ??
        attr(src, "name") ??
        attr(src, "volume"))
      : undefined;
    const target = attr(child(disk, "target") ?? disk, "dev") ?? "";
    if (details) rows.push([attr(disk, "type") ?? "", attr(disk, "device") ?? "", target, source ?? "-"]);
    else rows.push([target, source ?? "-"]);
  }
  ctl.print(
    formatTable(details ? ["Type", "Device", "Target", "Source"] : ["Target", "Source"], rows, !ctl.quiet),
  );
  return true;
};

const domiflist: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const doc = parseDoc(await dom.getXMLDesc(optBool(cmd, "inactive") ? VIR_DOMAIN_XML.INACTIVE : 0));
  const rows: string[][] = [];
  for (const nic of childrenAt(doc, "devices/interface")) {
    const src = child(nic, "source");
    const source = src
      ? (attr(src, "bridge") ??
        attr(src, "dev") ??
        attr(src, "network") ??
        attr(src, "name") ??
        attr(src, "path"))
      : undefined;
    const target = child(nic, "target");
    const model = child(nic, "model");
    const mac = child(nic, "mac");
    rows.push([
      (target && attr(target, "dev")) ?? "-",
      attr(nic, "type") ?? "",
      source ?? "-",
      (model && attr(model, "type")) ?? "-",
      (mac && attr(mac, "address")) ?? "-",
    ]);
  }
  ctl.print(formatTable(["Interface", "Type", "Source", "Model", "MAC"], rows, !ctl.quiet));
  return true;
};

/** vshPrettyCapacity with three decimals, as domblkinfo --human prints sizes. */
function human(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = Number(bytes);
  let i = 0;
  while (i < units.length - 1 && v >= 1024) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(3)} ${units[i]}`;
}

const domblkinfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  // virsh reads --device quietly: an empty value counts as missing
  const dev = cmd.opts.find((o) => o.def.name === "device")?.value || undefined;
  const all = optBool(cmd, "all");
  const fmt = (n: number) => (optBool(cmd, "human") ? human(n) : String(n));
  if (all) {
    const doc = parseDoc(await dom.getXMLDesc(0));
    const rows: string[][] = [];
    for (const disk of childrenAt(doc, "devices/disk")) {
      const target = attr(child(disk, "target") ?? disk, "dev") ?? "";
      if (!child(disk, "source")) {
        rows.push([target, "-", "-", "-"]);
        continue;
      }
      const info = await dom.getBlockInfo(target, 0);
      rows.push([target, fmt(info.capacity), fmt(info.allocation), fmt(info.physical)]);
    }
    ctl.print(formatTable(["Target", "Capacity", "Allocation", "Physical"], rows, !ctl.quiet));
    return true;
  }
  if (dev === undefined) throw new CmdFailure("command 'domblkinfo' requires <device> option");
  const info = await dom.getBlockInfo(dev, 0);
  ctl.print(pad("Capacity:", fmt(info.capacity)));
  ctl.print(pad("Allocation:", fmt(info.allocation)));
  ctl.print(pad("Physical:", fmt(info.physical)));
  return true;
};

/** virshCPUCountCollect: -1 means "not applicable" (live value of an inactive domain). */
async function countCollect(dom: Domain, flags: number, checkState: boolean): Promise<number> {
  if (checkState && flags & 1 && !(await dom.isActive())) return -1;
  try {
    return await dom.getVcpusFlags(flags);
  } catch (e) {
    // virshCPUCountCollect: an unsupported or refused guest query gets virsh's own line first
    const code = (e as { code?: number }).code;
    if (flags & 8 && (code === ErrorCode.NO_SUPPORT || code === ErrorCode.INVALID_ARG))
      throw new CmdFailure("Failed to retrieve vCPU count from the guest", e);
    throw e;
  }
}

const vcpucount: H = async (ctl, cmd) => {
  // virsh leaves --current with --live/--config alone here (CURRENT is 0)
  exclusive(cmd, "live", "config");
  exclusive(cmd, "active", "maximum");
  exclusive(cmd, "guest", "config");
  const flags = (optBool(cmd, "live") ? 1 : 0) | (optBool(cmd, "config") ? 2 : 0);
  const dom = await lookupDomain(ctl, cmd);
  const maximum = optBool(cmd, "maximum");
  const active = optBool(cmd, "active");
  const guest = optBool(cmd, "guest");
  const all =
    !maximum &&
    !active &&
    !guest &&
    !optBool(cmd, "live") &&
    !optBool(cmd, "config") &&
    !optBool(cmd, "current");
  if (all) {
    const confMax = await countCollect(dom, 2 | 4, true);
    const confCur = await countCollect(dom, 2, true);
    const liveMax = await countCollect(dom, 1 | 4, true);
    const liveCur = await countCollect(dom, 1, true);
    const line = (v: number, which: string, state: string) =>
      v > 0 ? ctl.print(`${which.padEnd(12)} ${state.padEnd(12)} ${String(v).padStart(3)}\n`) : undefined;
    line(confMax, "maximum", "config");
    line(liveMax, "maximum", "live");
    line(confCur, "current", "config");
    line(liveCur, "current", "live");
    return true;
  }
  let f = flags;
  if (maximum) f |= 4;
  if (guest) f |= 8;
  ctl.print(`${await countCollect(dom, f, false)}\n`);
  return true;
};

const VCPU_STATES = ["offline", "running", "blocked"];

const vcpuinfo: H = async (ctl, cmd) => {
  const dom = await lookupDomain(ctl, cmd);
  const info = await dom.getInfo();
  // virshNodeGetCPUCount: virNodeGetCPUMap's count, else nodeinfo's
  let maxcpu: number;
  try {
    maxcpu = (await conn(ctl).nodeGetCPUMap(0)).cpus;
  } catch {
    maxcpu = (await conn(ctl).nodeGetInfo()).cpus;
  }
  const maplen = Math.ceil(maxcpu / 8);
  const v = await dom.getVcpus(info.nrVirtCpu, maplen);
  const blocks = v.info.map((vi, i) => {
    let s = pad("VCPU:", String(vi.number));
    s += pad("CPU:", String(vi.cpu));
    s += pad("State:", VCPU_STATES[vi.state] ?? "no state");
    if (Number(vi.cpuTime) !== 0) s += pad("CPU time:", `${(Number(vi.cpuTime) / 1e9).toFixed(1)}s`);
    const map = v.cpumaps[i] ?? new Uint8Array(maplen);
    let aff = "";
    if (optBool(cmd, "pretty")) aff = `${bitmapRanges(map, maxcpu)} (out of ${maxcpu})`;
    else
      for (let c = 0; c < Math.min(maxcpu, map.length * 8); c++)
        aff += map[c >> 3] & (1 << (c & 7)) ? "y" : "-";
    s += pad("CPU Affinity:", aff);
    return s;
  });
  ctl.print(blocks.join("\n"));
  return true;
};

export const monitorHandlers: Record<string, H> = {
  list,
  dominfo,
  domstate,
  domid,
  domname,
  domuuid,
  domblklist,
  domiflist,
  domblkinfo,
  vcpucount,
  vcpuinfo,
};
