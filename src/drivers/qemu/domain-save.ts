// virsh save / restore / managedsave for QEMU domains: pause, QEMU's migration stream over a
// unix socket into a file behind libvirt's save header; restore starts QEMU with -incoming defer.
import { createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { cloneDomainDef, formatDomainXML } from "../../conf/domain/index.js";
import {
  VIR_DOMAIN_EVENT,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SAVE,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_STATE,
} from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { newQemuDomain, notRunning, type QemuDomain } from "./domain-obj.js";
import { setState, startDomain } from "./domain-lifecycle.js";
import type { QemuDriverState } from "./driver-state.js";
import type { QmpClient } from "./monitor/qmp-client.js";
import {
  decodeSaveHeader,
  decodeSaveHeaderFixed,
  encodeSaveHeader,
  SAVE_HEADER_SIZE,
  type SaveHeader,
} from "./save-image.js";
import { managedSavePath } from "./managed-save.js";

export { hasManagedSave, managedSavePath } from "./managed-save.js";

function sysFail(what: string, e: unknown): Error {
  return virError(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `${what}: ${(e as Error).message}`);
}

/** Polls query-migrate until the migration ends (libvirt waits on MIGRATION events; same end). */
export async function waitMigration(mon: QmpClient, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await mon.execute<{ status?: string; "error-desc"?: string }>("query-migrate");
    if (r.status === "completed") return;
    if (r.status === "failed" || r.status === "cancelled") {
      throw virError(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.QEMU,
        `migration failed: ${r["error-desc"] ?? r.status}`,
      );
    }
    if (Date.now() > deadline)
      throw virError(
        ErrorCode.OPERATION_TIMEOUT,
        ErrorDomain.QEMU,
        `migration timed out (${JSON.stringify(r)})`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The incoming side: QEMU's run state is "inmigrate" until the stream is loaded (then paused,
 * as with -S); a stream it cannot load makes QEMU exit, which fails the monitor call.
 */
async function waitIncoming(mon: QmpClient, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await mon.execute<{ status: string }>("query-status");
    if (r.status !== "inmigrate") return;
    if (Date.now() > deadline)
      throw virError(ErrorCode.OPERATION_TIMEOUT, ErrorDomain.QEMU, "restore timed out loading the image");
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** A unix socket in the run dir that accepts QEMU's one migration connection. */
export function migrationSocket(st: QemuDriverState, d: QemuDomain, onConn: (c: net.Socket) => void) {
  const path = join(st.opts.runDir, "qemu", `${d.name}.mig`);
  rmSync(path, { force: true });
  const server = net.createServer((c) => {
    server.close();
    onConn(c);
  });
  const listening = new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(path, () => res());
  });
  return {
    path,
    listening,
    close: () => {
      server.close();
      rmSync(path, { force: true });
    },
  };
}

/** virDomainSave: the guest's state goes to `file`, then QEMU is stopped (reason saved). */
export async function saveDomain(
  st: QemuDriverState,
  d: QemuDomain,
  file: string,
  flags: number,
): Promise<void> {
  const proc = d.proc;
  if (!proc) throw notRunning();
  const mon = proc.monitor;
  const wasRunning = d.state === VIR_DOMAIN_STATE.RUNNING;
  const runAfter =
    (flags & VIR_DOMAIN_SAVE.RUNNING) !== 0
      ? true
      : (flags & VIR_DOMAIN_SAVE.PAUSED) !== 0
        ? false
        : wasRunning;
  const xml = formatDomainXML(cloneDomainDef(d.def), { securityInfo: true });
  let header: Buffer;
  try {
    header = encodeSaveHeader(xml, runAfter, true);
    const fh = await open(file, "w", 0o600);
    await fh.write(header, 0, header.length, 0);
    await fh.close();
  } catch (e) {
    throw sysFail(`Failed to create file '${file}'`, e);
  }
  let written!: Promise<void>;
  const sock = migrationSocket(st, d, (c) => {
    const out = createWriteStream(file, { flags: "r+", start: header.length });
    written = new Promise((res, rej) => {
      out.on("finish", () => res());
      out.on("error", rej);
    });
    c.pipe(out);
  });
  try {
    if (wasRunning) {
      d.userOp = true;
      try {
        await mon.execute("stop");
      } finally {
        d.userOp = false;
      }
      setState(d, VIR_DOMAIN_STATE.PAUSED, VIR_DOMAIN_PAUSED.SAVE);
    }
    await sock.listening;
    await mon.execute("migrate", { uri: `unix:${sock.path}` });
    await waitMigration(mon);
    await written;
    // Only a complete image gets the real magic (libvirt: QEMU_SAVE_PARTIAL until done).
    const fh = await open(file, "r+");
    await fh.write(encodeSaveHeader(xml, runAfter), 0, 16, 0);
    await fh.sync();
    await fh.close();
  } catch (e) {
    rmSync(file, { force: true });
    if (wasRunning) {
      await mon.execute("cont").catch(() => {});
      setState(d, VIR_DOMAIN_STATE.RUNNING, VIR_DOMAIN_RUNNING.SAVE_CANCELED);
    }
    throw e;
  } finally {
    sock.close();
  }
  d.stopping = { reason: VIR_DOMAIN_SHUTOFF.SAVED, detail: VIR_DOMAIN_EVENT_STOPPED.SAVED };
  await proc.destroy(1000);
}

/** Reads the header and XML of a save image (untrusted file: sizes checked before reading on). */
export async function readSaveHeader(file: string): Promise<SaveHeader> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, "r");
  } catch (e) {
    throw sysFail(`Failed to open domain image file '${file}'`, e);
  }
  try {
    const fixed = Buffer.alloc(SAVE_HEADER_SIZE);
    await fh.read(fixed, 0, fixed.length, 0);
    const { dataLen } = decodeSaveHeaderFixed(fixed);
    const all = Buffer.alloc(SAVE_HEADER_SIZE + dataLen);
    await fh.read(all, 0, all.length, 0);
    return decodeSaveHeader(all);
  } finally {
    await fh.close();
  }
}

/** virDomainRestore (and start from a managed save): QEMU is fed the image's migration stream. */
export async function restoreDomain(
  st: QemuDriverState,
  file: string,
  flags: number,
  into?: QemuDomain,
): Promise<QemuDomain> {
  const h = await readSaveHeader(file);
  const { def } = await st.parse(h.xml);
  let d = into ?? st.domains.byUuid(def.uuid) ?? st.domains.byName(def.name);
  if (d && d.id >= 0) {
    throw virError(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, `domain '${d.name}' is already active`);
  }
  const added = !d;
  if (!d) {
    d = newQemuDomain(def);
    st.domains.add(d);
  }
  const dom = d;
  // For incoming migration QEMU listens on the URI's socket; we connect and send the stream.
  const path = join(st.opts.runDir, "qemu", `${dom.name}.mig`);
  rmSync(path, { force: true });
  try {
    await startDomain(st, dom, true, { xml: h.xml, extraArgs: ["-incoming", "defer"] });
    const mon = dom.proc!.monitor;
    await mon.execute("migrate-incoming", { uri: `unix:${path}` });
    const fh = await open(file, "r");
    const fed = new Promise<void>((res, rej) => {
      const c = net.createConnection({ path });
      c.once("error", rej);
      c.once("connect", () => {
        const rs = fh.createReadStream({ start: h.dataOffset });
        rs.once("error", rej);
        rs.pipe(c);
        c.once("finish", () => res());
      });
    });
    await Promise.all([fed, waitIncoming(mon)]).finally(() => fh.close());
  } catch (e) {
    if (dom.proc) {
      dom.stopping = { reason: VIR_DOMAIN_SHUTOFF.FAILED, detail: VIR_DOMAIN_EVENT_STOPPED.FAILED };
      await dom.proc.destroy(1000).catch(() => {});
    }
    if (added) st.domains.remove(dom);
    throw e;
  } finally {
    rmSync(path, { force: true });
  }
  const run =
    (flags & VIR_DOMAIN_SAVE.RUNNING) !== 0
      ? true
      : (flags & VIR_DOMAIN_SAVE.PAUSED) !== 0
        ? false
        : h.wasRunning;
  if (run) {
    dom.userOp = true;
    try {
      await dom.proc!.monitor.execute("cont");
    } finally {
      dom.userOp = false;
    }
    setState(dom, VIR_DOMAIN_STATE.RUNNING, VIR_DOMAIN_RUNNING.RESTORED);
    st.lifecycle(dom, VIR_DOMAIN_EVENT.RESUMED, VIR_DOMAIN_EVENT_RESUMED.UNPAUSED);
  }
  return dom;
}

/** virDomainManagedSave: only persistent domains; the image lives under <lib>/qemu/save. */
export async function managedSave(st: QemuDriverState, d: QemuDomain, flags: number): Promise<void> {
  if (!d.persistent) {
    throw virError(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.QEMU,
      "cannot do managed save for transient domain",
    );
  }
  const file = managedSavePath(st, d.name);
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  await saveDomain(st, d, file, flags);
}

/** Start from the managed save image if there is one; the image is removed once QEMU has it. */
export async function startFromManagedSave(
  st: QemuDriverState,
  d: QemuDomain,
  paused: boolean,
): Promise<boolean> {
  const file = managedSavePath(st, d.name);
  if (!existsSync(file)) return false;
  await restoreDomain(st, file, paused ? VIR_DOMAIN_SAVE.PAUSED : 0, d);
  rmSync(file, { force: true });
  return true;
}
