// virsh's CPU list argument (virshParseCPUList over virBitmapParse): "r" for every host CPU, else
// "N", "N-M" and "^N" items separated by commas, as a cpumap of the host's size.
import { ErrorCode, ErrorDomain, VirError } from "../../../errors/index.js";
import { CmdFailure } from "../control.js";

/** virBitmapParse: "N", "N-M", "^N" items separated by commas; null when malformed. */
function parseBitmap(s: string, limit: number): Set<number> | null {
  const set = new Set<number>();
  const items = s.split(",");
  for (const raw of items) {
    const it = raw.trim();
    let m = /^\^(\d+)$/.exec(it);
    if (m) {
      set.delete(Number(m[1]));
      continue;
    }
    m = /^(\d+)(?:-(\d+))?$/.exec(it);
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b || b >= limit) return null;
    for (let i = a; i <= b; i++) set.add(i);
  }
  return set;
}

/** virshParseCPUList: "r" is every host CPU; the bitmap as a cpumap of the host's size. */
export function parseCpuList(cpulist: string, maxcpu: number): Uint8Array {
  const map = new Uint8Array(Math.ceil(maxcpu / 8));
  if (cpulist.startsWith("r")) {
    for (let i = 0; i < maxcpu; i++) map[i >> 3]! |= 1 << (i & 7);
    return map;
  }
  const set = parseBitmap(cpulist, 1024);
  if (!set || set.size === 0) {
    throw new CmdFailure(
      `Invalid cpulist '${cpulist}'`,
      set
        ? undefined
        : new VirError({
            code: ErrorCode.INVALID_ARG,
            domain: ErrorDomain.NONE,
            message: `invalid argument: Failed to parse bitmap '${cpulist}'`,
          }),
    );
  }
  const last = Math.max(...set);
  if (last >= maxcpu) throw new CmdFailure(`CPU ${last} in cpulist '${cpulist}' exceed the maxcpu ${maxcpu}`);
  for (const i of set) map[i >> 3]! |= 1 << (i & 7);
  return map;
}
