// Public face of conf/network: the virtual-network definition, its parser and formatter.
export { formatNetworkXML } from "./format.js";
export { formatIp, parseIp, type IpAddr } from "./ip-addr.js";
export { parseNetworkXML } from "./parse.js";
export * from "./types.js";
export { assignBridgeMac, assignBridgeName, ownsBridge } from "./driver-defaults.js";
export * from "./update-section.js";
