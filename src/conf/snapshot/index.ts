// Public face of conf/snapshot: domain snapshot definitions, parser (with disk alignment) and formatter.
export { domainDisksOf, domainDisksOfXml } from "./domain-disks.js";
export { formatDomainSnapshotXML, parseDomainSnapshotXML } from "./snapshot.js";
export * from "./types.js";
