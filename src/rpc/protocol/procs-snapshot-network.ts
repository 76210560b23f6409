// Domain snapshot and virtual network procedures of remote program 0x20008086 (numbers and
// layouts from libvirt's remote_protocol.x).
import { array, int, struct, uint } from "../xdr/index.js";
import {
  REMOTE_DOMAIN_SNAPSHOT_LIST_MAX,
  REMOTE_NETWORK_DHCP_LEASES_MAX,
  REMOTE_NETWORK_LIST_MAX,
} from "./constants.js";
import { listAll, type ProcedureDef, proc, secureFlag } from "./procedure.js";
import {
  domainRef as D,
  flag,
  i64,
  networkRef as N,
  nstr,
  ostr,
  snapshotRef as S,
  uuid,
} from "./remote-types.js";

const ro = { ro: true };
const roHigh = { ro: true, high: true };
const high = { high: true };
const snapFlags = { snap: S, flags: uint };
const netArg = { net: N };

const dhcpLease = struct("remote_network_dhcp_lease", {
  iface: nstr,
  expirytime: i64,
  type: int,
  mac: ostr,
  iaid: ostr,
  ipaddr: nstr,
  prefix: uint,
  hostname: ostr,
  clientid: ostr,
});

export const snapshotProcedures: ProcedureDef[] = [
  proc(185, "DOMAIN_SNAPSHOT_CREATE_XML", { dom: D, xml_desc: nstr, flags: uint }, { snap: S }),
  proc(
    186,
    "DOMAIN_SNAPSHOT_GET_XML_DESC",
    snapFlags,
    { xml: nstr },
    { ro: true, roDeny: secureFlag("virDomainSnapshotGetXMLDesc") },
  ),
  proc(187, "DOMAIN_SNAPSHOT_NUM", { dom: D, flags: uint }, { num: int }, ro),
  proc(
    188,
    "DOMAIN_SNAPSHOT_LIST_NAMES",
    { dom: D, maxnames: int, flags: uint },
    { names: array(nstr, REMOTE_DOMAIN_SNAPSHOT_LIST_MAX) },
    ro,
  ),
  proc(189, "DOMAIN_SNAPSHOT_LOOKUP_BY_NAME", { dom: D, name: nstr, flags: uint }, { snap: S }, ro),
  proc(190, "DOMAIN_HAS_CURRENT_SNAPSHOT", { dom: D, flags: uint }, { result: flag }, ro),
  proc(191, "DOMAIN_SNAPSHOT_CURRENT", { dom: D, flags: uint }, { snap: S }, ro),
  proc(192, "DOMAIN_REVERT_TO_SNAPSHOT", snapFlags, null),
  proc(193, "DOMAIN_SNAPSHOT_DELETE", snapFlags, null),
  proc(244, "DOMAIN_SNAPSHOT_GET_PARENT", snapFlags, { snap: S }, ro),
  proc(246, "DOMAIN_SNAPSHOT_NUM_CHILDREN", snapFlags, { num: int }, ro),
  proc(
    247,
    "DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES",
    { snap: S, maxnames: int, flags: uint },
    { names: array(nstr, REMOTE_DOMAIN_SNAPSHOT_LIST_MAX) },
    ro,
  ),
  proc(271, "DOMAIN_SNAPSHOT_IS_CURRENT", snapFlags, { current: flag }, ro),
  proc(272, "DOMAIN_SNAPSHOT_HAS_METADATA", snapFlags, { metadata: flag }, ro),
  proc(
    274,
    "DOMAIN_LIST_ALL_SNAPSHOTS",
    { dom: D, need_results: int, flags: uint },
    { snapshots: array(S, REMOTE_DOMAIN_SNAPSHOT_LIST_MAX), ret: int },
    { ro: true, invoke: listAll("snapshots") },
  ),
  proc(
    275,
    "DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN",
    { snapshot: S, need_results: int, flags: uint },
    { snapshots: array(S, REMOTE_DOMAIN_SNAPSHOT_LIST_MAX), ret: int },
    { ro: true, invoke: listAll("snapshots") },
  ),
];

export const networkProcedures: ProcedureDef[] = [
  proc(
    36,
    "CONNECT_LIST_DEFINED_NETWORKS",
    { maxnames: int },
    { names: array(nstr, REMOTE_NETWORK_LIST_MAX) },
    roHigh,
  ),
  proc(
    38,
    "CONNECT_LIST_NETWORKS",
    { maxnames: int },
    { names: array(nstr, REMOTE_NETWORK_LIST_MAX) },
    roHigh,
  ),
  proc(39, "NETWORK_CREATE", netArg, null),
  proc(
    40,
    "NETWORK_CREATE_XML",
    { xml: nstr },
    { net: N },
    { slot: "networkCreateXMLFlags", pass: (a) => [a.xml, 0] },
  ),
  proc(
    41,
    "NETWORK_DEFINE_XML",
    { xml: nstr },
    { net: N },
    { high: true, slot: "networkDefineXMLFlags", pass: (a) => [a.xml, 0] },
  ),
  proc(42, "NETWORK_DESTROY", netArg, null, high),
  proc(43, "NETWORK_GET_XML_DESC", { net: N, flags: uint }, { xml: nstr }, roHigh),
  proc(44, "NETWORK_GET_AUTOSTART", netArg, { autostart: flag }, roHigh),
  proc(45, "NETWORK_GET_BRIDGE_NAME", netArg, { name: nstr }, roHigh),
  proc(46, "NETWORK_LOOKUP_BY_NAME", { name: nstr }, { net: N }, roHigh),
  proc(47, "NETWORK_LOOKUP_BY_UUID", { uuid }, { net: N }, roHigh),
  proc(48, "NETWORK_SET_AUTOSTART", { net: N, autostart: flag }, null, high),
  proc(49, "NETWORK_UNDEFINE", netArg, null, high),
  proc(50, "CONNECT_NUM_OF_DEFINED_NETWORKS", null, { num: int }, roHigh),
  proc(52, "CONNECT_NUM_OF_NETWORKS", null, { num: int }, roHigh),
  proc(152, "NETWORK_IS_ACTIVE", netArg, { active: flag }, roHigh),
  proc(153, "NETWORK_IS_PERSISTENT", netArg, { persistent: flag }, roHigh),
  proc(
    283,
    "CONNECT_LIST_ALL_NETWORKS",
    { need_results: int, flags: uint },
    { nets: array(N, REMOTE_NETWORK_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("nets") },
  ),
  proc(
    291,
    "NETWORK_UPDATE",
    { net: N, command: uint, section: uint, parentIndex: int, xml: nstr, flags: uint },
    null,
    high,
  ),
  proc(
    341,
    "NETWORK_GET_DHCP_LEASES",
    { net: N, mac: ostr, need_results: int, flags: uint },
    { leases: array(dhcpLease, REMOTE_NETWORK_DHCP_LEASES_MAX), ret: uint },
    { ro: true, invoke: listAll("leases") },
  ),
  proc(432, "NETWORK_DEFINE_XML_FLAGS", { xml: nstr, flags: uint }, { net: N }, high),
  proc(437, "NETWORK_CREATE_XML_FLAGS", { xml: nstr, flags: uint }, { net: N }),
];
