// virConnectFindStoragePoolSources for the test driver: libvirt 9.0's testConnectFindStoragePoolSources
// answers fixed sources for "logical" and "netfs" (the latter on the host named in the spec).

import { POOL_TYPES, type PoolSource, type PoolType } from "../../conf/storage/index.js";
import { parsePoolSource } from "../../conf/storage/pool-source.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { parseXml } from "../../xml/index.js";
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
  // virStoragePoolDefParseSourceString: any spec given (even "") is parsed first, as a <source>
  // of the pool type (an unknown type has no backend once the root is checked)
  let src: PoolSource | undefined;
  if (srcSpec !== null) {
    const root = parseXml(srcSpec, {
      context: "(storage_source_specification)",
      domain: ErrorDomain.STORAGE,
    });
    if (root.name !== "source") {
      throw virError(
        ErrorCode.XML_ERROR,
        ErrorDomain.XML,
        `expecting root element of 'source', not '${root.name}'`,
      );
    }
    if (!(POOL_TYPES as readonly string[]).includes(type)) {
      throw virError(ErrorCode.INTERNAL_ERROR, ErrorDomain.STORAGE, "missing backend for pool type -1");
    }
    src = parsePoolSource(root, type as PoolType);
  }
  if (type === "logical") return LOGICAL_SOURCES;
  if (type === "netfs") {
    const name = src?.hosts[0]?.name;
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
