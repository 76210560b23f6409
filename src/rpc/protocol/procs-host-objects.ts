// Host interface, node device, secret and nwfilter procedures of remote program 0x20008086
// (numbers and layouts from libvirt's remote_protocol.x).
import { array, int, uint, varOpaque } from "../xdr/index.js";
import {
  REMOTE_INTERFACE_LIST_MAX,
  REMOTE_NODE_DEVICE_CAPS_LIST_MAX,
  REMOTE_NODE_DEVICE_LIST_MAX,
  REMOTE_NWFILTER_LIST_MAX,
  REMOTE_SECRET_LIST_MAX,
  REMOTE_SECRET_VALUE_MAX,
} from "./constants.js";
import { listAll, type ProcedureDef, proc } from "./procedure.js";
import {
  devName,
  flag,
  interfaceRef as I,
  nodeDeviceRef as ND,
  nstr,
  nwfilterRef as F,
  ostr,
  secretRef as SEC,
  uuid,
} from "./remote-types.js";

const ro = { ro: true };
const roHigh = { ro: true, high: true };
const names = (max: number) => ({ names: array(nstr, max) });
const flags = { flags: uint };

export const interfaceProcedures: ProcedureDef[] = [
  proc(126, "CONNECT_NUM_OF_INTERFACES", null, { num: int }, roHigh),
  proc(127, "CONNECT_LIST_INTERFACES", { maxnames: int }, names(REMOTE_INTERFACE_LIST_MAX), roHigh),
  proc(128, "INTERFACE_LOOKUP_BY_NAME", { name: nstr }, { iface: I }, roHigh),
  proc(129, "INTERFACE_LOOKUP_BY_MAC_STRING", { mac: nstr }, { iface: I }, roHigh),
  proc(130, "INTERFACE_GET_XML_DESC", { iface: I, flags: uint }, { xml: nstr }, ro),
  proc(131, "INTERFACE_DEFINE_XML", { xml: nstr, flags: uint }, { iface: I }),
  proc(132, "INTERFACE_UNDEFINE", { iface: I }, null),
  proc(133, "INTERFACE_CREATE", { iface: I, flags: uint }, null),
  proc(134, "INTERFACE_DESTROY", { iface: I, flags: uint }, null),
  proc(137, "CONNECT_NUM_OF_DEFINED_INTERFACES", null, { num: int }, roHigh),
  proc(138, "CONNECT_LIST_DEFINED_INTERFACES", { maxnames: int }, names(REMOTE_INTERFACE_LIST_MAX), roHigh),
  proc(156, "INTERFACE_IS_ACTIVE", { iface: I }, { active: flag }, roHigh),
  proc(220, "INTERFACE_CHANGE_BEGIN", flags, null),
  proc(221, "INTERFACE_CHANGE_COMMIT", flags, null),
  proc(222, "INTERFACE_CHANGE_ROLLBACK", flags, null),
  proc(
    284,
    "CONNECT_LIST_ALL_INTERFACES",
    { need_results: int, flags: uint },
    { ifaces: array(I, REMOTE_INTERFACE_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("ifaces") },
  ),
];

export const nodeDeviceProcedures: ProcedureDef[] = [
  proc(111, "NODE_NUM_OF_DEVICES", { cap: ostr, flags: uint }, { num: int }, roHigh),
  proc(
    112,
    "NODE_LIST_DEVICES",
    { cap: ostr, maxnames: int, flags: uint },
    names(REMOTE_NODE_DEVICE_LIST_MAX),
    roHigh,
  ),
  proc(113, "NODE_DEVICE_LOOKUP_BY_NAME", { name: nstr }, { dev: ND }, roHigh),
  proc(114, "NODE_DEVICE_GET_XML_DESC", { name: devName, flags: uint }, { xml: nstr }, ro),
  proc(115, "NODE_DEVICE_GET_PARENT", { name: devName }, { parent: ostr }, roHigh),
  proc(116, "NODE_DEVICE_NUM_OF_CAPS", { name: devName }, { num: int }, roHigh),
  proc(
    117,
    "NODE_DEVICE_LIST_CAPS",
    { name: devName, maxnames: int },
    names(REMOTE_NODE_DEVICE_CAPS_LIST_MAX),
    roHigh,
  ),
  proc(118, "NODE_DEVICE_DETTACH", { name: devName }, null),
  proc(119, "NODE_DEVICE_RE_ATTACH", { name: devName }, null),
  proc(120, "NODE_DEVICE_RESET", { name: devName }, null),
  proc(123, "NODE_DEVICE_CREATE_XML", { xml_desc: nstr, flags: uint }, { dev: ND }),
  proc(124, "NODE_DEVICE_DESTROY", { name: devName }, null),
  proc(
    285,
    "CONNECT_LIST_ALL_NODE_DEVICES",
    { need_results: int, flags: uint },
    { devices: array(ND, REMOTE_NODE_DEVICE_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("devices") },
  ),
  proc(
    297,
    "NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN",
    { wwnn: nstr, wwpn: nstr, flags: uint },
    { dev: ND },
    roHigh,
  ),
  proc(301, "NODE_DEVICE_DETACH_FLAGS", { name: devName, driverName: ostr, flags: uint }, null),
  proc(428, "NODE_DEVICE_DEFINE_XML", { xml_desc: nstr, flags: uint }, { dev: ND }),
  proc(429, "NODE_DEVICE_UNDEFINE", { name: devName, flags: uint }, null),
  proc(430, "NODE_DEVICE_CREATE", { name: devName, flags: uint }, null),
  proc(433, "NODE_DEVICE_GET_AUTOSTART", { name: devName }, { autostart: flag }, roHigh),
  proc(434, "NODE_DEVICE_SET_AUTOSTART", { name: devName, autostart: flag }, null),
  proc(435, "NODE_DEVICE_IS_PERSISTENT", { name: devName }, { persistent: flag }, roHigh),
  proc(436, "NODE_DEVICE_IS_ACTIVE", { name: devName }, { active: flag }, roHigh),
];

export const secretProcedures: ProcedureDef[] = [
  proc(139, "CONNECT_NUM_OF_SECRETS", null, { num: int }, roHigh),
  proc(
    140,
    "CONNECT_LIST_SECRETS",
    { maxuuids: int },
    { uuids: array(nstr, REMOTE_SECRET_LIST_MAX) },
    roHigh,
  ),
  proc(141, "SECRET_LOOKUP_BY_UUID", { uuid }, { secret: SEC }, roHigh),
  proc(142, "SECRET_DEFINE_XML", { xml: nstr, flags: uint }, { secret: SEC }),
  proc(143, "SECRET_GET_XML_DESC", { secret: SEC, flags: uint }, { xml: nstr }, ro),
  proc(
    144,
    "SECRET_SET_VALUE",
    { secret: SEC, value: varOpaque(REMOTE_SECRET_VALUE_MAX), flags: uint },
    null,
  ),
  proc(145, "SECRET_GET_VALUE", { secret: SEC, flags: uint }, { value: varOpaque(REMOTE_SECRET_VALUE_MAX) }),
  proc(146, "SECRET_UNDEFINE", { secret: SEC }, null),
  proc(147, "SECRET_LOOKUP_BY_USAGE", { usageType: int, usageID: nstr }, { secret: SEC }, roHigh),
  proc(
    287,
    "CONNECT_LIST_ALL_SECRETS",
    { need_results: int, flags: uint },
    { secrets: array(SEC, REMOTE_SECRET_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("secrets") },
  ),
];

export const nwfilterProcedures: ProcedureDef[] = [
  proc(175, "NWFILTER_LOOKUP_BY_NAME", { name: nstr }, { nwfilter: F }, roHigh),
  proc(176, "NWFILTER_LOOKUP_BY_UUID", { uuid }, { nwfilter: F }, roHigh),
  proc(177, "NWFILTER_GET_XML_DESC", { nwfilter: F, flags: uint }, { xml: nstr }, ro),
  proc(178, "CONNECT_NUM_OF_NWFILTERS", null, { num: int }, roHigh),
  proc(179, "CONNECT_LIST_NWFILTERS", { maxnames: int }, names(REMOTE_NWFILTER_LIST_MAX), roHigh),
  proc(180, "NWFILTER_DEFINE_XML", { xml: nstr }, { nwfilter: F }),
  proc(181, "NWFILTER_UNDEFINE", { nwfilter: F }, null),
  proc(
    286,
    "CONNECT_LIST_ALL_NWFILTERS",
    { need_results: int, flags: uint },
    { filters: array(F, REMOTE_NWFILTER_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("filters") },
  ),
];
