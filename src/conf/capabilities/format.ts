// Capabilities → XML as libvirt 9.0's virCapabilitiesFormatXML prints it (including its blank lines
// after <capabilities>, </host> and each </guest>), and `virsh nodeinfo`'s text. Pure functions.

import { a, esc, XmlBuf } from "../network/conf-xml.js";
import type { Capabilities, CapsGuest, CapsHost, NodeInfo, PageSize } from "./types.js";

function pages(buf: XmlBuf, ps: PageSize[], withCount: boolean): void {
  for (const p of ps) {
    if (withCount) buf.line(`<pages unit='KiB' size='${p.sizeKiB}'>${p.count ?? 0}</pages>`);
    else buf.line(`<pages unit='KiB' size='${p.sizeKiB}'/>`);
  }
}

function formatHost(buf: XmlBuf, h: CapsHost): void {
  buf.line("<host>");
  buf.indent();
  if (h.uuid) buf.line(`<uuid>${h.uuid}</uuid>`);
  buf.line("<cpu>");
  buf.indent();
  buf.line(`<arch>${esc(h.arch)}</arch>`);
  if (h.cpuFeatures.length) {
    buf.line("<features>");
    buf.indent();
    for (const f of h.cpuFeatures) buf.line(`<${f}/>`);
    buf.dedent();
    buf.line("</features>");
  }
  if (h.cpuModel) buf.line(`<model>${esc(h.cpuModel)}</model>`);
  if (h.cpuVendor) buf.line(`<vendor>${esc(h.cpuVendor)}</vendor>`);
  pages(buf, h.pagesSizes, false);
  buf.dedent();
  buf.line("</cpu>");
  if (h.powerManagement.length) {
    buf.line("<power_management>");
    buf.indent();
    for (const p of h.powerManagement) buf.line(`<${p}/>`);
    buf.dedent();
    buf.line("</power_management>");
  } else buf.line("<power_management/>");
  buf.line(`<iommu support='${h.iommu ? "yes" : "no"}'/>`);
  if (h.migrationUriTransports?.length) {
    buf.line("<migration_features>");
    buf.indent();
    buf.line("<live/>");
    buf.line("<uri_transports>");
    buf.indent();
    for (const t of h.migrationUriTransports) buf.line(`<uri_transport>${esc(t)}</uri_transport>`);
    buf.dedent();
    buf.line("</uri_transports>");
    buf.dedent();
    buf.line("</migration_features>");
  }
  if (h.cells.length) {
    buf.line("<topology>");
    buf.indent();
    buf.line(`<cells num='${h.cells.length}'>`);
    buf.indent();
    for (const c of h.cells) {
      buf.line(`<cell id='${c.id}'>`);
      buf.indent();
      buf.line(`<memory unit='KiB'>${c.memoryKiB}</memory>`);
      pages(buf, c.pages, true);
      if (c.distances?.length) {
        buf.line("<distances>");
        buf.indent();
        for (const d of c.distances) buf.line(`<sibling id='${d.id}' value='${d.value}'/>`);
        buf.dedent();
        buf.line("</distances>");
      }
      buf.line(`<cpus num='${c.cpus.length}'>`);
      buf.indent();
      for (const cpu of c.cpus) {
        buf.line(
          `<cpu id='${cpu.id}'${a("socket_id", cpu.socketId)}${a("die_id", cpu.dieId)}${a("core_id", cpu.coreId)}` +
            `${a("siblings", cpu.siblings)}/>`,
        );
      }
      buf.dedent();
      buf.line("</cpus>");
      buf.dedent();
      buf.line("</cell>");
    }
    buf.dedent();
    buf.line("</cells>");
    buf.dedent();
    buf.line("</topology>");
  }
  for (const s of h.secmodels) {
    buf.line("<secmodel>");
    buf.indent();
    buf.line(`<model>${esc(s.model)}</model>`);
    buf.line(`<doi>${esc(s.doi)}</doi>`);
    for (const b of s.baselabels ?? [])
      buf.line(`<baselabel type='${esc(b.type)}'>${esc(b.label)}</baselabel>`);
    buf.dedent();
    buf.line("</secmodel>");
  }
  buf.dedent();
  buf.line("</host>");
}

function machines(buf: XmlBuf, ms: CapsGuest["machines"]): void {
  for (const m of ms)
    buf.line(
      `<machine${a("canonical", m.canonical)}${a("maxCpus", m.maxCpus)}${m.deprecated ? " deprecated='yes'" : ""}>${esc(m.name)}</machine>`,
    );
}

function formatGuest(buf: XmlBuf, g: CapsGuest): void {
  buf.line("<guest>");
  buf.indent();
  buf.line(`<os_type>${esc(g.osType)}</os_type>`);
  buf.line(`<arch name='${esc(g.arch)}'>`);
  buf.indent();
  buf.line(`<wordsize>${g.wordsize}</wordsize>`);
  if (g.emulator) buf.line(`<emulator>${esc(g.emulator)}</emulator>`);
  if (g.loader) buf.line(`<loader>${esc(g.loader)}</loader>`);
  machines(buf, g.machines);
  for (const d of g.domains) {
    if (!d.emulator && !d.machines?.length) {
      buf.line(`<domain type='${esc(d.type)}'/>`);
      continue;
    }
    buf.line(`<domain type='${esc(d.type)}'>`);
    buf.indent();
    if (d.emulator) buf.line(`<emulator>${esc(d.emulator)}</emulator>`);
    machines(buf, d.machines ?? []);
    buf.dedent();
    buf.line("</domain>");
  }
  buf.dedent();
  buf.line("</arch>");
  if (g.features.length) {
    buf.line("<features>");
    buf.indent();
    for (const f of g.features) {
      if (typeof f === "string") buf.line(`<${f}/>`);
      else buf.line(`<${f.name} default='${f.default}' toggle='${f.toggle ? "yes" : "no"}'/>`);
    }
    buf.dedent();
    buf.line("</features>");
  }
  buf.dedent();
  buf.line("</guest>");
}

/** The `<capabilities>` document exactly as virConnectGetCapabilities returns it. */
export function formatCapabilitiesXML(caps: Capabilities): string {
  const buf = new XmlBuf();
  buf.line("<capabilities>");
  let s = `${buf.toString()}\n`;
  const host = new XmlBuf();
  host.indent();
  formatHost(host, caps.host);
  s += `${host.toString()}\n`;
  for (const g of caps.guests) {
    const gb = new XmlBuf();
    gb.indent();
    formatGuest(gb, g);
    s += `${gb.toString()}\n`;
  }
  return `${s}</capabilities>\n`;
}

/** `virsh nodeinfo` text (virsh prints memory in KiB, frequency in MHz). */
export function formatNodeInfo(n: NodeInfo): string {
  const row = (k: string, v: string | number) => `${`${k}:`.padEnd(21)}${v}\n`;
  return (
    row("CPU model", n.model) +
    row("CPU(s)", n.cpus) +
    row("CPU frequency", `${n.mhz} MHz`) +
    row("CPU socket(s)", n.sockets) +
    row("Core(s) per socket", n.cores) +
    row("Thread(s) per core", n.threads) +
    row("NUMA cell(s)", n.nodes) +
    row("Memory size", `${n.memoryKiB} KiB`)
  );
}
