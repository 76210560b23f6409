// Shared by the differential tests that run the same guests in tsvirtd and in a private libvirtd
// 9.0 and compare `virsh dumpxml` (tests/qemu-live-xml-diff, tests/qemu-hotplug-index-diff).

/** One daemon of the comparison. */
export interface Side {
  name: "libvirtd" | "tsvirtd";
  uri: string;
  /** The directory of this side's images and sockets, shown as @D@. */
  dir: string;
  /** tsvirtd: restarts the daemon while the guest runs (its live XML must come back the same). */
  restart?: () => Promise<void>;
  /** The daemon's own state directory, shown as libvirtd's /var/lib/libvirt. */
  lib: string;
}

/**
 * What legitimately differs between the two sides' XML, made equal: their directories, UUIDs
 * and MACs the XML did not set (`keep`: the ones it set), pty numbers, display ports and tap
 * names (the daemons' guests share the host's, or a namespace's, vnetN names).
 */
export function normaliseLive(
  s: Side,
  text: string,
  keep: { uuids?: string[]; macs?: string[] } = {},
): string {
  return text
    .split(s.dir)
    .join("@D@")
    .split(s.lib)
    .join("/var/lib/libvirt")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) =>
      keep.uuids?.includes(u) ? u : "UUID",
    )
    .replace(/52:54:00(:[0-9a-f]{2}){3}/g, (m) => (keep.macs?.includes(m) ? m : "MAC"))
    .replace(/\/dev\/pts\/\d+/g, "/dev/pts/N")
    .replace(/port='59\d\d'/g, "port='P'")
    .replace(/<target dev='vnet\d+'\/>/g, "<target dev='vnetN'/>");
}

/** The first line where libvirtd's text `a` and tsvirtd's `b` differ, or "". */
export function firstDiff(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i])
      return `line ${i + 1}: libvirtd ${JSON.stringify(x[i])} tsvirtd ${JSON.stringify(y[i])}`;
  }
  return "";
}
