// tsvirsh's command set: every group's handler table joined with virsh 9.0's option tables.
import type { GroupDef } from "./command.js";
import { domainHandlers } from "./commands/domain.js";
import { hostHandlers } from "./commands/host.js";
import { monitorHandlers } from "./commands/monitor.js";
import { virshItselfHandlers, virshItselfNoConnect } from "./commands/virsh-itself.js";
import { buildGroups } from "./registry.js";

export { VirshControl } from "./control.js";
export { type MainIO, virshMain } from "./main.js";

export function virshGroups(): GroupDef[] {
  return buildGroups([
    { handlers: virshItselfHandlers, noConnect: virshItselfNoConnect },
    { handlers: hostHandlers },
    { handlers: domainHandlers },
    { handlers: monitorHandlers },
  ]);
}
