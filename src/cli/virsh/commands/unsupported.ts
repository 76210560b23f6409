// Commands whose libvirt API tsvirt's public API does not offer (network filters, node memory
// tuning, SEV, network ports): they fail as virsh does against
// a driver without the slot — virsh's own message, then VIR_ERR_NO_SUPPORT naming the libvirt call.
import { ErrorCode, ErrorDomain, virError } from "../../../errors/index.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { type Ctl, lookupNetwork, req } from "../lookup.js";
import { optUInt } from "../options.js";

type H = Handler<Ctl>;

const noSupport = (fn: string) => virError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, fn);

function failing(message: (cmd: Parameters<H>[1]) => string | null, fn: string): H {
  return (_ctl, cmd) => {
    const m = message(cmd);
    if (m === null) throw noSupport(fn);
    throw new CmdFailure(m, noSupport(fn));
  };
}

export const unsupportedHandlers: Record<string, H> = {
  "nwfilter-list": failing(() => "Failed to count network filters", "virConnectNumOfNWFilters"),
  "nwfilter-binding-list": failing(
    () => "Failed to list network filter bindings",
    "virConnectListAllNWFilterBindings",
  ),
  "nwfilter-dumpxml": failing(
    (cmd) => `failed to get nwfilter '${req(cmd, "nwfilter")}'`,
    "virNWFilterLookupByName",
  ),
  "nwfilter-undefine": failing(
    (cmd) => `failed to get nwfilter '${req(cmd, "nwfilter")}'`,
    "virNWFilterLookupByName",
  ),
  "node-memory-tune": (_ctl, cmd) => {
    const given = ["shm-pages-to-scan", "shm-sleep-millisecs", "shm-merge-across-nodes"].filter(
      (o) => optUInt(cmd, o) !== undefined,
    );
    if (given.length > 0)
      throw new CmdFailure("Unable to change memory parameters", noSupport("virNodeSetMemoryParameters"));
    throw new CmdFailure(
      "Unable to get number of memory parameters",
      noSupport("virNodeGetMemoryParameters"),
    );
  },
  nodesevinfo: failing(() => "Unable to get host SEV information", "virNodeGetSEVInfo"),
  "net-port-list": async (ctl, cmd) => {
    await lookupNetwork(ctl, cmd);
    throw noSupport("virNetworkListAllPorts");
  },
};
