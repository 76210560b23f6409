// virConnectGetStoragePoolCapabilities (storage_capabilities.c): every pool type libvirt knows,
// its source and target format enums from libvirt's static type table, and whether this
// driver has a backend for it.
import {
  FILE_FORMATS,
  POOL_TYPE_INFO,
  POOL_TYPES,
  type PoolType,
  volFormatsFor,
} from "../../conf/storage/index.js";

/** volOptions of libvirt's poolTypeInfo: file formats ("none" first), partition types, or rbd's empty list. */
function volOptions(t: PoolType): { def: string; values: readonly string[] } | undefined {
  switch (t) {
    case "dir":
    case "fs":
    case "netfs":
    case "gluster":
    case "vstorage":
      return { def: "raw", values: ["none", ...FILE_FORMATS] };
    case "disk": {
      const f = volFormatsFor("disk")!;
      return { def: f.defaultFormat, values: f.formats };
    }
    case "rbd":
      return { def: "raw", values: [] };
    default:
      return undefined;
  }
}

function enumLines(name: string, values: readonly string[], indent: string): string[] {
  return [
    `${indent}<enum name='${name}'>`,
    ...values.map((v) => `${indent}  <value>${v}</value>`),
    `${indent}</enum>`,
  ];
}

export function storagePoolCapabilities(supported: ReadonlySet<string>): string {
  const out = ["<storagepoolCapabilities>"];
  for (const t of POOL_TYPES as readonly PoolType[]) {
    out.push(`  <pool type='${t}' supported='${supported.has(t) ? "yes" : "no"}'>`);
    const info = POOL_TYPE_INFO[t];
    if (info.formats) {
      out.push("    <poolOptions>", `      <defaultFormat type='${info.defaultFormat}'/>`);
      out.push(...enumLines("sourceFormatType", info.formats, "      "), "    </poolOptions>");
    }
    const vol = volOptions(t);
    if (vol) {
      out.push("    <volOptions>", `      <defaultFormat type='${vol.def}'/>`);
      out.push(...enumLines("targetFormatType", vol.values, "      "), "    </volOptions>");
    }
    out.push("  </pool>");
  }
  out.push("</storagepoolCapabilities>", "");
  return out.join("\n");
}
