// VIR_DOMAIN_START_AUTODESTROY: guests a connection started with the flag are destroyed when that
// connection closes (libvirt's qemuProcessAutoDestroyAdd / virCloseCallbacks) — also when the
// daemon shuts down and closes every connection. The mark is kept in the guest's status file, so
// a daemon restarted after a crash destroys such a guest: no client connection survives a restart.
import { destroyDomain } from "./domain-lifecycle.js";
import { isActive, type QemuDomain } from "./domain-obj.js";
import { autoDestroyProcs, writeStatus } from "./domain-status.js";
import type { QemuProcess } from "./process.js";

/** One connection's autodestroy list: the process each guest ran as when it was registered. */
export class AutoDestroyList {
  private readonly entries = new Map<QemuDomain, QemuProcess>();

  /** Registers `d` after a start with the flag; a guest restarted later without it is left alone. */
  add(d: QemuDomain): void {
    if (!d.proc) return;
    this.entries.set(d, d.proc);
    autoDestroyProcs.add(d.proc);
    if (d.proc.running()) writeStatus(d, d.proc.paths);
  }

  /** Destroys every registered guest still running as the same process; called on connection close. */
  async closeAll(): Promise<void> {
    const list = [...this.entries];
    this.entries.clear();
    for (const [d, proc] of list) {
      if (!isActive(d) || d.proc !== proc) continue;
      try {
        await destroyDomain(d, false);
      } catch {
        // already gone
      }
    }
  }
}
