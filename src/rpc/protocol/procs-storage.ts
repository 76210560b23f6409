// Storage pool and volume procedures of remote program 0x20008086 (numbers and layouts from
// libvirt's remote_protocol.x). Upload/download open data streams (@writestream/@readstream).
import { array, int, uint } from "../xdr/index.js";
import { REMOTE_STORAGE_POOL_LIST_MAX, REMOTE_STORAGE_VOL_LIST_MAX } from "./constants.js";
import { listAll, type ProcedureDef, proc } from "./procedure.js";
import { flag, nstr, ostr, poolRef as P, u64, uuid, volRef as V } from "./remote-types.js";

const roHigh = { ro: true, high: true };
const high = { high: true };
const pool = { pool: P };
const poolFlags = { pool: P, flags: uint };
const volFlags = { vol: V, flags: uint };
const volInfo = { type: int, capacity: u64, allocation: u64 };

export const storageProcedures: ProcedureDef[] = [
  proc(71, "CONNECT_NUM_OF_STORAGE_POOLS", null, { num: int }, roHigh),
  proc(
    72,
    "CONNECT_LIST_STORAGE_POOLS",
    { maxnames: int },
    { names: array(nstr, REMOTE_STORAGE_POOL_LIST_MAX) },
    roHigh,
  ),
  proc(73, "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS", null, { num: int }, roHigh),
  proc(
    74,
    "CONNECT_LIST_DEFINED_STORAGE_POOLS",
    { maxnames: int },
    { names: array(nstr, REMOTE_STORAGE_POOL_LIST_MAX) },
    roHigh,
  ),
  proc(75, "CONNECT_FIND_STORAGE_POOL_SOURCES", { type: nstr, srcSpec: ostr, flags: uint }, { xml: nstr }),
  proc(76, "STORAGE_POOL_CREATE_XML", { xml: nstr, flags: uint }, { pool: P }),
  proc(77, "STORAGE_POOL_DEFINE_XML", { xml: nstr, flags: uint }, { pool: P }, high),
  proc(78, "STORAGE_POOL_CREATE", poolFlags, null),
  proc(79, "STORAGE_POOL_BUILD", poolFlags, null),
  proc(80, "STORAGE_POOL_DESTROY", pool, null, high),
  proc(81, "STORAGE_POOL_DELETE", poolFlags, null),
  proc(82, "STORAGE_POOL_UNDEFINE", pool, null, high),
  proc(83, "STORAGE_POOL_REFRESH", poolFlags, null),
  proc(84, "STORAGE_POOL_LOOKUP_BY_NAME", { name: nstr }, { pool: P }, roHigh),
  proc(85, "STORAGE_POOL_LOOKUP_BY_UUID", { uuid }, { pool: P }, roHigh),
  proc(86, "STORAGE_POOL_LOOKUP_BY_VOLUME", { vol: V }, { pool: P }, roHigh),
  proc(
    87,
    "STORAGE_POOL_GET_INFO",
    pool,
    { state: uint, capacity: u64, allocation: u64, available: u64 },
    roHigh,
  ),
  proc(88, "STORAGE_POOL_GET_XML_DESC", poolFlags, { xml: nstr }, roHigh),
  proc(89, "STORAGE_POOL_GET_AUTOSTART", pool, { autostart: flag }, roHigh),
  proc(90, "STORAGE_POOL_SET_AUTOSTART", { pool: P, autostart: flag }, null, high),
  proc(91, "STORAGE_POOL_NUM_OF_VOLUMES", pool, { num: int }, roHigh),
  proc(
    92,
    "STORAGE_POOL_LIST_VOLUMES",
    { pool: P, maxnames: int },
    { names: array(nstr, REMOTE_STORAGE_VOL_LIST_MAX) },
    roHigh,
  ),
  proc(93, "STORAGE_VOL_CREATE_XML", { pool: P, xml: nstr, flags: uint }, { vol: V }),
  proc(94, "STORAGE_VOL_DELETE", volFlags, null),
  proc(95, "STORAGE_VOL_LOOKUP_BY_NAME", { pool: P, name: nstr }, { vol: V }, roHigh),
  proc(96, "STORAGE_VOL_LOOKUP_BY_KEY", { key: nstr }, { vol: V }, roHigh),
  proc(97, "STORAGE_VOL_LOOKUP_BY_PATH", { path: nstr }, { vol: V }, roHigh),
  proc(98, "STORAGE_VOL_GET_INFO", { vol: V }, volInfo, roHigh),
  proc(99, "STORAGE_VOL_GET_XML_DESC", volFlags, { xml: nstr }, roHigh),
  proc(100, "STORAGE_VOL_GET_PATH", { vol: V }, { name: nstr }, roHigh),
  proc(125, "STORAGE_VOL_CREATE_XML_FROM", { pool: P, xml: nstr, clonevol: V, flags: uint }, { vol: V }),
  proc(154, "STORAGE_POOL_IS_ACTIVE", pool, { active: flag }, roHigh),
  proc(155, "STORAGE_POOL_IS_PERSISTENT", pool, { persistent: flag }, roHigh),
  proc(165, "STORAGE_VOL_WIPE", volFlags, null),
  proc(208, "STORAGE_VOL_UPLOAD", { vol: V, offset: u64, length: u64, flags: uint }, null, {
    stream: "write",
    streamArg: 1,
  }),
  proc(209, "STORAGE_VOL_DOWNLOAD", { vol: V, offset: u64, length: u64, flags: uint }, null, {
    ro: true,
    stream: "read",
    streamArg: 1,
  }),
  proc(259, "STORAGE_VOL_WIPE_PATTERN", { vol: V, algorithm: uint, flags: uint }, null),
  proc(260, "STORAGE_VOL_RESIZE", { vol: V, capacity: u64, flags: uint }, null),
  proc(
    281,
    "CONNECT_LIST_ALL_STORAGE_POOLS",
    { need_results: int, flags: uint },
    { pools: array(P, REMOTE_STORAGE_POOL_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("pools") },
  ),
  proc(
    282,
    "STORAGE_POOL_LIST_ALL_VOLUMES",
    { pool: P, need_results: int, flags: uint },
    { vols: array(V, REMOTE_STORAGE_VOL_LIST_MAX), ret: uint },
    { ro: true, high: true, invoke: listAll("vols") },
  ),
  proc(378, "STORAGE_VOL_GET_INFO_FLAGS", volFlags, volInfo, roHigh),
  proc(403, "CONNECT_GET_STORAGE_POOL_CAPABILITIES", { flags: uint }, { capabilities: nstr }, { ro: true }),
  proc(391, "STORAGE_POOL_LOOKUP_BY_TARGET_PATH", { path: nstr }, { pool: P }, roHigh),
];
