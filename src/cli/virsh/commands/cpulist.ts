// virsh's CPU list argument (virshParseCPUList over virBitmapParse): "r" for every host CPU, else
// "N", "N-M" and "^N" items separated by commas, as a cpumap of the host's size.
import { ErrorCode, ErrorDomain, VirError } from "../../../errors/index.js";
import { CmdFailure } from "../control.js";

const SPACE = /[ \t\n\v\f\r]/;

/**
 * virBitmapParse: "N", "N-M" and "^N" items separated by commas, blanks allowed around items and
 * '-', a trailing comma allowed; null when malformed or a bit is at or past `limit`.
 */
export function parseBitmap(s: string, limit: number): Set<number> | null {
  const set = new Set<number>();
  let i = 0;
  const skip = () => {
    while (i < s.length && SPACE.test(s[i]!)) i++;
  };
  // virStrToLong_i from i: blanks, a sign, decimal digits (an int)
  const num = (): number | null => {
    const m = /^[ \t\n\v\f\r]*[+-]?\d+/.exec(s.slice(i));
    if (!m) return null;
    const v = Number(m[0].trim());
    if (v < -2147483648 || v > 2147483647) return null;
    i += m[0].length;
    return v;
  };
  skip();
  if (i >= s.length) return null;
  while (i < s.length) {
    let neg = false;
    if (s[i] === "^") {
      i++;
      neg = true;
    }
    if (!/\d/.test(s[i] ?? "")) return null;
    const start = num();
    if (start === null || start < 0) return null;
    skip();
    if (s[i] === "," || i >= s.length) {
      if (start >= limit) return null;
      if (neg) set.delete(start);
      else set.add(start);
    } else if (s[i] === "-") {
      if (neg) return null;
      i++;
      skip();
      const last = num();
      if (last === null || last < start) return null;
      if (last >= limit) return null;
      for (let b = start; b <= last; b++) set.add(b);
      skip();
    }
    if (s[i] === ",") {
      i++;
      skip();
    } else if (i >= s.length) break;
    else return null;
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
