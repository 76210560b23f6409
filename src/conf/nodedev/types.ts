// Typed host node device definition (libvirt's virNodeDeviceDef, nodedev.rng): a device and its
// capability blocks. Capabilities tsvirt does not model are kept verbatim as `raw`.

import type { XmlElement } from "../../xml/index.js";

export interface PciAddr {
  domain: number;
  bus: number;
  slot: number;
  function: number;
}

export type NodeDevCap =
  | {
      type: "system";
      product?: string;
      hardware?: { vendor?: string; version?: string; serial?: string; uuid?: string };
      firmware?: { vendor?: string; version?: string; releaseDate?: string };
    }
  | {
      type: "pci";
      class?: number;
      addr: PciAddr;
      product: { id: number; name?: string };
      vendor: { id: number; name?: string };
      iommuGroup?: { number: number; addresses: PciAddr[] };
      numaNode?: number;
    }
  | {
      type: "usb_device";
      bus: number;
      device: number;
      product: { id: number; name?: string };
      vendor: { id: number; name?: string };
    }
  | { type: "usb"; number: number; class: number; subclass: number; protocol: number; description?: string }
  | {
      type: "net";
      iface: string;
      address?: string;
      link?: { speed?: number; state?: string };
      features: string[];
      subtype?: "80203" | "80211";
    }
  | {
      type: "scsi_host";
      /** SCSI host number; absent in a vHBA creation request. */
      host?: number;
      uniqueId?: number;
      fcHost?: { wwnn?: string; wwpn?: string; fabricWwn?: string };
      vportOps?: { maxVports: number; vports: number };
    }
  | { type: "scsi_target"; target: string }
  | { type: "scsi"; host: number; bus: number; target: number; lun: number; scsiType?: string }
  | {
      type: "storage";
      block?: string;
      bus?: string;
      driveType?: string;
      model?: string;
      vendor?: string;
      serial?: string;
      size?: bigint;
    }
  | { type: "drm"; drmType: string }
  /** Any other capability, kept as parsed. */
  | { type: "raw"; element: XmlElement };

export interface NodeDeviceDef {
  name: string;
  path?: string;
  devnodes: { type: "dev" | "link"; path: string }[];
  parent?: string;
  /** vHBA creation: parent located by WWNs or fabric instead of name. */
  parentWwnn?: string;
  parentWwpn?: string;
  parentFabricWwn?: string;
  driver?: string;
  caps: NodeDevCap[];
}
