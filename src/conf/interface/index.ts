// Public face of conf/interface: host interface definitions (ethernet, bridge, bond, vlan).
export * from "./interface.js";
