// Domain events (tools/virsh-domain-event.c): `event --list`, and waiting for events with
// --event/--all, --loop, --timeout and --timestamp, printed as virsh's callbacks print them.
import type { DomainEvent } from "../../../driver/events.js";
import type { Handler } from "../command.js";
import { CmdFailure } from "../control.js";
import { type Ctl, conn, domainByString } from "../lookup.js";
import { optBool, optInt, optString } from "../options.js";

type H = Handler<Ctl>;

/** virsh 9.0's domain event names, in VIR_DOMAIN_EVENT_ID_* order. */
export const DOMAIN_EVENT_NAMES = [
  "lifecycle",
  "reboot",
  "rtc-change",
  "watchdog",
  "io-error",
  "graphics",
  "io-error-reason",
  "control-error",
  "block-job",
  "disk-change",
  "tray-change",
  "pm-wakeup",
  "pm-suspend",
  "balloon-change",
  "pm-suspend-disk",
  "device-removed",
  "block-job-2",
  "tunable",
  "agent-lifecycle",
  "device-added",
  "migration-iteration",
  "job-completed",
  "device-removal-failed",
  "metadata-change",
  "block-threshold",
  "memory-failure",
  "memory-device-size-change",
];

const LIFECYCLE: [string, string[]][] = [
  ["Defined", ["Added", "Updated", "Renamed", "Snapshot"]],
  ["Undefined", ["Removed", "Renamed"]],
  ["Started", ["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"]],
  [
    "Suspended",
    [
      "Paused",
      "Migrated",
      "I/O Error",
      "Watchdog",
      "Restored",
      "Snapshot",
      "API error",
      "Post-copy",
      "Post-copy Error",
    ],
  ],
  ["Resumed", ["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"]],
  ["Stopped", ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"]],
  ["Shutdown", ["Finished", "Finished after guest request", "Finished after host request"]],
  ["PMSuspended", ["Memory", "Disk"]],
  ["Crashed", ["Panicked", "Crashloaded"]],
];

/** One event line as virsh's virshEventPrint callbacks word it. */
export function eventLine(ev: DomainEvent): string {
  const name = DOMAIN_EVENT_NAMES[ev.eventId] ?? "unknown";
  const dom = ev.dom.name;
  if (ev.eventId === 0) {
    const [word, details] = LIFECYCLE[ev.event ?? -1] ?? ["unknown", []];
    return `event 'lifecycle' for domain '${dom}': ${word} ${details[ev.detail ?? -1] ?? "unknown"}\n`;
  }
  if (ev.eventId === 23) {
    const d = (ev.data ?? {}) as { type?: number; nsuri?: string; uri?: string };
    const type = ["description", "title", "element"][d.type ?? -1] ?? "unknown";
    return `event 'metadata-change' for domain '${dom}': type ${type}, uri ${d.nsuri ?? d.uri ?? "(null)"}\n`;
  }
  return `event '${name}' for domain '${dom}'\n`;
}

function timestamp(): string {
  const d = new Date();
  const p = (x: number, n = 2) => String(x).padStart(n, "0");
  const off = -d.getTimezoneOffset();
  const z = `${off >= 0 ? "+" : "-"}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}${z}: `;
}

const event: H = async (ctl, cmd) => {
  if (optBool(cmd, "list")) {
    for (const n of DOMAIN_EVENT_NAMES) ctl.print(`${n}\n`);
    return true;
  }
  const name = optString(cmd, "event");
  const all = optBool(cmd, "all");
  if (name === undefined && !all) throw new CmdFailure("one of --list, --all, or --event <type> is required");
  let ids: number[];
  if (all) ids = DOMAIN_EVENT_NAMES.map((_, i) => i);
  else {
    const id = DOMAIN_EVENT_NAMES.indexOf(name ?? "");
    if (id < 0) throw new CmdFailure(`unknown event type ${name}`);
    ids = [id];
  }
  const timeout = optInt(cmd, "timeout");
  if (timeout !== undefined && timeout <= 0)
    throw new CmdFailure(`Numeric value '${timeout}' for <timeout> option is malformed or out of range`);
  const loop = optBool(cmd, "loop");
  const stamp = optBool(cmd, "timestamp");
  const domName = optString(cmd, "domain");
  const c = conn(ctl);
  const dom = domName !== undefined ? await domainByString(ctl, domName) : null;
  let count = 0;
  let finish: (why: "done" | "timeout") => void = () => {};
  const done = new Promise<"done" | "timeout">((res) => {
    finish = res;
  });
  const cbIds: number[] = [];
  for (const id of ids) {
    try {
      cbIds.push(
        await c.domainEventRegisterAny(
          id,
          (_d, ev) => {
            ctl.print((stamp ? timestamp() : "") + eventLine(ev));
            count++;
            if (!loop) finish("done");
          },
          dom,
        ),
      );
    } catch (e) {
      for (const cb of cbIds) await c.domainEventDeregisterAny(cb).catch(() => {});
      throw e;
    }
  }
  const timer = timeout !== undefined ? setTimeout(() => finish("timeout"), timeout * 1000) : undefined;
  const why = await done;
  if (timer) clearTimeout(timer);
  for (const cb of cbIds) await c.domainEventDeregisterAny(cb).catch(() => {});
  if (why === "timeout") ctl.print("event loop timed out\n");
  ctl.print(`events received: ${count}\n`);
  return count > 0;
};

export const eventHandlers: Record<string, H> = { event };
