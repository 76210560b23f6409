// Public face of src/host/net: bridges, nftables and dnsmasq for the network driver.
export * from "./bridge.js";
export * from "./dnsmasq.js";
export * from "./exec.js";
export * from "./nft.js";
