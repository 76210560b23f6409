// Public face of conf/capabilities: host capabilities and node info, their formatters, and the
// fixed host the test driver reports.
export { formatCapabilitiesXML, formatNodeInfo } from "./format.js";
export { TEST_SYSINFO_XML, testDefaultCapabilities, testDefaultNodeInfo } from "./test-host.js";
export * from "./types.js";
