// The order String.prototype.localeCompare (ICU's root collation) gives names made of ASCII
// letters, digits, '_', '-' and '.', without loading ICU's collator: its first use maps about
// 3 MiB of collation data and code into the daemon (measured on node 20: a bare process
// 43.3 -> 46.1 MiB RSS after one localeCompare sort). The capability probe sorts QEMU's machine
// and CPU model names this way, and that order shows in the capabilities XML, so it must not
// change. Names with any other character are compared by localeCompare itself.

// Primary weights in ICU root order (non-ignorable punctuation: '_' < '-' < '.' < digits <
// letters); a letter's case only matters when everything else is equal (lowercase first).
const PRIMARY = new Int8Array(128).fill(-1);
"_-.0123456789abcdefghijklmnopqrstuvwxyz".split("").forEach((c, i) => {
  PRIMARY[c.charCodeAt(0)] = i;
  if (c >= "a" && c <= "z") PRIMARY[c.toUpperCase().charCodeAt(0)] = i;
});

function simple(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || PRIMARY[c]! < 0) return false;
  }
  return true;
}

/** Same sign as a.localeCompare(b) (ICU root collation, default strength). */
export function rootCollationCompare(a: string, b: string): number {
  if (!simple(a) || !simple(b)) return a.localeCompare(b);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = PRIMARY[a.charCodeAt(i)]! - PRIMARY[b.charCodeAt(i)]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < n; i++) {
    const ua = a.charCodeAt(i) <= 90 && a.charCodeAt(i) >= 65;
    const ub = b.charCodeAt(i) <= 90 && b.charCodeAt(i) >= 65;
    if (ua !== ub) return ua ? 1 : -1;
  }
  return 0;
}
