// Smaller operations of the QEMU driver, each as libvirt 9.0's (the qemu_driver.c function is
// named per slot): NMI injection, disk resize and write threshold, dirty-rate measurement, the
// balloon's statistics period, lifecycle actions, perf events, rename, core dumps
// (domain-dump.ts), block job queries. Loaded with their first call (lazy-slots.ts).
import type { DiskDef, DomainDef } from "../../conf/domain/index.js";
import { PERF_EVENTS } from "../../conf/domain/perf-events.js";
import type { MemballoonDef } from "../../conf/domain/types.js";
import type { HypervisorDriver } from "../../driver/index.js";
import {
  VIR_DOMAIN_AFFECT,
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_TYPED_PARAM,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { attr, el, elements } from "../../xml/index.js";
import {
  checkFlags,
  isActive,
  modificationImpact,
  notRunning,
  persistentDef,
  type QemuDomain,
} from "./domain-obj.js";
import { oneDef } from "./driver-info.js";
import type { QemuDriverState } from "./driver-state.js";
import { coreDump } from "./domain-dump.js";
import { hasManagedSave } from "./domain-save.js";
import { diskByName, running } from "./domain-stats.js";
import { formatNodeNames } from "./hotplug-disk.js";
import { snapshotsOf } from "./snapshot-store.js";

const AFFECT = VIR_DOMAIN_AFFECT.LIVE | VIR_DOMAIN_AFFECT.CONFIG;
/** VIR_TYPED_PARAM_STRING_OKAY. */
const STRING_OKAY = 1 << 2;
/** virDomainLifecycleAction names by value. */
const LIFECYCLE_ACTIONS = [
  "destroy",
  "restart",
  "rename-restart",
  "preserve",
  "coredump-destroy",
  "coredump-restart",
];
/** VIR_DOMAIN_BLOCK_RESIZE_BYTES. */
const RESIZE_BYTES = 1;
/** MIN/MAX_DIRTYRATE_CALC_PERIOD (qemu_driver.c). */
const DIRTYRATE_MIN = 1;
const DIRTYRATE_MAX = 60;
/** QEMU's balloon device id (command-devices.ts). */
const BALLOON_PATH = "/machine/peripheral/balloon0";

/** The disk's top format node QEMU has (query-block), or why not. */
async function formatNode(d: QemuDomain, disk: DiskDef): Promise<string> {
  const node = (await formatNodeNames(d)).get(disk);
  if (!node) {
    throw virError(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.QEMU,
      `block device '${disk.target.dev}' is not active`,
    );
  }
  return node;
}

export function qemuOpsSlots(st: QemuDriverState): Partial<HypervisorDriver> {
  const job = <T>(d: QemuDomain, fn: () => Promise<T>) => st.jobs.run(d.uuid, fn);
  return {
    // qemuDomainInjectNMI
    async domainInjectNMI(ref, flags) {
      checkFlags(flags, 0, "qemuDomainInjectNMI");
      const d = st.byRef(ref);
      await job(d, async () => {
        await running(d).monitor.execute("inject-nmi");
      });
    },
    // qemuDomainBlockResize: KiB unless BYTES; a raw image grows to a multiple of 512
    async domainBlockResize(ref, disk, size, flags) {
      checkFlags(flags, RESIZE_BYTES, "qemuDomainBlockResize");
      const d = st.byRef(ref);
      let bytes = BigInt(size);
      if ((flags & RESIZE_BYTES) === 0) {
        if (bytes > BigInt(Number.MAX_SAFE_INTEGER) / 1024n) {
          throw virError(
            ErrorCode.OVERFLOW,
            ErrorDomain.QEMU,
            `size must be less than ${BigInt(Number.MAX_SAFE_INTEGER) / 1024n}`,
          );
        }
        bytes *= 1024n;
      }
      await job(d, async () => {
        const proc = running(d);
        const found = diskByName(d.def, disk);
        if (!found) {
          throw virError(
            ErrorCode.INVALID_ARG,
            ErrorDomain.QEMU,
            `disk '${disk}' was not found in the domain config`,
          );
        }
        if (found.readonly || !found.source || found.source.attrs.length === 0) {
          throw virError(
            ErrorCode.OPERATION_UNSUPPORTED,
            ErrorDomain.QEMU,
            `can't resize empty or readonly disk '${found.target.dev}'`,
          );
        }
        const format = found.driver ? attr(found.driver, "type") : undefined;
        if (format === "raw" || format === undefined) bytes = ((bytes + 511n) / 512n) * 512n;
        await proc.monitor.execute("block_resize", {
          "node-name": await formatNode(d, found),
          size: Number(bytes),
        });
      });
    },
    // qemuDomainSetBlockThreshold: on the image's storage (protocol) node
    async domainSetBlockThreshold(ref, dev, threshold, flags) {
      checkFlags(flags, 0, "qemuDomainSetBlockThreshold");
      const d = st.byRef(ref);
      await job(d, async () => {
        const proc = running(d);
        const found = diskByName(d.def, dev);
        if (!found) throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `failed to find disk '${dev}'`);
        const node = (await formatNode(d, found)).replace(/-format$/, "-storage");
        await proc.monitor.execute("block-set-write-threshold", {
          "node-name": node,
          "write-threshold": Number(threshold),
        });
      });
    },
    // qemuDomainStartDirtyRateCalc
    async domainStartDirtyRateCalc(ref, seconds, flags) {
      // VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING 0, DIRTY_BITMAP 1, DIRTY_RING 2
      checkFlags(flags, 1 | 2, "qemuDomainStartDirtyRateCalc");
      const d = st.byRef(ref);
      if (seconds < DIRTYRATE_MIN || seconds > DIRTYRATE_MAX) {
        throw virError(
          ErrorCode.CONFIG_UNSUPPORTED,
          ErrorDomain.QEMU,
          `seconds=${seconds} is invalid, please choose value within [${DIRTYRATE_MIN}, ${DIRTYRATE_MAX}].`,
        );
      }
      if ((flags & 3) === 3) {
        throw virError(
          ErrorCode.INVALID_ARG,
          ErrorDomain.QEMU,
          "Flags 'VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_BITMAP' and 'VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_RING' are mutually exclusive",
        );
      }
      await job(d, async () => {
        const proc = running(d);
        if (flags & 2 && d.def.type !== "kvm") {
          throw virError(
            ErrorCode.OPERATION_UNSUPPORTED,
            ErrorDomain.QEMU,
            "dirty-ring calculation mode requires dirty-ring feature enabled.",
          );
        }
        const args: Record<string, unknown> = { "calc-time": seconds };
        if (flags & 1) args.mode = "dirty-bitmap";
        else if (flags & 2) args.mode = "dirty-ring";
        await proc.monitor.execute("calc-dirty-rate", args);
      });
    },
    // qemuDomainSetMemoryStatsPeriod: the balloon's guest-stats-polling-interval, and <stats period>
    async domainSetMemoryStatsPeriod(ref, period, flags) {
      checkFlags(flags, AFFECT, "qemuDomainSetMemoryStatsPeriod");
      const d = st.byRef(ref);
      await job(d, async () => {
        const { live, config } = modificationImpact(d, flags);
        if (period < 0) {
          throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, "invalid value for collection period");
        }
        const noBalloon = () =>
          virError(
            ErrorCode.OPERATION_INVALID,
            ErrorDomain.QEMU,
            "No memory balloon device configured, can not set the collection period",
          );
        if (live) {
          const b = d.def.devices.memballoon;
          if (!b || b.model === "none") throw noBalloon();
          await running(d).monitor.execute("qom-set", {
            path: BALLOON_PATH,
            property: "guest-stats-polling-interval",
            value: period,
          });
          setStatsPeriod(b, period);
        }
        if (config) {
          const b = persistentDef(d).devices.memballoon;
          if (!b || b.model === "none") throw noBalloon();
          setStatsPeriod(b, period);
          await st.saveConfig(d);
        }
      });
    },
    // qemuDomainSetLifecycleAction: the running guest's actions are read when its events come
    // (domain-lifecycle.ts), so the live definition's value is all there is to change
    async domainSetLifecycleAction(ref, type, action, flags) {
      checkFlags(flags, AFFECT, "qemuDomainSetLifecycleAction");
      const name = LIFECYCLE_ACTIONS[action] ?? String(action);
      // virDomainDefLifecycleActionAllowed: only a crash may dump core
      if (type !== 2 && name.startsWith("coredump-")) {
        throw virError(
          ErrorCode.CONFIG_UNSUPPORTED,
          ErrorDomain.DOMAIN,
          `Lifecycle event '${type === 0 ? "poweroff" : "reboot"}' doesn't support '${name}' action`,
        );
      }
      const d = st.byRef(ref);
      await job(d, async () => {
        const { live, config } = modificationImpact(d, flags);
        for (const def of [live && d.def, config && persistentDef(d)]) {
          if (!def) continue;
          const next = { onPoweroff: def.onPoweroff, onReboot: def.onReboot, onCrash: def.onCrash };
          next[(["onPoweroff", "onReboot", "onCrash"] as const)[type] ?? "onCrash"] = name;
          checkLifecycleActions(next.onPoweroff, next.onReboot, next.onCrash);
        }
        const set = (def: DomainDef) => {
          if (type === 0) def.onPoweroff = name;
          else if (type === 1) def.onReboot = name;
          else def.onCrash = name;
        };
        if (live) set(d.def);
        if (config) {
          set(persistentDef(d));
          await st.saveConfig(d);
        }
      });
    },
    // qemuDomainGetPerfEvents: the <perf> events of the definition (none is enabled here)
    async domainGetPerfEvents(ref, flags) {
      checkFlags(flags, AFFECT | STRING_OKAY, "qemuDomainGetPerfEvents");
      const perf = oneDef(st.byRef(ref), flags).extra.perf?.[0];
      const on = (name: string) =>
        perf !== undefined &&
        elements(perf).some((e) => attr(e, "name") === name && attr(e, "enabled") === "yes");
      return PERF_EVENTS.map((field) => ({ field, type: VIR_TYPED_PARAM.BOOLEAN, value: on(field) }));
    },
    // qemuDomainRename: a shut-off persistent domain without saved state or snapshots; its config
    // moves to the new name (and its autostart mark), then UNDEFINED/DEFINED "renamed" events
    async domainRename(ref, newName, flags) {
      checkFlags(flags, 0, "qemuDomainRename");
      const d = st.byRef(ref);
      await job(d, async () => {
        const refuse = (m: string) => virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, m);
        if (isActive(d)) throw refuse("cannot rename active domain");
        if (!d.persistent) throw refuse("cannot rename a transient domain");
        if (hasManagedSave(st, d)) throw refuse("domain with a managed saved state can't be renamed");
        if (snapshotsOf(d).list(undefined, 0).length > 0) throw refuse("cannot rename domain with snapshots");
        const other = st.domains.byName(newName);
        if (other) {
          throw virError(
            ErrorCode.OPERATION_INVALID,
            ErrorDomain.DOMAIN,
            other === d ? "Can't rename domain to itself" : `domain with name '${newName}' already exists`,
          );
        }
        const oldName = d.name;
        const autostart = d.autostart;
        st.domains.rename(d, newName);
        d.def.name = newName;
        try {
          await st.saveConfig(d);
          if (autostart) await st.store.setAutostart(newName, true);
        } catch (e) {
          st.domains.rename(d, oldName);
          d.def.name = oldName;
          throw e;
        }
        if (autostart) await st.store.setAutostart(oldName, false);
        await st.store.remove(oldName);
        st.lifecycle({ ...d, name: oldName }, VIR_DOMAIN_EVENT.UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED.RENAMED);
        st.lifecycle(d, VIR_DOMAIN_EVENT.DEFINED, VIR_DOMAIN_EVENT_DEFINED.RENAMED);
      });
    },
    // qemuDomainCoreDump / qemuDomainCoreDumpWithFormat (domain-dump.ts)
    async domainCoreDump(ref, to, flags) {
      const d = st.byRef(ref);
      await job(d, () => coreDump(st, d, to, 0, flags));
    },
    async domainCoreDumpWithFormat(ref, to, dumpformat, flags) {
      const d = st.byRef(ref);
      await job(d, () => coreDump(st, d, to, dumpformat, flags));
    },
    // qemuDomainGetBlockJobInfo: block jobs are not run here, so none is found
    async domainGetBlockJobInfo(ref, path, flags) {
      // VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES
      checkFlags(flags, 1, "qemuDomainGetBlockJobInfo");
      const d = st.byRef(ref);
      if (!isActive(d)) throw notRunning();
      if (!diskByName(d.def, path)) {
        throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `disk '${path}' not found in domain`);
      }
      return { found: 0, type: 0, bandwidth: 0, cur: 0, end: 0 };
    },
  };
}

/** qemuValidateLifecycleAction: what the QEMU driver refuses in a definition's actions. */
function checkLifecycleActions(onPoweroff: string, onReboot: string, onCrash: string): void {
  const no = (m: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, m);
  if (onPoweroff === "preserve" || onReboot === "preserve") {
    throw no("qemu driver doesn't support the 'preserve' action for 'on_reboot'/'on_poweroff'");
  }
  if ([onPoweroff, onReboot, onCrash].includes("rename-restart")) {
    throw no(
      "qemu driver doesn't support the 'rename-restart' action for 'on_reboot'/'on_poweroff'/'on_crash'",
    );
  }
  if (onReboot === "destroy" && onPoweroff === "restart") {
    throw no("qemu driver doesn't support 'onReboot' set to 'destroy and 'onPoweroff' set to 'reboot'");
  }
}

/** <memballoon><stats period='N'/>: period 0 drops the element, as libvirt formats it. */
function setStatsPeriod(b: MemballoonDef, period: number): void {
  b.children = b.children.filter((c) => c.name !== "stats");
  if (period > 0) b.children.unshift(el("stats", { period: String(period) }));
}
