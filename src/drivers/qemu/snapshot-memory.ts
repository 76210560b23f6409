// Full-system external snapshots of a running domain (libvirt 9.0's qemuSnapshotCreateActiveExternal
// with <memory snapshot='external' file=...>): the guest's RAM and device state go to the memory
// file as a libvirt save image (LibvirtQemudSave header + QEMU migration stream, the format of
// `virsh save`), then the disks move onto their overlays. The guest is paused for both unless
// LIVE (then the migration runs while it runs and it pauses when the stream ends).
import { createWriteStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { cloneDomainDef, formatDomainXML } from "../../conf/domain/index.js";
import { VIR_DOMAIN_PAUSED, VIR_DOMAIN_RUNNING, VIR_DOMAIN_STATE as S } from "../../driver/index.js";
import { ErrorCode, ErrorDomain, virError } from "../../errors/index.js";
import { notRunning, type QemuDomain } from "./domain-obj.js";
import { setState } from "./domain-lifecycle.js";
import { migrationSocket, waitMigration } from "./domain-save.js";
import type { QemuDriverState } from "./driver-state.js";
import { encodeSaveHeader } from "./save-image.js";
import { createLiveExternal } from "./snapshot-live-external.js";
import type { QemuSnapshot } from "./snapshot-store.js";

/** Writes the memory file, then the disk overlays; resumes the guest afterwards if it ran (not for HALT). */
export async function createMemoryExternal(
  st: QemuDriverState,
  d: QemuDomain,
  snap: QemuSnapshot,
  o: { live: boolean; reuse: boolean; halt: boolean },
): Promise<void> {
  const proc = d.proc;
  if (!proc) throw notRunning();
  const file = snap.memory?.file;
  if (file === undefined) {
    throw virError(
      ErrorCode.XML_ERROR,
      ErrorDomain.DOMAIN_SNAPSHOT,
      "external memory snapshots require a filename",
    );
  }
  const mon = proc.monitor;
  const wasRunning = d.state === S.RUNNING;
  const xml = formatDomainXML(cloneDomainDef(d.def), { securityInfo: true });
  const header = encodeSaveHeader(xml, wasRunning, true);
  let written!: Promise<void>;
  const sock = migrationSocket(st, d, (c) => {
    const out = createWriteStream(file, { flags: "r+", start: header.length });
    written = new Promise((res, rej) => {
      out.on("finish", () => res());
      out.on("error", rej);
    });
    c.pipe(out);
  });
  let paused = false;
  const pause = async () => {
    if (paused || d.state !== S.RUNNING) return;
    d.userOp = true;
    try {
      await mon.execute("stop");
    } finally {
      d.userOp = false;
    }
    paused = true;
    setState(d, S.PAUSED, VIR_DOMAIN_PAUSED.SNAPSHOT);
  };
  try {
    const fh = await open(file, "w", 0o600);
    try {
      await fh.write(header, 0, header.length, 0);
    } finally {
      await fh.close();
    }
    if (!o.live) await pause();
    await sock.listening;
    // A live migration ends with QEMU stopping the guest itself (run state "postmigrate"):
    // that STOP is ours, not a user's pause.
    d.userOp = true;
    try {
      await mon.execute("migrate", { uri: `unix:${sock.path}` });
      await waitMigration(mon, 10 * 60_000);
    } finally {
      d.userOp = false;
    }
    await written;
    const status = await mon.execute<{ running: boolean }>("query-status");
    if (!status.running && !paused && wasRunning) {
      paused = true;
      setState(d, S.PAUSED, VIR_DOMAIN_PAUSED.SNAPSHOT);
    }
    await pause();
    // Only a complete image gets the real magic (libvirt: QEMU_SAVE_PARTIAL until done).
    const done = await open(file, "r+");
    try {
      await done.write(encodeSaveHeader(xml, wasRunning), 0, 16, 0);
      await done.sync();
    } finally {
      await done.close();
    }
    if (snap.disks.some((x) => x.snapshot === "external")) await createLiveExternal(st, d, snap, o.reuse);
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  } finally {
    sock.close();
    if (paused && wasRunning && !o.halt && proc.running()) {
      d.userOp = true;
      try {
        await mon.execute("cont");
        setState(d, S.RUNNING, VIR_DOMAIN_RUNNING.UNPAUSED);
      } catch {
        // the guest stays paused; its state says so
      } finally {
        d.userOp = false;
      }
    }
  }
}
