// Defaults the bridge network driver (not the test driver) adds when a network is defined:
// a free "virbrN" bridge name and a fixed random MAC for the bridge (libvirt's
// virNetworkSetBridgeName / virNetworkSetBridgeMacAddr). Pure: callers pass the names in use.

import { generateMac } from "../common/mac.js";
import type { NetworkDef } from "./types.js";

/** Forward modes whose networks own a libvirt-created bridge. */
export function ownsBridge(def: NetworkDef): boolean {
  const m = def.forward.mode;
  return m === "none" || m === "nat" || m === "route" || m === "open";
}

/**
 * Gives a bridge-owning network the lowest free "virbrN" when it has none, or when its name is a
 * template with "%d". Returns the name (unchanged when already set).
 */
export function assignBridgeName(def: NetworkDef, inUse: ReadonlySet<string>, max = 256): string | undefined {
  if (!ownsBridge(def)) return def.bridge.name;
  const template = def.bridge.name?.includes("%d")
    ? def.bridge.name
    : def.bridge.name
      ? undefined
      : "virbr%d";
  if (!template) return def.bridge.name;
  for (let i = 0; i < max; i++) {
    const candidate = template.replace("%d", String(i));
    if (!inUse.has(candidate)) {
      def.bridge.name = candidate;
      return candidate;
    }
  }
  return undefined;
}

/** Gives a bridge-owning network a 52:54:00 MAC when none was specified. */
export function assignBridgeMac(def: NetworkDef, random: () => string = () => generateMac("52:54:00")): void {
  if (ownsBridge(def) && !def.mac) def.mac = random();
}
