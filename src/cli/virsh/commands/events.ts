// Events (tools/virsh-domain-event.c, net-event, pool-event, nodedev-event, secret-event): --list,
// and waiting with --event/--all, --loop, --timeout, --timestamp, printed as virsh's callbacks do.
import type { DomainEvent } from "../../../driver/events.js";
import type { Handler, ParsedCmd } from "../command.js";
import { CmdFailure } from "../control.js";
import { type Ctl, conn, domainByString, lookupNetwork, poolByString } from "../lookup.js";
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

interface EventSource {
  names: string[];
  /** Registers for event `id`; `print` receives each formatted line. */
  register(ctl: Ctl, id: number, print: (line: string) => void): Promise<number>;
  deregister(ctl: Ctl, cbId: number): Promise<void>;
}

/** vshEventStart/vshEventWait: one-shot unless --loop; timeout prints and fails (no events). */
async function waitEvents(ctl: Ctl, cmd: ParsedCmd, src: EventSource, ids: number[]): Promise<boolean> {
  const timeout = optInt(cmd, "timeout");
  if (timeout !== undefined && timeout <= 0)
    throw new CmdFailure(`Numeric value '${timeout}' for <timeout> option is malformed or out of range`);
  const loop = optBool(cmd, "loop");
  const stamp = optBool(cmd, "timestamp");
  let count = 0;
  let finish: (why: "done" | "timeout") => void = () => {};
  const done = new Promise<"done" | "timeout">((res) => {
    finish = res;
  });
  const cbIds: number[] = [];
  try {
    for (const id of ids) {
      cbIds.push(
        await src.register(ctl, id, (line) => {
          ctl.print((stamp ? timestamp() : "") + line);
          count++;
          if (!loop) finish("done");
        }),
      );
    }
  } catch (e) {
    for (const cb of cbIds) await src.deregister(ctl, cb).catch(() => {});
    throw e;
  }
  const timer = timeout !== undefined ? setTimeout(() => finish("timeout"), timeout * 1000) : undefined;
  const why = await done;
  if (timer) clearTimeout(timer);
  for (const cb of cbIds) await src.deregister(ctl, cb).catch(() => {});
  if (why === "timeout") ctl.print("event loop timed out\n");
  ctl.print(`events received: ${count}\n`);
  return count > 0;
}

/** net-event, pool-event, nodedev-event, secret-event: --list, or --event NAME required. */
function objectEvent(src: EventSource): H {
  return async (ctl, cmd) => {
    if (optBool(cmd, "list")) {
      for (const n of src.names) ctl.print(`${n}\n`);
      return true;
    }
    const name = optString(cmd, "event");
    if (name === undefined) throw new CmdFailure("either --list or --event <type> is required");
    const id = src.names.indexOf(name);
    if (id < 0) throw new CmdFailure(`unknown event type ${name}`);
    return waitEvents(ctl, cmd, src, [id]);
  };
}

const word = (table: string[], i: number | undefined) => table[i ?? -1] ?? "unknown";

const netSource = (cmd: ParsedCmd): EventSource => ({
  names: ["lifecycle"],
  async register(ctl, id, print) {
    const n = optString(cmd, "network");
    const net = n !== undefined ? await lookupNetwork(ctl, cmd) : null;
    return conn(ctl).networkEventRegisterAny(
      id,
      (_n, ev) =>
        print(
          `event 'lifecycle' for network ${ev.net.name}: ${word(["Defined", "Undefined", "Started", "Stopped"], ev.event)}\n`,
        ),
      net,
    );
  },
  deregister: (ctl, cb) => conn(ctl).networkEventDeregisterAny(cb),
});

const POOL_WORDS = ["Defined", "Undefined", "Started", "Stopped", "Created", "Deleted"];
const poolSource = (cmd: ParsedCmd): EventSource => ({
  names: ["lifecycle", "refresh"],
  async register(ctl, id, print) {
    const p = optString(cmd, "pool");
    const pool = p !== undefined ? await poolByString(ctl, p) : null;
    return conn(ctl).storagePoolEventRegisterAny(
      id,
      (_p, ev) =>
        print(
          id === 0
            ? `event 'lifecycle' for storage pool ${ev.pool.name}: ${word(POOL_WORDS, ev.event)}\n`
            : `event 'refresh' for storage pool ${ev.pool.name}\n`,
        ),
      pool,
    );
  },
  deregister: (ctl, cb) => conn(ctl).storagePoolEventDeregisterAny(cb),
});

const nodedevSource = (cmd: ParsedCmd): EventSource => ({
  names: ["lifecycle", "update"],
  async register(ctl, id, print) {
    const d = optString(cmd, "device");
    const dev = d !== undefined ? await conn(ctl).nodeDeviceLookupByName(d) : null;
    return conn(ctl).nodeDeviceEventRegisterAny(
      id,
      (_d, ev) =>
        print(
          id === 0
            ? `event 'lifecycle' for node device ${ev.dev.name}: ${word(["Created", "Deleted", "Defined", "Undefined"], ev.event)}\n`
            : `event 'update' for node device ${ev.dev.name}\n`,
        ),
      dev,
    );
  },
  deregister: (ctl, cb) => conn(ctl).nodeDeviceEventDeregisterAny(cb),
});

const secretSource = (cmd: ParsedCmd): EventSource => ({
  names: ["lifecycle", "value-changed"],
  async register(ctl, id, print) {
    const u = optString(cmd, "secret");
    const sec = u !== undefined ? await conn(ctl).secretLookupByUUID(u) : null;
    return conn(ctl).secretEventRegisterAny(
      id,
      (_s, ev) =>
        print(
          id === 0
            ? `event 'lifecycle' for secret ${ev.secret.uuid}: ${word(["Defined", "Undefined"], ev.event)}\n`
            : `event 'value-changed' for secret ${ev.secret.uuid}\n`,
        ),
      sec,
    );
  },
  deregister: (ctl, cb) => conn(ctl).secretEventDeregisterAny(cb),
});

const domainSource = (cmd: ParsedCmd): EventSource => ({
  names: DOMAIN_EVENT_NAMES,
  async register(ctl, id, print) {
    const d = optString(cmd, "domain");
    const dom = d !== undefined ? await domainByString(ctl, d) : null;
    return conn(ctl).domainEventRegisterAny(id, (_d, ev) => print(eventLine(ev)), dom);
  },
  deregister: (ctl, cb) => conn(ctl).domainEventDeregisterAny(cb),
});

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
  return waitEvents(ctl, cmd, domainSource(cmd), ids);
};

export const eventHandlers: Record<string, H> = {
  event,
  "net-event": (ctl, cmd) => objectEvent(netSource(cmd))(ctl, cmd),
  "pool-event": (ctl, cmd) => objectEvent(poolSource(cmd))(ctl, cmd),
  "nodedev-event": (ctl, cmd) => objectEvent(nodedevSource(cmd))(ctl, cmd),
  "secret-event": (ctl, cmd) => objectEvent(secretSource(cmd))(ctl, cmd),
};
