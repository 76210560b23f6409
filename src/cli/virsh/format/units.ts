// Human-readable numbers as virsh prints them (tools/vsh.c vshPrettyCapacity; "%.2lf %s").

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** Picks the largest binary unit not exceeding the value: 107374182400 → "100.00 GiB". */
export function prettyCapacity(bytes: number | bigint): string {
  let v = Number(bytes);
  let i = 0;
  while (i < UNITS.length - 1 && v >= 1024) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${UNITS[i]}`;
}
