// Guest RAM backends as libvirt 9.0 writes them (qemuBuildMemoryBackendProps): `<memoryBacking>`
// (memfd source, shared/private access, nosharepages, locked, allocation) and `<numatune>`
// (host-nodes + policy on the backend) for the machine's RAM (pc.ram) or each NUMA cell.
// Hugepages need hugetlbfs, which this host driver never mounts: refused with libvirt's error.
// File-backed RAM (an `<access>` mode without a memfd source, or `<source type='file'>`) is a
// file per backend in the domain's memory directory (libvirt's memory_backing_dir/<domain>).
import { parseCpuSet } from "../../conf/domain/normalize.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, type BuildContext, child, elementChildren, unsupported } from "./command-util.js";
import type { XmlElement } from "../../xml/index.js";

/** `<numatune><memory mode>` → the backend's policy (restrictive is cgroups-only). */
const POLICY: Record<string, string | undefined> = {
  strict: "bind",
  preferred: "preferred",
  interleave: "interleave",
  restrictive: undefined,
};

function memoryBacking(ctx: BuildContext): XmlElement | undefined {
  return ctx.def.extra.memoryBacking?.[0];
}

function numatune(ctx: BuildContext): XmlElement | undefined {
  return ctx.def.extra.numatune?.[0];
}

/** Refusals libvirt makes at start and the elements this builder cannot express. */
export function checkMemory(ctx: BuildContext): void {
  const mb = memoryBacking(ctx);
  if (mb) {
    for (const e of elementChildren(mb)) {
      if (e.name === "hugepages")
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          ErrorDomain.QEMU,
          "hugetlbfs filesystem is not mounted or disabled by administrator config",
        );
      if (!["nosharepages", "locked", "source", "access", "allocation", "discard"].includes(e.name))
        throw unsupported(`<memoryBacking><${e.name}> is not supported by the QEMU driver yet`);
    }
    if (fileBacked(ctx) && ctx.memoryDir === undefined)
      throw unsupported("file-backed guest memory needs a memory directory, and none was prepared");
    const alloc = child(mb, "allocation");
    if (alloc && attr(alloc, "threads") !== undefined)
      throw unsupported("memory allocation threads are not supported by the QEMU driver yet");
  }
  const nt = numatune(ctx);
  if (nt) {
    for (const e of elementChildren(nt)) {
      if (e.name !== "memory" && e.name !== "memnode")
        throw unsupported(`<numatune><${e.name}> is not supported by the QEMU driver yet`);
      // placement='auto' asks numad for the nodes; there is no numad here (libvirt's words)
      if (e.name === "memory" && (attr(e, "placement") === "auto" || attr(e, "nodeset") === undefined))
        throw virError(
          ErrorCode.INTERNAL_ERROR,
          ErrorDomain.QEMU,
          "Advice from numad is needed in case of automatic numa placement",
        );
    }
  }
}

/** RAM in files: `<source type='file'>`, or an `<access>` mode without a memfd source. */
export function fileBacked(ctx: BuildContext): boolean {
  const mb = memoryBacking(ctx);
  if (!mb) return false;
  const source = child(mb, "source");
  const type = source ? (attr(source, "type") ?? "anonymous") : "anonymous";
  return type === "file" || (type === "anonymous" && !!child(mb, "access"));
}

/** mem-merge=off (`<nosharepages/>`) for the machine option. */
export function memMergeOff(ctx: BuildContext): boolean {
  const mb = memoryBacking(ctx);
  return !!mb && !!child(mb, "nosharepages");
}

/** -overcommit mem-lock=on for `<locked/>`. */
export function memLocked(ctx: BuildContext): boolean {
  const mb = memoryBacking(ctx);
  return !!mb && !!child(mb, "locked");
}

function hostNodes(ctx: BuildContext, cell: number | undefined): Record<string, unknown> {
  const nt = numatune(ctx);
  if (!nt) return {};
  const memnode =
    cell === undefined
      ? undefined
      : elementChildren(nt).find((e) => e.name === "memnode" && Number(attr(e, "cellid")) === cell);
  const mem = memnode ?? elementChildren(nt).find((e) => e.name === "memory");
  if (!mem) return {};
  const mode = attr(mem, "mode") ?? "strict";
  const policy = POLICY[mode];
  const nodes = parseCpuSet(attr(mem, "nodeset") ?? "") ?? [];
  if (policy === undefined || nodes.length === 0) return {};
  return { "host-nodes": nodes, policy };
}

/**
 * The backend object of the machine's RAM (id pc.ram, cell undefined) or of NUMA cell `cell`:
 * memory-backend-memfd for a memfd source, else memory-backend-ram.
 */
export function memoryBackendProps(
  ctx: BuildContext,
  id: string,
  sizeBytes: number,
  cell: number | undefined,
): Record<string, unknown> {
  const mb = memoryBacking(ctx);
  const source = mb ? child(mb, "source") : undefined;
  const memfd = source !== undefined && attr(source, "type") === "memfd";
  const file = fileBacked(ctx);
  const props: Record<string, unknown> = {
    "qom-type": memfd ? "memory-backend-memfd" : file ? "memory-backend-file" : "memory-backend-ram",
    id,
  };
  if (file) {
    props["mem-path"] = `${ctx.memoryDir}/${id}`;
    if (mb && child(mb, "discard")) props["discard-data"] = true;
  }
  const access = mb ? child(mb, "access") : undefined;
  const mode = access ? attr(access, "mode") : undefined;
  if (mode === "shared" || mode === "private") props.share = mode === "shared";
  // the machine's RAM keeps QEMU's old RAM block name, so migration streams match (libvirt does this)
  if ((memfd || file) && cell === undefined) props["x-use-canonical-path-for-ramblock-id"] = false;
  const alloc = mb ? child(mb, "allocation") : undefined;
  if (alloc && attr(alloc, "mode") === "immediate") props.prealloc = true;
  props.size = sizeBytes;
  Object.assign(props, hostNodes(ctx, cell));
  return props;
}

/** Whether the machine's RAM needs its own backend object (-machine memory-backend=pc.ram). */
export function needsRamBackend(ctx: BuildContext): boolean {
  const props = memoryBackendProps(ctx, "pc.ram", 0, undefined);
  return (
    Object.keys(props).some((k) => !["qom-type", "id", "size"].includes(k)) ||
    props["qom-type"] !== "memory-backend-ram"
  );
}
