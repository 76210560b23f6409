// tsvirsh's command set: every group's handler table joined with virsh 9.0's option tables.
import type { GroupDef } from "./command.js";
import { blockJobHandlers } from "./commands/blockjobs.js";
import { checkpointHandlers } from "./commands/checkpoint.js";
import { consoleHandlers } from "./commands/console.js";
import { cpuAndJobHandlers } from "./commands/cpu-and-jobs.js";
import { domainHandlers } from "./commands/domain.js";
import { domainAttachHandlers } from "./commands/domain-attach.js";
import { domainDeviceHandlers } from "./commands/domain-devices.js";
import { domainExtraHandlers } from "./commands/domain-extras.js";
import { domainGuestHandlers } from "./commands/domain-guest.js";
import { eventHandlers } from "./commands/events.js";
import { gapHandlers } from "./commands/gaps.js";
import { hostHandlers } from "./commands/host.js";
import { hostObjectHandlers } from "./commands/host-objects.js";
import { monitorHandlers } from "./commands/monitor.js";
import { monitorExtraHandlers } from "./commands/monitor-extra.js";
import { networkHandlers } from "./commands/network.js";
import { nodedevHandlers } from "./commands/nodedev.js";
import { poolHandlers } from "./commands/pool.js";
import { qemuCallHandlers } from "./commands/qemu-calls.js";
import { refusalHandlers } from "./commands/refusals.js";
import { snapshotHandlers } from "./commands/snapshot.js";
import { unsupportedHandlers } from "./commands/unsupported.js";
import { virshItselfHandlers, virshItselfNoConnect } from "./commands/virsh-itself.js";
import { volStreamHandlers } from "./commands/vol-stream.js";
import { volumeHandlers } from "./commands/volume.js";
import { buildGroups } from "./registry.js";

export { VirshControl } from "./control.js";
export { type MainIO, virshMain } from "./main.js";

export function virshGroups(): GroupDef[] {
  return buildGroups([
    { handlers: virshItselfHandlers, noConnect: virshItselfNoConnect },
    { handlers: hostHandlers },
    { handlers: domainHandlers },
    { handlers: domainDeviceHandlers },
    { handlers: domainAttachHandlers },
    { handlers: domainGuestHandlers },
    { handlers: monitorHandlers },
    { handlers: monitorExtraHandlers },
    { handlers: snapshotHandlers },
    { handlers: checkpointHandlers },
    { handlers: networkHandlers },
    { handlers: poolHandlers },
    { handlers: volumeHandlers },
    { handlers: volStreamHandlers },
    { handlers: consoleHandlers },
    { handlers: refusalHandlers },
    { handlers: qemuCallHandlers },
    { handlers: blockJobHandlers },
    { handlers: domainExtraHandlers },
    { handlers: cpuAndJobHandlers },
    { handlers: gapHandlers },
    { handlers: hostObjectHandlers },
    { handlers: nodedevHandlers },
    { handlers: eventHandlers },
    { handlers: unsupportedHandlers },
  ]);
}
