// One network known to the host network driver (libvirt's virNetworkObj).
import type { NetworkDef } from "../../conf/network/index.js";

export interface HostNetwork {
  name: string;
  uuid: string;
  /** Running definition when active, else the persistent one. */
  def: NetworkDef;
  /** Persistent definition waiting for the next start (defined while running). */
  newDef?: NetworkDef;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  dnsmasqPid?: number;
}
