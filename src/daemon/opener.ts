// The daemon's ConnectionOpener: CONNECT_OPEN's URI → driver tables via the driver registry.
// Like libvirtd, stateful drivers are one instance per daemon: test:///default and qemu:///…
// are opened once and shared by every client; other URIs (test:///path.xml) open per client.
import { type DriverSet, type HypervisorDriver, openDriverSet } from "../driver/index.js";
import type { ConnectionOpener } from "../rpc/server/connection-opener.js";

/** A shared hypervisor table that gives each client its own table (qemu: autodestroy guests). */
type ClientScoped = HypervisorDriver & { newClientTable?(): HypervisorDriver };

function isShared(uri: string): boolean {
  return uri === "test:///default" || /^qemu:\/\/\/(system|session)$/.test(uri);
}

export function createOpener(defaultUri: string): ConnectionOpener & { closeAll(): Promise<void> } {
  const shared = new Map<string, Promise<DriverSet>>();
  const opener = async (uri: string | null, readOnly: boolean) => {
    const target = uri && uri !== "" ? uri : defaultUri;
    if (isShared(target)) {
      let p = shared.get(target);
      if (!p) {
        p = openDriverSet(target, { readOnly: false });
        shared.set(target, p);
        p.catch(() => shared.delete(target));
      }
      const drivers = await p;
      const perClient = (drivers.hypervisor as ClientScoped).newClientTable?.();
      if (perClient) {
        // The client's own table over the shared state: closing it ends what the client tied to
        // its connection (VIR_DOMAIN_START_AUTODESTROY), as libvirtd's close callbacks do.
        return {
          drivers: { ...drivers, hypervisor: perClient },
          release: async () => {
            await perClient.connectClose?.();
          },
        };
      }
      // The shared tables are opened read-write once; read-only is enforced per client by the
      // dispatcher, so only the uri differs between clients.
      return { drivers: readOnly ? { ...drivers } : drivers, release: async () => {} };
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
    async closeAll() {
      for (const p of shared.values()) {
        try {
          await (await p).hypervisor.connectClose?.();
        } catch {
          // already closed
        }
      }
      shared.clear();
    },
  });
}
