// Where a domain's managed save image lives, and whether it has one: what listings and undefine
// ask of every domain, without loading the save and restore code (domain-save.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { QemuDomain } from "./domain-obj.js";
import type { QemuDriverState } from "./driver-state.js";

export function managedSavePath(st: QemuDriverState, name: string): string {
  return join(st.opts.libDir, "qemu", "save", `${name}.save`);
}

export function hasManagedSave(st: QemuDriverState, d: QemuDomain): boolean {
  return existsSync(managedSavePath(st, d.name));
}
