// Procedures of remote program 0x20008086 (numbers and names from libvirt 9.0's remote_protocol.x)
// that no tsvirt driver offers: migration, block jobs, guest agent, backups, network ports,
// nwfilter bindings, host suspend and page allocation, SEV, dirty rate, save/restore with
// parameters. libvirtd dispatches them to the public API, which fails with VIR_ERR_NO_SUPPORT
// naming the call ("this function is not supported by the connection driver: virDomainBlockResize")
// under the API file's error domain; tsvirtd answers the same through the dispatcher's missing-slot
// path instead of "unknown procedure". Their arguments are not decoded (no driver reads them; the
// client's own public API already checked them), so a driver that gains one of these slots needs
// the real entry in its area's table instead of this one. Server-to-client event messages, the
// SASL steps and CONNECT_SET_IDENTITY are left out: a client never calls those here.
import { xvoid } from "../xdr/index.js";
import { type ProcedureDef, proc } from "./procedure.js";

/** [number, name, allowed read-only (the public API has no virCheckReadOnly)]. */
const UNSUPPORTED: [number, string, boolean][] = [
  [61, "DOMAIN_MIGRATE_PREPARE", false],
  [62, "DOMAIN_MIGRATE_PERFORM", false],
  [63, "DOMAIN_MIGRATE_FINISH", false],
  [103, "DOMAIN_BLOCK_PEEK", false],
  [108, "DOMAIN_MIGRATE_PREPARE2", false],
  [109, "DOMAIN_MIGRATE_FINISH2", false],
  [148, "DOMAIN_MIGRATE_PREPARE_TUNNEL", false],
  [166, "DOMAIN_MIGRATE_SET_MAX_DOWNTIME", false],
  [207, "DOMAIN_MIGRATE_SET_MAX_SPEED", false],
  [213, "DOMAIN_MIGRATE_BEGIN3", false],
  [214, "DOMAIN_MIGRATE_PREPARE3", false],
  [215, "DOMAIN_MIGRATE_PREPARE_TUNNEL3", false],
  [216, "DOMAIN_MIGRATE_PERFORM3", false],
  [217, "DOMAIN_MIGRATE_FINISH3", false],
  [218, "DOMAIN_MIGRATE_CONFIRM3", false],
  [237, "DOMAIN_BLOCK_JOB_ABORT", false],
  [239, "DOMAIN_BLOCK_JOB_SET_SPEED", false],
  [240, "DOMAIN_BLOCK_PULL", false],
  [242, "DOMAIN_MIGRATE_GET_MAX_SPEED", false],
  [249, "DOMAIN_OPEN_GRAPHICS", false],
  [250, "NODE_SUSPEND_FOR_DURATION", false],
  [266, "DOMAIN_BLOCK_REBASE", false],
  [288, "NODE_SET_MEMORY_PARAMETERS", false],
  [290, "DOMAIN_BLOCK_COMMIT", false],
  [299, "DOMAIN_MIGRATE_GET_COMPRESSION_CACHE", false],
  [300, "DOMAIN_MIGRATE_SET_COMPRESSION_CACHE", false],
  [302, "DOMAIN_MIGRATE_BEGIN3_PARAMS", false],
  [303, "DOMAIN_MIGRATE_PREPARE3_PARAMS", false],
  [304, "DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS", false],
  [305, "DOMAIN_MIGRATE_PERFORM3_PARAMS", false],
  [306, "DOMAIN_MIGRATE_FINISH3_PARAMS", false],
  [307, "DOMAIN_MIGRATE_CONFIRM3_PARAMS", false],
  [343, "DOMAIN_OPEN_GRAPHICS_FD", false],
  [345, "DOMAIN_BLOCK_COPY", false],
  [347, "NODE_ALLOC_PAGES", false],
  [364, "DOMAIN_MIGRATE_START_POST_COPY", false],
  [387, "DOMAIN_MIGRATE_GET_MAX_DOWNTIME", false],
  [392, "DOMAIN_DETACH_DEVICE_ALIAS", false],
  [393, "CONNECT_COMPARE_HYPERVISOR_CPU", false],
  [394, "CONNECT_BASELINE_HYPERVISOR_CPU", false],
  [395, "NODE_GET_SEV_INFO", true],
  [397, "NWFILTER_BINDING_LOOKUP_BY_PORT_DEV", true],
  [398, "NWFILTER_BINDING_GET_XML_DESC", true],
  [399, "NWFILTER_BINDING_CREATE_XML", false],
  [400, "NWFILTER_BINDING_DELETE", false],
  [401, "CONNECT_LIST_ALL_NWFILTER_BINDINGS", true],
  [404, "NETWORK_LIST_ALL_PORTS", true],
  [405, "NETWORK_PORT_LOOKUP_BY_UUID", true],
  [406, "NETWORK_PORT_CREATE_XML", false],
  [407, "NETWORK_PORT_GET_PARAMETERS", true],
  [408, "NETWORK_PORT_SET_PARAMETERS", false],
  [409, "NETWORK_PORT_GET_XML_DESC", true],
  [410, "NETWORK_PORT_DELETE", false],
  [418, "DOMAIN_GET_GUEST_INFO", false],
  [420, "DOMAIN_AGENT_SET_RESPONSE_TIMEOUT", false],
  [421, "DOMAIN_BACKUP_BEGIN", false],
  [422, "DOMAIN_BACKUP_GET_XML_DESC", true],
  [424, "DOMAIN_AUTHORIZED_SSH_KEYS_GET", false],
  [425, "DOMAIN_AUTHORIZED_SSH_KEYS_SET", false],
  [431, "NWFILTER_DEFINE_XML_FLAGS", false],
  [439, "DOMAIN_SET_LAUNCH_SECURITY_STATE", false],
  [440, "DOMAIN_SAVE_PARAMS", false],
  [441, "DOMAIN_RESTORE_PARAMS", false],
  [442, "DOMAIN_ABORT_JOB_FLAGS", false],
  [443, "DOMAIN_FD_ASSOCIATE", false],
];

// the slot is a name no driver table has (and no tsvirt code asks a remote driver for)
export const unsupportedProcedures: ProcedureDef[] = UNSUPPORTED.map(([num, name, ro]) =>
  proc(num, name, xvoid, null, { ro, slot: `unsupported:${name}` }),
);
