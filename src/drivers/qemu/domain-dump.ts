// virDomainCoreDump(WithFormat) for the QEMU driver, as libvirt 9.0's qemuDomainCoreDumpWithFormat:
// a memory-only dump is QEMU's dump-guest-memory (ELF or a kdump/win-dmp format); a full dump is
// QEMU's migration stream written to the file. The guest is paused for the dump unless LIVE, then
// resumed, destroyed (CRASH: shut off "crashed") or reset (RESET).
import { createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_STATE,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, VirError, virError } from "../../errors/index.js";
import { strerror } from "../../util/strerror.js";
import { setState } from "./domain-lifecycle.js";
import { checkFlags, notRunning, type QemuDomain } from "./domain-obj.js";
import { migrationSocket, waitMigration } from "./domain-save.js";
import type { QemuDriverState } from "./driver-state.js";
import { QmpCommandError } from "./monitor/qmp-errors.js";

/** virDomainCoreDumpFlags. */
export const VIR_DUMP = { CRASH: 1, LIVE: 2, BYPASS_CACHE: 4, RESET: 8, MEMORY_ONLY: 16 } as const;

/** virDomainCoreDumpFormat → dump-guest-memory's format (RAW is ELF). */
const FORMATS = ["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy", "win-dmp"];

function exclusive(a: string, b: string): VirError {
  // VIR_EXCLUSIVE_FLAGS_RET: virReportInvalidArg's bare text
  return new VirError({
    code: ErrorCode.INVALID_ARG,
    domain: ErrorDomain.QEMU,
    message: `Flags '${a}' and '${b}' are mutually exclusive`,
  });
}

export async function coreDump(
  st: QemuDriverState,
  d: QemuDomain,
  to: string,
  format: number,
  flags: number,
): Promise<void> {
  const { CRASH, LIVE, BYPASS_CACHE, RESET, MEMORY_ONLY } = VIR_DUMP;
  checkFlags(flags, CRASH | LIVE | BYPASS_CACHE | RESET | MEMORY_ONLY, "qemuDomainCoreDumpWithFormat");
  if (flags & LIVE && flags & CRASH) throw exclusive("VIR_DUMP_LIVE", "VIR_DUMP_CRASH");
  if (flags & CRASH && flags & RESET) throw exclusive("VIR_DUMP_CRASH", "VIR_DUMP_RESET");
  const proc = d.proc;
  if (!proc || d.state === VIR_DOMAIN_STATE.SHUTOFF) throw notRunning();
  const mon = proc.monitor;
  const memoryOnly = (flags & MEMORY_ONLY) !== 0;
  const fmt = FORMATS[format];
  if (fmt === undefined) {
    throw virError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `unknown dumpformat '${format}'`);
  }
  if (!memoryOnly && format !== 0) {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.QEMU,
      "kdump-compressed format is only supported with memory-only dump",
    );
  }
  if (memoryOnly) {
    const caps = await mon.execute<{ formats?: string[] }>("query-dump-guest-memory-capability");
    if (!caps.formats?.includes(fmt)) {
      throw virError(
        ErrorCode.INVALID_ARG,
        ErrorDomain.QEMU,
        `unsupported dumpformat '${fmt}' for this QEMU binary`,
      );
    }
  }
  // libvirt creates the file itself (0600) and hands QEMU the descriptor; QEMU opens it by path here
  try {
    await (await open(to, "w", 0o600)).close();
  } catch (e) {
    throw virError(
      ErrorCode.SYSTEM_ERROR,
      ErrorDomain.QEMU,
      `Failed to create file '${to}': ${strerror(e)}`,
    );
  }
  const paused = (flags & LIVE) === 0 && d.state === VIR_DOMAIN_STATE.RUNNING;
  if (paused) {
    d.userOp = true;
    try {
      await mon.execute("stop");
    } finally {
      d.userOp = false;
    }
    setState(d, VIR_DOMAIN_STATE.PAUSED, VIR_DOMAIN_PAUSED.DUMP);
    st.lifecycle(d, VIR_DOMAIN_EVENT.SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED.PAUSED);
  }
  try {
    if (memoryOnly) {
      await mon
        .execute("dump-guest-memory", { paging: false, protocol: `file:${to}`, format: fmt }, 0)
        .catch((e: unknown) => {
          // libvirt runs it detached and reports the DUMP_COMPLETED event's error
          if (!(e instanceof QmpCommandError)) throw e;
          throw virError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `memory-only dump failed: ${e.desc}`);
        });
    } else {
      let written!: Promise<void>;
      const sock = migrationSocket(st, d, (c) => {
        const out = createWriteStream(to, { flags: "r+" });
        written = new Promise((res, rej) => {
          out.on("finish", () => res());
          out.on("error", rej);
        });
        c.pipe(out);
      });
      try {
        await sock.listening;
        await mon.execute("migrate", { uri: `unix:${sock.path}` });
        await waitMigration(mon);
        await written;
      } finally {
        sock.close();
      }
    }
  } finally {
    if (paused && (flags & CRASH) === 0 && d.proc === proc) {
      d.userOp = true;
      try {
        await mon.execute("cont");
      } finally {
        d.userOp = false;
      }
      setState(d, VIR_DOMAIN_STATE.RUNNING, VIR_DOMAIN_RUNNING.UNPAUSED);
      st.lifecycle(d, VIR_DOMAIN_EVENT.RESUMED, VIR_DOMAIN_EVENT_RESUMED.UNPAUSED);
    }
  }
  if (flags & CRASH) {
    d.stopping = { reason: VIR_DOMAIN_SHUTOFF.CRASHED, detail: VIR_DOMAIN_EVENT_STOPPED.CRASHED };
    await proc.destroy(1000);
  } else if (flags & RESET) {
    await mon.execute("system_reset");
  }
}
