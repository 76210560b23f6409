// Host and hypervisor commands (tools/virsh-host.c): version, uri, hostname, nodeinfo,
// capabilities, sysinfo, maxvcpus, freecell, domcapabilities, nodecpumap, nodecpustats.
import { checkNonNegative } from "../../../api/check.js";
import { ErrorDomain } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { exclusive } from "../util.js";
import { attempt, type Ctl, conn } from "../lookup.js";
import { bitmapRanges } from "./monitor-extra.js";
import { optBool, optInt, optString } from "../options.js";

type H = Handler<Ctl>;

const LIB_VERSION = 9000000;

/** "major.minor.release" from libvirt's packed version number. */
export function versionString(v: number): string {
  return `${Math.floor(v / 1000000)}.${Math.floor(v / 1000) % 1000}.${v % 1000}`;
}

const version: H = async (ctl, cmd) => {
  const c = conn(ctl);
  ctl.print(`Compiled against library: libvirt ${versionString(LIB_VERSION)}\n`);
  let lib = LIB_VERSION;
  try {
    lib = await c.getLibVersion();
  } catch {}
  ctl.print(`Using library: libvirt ${versionString(lib)}\n`);
  const type = await c.getType();
  ctl.print(`Using API: ${type} ${versionString(lib)}\n`);
  const hv = await c.getVersion();
  if (hv === 0) ctl.print(`Cannot extract running ${type} hypervisor version\n`);
  else ctl.print(`Running hypervisor: ${type} ${versionString(hv)}\n`);
  if (optBool(cmd, "daemon")) {
    ctl.print(`Running against daemon: ${versionString(lib)}\n`);
  }
  return true;
};

const uri: H = async (ctl) => {
  ctl.print(`${await conn(ctl).getURI()}\n`);
  return true;
};

const hostname: H = async (ctl) => {
  ctl.print(`${await conn(ctl).getHostname()}\n`);
  return true;
};

const nodeinfo: H = async (ctl) => {
  const i = await conn(ctl).nodeGetInfo();
  const p = (k: string, v: string) => `${k.padEnd(20)} ${v}\n`;
  ctl.print(
    p("CPU model:", i.model) +
      p("CPU(s):", String(i.cpus)) +
      p("CPU frequency:", `${i.mhz} MHz`) +
      p("CPU socket(s):", String(i.sockets)) +
      p("Core(s) per socket:", String(i.cores)) +
      p("Thread(s) per core:", String(i.threads)) +
      p("NUMA cell(s):", String(i.nodes)) +
      p("Memory size:", `${i.memory} KiB`),
  );
  return true;
};

const capabilities: H = async (ctl) => {
  // virsh prints "%s\n" although the document already ends in a newline
  ctl.print(`${await conn(ctl).getCapabilities()}\n`);
  return true;
};

const sysinfo: H = async (ctl) => {
  ctl.print(`${(await conn(ctl).getSysinfo(0)).replace(/\n?$/, "\n")}`);
  return true;
};

const maxvcpus: H = async (ctl, cmd) => {
  const type = optString(cmd, "type") ?? null;
  ctl.print(`${await conn(ctl).getMaxVcpus(type)}\n`);
  return true;
};

const freecell: H = async (ctl, cmd) => {
  exclusive(cmd, "all", "cellno");
  const c = conn(ctl);
  const cell = optInt(cmd, "cellno");
  if (optBool(cmd, "all")) {
    const info = await c.nodeGetInfo();
    const mems = await c.nodeGetCellsFreeMemory(0, info.nodes);
    let total = 0;
    mems.forEach((m, i) => {
      total += m;
      ctl.print(`${String(i).padStart(5)}: ${String(Math.floor(m / 1024)).padStart(10)} KiB\n`);
    });
    ctl.print("--------------------\n");
    ctl.print(`${"Total".padStart(5)}: ${String(Math.floor(total / 1024)).padStart(10)} KiB\n`);
    return true;
  }
  if (cell === undefined) {
    ctl.print(`Total: ${Math.floor((await c.nodeGetFreeMemory()) / 1024)} KiB\n`);
    return true;
  }
  // libvirt's virNodeGetCellsFreeMemory refuses a negative start cell before the driver
  checkNonNegative(cell, "startCell", ErrorDomain.NONE, "virNodeGetCellsFreeMemory");
  const [m] = await c.nodeGetCellsFreeMemory(cell, 1);
  ctl.print(`${cell}: ${Math.floor(m / 1024)} KiB\n`);
  return true;
};

const domcapabilities: H = async (ctl, cmd) => {
  const xml = await attempt("failed to get emulator capabilities", () =>
    conn(ctl).getDomainCapabilities(
      optString(cmd, "emulatorbin") ?? null,
      optString(cmd, "arch") ?? null,
      optString(cmd, "machine") ?? null,
      optString(cmd, "virttype") ?? null,
      0,
    ),
  );
  ctl.print(xml.replace(/\n?$/, "\n"));
  return true;
};

const nodecpumap: H = async (ctl, cmd) => {
  const m = await attempt("Unable to get cpu map", () => conn(ctl).nodeGetCPUMap(0));
  let map = "";
  for (let i = 0; i < m.cpus; i++) map += (m.cpumap[i >> 3] ?? 0) & (1 << (i & 7)) ? "y" : "-";
  if (optBool(cmd, "pretty")) map = bitmapRanges(m.cpumap, m.cpus);
  ctl.print(
    `${"CPUs present:".padEnd(15)} ${m.cpus}\n${"CPUs online:".padEnd(15)} ${m.online}\n${"CPU map:".padEnd(15)} ${map}\n`,
  );
  return true;
};

/** nodecpustats: kernel/user/idle/iowait times, or their shares over one second (--percent). */
const nodecpustats: H = async (ctl, cmd) => {
  const cpu = optInt(cmd, "cpu") ?? -1;
  const c = conn(ctl);
  const sample = async () => {
    const params = await attempt("Unable to get node cpu stats", () => c.nodeGetCPUStats(cpu, 0));
    const get = (f: string) => {
      const p = params.find((x) => x.field === f);
      return p === undefined ? undefined : Number(p.value);
    };
    return { user: get("user"), sys: get("kernel"), idle: get("idle"), iowait: get("iowait") };
  };
  const a = await sample();
  const fmtAbs = (k: string, v: number | undefined) =>
    v === undefined ? "" : `${k.padEnd(15)} ${String(v).padStart(20)}\n`;
  if (!optBool(cmd, "percent")) {
    ctl.print(
      fmtAbs("user:", a.user) +
        fmtAbs("system:", a.sys) +
        fmtAbs("idle:", a.idle) +
        fmtAbs("iowait:", a.iowait),
    );
    return true;
  }
  await new Promise((r) => setTimeout(r, 1000));
  const b = await sample();
  const d = (k: "user" | "sys" | "idle" | "iowait") => (b[k] ?? 0) - (a[k] ?? 0);
  const total = d("user") + d("sys") + d("idle") + d("iowait");
  // printf("%5.1lf%%") of 0/0 prints "-nan" with glibc
  const pct = (v: number) => {
    const x = (v / total) * 100;
    return `${(Number.isNaN(x) ? "-nan" : x.toFixed(1)).padStart(5)}%`;
  };
  const line = (k: string, v: number) => `${k.padEnd(15)} ${pct(v)}\n`;
  ctl.print(
    line("usage:", d("user") + d("sys")) +
      line("user:", d("user")) +
      line("system:", d("sys")) +
      line("idle:", d("idle")) +
      line("iowait:", d("iowait")),
  );
  return true;
};

export const hostHandlers: Record<string, H> = {
  version,
  uri,
  hostname,
  nodeinfo,
  capabilities,
  sysinfo,
  maxvcpus,
  freecell,
  domcapabilities,
  nodecpumap,
  nodecpustats,
};
