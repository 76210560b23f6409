// Public face of drivers/network: the host (bridge) network driver and its pure generators.
export { withHostNetwork, networkBridgeResolver, networkLeasesResolver } from "./compose.js";
export {
  dnsmasqConf,
  dnsmasqFiles,
  dnsmasqHostsFile,
  dnsmasqAddnHosts,
  needsDnsmasq,
} from "./dnsmasq-conf.js";
export { hostNetworkDriver } from "./driver.js";
export { parseDnsmasqLeases } from "./leases.js";
export {
  createNetworkDriverState,
  DEFAULT_NETWORK_XML,
  type NetworkDriverOptions,
  NetworkDriverState,
} from "./network-state.js";
export { nftRuleset, nftApplyScript, NFT_FAMILY, NFT_TABLE } from "./nft-ruleset.js";
