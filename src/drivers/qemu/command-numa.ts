// Guest NUMA cells on the QEMU command line, as libvirt 9.0's qemuBuildNumaCommandLine writes
// them: one RAM backend object per cell (ram-nodeN), `-numa node,nodeid=N,cpus=…,memdev=ram-nodeN`
// (a cpus= per range of the cell's CPU set), then, when any cell names distances, every pair as
// `-numa dist` (10 for a cell to itself, 20 for a pair not given). The backend's type,
// sharing and host nodes come from `<memoryBacking>` and `<numatune>` (command-memory.ts). Cells with a memAccess or
// discard setting need file/memfd backends, which are not built here.
import { parseCpuSet } from "../../conf/domain/normalize.js";
import { memoryBackendProps } from "./command-memory.js";
import { add, attr, type BuildContext, child, elementChildren, unsupported } from "./command-util.js";

/** Whether the domain has guest NUMA cells (each then carries its share of the RAM). */
export function hasNumaCells(ctx: BuildContext): boolean {
  const numa = ctx.def.cpu ? child(ctx.def.cpu, "numa") : undefined;
  return !!numa && elementChildren(numa).some((c) => c.name === "cell");
}

function ranges(ids: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out;
}

export function buildNuma(ctx: BuildContext): void {
  const numa = ctx.def.cpu ? child(ctx.def.cpu, "numa") : undefined;
  if (!numa) return;
  const cells = elementChildren(numa)
    .filter((c) => c.name === "cell")
    .sort((a, b) => Number(attr(a, "id")) - Number(attr(b, "id")));
  for (const c of cells) {
    if (attr(c, "memAccess") !== undefined || attr(c, "discard") !== undefined) {
      throw unsupported("NUMA cells with memAccess or discard are not supported by the QEMU driver yet");
    }
  }
  cells.forEach((c, i) => {
    const kib = Number(attr(c, "memory"));
    add(ctx, "-object", JSON.stringify(memoryBackendProps(ctx, `ram-node${i}`, kib * 1024, i)));
    const cpus = ranges(parseCpuSet(attr(c, "cpus") ?? "") ?? []).map((r) => `cpus=${r}`);
    add(ctx, "-numa", ["node", `nodeid=${i}`, ...cpus, `memdev=ram-node${i}`].join(","));
  });
  const given = new Map<string, number>();
  cells.forEach((c, i) => {
    const d = child(c, "distances");
    for (const s of d ? elementChildren(d) : []) {
      if (s.name === "sibling") given.set(`${i}:${attr(s, "id")}`, Number(attr(s, "value")));
    }
  });
  if (given.size === 0) return;
  for (let i = 0; i < cells.length; i++) {
    for (let j = 0; j < cells.length; j++) {
      const v = given.get(`${i}:${j}`) ?? (i === j ? 10 : 20);
      add(ctx, "-numa", `dist,src=${i},dst=${j},val=${v}`);
    }
  }
}
