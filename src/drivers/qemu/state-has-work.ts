// Whether a daemon starting up must load the QEMU driver at once rather than with the first
// qemu:// client: a domain is marked autostart (<etc>/qemu/autostart/NAME.xml, see
// state/xml-store) or a guest of an earlier daemon left its status file (<run>/qemu/
// NAME.status.json, see domain-status) and must be reconnected, reaped or autodestroyed.
// Two directory reads, no driver modules: a daemon with nothing to do stays small.
import { readdirSync } from "node:fs";
import { join } from "node:path";

function hasEntry(dir: string, suffix: string): boolean {
  try {
    return readdirSync(dir).some((f) => f.endsWith(suffix));
  } catch {
    return false; // no such directory: nothing there
  }
}

/** Whether guests of an earlier daemon left status files under `<run>/qemu` (domain-status). */
export function hasQemuStatusFiles(runDir: string): boolean {
  return hasEntry(join(runDir, "qemu"), ".status.json");
}

export function qemuDriverHasWork(paths: { etc: string; run: string }): boolean {
  return hasEntry(join(paths.etc, "qemu", "autostart"), ".xml") || hasQemuStatusFiles(paths.run);
}
