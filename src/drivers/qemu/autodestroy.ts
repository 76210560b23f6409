// VIR_DOMAIN_START_AUTODESTROY: guests a connection started with the flag are destroyed when that
// connection closes (libvirt's qemuProcessAutoDestroyAdd / virCloseCallbacks).
import { destroyDomain } from "./domain-lifecycle.js";
import { isActive, type QemuDomain } from "./domain-obj.js";
import type { QemuProcess } from "./process.js";

/** One connection's autodestroy list: the process each guest ran as when it was registered. */
export class AutoDestroyList {
  private readonly entries = new Map<QemuDomain, QemuProcess>();

  /** Registers `d` after a start with the flag; a guest restarted later without it is left alone. */
  add(d: QemuDomain): void {
    if (d.proc) this.entries.set(d, d.proc);
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
