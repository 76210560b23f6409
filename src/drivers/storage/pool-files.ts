// The on-disk forms of a pool, as libvirt writes them: the config `<etc>/storage/NAME.xml`
// (a warning comment, then the definition) and the live record `<run>/storage/NAME.xml`
// (the same comment around `<poolstate>`); virStoragePoolSaveConfig / virStoragePoolObjSaveStatus.
import { formatStoragePoolXML, parseStoragePoolXML, type StoragePoolDef } from "../../conf/storage/index.js";

/** virXMLPickShellSafeComment: the name when a shell would take it as one word, else the UUID. */
function commentName(def: StoragePoolDef): string {
  return /^[A-Za-z0-9_.+:@-]+$/.test(def.name) ? def.name : def.uuid;
}

function warning(def: StoragePoolDef): string {
  return (
    "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n" +
    "OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n" +
    `  virsh pool-edit ${commentName(def)}\nor other application using the libvirt API.\n-->\n\n`
  );
}

const noSizes = (def: StoragePoolDef): StoragePoolDef => ({
  ...def,
  capacity: 0n,
  allocation: 0n,
  available: 0n,
});

export function poolConfigText(def: StoragePoolDef): string {
  return warning(def) + formatStoragePoolXML(noSizes(def));
}

export function poolStatusText(def: StoragePoolDef): string {
  const inner = formatStoragePoolXML(noSizes(def))
    .split("\n")
    .map((l) => (l ? `  ${l}` : l))
    .join("\n");
  return `${warning(def)}<poolstate>\n${inner}</poolstate>\n`;
}

/** Reads either file form (a bare `<pool>` too): the `<pool>` element inside is the definition. */
export function parsePoolFile(text: string): StoragePoolDef {
  const start = text.search(/<pool[\s>]/);
  const end = text.lastIndexOf("</pool>");
  if (start < 0 || end < start) return parseStoragePoolXML(text);
  return parseStoragePoolXML(text.slice(start, end + "</pool>".length));
}
