// The daemon's ConnectionOpener: CONNECT_OPEN's URI → driver tables via the driver registry.
// Like libvirtd, test:///default and qemu:///… are shared by every client connected to them;
// other URIs (test:///path.xml) open per client.
//
// qemu:///… is one instance for the daemon's life. test:///default lives as long as libvirtd 9.0
// keeps it (checked against a private libvirtd with virsh: destroy "test", reconnect, and "test"
// runs again): one node shared by the clients connected to it, dropped when the last of them
// closes, so the next client starts from the pristine default node.
import { type DriverSet, type HypervisorDriver, openDriverSet } from "../driver/index.js";
import type { ConnectionOpener } from "../rpc/server/connection-opener.js";

/** A shared hypervisor table that gives each client its own table (qemu: autodestroy guests). */
type ClientScoped = HypervisorDriver & { newClientTable?(): HypervisorDriver };

/** One shared instance: its opening, and for a counted one the clients holding it. */
interface SharedEntry {
  opening: Promise<DriverSet>;
  /** Opens not yet released; null for instances kept for the daemon's life. */
  refs: number | null;
}

function isShared(uri: string): boolean {
  return uri === "test:///default" || /^qemu:\/\/\/(system|session)$/.test(uri);
}

/** Shared instances that end with their last client (testConnectClose's defaultConnections). */
function isCounted(uri: string): boolean {
  return uri === "test:///default";
}

async function closeDrivers(p: Promise<DriverSet>): Promise<void> {
  try {
    await (await p).hypervisor.connectClose?.();
  } catch {
    // never opened or already closed
  }
}

export function createOpener(defaultUri: string): ConnectionOpener & { closeAll(): Promise<void> } {
  const shared = new Map<string, SharedEntry>();

  /** Drops one client's hold on `entry`; the last one closes it (at most once per open). */
  const unref = async (target: string, entry: SharedEntry): Promise<void> => {
    if (entry.refs === null || entry.refs === 0) return;
    entry.refs--;
    if (entry.refs > 0) return;
    // Only this entry leaves the map: a newer instance under the same URI is not touched.
    if (shared.get(target) === entry) shared.delete(target);
    await closeDrivers(entry.opening);
  };

  const opener = async (uri: string | null, readOnly: boolean) => {
    const target = uri && uri !== "" ? uri : defaultUri;
    if (isShared(target)) {
      let entry = shared.get(target);
      if (!entry) {
        const opening = openDriverSet(target, { readOnly: false });
        const made: SharedEntry = { opening, refs: isCounted(target) ? 0 : null };
        entry = made;
        shared.set(target, made);
        opening.catch(() => {
          if (shared.get(target) === made) shared.delete(target);
        });
      }
      // Counted before the first await: a client releasing meanwhile cannot drop the instance
      // this open is about to use.
      if (entry.refs !== null) entry.refs++;
      let drivers: DriverSet;
      try {
        drivers = await entry.opening;
      } catch (e) {
        if (entry.refs !== null) entry.refs--;
        throw e;
      }
      const held = entry;
      let released = false;
      const releaseShared = async () => {
        if (released) return;
        released = true;
        await unref(target, held);
      };
      const perClient = (drivers.hypervisor as ClientScoped).newClientTable?.();
      if (perClient) {
        // The client's own table over the shared state: closing it ends what the client tied to
        // its connection (VIR_DOMAIN_START_AUTODESTROY), as libvirtd's close callbacks do.
        return {
          drivers: { ...drivers, hypervisor: perClient },
          release: async () => {
            try {
              await perClient.connectClose?.();
            } finally {
              await releaseShared();
            }
          },
        };
      }
      // The shared tables are opened read-write once; read-only is enforced per client by the
      // dispatcher, so only the uri differs between clients.
      return { drivers: readOnly ? { ...drivers } : drivers, release: releaseShared };
    }
    const drivers = await openDriverSet(target, { readOnly });
    return {
      drivers,
      release: async () => {
        await drivers.hypervisor.connectClose?.();
      },
    };
  };
  return Object.assign(opener, {
    /** Daemon shutdown: closes every shared instance still open, whoever holds it. */
    async closeAll() {
      const all = [...shared.values()];
      shared.clear();
      for (const e of all) {
        // later releases of these clients find the count spent and do nothing more
        if (e.refs !== null) e.refs = 0;
        await closeDrivers(e.opening);
      }
    },
  });
}
