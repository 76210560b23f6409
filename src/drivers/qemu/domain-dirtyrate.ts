// virDomainStartDirtyRateCalc for QEMU (qemuDomainStartDirtyRateCalc): QMP calc-dirty-rate over
// the given seconds; virsh domstats --dirtyrate then reads the result (query-dirty-rate).
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr } from "../../xml/index.js";
import { elementChildren } from "./command-util.js";
import { checkFlags, isActive, notRunning, type QemuDomain } from "./domain-obj.js";

/** virDomainDirtyRateCalcFlags (page sampling is 0). */
const MODE_DIRTY_BITMAP = 1 << 0;
const MODE_DIRTY_RING = 1 << 1;
/** MIN_/MAX_DIRTYRATE_CALC_PERIOD. */
const MIN_PERIOD = 1;
const MAX_PERIOD = 60;

/** `<features><kvm><dirty-ring state='on'/></kvm></features>`. */
function dirtyRingOn(d: QemuDomain): boolean {
  const kvm = elementChildren(d.def.features).find((e) => e.name === "kvm");
  if (!kvm || (attr(kvm, "state") ?? "on") !== "on") return false;
  const ring = elementChildren(kvm).find((e) => e.name === "dirty-ring");
  return ring !== undefined && attr(ring, "state") === "on";
}

export async function startDirtyRateCalc(d: QemuDomain, seconds: number, flags: number): Promise<void> {
  checkFlags(flags, MODE_DIRTY_BITMAP | MODE_DIRTY_RING, "qemuDomainStartDirtyRateCalc");
  if (seconds < MIN_PERIOD || seconds > MAX_PERIOD) {
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      ErrorDomain.QEMU,
      `seconds=${seconds} is invalid, please choose value within [${MIN_PERIOD}, ${MAX_PERIOD}].`,
    );
  }
  if (!isActive(d) || !d.proc) throw notRunning();
  let mode: string | undefined;
  if (flags & MODE_DIRTY_BITMAP) mode = "dirty-bitmap";
  else if (flags & MODE_DIRTY_RING) {
    if (!dirtyRingOn(d)) {
      throw virError(
        ErrorCode.OPERATION_UNSUPPORTED,
        ErrorDomain.QEMU,
        "dirty-ring calculation mode requires dirty-ring feature enabled.",
      );
    }
    mode = "dirty-ring";
  }
  await d.proc.monitor.execute(
    "calc-dirty-rate",
    mode ? { "calc-time": seconds, mode } : { "calc-time": seconds },
  );
}
