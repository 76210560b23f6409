// Guest-facing and checkpoint procedures of remote program 0x20008086 (numbers and layouts from
// libvirt's remote_protocol.x): filesystem freeze/thaw, user password, disk errors, memory peek,
// channels, and domain checkpoints (remote_nonnull_domain_checkpoint = name + domain).
import { array, int, mapped, struct, uint, varOpaque } from "../xdr/index.js";
import { listAll, type ProcedureDef, proc } from "./procedure.js";
import { domainRef as D, type DomainRef, i64, nstr, ostr, typedParams, u64 } from "./remote-types.js";

/** remote_nonnull_domain_checkpoint; in memory the parent is `domain` (tsvirt's DomainCheckpointRef). */
const checkpointRef = mapped(
  struct("remote_nonnull_domain_checkpoint", { name: nstr, dom: D }),
  "remote_nonnull_domain_checkpoint",
  (w) => ({ name: w.name, domain: w.dom }),
  (v: { name: string; domain: DomainRef }) => ({ name: v.name, dom: v.domain }),
);
const CP = checkpointRef;
/** remote_protocol.x REMOTE_DOMAIN_CHECKPOINT_LIST_MAX. */
const CHECKPOINT_LIST_MAX = 16384;
/** remote_protocol.x REMOTE_DOMAIN_FSFREEZE_MOUNTPOINTS_MAX. */
const FSFREEZE_MOUNTPOINTS_MAX = 256;
/** remote_protocol.x REMOTE_DOMAIN_DISK_ERRORS_MAX and REMOTE_DOMAIN_MEMORY_PEEK_BUFFER_MAX. */
const DISK_ERRORS_MAX = 256;
const MEMORY_PEEK_BUFFER_MAX = 4194304;
/** remote_protocol.x REMOTE_DOMAIN_IOTHREAD_PARAMS_MAX. */
const IOTHREAD_PARAMS_MAX = 64;
const diskError = struct("remote_domain_disk_error", { disk: nstr, error: int });
const ro = { ro: true };

export const domainGuestProcedures: ProcedureDef[] = [
  proc(
    104,
    "DOMAIN_MEMORY_PEEK",
    { dom: D, offset: u64, size: uint, flags: uint },
    {
      buffer: varOpaque(MEMORY_PEEK_BUFFER_MAX),
    },
  ),
  proc(
    263,
    "DOMAIN_GET_DISK_ERRORS",
    { dom: D, maxerrors: uint, flags: uint },
    { errors: array(diskError, DISK_ERRORS_MAX), nerrors: int },
    {
      ro: true,
      // maxerrors 0 asks for the count alone (virDomainGetDiskErrors with errors NULL): ask the
      // driver for up to the protocol's maximum and report how many there are.
      invoke: async (fn, a) => {
        const max = a.maxerrors === 0 ? DISK_ERRORS_MAX : Math.min(a.maxerrors, DISK_ERRORS_MAX);
        const errors: unknown[] = (await fn(a.dom, max, a.flags)) ?? [];
        return { errors: a.maxerrors ? errors.slice(0, a.maxerrors) : [], nerrors: errors.length };
      },
    },
  ),
  proc(294, "DOMAIN_FSTRIM", { dom: D, mountPoint: ostr, minimum: u64, flags: uint }, null, {
    slot: "domainFSTrim",
  }),
  proc(295, "DOMAIN_SEND_PROCESS_SIGNAL", { dom: D, pid_value: i64, signum: uint, flags: uint }, null),
  proc(
    402,
    "DOMAIN_SET_IOTHREAD_PARAMS",
    { dom: D, iothread_id: uint, params: typedParams(IOTHREAD_PARAMS_MAX), flags: uint },
    null,
    { slot: "domainSetIOThreadParams" },
  ),
  proc(296, "DOMAIN_OPEN_CHANNEL", { dom: D, name: ostr, flags: uint }, null, {
    stream: "read",
    streamArg: 2,
  }),
  proc(
    335,
    "DOMAIN_FSFREEZE",
    { dom: D, mountpoints: array(nstr, FSFREEZE_MOUNTPOINTS_MAX), flags: uint },
    { filesystems: int },
    { slot: "domainFSFreeze" },
  ),
  proc(
    336,
    "DOMAIN_FSTHAW",
    { dom: D, mountpoints: array(nstr, FSFREEZE_MOUNTPOINTS_MAX), flags: uint },
    { filesystems: int },
    { slot: "domainFSThaw" },
  ),
  proc(357, "DOMAIN_SET_USER_PASSWORD", { dom: D, user: ostr, password: ostr, flags: uint }, null),
  proc(411, "DOMAIN_CHECKPOINT_CREATE_XML", { dom: D, xml_desc: nstr, flags: uint }, { checkpoint: CP }),
  proc(412, "DOMAIN_CHECKPOINT_GET_XML_DESC", { checkpoint: CP, flags: uint }, { xml: nstr }, ro),
  proc(
    413,
    "DOMAIN_LIST_ALL_CHECKPOINTS",
    { dom: D, need_results: int, flags: uint },
    { checkpoints: array(CP, CHECKPOINT_LIST_MAX), ret: int },
    { ro: true, invoke: listAll("checkpoints") },
  ),
  proc(
    414,
    "DOMAIN_CHECKPOINT_LIST_ALL_CHILDREN",
    { checkpoint: CP, need_results: int, flags: uint },
    { checkpoints: array(CP, CHECKPOINT_LIST_MAX), ret: int },
    { ro: true, invoke: listAll("checkpoints") },
  ),
  proc(415, "DOMAIN_CHECKPOINT_LOOKUP_BY_NAME", { dom: D, name: nstr, flags: uint }, { checkpoint: CP }, ro),
  proc(416, "DOMAIN_CHECKPOINT_GET_PARENT", { checkpoint: CP, flags: uint }, { parent: CP }, ro),
  proc(417, "DOMAIN_CHECKPOINT_DELETE", { checkpoint: CP, flags: uint }, null),
];
