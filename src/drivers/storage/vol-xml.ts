// Live XML of pools and volumes as the storage driver shows them: conf's formatters plus what
// libvirt adds from the host (volume <physical> and <timestamps>, stat'ed <permissions>, and the
// empty <features/> of a scanned qcow2 v3 image; storage_conf.c virStorageVolDefFormat).
import { formatStoragePoolXML, formatStorageVolXML, type StoragePoolDef } from "../../conf/storage/index.js";
import type { FileFacts, HostPool, HostVol } from "./pool-obj.js";

function timestampLines(f: FileFacts, indent: string): string[] {
  const i2 = `${indent}  `;
  return [
    `${indent}<timestamps>`,
    `${i2}<atime>${f.times.atime}</atime>`,
    `${i2}<mtime>${f.times.mtime}</mtime>`,
    `${i2}<ctime>${f.times.ctime}</ctime>`,
    `${i2}<btime>0</btime>`,
    `${indent}</timestamps>`,
  ];
}

/** Inserts timestamps after a block's </permissions> (or <format>/<path>) line. */
function addTimestamps(lines: string[], indent: string, f: FileFacts | undefined): void {
  if (!f) return;
  let at = lines.indexOf(`${indent}</permissions>`);
  if (at < 0) at = lines.findIndex((l) => l.startsWith(`${indent}<format `));
  if (at < 0) at = lines.findIndex((l) => l.startsWith(`${indent}<path>`));
  if (at < 0) return;
  lines.splice(at + 1, 0, ...timestampLines(f, indent));
}

export function formatLiveVolXML(vol: HostVol): string {
  const def = {
    ...vol.def,
    target: { ...vol.def.target, perms: vol.facts?.perms ?? vol.def.target.perms },
    backingStore: vol.def.backingStore
      ? { ...vol.def.backingStore, perms: vol.backingFacts?.perms ?? vol.def.backingStore.perms }
      : undefined,
  };
  const text = formatStorageVolXML(def);
  const split = text.indexOf("  <backingStore>");
  const head = (split < 0 ? text : text.slice(0, split)).split("\n");
  const tail = split < 0 ? [] : text.slice(split).split("\n");
  if (vol.physical > 0n) {
    const al = head.findIndex((l) => l.startsWith("  <allocation "));
    head.splice(al + 1, 0, `  <physical unit='bytes'>${vol.physical}</physical>`);
  }
  addTimestamps(head, "    ", vol.facts);
  const t = def.target.features;
  if (vol.v3Features && !t.lazyRefcounts && !t.extendedL2) {
    head.splice(head.indexOf("  </target>"), 0, "    <features/>");
  }
  addTimestamps(tail, "    ", vol.backingFacts);
  return tail.length ? `${head.join("\n")}${tail.join("\n")}` : head.join("\n");
}

/** Pool XML: inactive pools show their definition; active ones the stat'ed target permissions. */
export function formatLivePoolXML(p: HostPool, inactive: boolean): string {
  if (inactive && p.newDef) return formatStoragePoolXML(p.newDef);
  if (!p.active || !p.targetFacts) return formatStoragePoolXML(p.def);
  const def: StoragePoolDef = { ...p.def, target: { ...p.def.target, perms: p.targetFacts.perms } };
  return formatStoragePoolXML(def);
}
