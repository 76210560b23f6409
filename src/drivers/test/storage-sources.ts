// virConnectFindStoragePoolSources for the test driver: libvirt 9.0's testConnectFindStoragePoolSources
// answers fixed sources for "logical" and "netfs" (the latter on the host named in the spec).

import { ErrorCode } from "../../errors/index.js";
import { attr, child, parseXml } from "../../xml/index.js";
import { internal, invalidArg, testError } from "./errors.js";

const LOGICAL_SOURCES = `<sources>
  <source>
    <device path='/dev/sda20'/>
    <name>testvg1</name>
    <format type='lvm2'/>
  </source>
  <source>
    <device path='/dev/sda21'/>
    <name>testvg2</name>
    <format type='lvm2'/>
  </source>
</sources>
`;

const escapeAttr = (s: string) =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/'/g, "&apos;")
    .replace(/"/g, "&quot;");

/** The sources XML, or libvirt's error for the pool type (observed with python-libvirt 9.0). */
export function findTestPoolSources(type: string, srcSpec: string | null): string {
  // virStoragePoolTypeFromString gives 0 for "dir", which the test driver takes for "unknown".
  if (type === "dir") throw internal(`unknown storage pool type ${type}`);
  if (type === "logical") return LOGICAL_SOURCES;
  if (type === "netfs") {
    const src = srcSpec ? parseXml(srcSpec, {}) : undefined;
    const host = src && child(src, "host");
    const name = host && attr(host, "name");
    if (!name) throw invalidArg("hostname must be specified for netfs sources");
    return `<sources>
  <source>
    <host name='${escapeAttr(name)}'/>
    <dir path='/testshare'/>
    <format type='nfs'/>
  </source>
</sources>
`;
  }
  throw testError(ErrorCode.NO_SUPPORT, `pool type '${type}' does not support source discovery`);
}
