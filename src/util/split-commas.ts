// One comma-separated list as virsh (vshStringToArray) and qemu's option parser (QemuOpts) read
// it: items split at single commas, ",," standing for a literal comma.

/** Splits `s` at single commas; ",," is a literal comma inside an item. */
export function splitCommas(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ",") {
      if (s[i + 1] === ",") {
        cur += ",";
        i++;
        continue;
      }
      out.push(cur);
      cur = "";
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}
