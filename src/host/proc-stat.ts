// Reads a process's CPU time from /proc/PID/stat (proc(5): fields 14 utime and 15 stime, in
// clock ticks; Linux's USER_HZ is 100 on every architecture tsvirt runs on).
import { readFileSync } from "node:fs";

const USER_HZ = 100;

/** CPU time (user + system) of `pid` in nanoseconds, or 0 if it cannot be read. */
export function processCpuTimeNs(pid: number): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return 0;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return 0;
  return ((utime + stime) * 1e9) / USER_HZ;
}
